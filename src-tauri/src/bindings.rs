//! TypeScript bindings of every command's arguments and results, generated
//! with ts-rs into `ui/src/bindings/` (committed). `cargo xtask bindings`
//! rewrites them; the test below fails when they are stale.

use std::path::{Path, PathBuf};

use ts_rs::{Config, TS};

/// Where the bindings live.
pub fn default_dir() -> PathBuf {
    // At run time first: a shared target dir may hold a test binary built
    // in another clone.
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("../ui/src/bindings")
}

/// Writes every binding into `dir`.
pub fn export_all(dir: &Path) -> Result<(), ts_rs::ExportError> {
    use licensedesk_gateways::dto::*;
    let cfg = Config::new().with_out_dir(dir).with_large_int("number");
    crate::error::CmdError::export_all(&cfg)?;
    crate::commands::gateways::CodeCheck::export_all(&cfg)?;
    GatewaySummary::export_all(&cfg)?;
    GatewayLicenseView::export_all(&cfg)?;
    InstallOutcome::export_all(&cfg)?;
    ActivationOutcome::export_all(&cfg)?;
    OfflineImportItem::export_all(&cfg)?;
    ReplayReport::export_all(&cfg)?;
    PoolView::export_all(&cfg)?;
    OrderView::export_all(&cfg)?;
    UsageImport::export_all(&cfg)?;
    RequestAnswer::export_all(&cfg)?;
    licensedesk_gateways::files::FileKind::export_all(&cfg)?;
    crate::commands::lifecycle::OpenedFiles::export_all(&cfg)?;
    crate::commands::lifecycle::UsageCharts::export_all(&cfg)?;
    licensedesk_client::KeySetView::export_all(&cfg)?;
    crate::session::ProfileList::export_all(&cfg)?;
    crate::settings::Settings::export_all(&cfg)?;
    crate::commands::sync::SyncStatus::export_all(&cfg)?;
    crate::commands::views::LicenseCharts::export_all(&cfg)?;
    crate::commands::views::OtaCost::export_all(&cfg)?;
    crate::commands::field::FieldIssueReport::export_all(&cfg)?;
    crate::rounds::AlertsView::export_all(&cfg)?;
    {
        use licensedesk_field::*;
        AllotmentSummary::export_all(&cfg)?;
        ScopeKind::export_all(&cfg)?;
        IssuedView::export_all(&cfg)?;
        SyncState::export_all(&cfg)?;
        GatewayOutcome::export_all(&cfg)?;
        Issued::export_all(&cfg)?;
        ReconcileOutcome::export_all(&cfg)?;
        AuditEntry::export_all(&cfg)?;
        AuditPage::export_all(&cfg)?;
    }
    {
        use licensedesk_client::*;
        AccountOverview::export_all(&cfg)?;
        ProductCard::export_all(&cfg)?;
        ProductBilling::export_all(&cfg)?;
        LicensePage::export_all(&cfg)?;
        LicenseWindow::export_all(&cfg)?;
        LicenseQuery::export_all(&cfg)?;
        NearExpiryQuery::export_all(&cfg)?;
        NearExpiryDevice::export_all(&cfg)?;
        NearExpiryPage::export_all(&cfg)?;
        DeviceQuota::export_all(&cfg)?;
        OutboxItem::export_all(&cfg)?;
        OutboxAction::export_all(&cfg)?;
        NewProfile::export_all(&cfg)?;
        SyncProgress::export_all(&cfg)?;
        AllAccounts::export_all(&cfg)?;
    }
    Ok(())
}

/// The `.ts` files of `dir` with their contents, sorted by name.
pub fn read_dir_ts(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "ts"))
                .map(|p| {
                    let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
                    (
                        name.unwrap_or_default(),
                        std::fs::read_to_string(&p).unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails when `ui/src/bindings/` differs from what the Rust types
    /// generate; `LICENSEDESK_UPDATE_BINDINGS=1` (`cargo xtask bindings`)
    /// rewrites them instead.
    #[test]
    fn bindings_are_current() {
        let fresh = tempfile::tempdir().expect("tempdir");
        export_all(fresh.path()).expect("export");
        let want = read_dir_ts(fresh.path());
        assert!(want.len() >= 10, "{} bindings", want.len());
        let dir = default_dir();
        if std::env::var_os("LICENSEDESK_UPDATE_BINDINGS").is_some() {
            std::fs::create_dir_all(&dir).expect("bindings dir");
            for (name, _) in read_dir_ts(&dir) {
                std::fs::remove_file(dir.join(name)).expect("remove stale binding");
            }
            for (name, text) in &want {
                std::fs::write(dir.join(name), text).expect("write binding");
            }
        }
        let have = read_dir_ts(&dir);
        let names = |v: &[(String, String)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&have),
            names(&want),
            "stale ui/src/bindings: run `cargo xtask bindings`"
        );
        for ((name, have), (_, want)) in have.iter().zip(&want) {
            assert_eq!(
                have, want,
                "ui/src/bindings/{name} is stale: run `cargo xtask bindings`"
            );
        }
    }
}
