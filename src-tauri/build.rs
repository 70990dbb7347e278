//! Declares the app's commands so tauri generates one `allow-<command>`
//! permission per command and checks every IPC call against the
//! capabilities (an undeclared command is refused).

include!("src/command_list.rs");

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build script");
}
