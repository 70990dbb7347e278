//! How the web view draws on a machine without a GPU (Linux).
//!
//! WebKitGTK composites its layers with OpenGL. Without a GPU (no DRM
//! render node: a VM, a remote desktop, Xvfb) Mesa's OpenGL is llvmpipe,
//! a rasterizer on the CPU: every frame of the window then goes through it,
//! and under `cargo xtask bench ui` it took ~85% of the web process's CPU
//! time, frames of 100–300 ms after a jump in License Management. Without
//! accelerated compositing WebKit paints only what changed, with its own
//! CPU painter: the same jumps paint in a third of that time. So the app
//! turns compositing off where there is no render node, unless the user
//! chose (`WEBKIT_DISABLE_COMPOSITING_MODE` / `WEBKIT_FORCE_COMPOSITING_MODE`).

use std::path::Path;

/// Whether the machine has a GPU that OpenGL can render on (a DRM render
/// node in `dri`, `/dev/dri` on Linux).
pub fn has_render_node(dri: &Path) -> bool {
    std::fs::read_dir(dri).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
    })
}

/// Whether the web view should draw without accelerated compositing: no
/// render node, and the user set neither of WebKit's own switches.
pub fn software_only(dri: &Path, env: impl Fn(&str) -> Option<std::ffi::OsString>) -> bool {
    let chosen = [
        "WEBKIT_DISABLE_COMPOSITING_MODE",
        "WEBKIT_FORCE_COMPOSITING_MODE",
    ]
    .iter()
    .any(|k| env(k).is_some());
    !chosen && !has_render_node(dri)
}

/// Turns accelerated compositing off in `window`'s web view when
/// [`software_only`] says so.
#[cfg(target_os = "linux")]
pub fn configure<R: tauri::Runtime>(window: &tauri::WebviewWindow<R>) {
    if !software_only(Path::new("/dev/dri"), |k| std::env::var_os(k)) {
        return;
    }
    let done = window.with_webview(|webview| {
        use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
        if let Some(settings) = webview.inner().settings() {
            settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
        }
    });
    if let Err(e) = done {
        eprintln!("licensedesk: the web view keeps its compositing ({e})");
    }
}

/// Nothing to do elsewhere.
#[cfg(not(target_os = "linux"))]
pub fn configure<R: tauri::Runtime>(_window: &tauri::WebviewWindow<R>) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compositing_goes_off_only_without_a_render_node_and_a_users_choice() {
        let dir = tempfile::tempdir().expect("dir");
        let none = |_: &str| None;
        assert!(software_only(dir.path(), none), "no render node");
        assert!(
            software_only(&dir.path().join("absent"), none),
            "no dri at all"
        );
        std::fs::write(dir.path().join("card0"), "").expect("card");
        assert!(
            software_only(dir.path(), none),
            "a card alone is no render node"
        );
        let chose = |k: &str| (k == "WEBKIT_FORCE_COMPOSITING_MODE").then(|| "1".into());
        assert!(
            !software_only(dir.path(), chose),
            "the user's choice stands"
        );
        std::fs::write(dir.path().join("renderD128"), "").expect("node");
        assert!(!software_only(dir.path(), none), "a GPU renders");
    }
}
