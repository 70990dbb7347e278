//! The tray icon (Tauri's built-in one): open the window, sync every
//! account, the most urgent alert (opens the Alerts view), quit. Its words
//! follow the language setting; the alert item is refreshed after each
//! background round.

use licensedesk_client::Alert;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Emitter, Manager, Runtime};

use crate::settings::{self, Language};
use crate::state::AppState;
use crate::words;

/// Event (payload: a page name) asking the window to show a page.
pub const NAVIGATE_EVENT: &str = "app://navigate";

/// The menu items whose words change.
struct Items<R: Runtime> {
    open: MenuItem<R>,
    sync_all: MenuItem<R>,
    alert: MenuItem<R>,
    quit: MenuItem<R>,
}

/// Shows, unminimises and focuses the main window.
pub fn show_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

/// Builds the tray. Fails where the desktop has no tray (the app then runs
/// without one, and closing the window quits it).
pub fn build<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let state = app.state::<AppState>();
    let w = words::tray(settings::load(&state.data_dir).language);
    let items = Items {
        open: MenuItem::with_id(app, "open", w.open, true, None::<&str>)?,
        sync_all: MenuItem::with_id(app, "sync_all", w.sync_all, true, None::<&str>)?,
        alert: MenuItem::with_id(app, "alert", w.no_alerts, false, None::<&str>)?,
        quit: MenuItem::with_id(app, "quit", w.quit, true, None::<&str>)?,
    };
    let menu = Menu::with_items(
        app,
        &[
            &items.open,
            &items.sync_all,
            &PredefinedMenuItem::separator(app)?,
            &items.alert,
            &PredefinedMenuItem::separator(app)?,
            &items.quit,
        ],
    )?;
    let mut tray = TrayIconBuilder::with_id("main")
        .tooltip("LicenseDesk")
        .menu(&menu)
        .on_menu_event(|app, event| match event.id().as_ref() {
            "open" => show_window(app),
            "sync_all" => app.state::<AppState>().background.wake(),
            "alert" => {
                show_window(app);
                let _ = app.emit(NAVIGATE_EVENT, "alerts");
            }
            "quit" => app.exit(0),
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    app.manage(items);
    Ok(())
}

/// After a round: the words in the current language, and the most urgent
/// raised alert (`alerts` come most urgent first).
pub fn refresh<R: Runtime>(app: &AppHandle<R>, alerts: &[Alert]) {
    let Some(items) = app.try_state::<Items<R>>() else {
        return;
    };
    let lang = settings::load(&app.state::<AppState>().data_dir).language;
    let w = words::tray(lang);
    let _ = items.open.set_text(w.open);
    let _ = items.sync_all.set_text(w.sync_all);
    let _ = items.quit.set_text(w.quit);
    match alerts.first() {
        Some(a) => {
            let (title, _) = words::notification(lang, a);
            let more = alerts.len() - 1;
            let text = match (more, lang) {
                (0, _) => title,
                (n, Language::En) => format!("{title} (+{n} more)"),
                (n, Language::ZhCn) => format!("{title}（另有 {n} 条）"),
            };
            let _ = items.alert.set_text(text);
            let _ = items.alert.set_enabled(true);
        }
        None => {
            let _ = items.alert.set_text(w.no_alerts);
            let _ = items.alert.set_enabled(false);
        }
    }
    if let Some(tray) = app.tray_by_id("main") {
        let tip = match alerts.len() {
            0 => "LicenseDesk".to_owned(),
            n => format!("LicenseDesk · {n} ⚠"),
        };
        let _ = tray.set_tooltip(Some(tip));
    }
}
