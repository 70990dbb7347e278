//! The app's commands, one module per area. Never in `lib.rs` (tauri's
//! `__cmd__` macros would clash).

pub mod alerts;
pub mod field;
pub mod gateways;
pub mod lifecycle;
pub mod profiles;
pub mod sync;
pub mod views;

use tauri::Runtime;
use tauri::ipc::Invoke;

/// The invoke handler with every command of [`crate::command_list::COMMANDS`].
pub fn handler<R: Runtime>() -> impl Fn(Invoke<R>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        gateways::list_gateways,
        gateways::gateway_license,
        gateways::add_gateway,
        gateways::remove_gateway,
        gateways::add_gateways_from_request,
        gateways::upload_license_dialog,
        gateways::install_license_files,
        gateways::check_activation_code,
        gateways::activate_gateway,
        gateways::replay_gateway_activations,
        gateways::export_offline_request,
        gateways::import_offline_response,
        lifecycle::open_files,
        lifecycle::answer_requests_dialog,
        lifecycle::import_usage_dialog,
        lifecycle::gateway_usage_charts,
        lifecycle::floating_pools,
        lifecycle::release_lease,
        lifecycle::lookup_order,
        lifecycle::license_file_text,
        lifecycle::export_license_dialog,
        profiles::list_profiles,
        profiles::switch_profile,
        profiles::add_profile,
        profiles::remove_profile,
        profiles::fetch_server_keys,
        profiles::import_keyset_dialog,
        profiles::trusted_keys,
        profiles::get_settings,
        profiles::save_settings,
        sync::sync_status,
        sync::sync_now,
        sync::sync_cancel,
        sync::list_outbox,
        sync::retry_outbox_item,
        sync::dismiss_outbox_item,
        views::account_overview,
        views::product_cards,
        views::product_billing,
        views::assign_codes,
        views::license_window,
        views::license_charts,
        views::export_licenses_csv,
        views::near_expiry_devices,
        views::device_quota,
        views::device_messages_chart,
        views::ota_cost,
        views::ota_cost_for_file,
        field::field_allotments,
        field::field_checkout,
        field::field_issue_files,
        field::field_issue_dialog,
        field::field_issue_fingerprint,
        field::field_issued,
        field::field_reconcile,
        field::field_audit,
        field::field_export_ledger,
        alerts::list_alerts,
        alerts::sync_all,
        alerts::all_accounts,
    ]
}
