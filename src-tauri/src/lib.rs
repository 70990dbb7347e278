//! The Tauri shell: the ONLY crate that imports tauri. Each command (in
//! `commands/`) is a small adapter: parse arguments, call
//! `licensedesk-gateways` or `licensedesk-client`, map the error to
//! `{code, message}`.

pub mod background;
pub mod bindings;
pub mod command_list;
pub mod commands;
pub mod dialogs;
pub mod error;
pub mod rendering;
pub mod rounds;
pub mod session;
pub mod settings;
pub mod startup;
pub mod state;
pub mod tray;
pub mod words;

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
    // Where the data lives; the window's size and position go there too
    // when it is set (tests), else to the app's config dir.
    let data_dir_env = std::env::var_os("LICENSEDESK_DATA_DIR").map(std::path::PathBuf::from);
    let mut window_state = tauri_plugin_window_state::Builder::default()
        // Never restore a hidden window: the app may have been quit from
        // the tray while its window was closed to it.
        .with_state_flags(
            tauri_plugin_window_state::StateFlags::all()
                - tauri_plugin_window_state::StateFlags::VISIBLE,
        );
    if let Some(dir) = &data_dir_env {
        window_state =
            window_state.with_filename(dir.join("window-state.json").display().to_string());
    }
    let builder = tauri::Builder::default()
        // First: a second launch hands over to this one, which shows itself.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            eprintln!("licensedesk: launched again: showing this window");
            tray::show_window(app);
        }))
        .plugin(tauri_plugin_notification::init())
        .plugin(window_state.build())
        .setup(move |app| {
            let dir = match &data_dir_env {
                Some(dir) => dir.clone(),
                None => app.path().app_data_dir()?,
            };
            if let Some(window) = app.get_webview_window("main") {
                rendering::configure(&window);
            }
            let state = AppState::open(&dir).map_err(|e| e.message)?;
            let handle = app.handle().clone();
            state.background.set_notifier(Box::new(move |n| {
                use tauri_plugin_notification::NotificationExt;
                eprintln!("licensedesk: notification: {}", n.title);
                if let Err(e) = handle
                    .notification()
                    .builder()
                    .title(&n.title)
                    .body(&n.body)
                    .show()
                {
                    eprintln!("licensedesk: notification not shown: {e}");
                }
            }));
            let handle = app.handle().clone();
            state
                .background
                .set_on_round(Box::new(move |alerts| tray::refresh(&handle, alerts)));
            app.manage(state);
            if let Err(e) = tray::build(app.handle()) {
                eprintln!("licensedesk: no tray icon ({e}): closing the window quits");
            }
            background::spawn(app.handle().clone());
            Ok(())
        });
    builder
        .on_page_load(|_, payload| {
            if payload.event() == tauri::webview::PageLoadEvent::Finished && startup::enabled() {
                startup::report_and_exit();
            }
        })
        .on_window_event(|window, event| {
            // Closing may keep the app in the tray (a setting, off by
            // default), where there is one.
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                let app = window.app_handle();
                let to_tray = app
                    .try_state::<AppState>()
                    .is_some_and(|s| settings::load(&s.data_dir).close_to_tray);
                if to_tray && app.tray_by_id("main").is_some() {
                    api.prevent_close();
                    let _ = window.hide();
                }
            }
        })
        .invoke_handler(commands::handler::<tauri::Wry>())
        .run(context)
        .unwrap_or_else(|e| {
            eprintln!("licensedesk: {e}");
            std::process::exit(1);
        });
}
