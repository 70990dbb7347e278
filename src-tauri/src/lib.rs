//! The Tauri shell: the ONLY crate that imports tauri. Each command (in
//! `commands/`) is a small adapter: parse arguments, call
//! `licensedesk-gateways` or `licensedesk-client`, map the error to
//! `{code, message}`.

pub mod bindings;
pub mod command_list;
pub mod commands;
pub mod dialogs;
pub mod error;
pub mod session;
pub mod settings;
pub mod startup;
pub mod state;

use tauri::{Manager, Runtime};

pub use error::{CmdError, CmdResult};
pub use state::AppState;

/// Registers the app's state and commands on `builder` (the real app and
/// the mock-runtime tests share this).
pub fn app<R: Runtime>(builder: tauri::Builder<R>, state: AppState) -> tauri::Builder<R> {
    builder
        .manage(state)
        .invoke_handler(commands::handler::<R>())
}

/// Runs the desktop app.
pub fn run() {
    let context = tauri::generate_context!();
    let builder = tauri::Builder::default().setup(|app| {
        let dir = match std::env::var_os("LICENSEDESK_DATA_DIR") {
            Some(dir) => dir.into(),
            None => app.path().app_data_dir()?,
        };
        let state = AppState::open(&dir).map_err(|e| e.message)?;
        app.manage(state);
        commands::sync::spawn_background_sync(app.handle().clone());
        Ok(())
    });
    builder
        .on_page_load(|_, payload| {
            if payload.event() == tauri::webview::PageLoadEvent::Finished && startup::enabled() {
                startup::report_and_exit();
            }
        })
        .invoke_handler(commands::handler::<tauri::Wry>())
        .run(context)
        .unwrap_or_else(|e| {
            eprintln!("licensedesk: {e}");
            std::process::exit(1);
        });
}
