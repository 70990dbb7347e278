// Every DTO the UI shows, in one place: re-exports of src/bindings/
// (generated from Rust with ts-rs by `cargo xtask bindings`; never edited by
// hand). Components import from here.
export type { AccountOverview } from '../bindings/AccountOverview';
export type { ActivationOutcome } from '../bindings/ActivationOutcome';
export type { CmdError } from '../bindings/CmdError';
export type { CodeCheck } from '../bindings/CodeCheck';
export type { DeviceQuota } from '../bindings/DeviceQuota';
export type { ErrorBody } from '../bindings/ErrorBody';
export type { ErrorView } from '../bindings/ErrorView';
export type { FloatingStatus } from '../bindings/FloatingStatus';
export type { GatewayLicenseKind } from '../bindings/GatewayLicenseKind';
export type { GatewayLicenseView } from '../bindings/GatewayLicenseView';
export type { GatewaySource } from '../bindings/GatewaySource';
export type { GatewaySummary } from '../bindings/GatewaySummary';
export type { InstallOutcome } from '../bindings/InstallOutcome';
export type { InstalledLicense } from '../bindings/InstalledLicense';
export type { Language } from '../bindings/Language';
export type { LastSync } from '../bindings/LastSync';
export type { LicenseCharts } from '../bindings/LicenseCharts';
export type { LicensePage } from '../bindings/LicensePage';
export type { LicenseQuery } from '../bindings/LicenseQuery';
export type { LicenseRow } from '../bindings/LicenseRow';
export type { LicenseSort } from '../bindings/LicenseSort';
export type { NearExpiryDevice } from '../bindings/NearExpiryDevice';
export type { NearExpiryQuery } from '../bindings/NearExpiryQuery';
export type { NewProfile } from '../bindings/NewProfile';
export type { OfflineImportItem } from '../bindings/OfflineImportItem';
export type { OtaCost } from '../bindings/OtaCost';
export type { OutboxAction } from '../bindings/OutboxAction';
export type { OutboxItem } from '../bindings/OutboxItem';
export type { PendingActivation } from '../bindings/PendingActivation';
export type { ProductCard } from '../bindings/ProductCard';
export type { Profile } from '../bindings/Profile';
export type { ProfileList } from '../bindings/ProfileList';
export type { ReplayReport } from '../bindings/ReplayReport';
export type { Settings } from '../bindings/Settings';
export type { Staleness } from '../bindings/Staleness';
export type { SyncPhase } from '../bindings/SyncPhase';
export type { SyncProgress } from '../bindings/SyncProgress';
export type { SyncStatus } from '../bindings/SyncStatus';
export type { Theme } from '../bindings/Theme';
export type { TrialFallback } from '../bindings/TrialFallback';
export type { UsageView } from '../bindings/UsageView';

/** A count from Rust (ts-rs emits `number`; bigint is accepted for safety). */
export type Int = number | bigint;
export type { AllotmentScope } from '../bindings/AllotmentScope';
export type { AllotmentSummary } from '../bindings/AllotmentSummary';
export type { AuditEntry } from '../bindings/AuditEntry';
export type { FieldIssueReport } from '../bindings/FieldIssueReport';
export type { GatewayOutcome } from '../bindings/GatewayOutcome';
export type { Issued } from '../bindings/Issued';
export type { IssuedView } from '../bindings/IssuedView';
export type { ReconcileOutcome } from '../bindings/ReconcileOutcome';
export type { ScopeKind } from '../bindings/ScopeKind';
export type { SyncState } from '../bindings/SyncState';
