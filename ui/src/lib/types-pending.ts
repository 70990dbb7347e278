// Types the UI is built against until `src/bindings/` (generated from Rust
// with ts-rs) has them. Each one is deleted as soon as its binding lands;
// names and fields follow licensedesk-core / licensedesk-client (snake_case,
// times as RFC 3339 strings, numbers as JSON numbers).

/** ts-rs maps u64/i64 to bigint; serde sends JSON numbers. Accept both. */
export type Int = number | bigint;

export interface ErrorBody {
  code: string;
  message: string;
}

// ── Profiles and settings (licensedesk-client profiles.rs) ────────────────
export interface Profile {
  id: string;
  /** What the user calls it ("Hangzhou · cn-east"). */
  name: string;
  server_url: string;
  /** Account label as the user knows it (account name or e-mail). */
  account_label: string;
  /** Filled in by the first sync. */
  data_center: string | null;
}
export interface NewProfile {
  name: string;
  server_url: string;
  account_label: string;
}
/** Pending: the command's answer (profiles + which one is active). */
export interface ProfileList {
  profiles: Profile[];
  active_id: string | null;
}

// ── Sync status, progress, outbox (licensedesk-client sync.rs, outbox.rs) ─
export type SyncPhase = 'keys' | 'outbox' | 'changes' | 'account' | 'done';
export interface SyncProgress {
  phase: SyncPhase;
  done: Int;
  total: Int | null;
  /** `true` during the first (full) sync of a cache. */
  full: boolean;
}
/** views/overview.rs */
export interface Staleness {
  last_synced_at: string | null;
  age_seconds: number | null;
  server_time: string | null;
  clock_warning: ErrorBody | null;
}
/** Pending: what the status bar shows (command `sync_status`, event `sync://status`). */
export interface SyncStatus {
  online: boolean;
  syncing: boolean;
  progress: SyncProgress | null;
  staleness: Staleness;
  outbox_pending: Int;
  outbox_rejected: Int;
  /** The last sync's failure, kept until the next sync succeeds. */
  last_error: ErrorBody | null;
}
export interface OutboxItem {
  id: number;
  kind: string;
  /** `pending`, `done` or `rejected`. */
  state: string;
  attempts: number;
  created_at: string;
  updated_at: string;
  path: string;
  body: string;
  error: ErrorBody | null;
  response: string | null;
}

// ── Products (views/overview.rs) ─────────────────────────────────────────
export interface AccountOverview {
  name: string;
  kind: string;
  data_center: string;
  time_zone: string;
  verified_enterprise: boolean;
  total: Int;
  used: Int;
  remaining: Int;
  unassigned: Int;
  free_codes: Int;
  staleness: Staleness;
}
export interface ProductCard {
  pk: string;
  name: string;
  package_summary: string | null;
  overage_policy: string;
  total: Int;
  used: Int;
  remaining: Int;
  devices: Int;
  /** Local month ("YYYY-MM") the pool runs out at the current rate. */
  runs_out: string | null;
  /** Devices that will go offline at their next renewal for want of codes. */
  renewal_warnings: Int;
}

// ── License Management (views/licenses.rs) ───────────────────────────────
export type LicenseSort = 'id' | 'code' | 'batch' | 'consumed_at' | 'expires_at';
export interface LicenseQuery {
  pk: string | null;
  /** `unused`, `active` or `expired`. */
  status: string | null;
  expiring_within_days: number | null;
  search: string | null;
  sort: LicenseSort;
  desc: boolean;
  cursor: string | null;
  limit: number | null;
}
export interface LicenseRow {
  code: string;
  batch_id: number;
  batch_kind: string;
  pk: string | null;
  product_name: string | null;
  dk: string | null;
  consumed_at: string | null;
  expires_at: string | null;
  /** `unused`, `active` or `expired`. */
  status: string;
}
export interface LicensePage {
  data_center: string;
  total: Int;
  used: Int;
  remaining: Int;
  rows: LicenseRow[];
  next_cursor: string | null;
}
/** Pending: charts.rs (SVG strings from plotters, using the CSS variables). */
export interface LicenseCharts {
  consumption: string;
  burn_down: string;
  expirations: string;
}

// ── Devices (views/devices.rs) ───────────────────────────────────────────
export interface NearExpiryQuery {
  days: number | null;
  q: string | null;
  activated_from: string | null;
  activated_to: string | null;
  expires_from: string | null;
  expires_to: string | null;
}
export interface NearExpiryDevice {
  pk: string;
  product_name: string;
  dk: string;
  code: string | null;
  activated_at: string | null;
  expires_at: string;
  days_left: number;
  replacement_available: boolean;
}
export interface DeviceQuota {
  pk: string;
  product_name: string;
  dk: string;
  status: string;
  online: boolean;
  offline_reason: string | null;
  activated_at: string | null;
  expires_at: string | null;
  package_summary: string | null;
  messages_per_day: number;
  messages_today: number;
  messages_reset_at: string;
  ota_per_month: number;
  ota_cap_mb: number;
  ota_this_month: number;
  ota_reset_at: string;
  storage_days: number;
  retention_cutoff: string | null;
}
/** Pending: answer of `ota_cost` / `ota_cost_for_file` (core's ota_cost + the device's month). */
export interface OtaCost {
  bytes: Int;
  attempts: Int;
  allowed: boolean;
  /** Attempts left this month before this upgrade. */
  remaining_this_month: Int;
  /** Why it is refused (a sentence from Rust), when it is. */
  reason: string | null;
}

// ── Gateway licenses (licensedesk-gateways dto.rs) ───────────────────────
export type GatewayLicenseKind = 'trial' | 'file' | 'activation' | 'floating';
export type GatewaySource = 'this_machine' | 'request_file' | 'typed';
export interface GatewaySummary {
  id: string;
  name: string;
  fingerprint: string;
  this_machine: boolean;
  source: GatewaySource;
  added_at: string;
  kind: GatewayLicenseKind;
  licensed: boolean;
  expire_at: string | null;
}
export type TrialFallback =
  | { reason: 'none_installed' }
  | { reason: 'expired'; at: string }
  | { reason: 'not_yet_valid'; from: string }
  | { reason: 'hardware_mismatch'; bound: string; actual: string };
export interface UsageView {
  in_use: number;
  max: number;
  percent: number | null;
  over_limit: boolean;
}
export interface InstalledLicense {
  license_id: string;
  customer: string;
  kind: GatewayLicenseKind;
  issued_at: string;
  expire_at: string;
  max_connections: number;
  max_tags: number;
  plugins: string[];
  hardware: string | null;
  order: string | null;
  installed_at: string;
}
export interface ErrorView {
  code: string;
  message: string;
}
export interface PendingActivation {
  key: string;
  gateway_id: string;
  code: string;
  queued_at: string;
  error: ErrorView | null;
}
export interface GatewayLicenseView {
  gateway: GatewaySummary;
  kind: GatewayLicenseKind;
  trial: TrialFallback | null;
  issued_at: string | null;
  expire_at: string | null;
  expired: boolean;
  connections: UsageView;
  tags: UsageView;
  plugins: string[];
  bound_hardware: string | null;
  installed: InstalledLicense | null;
  backups: number;
  pending: PendingActivation[];
}
export interface InstallOutcome {
  gateway_id: string;
  replaced: boolean;
  backup: string | null;
  view: GatewayLicenseView;
}
export type ActivationOutcome =
  | { status: 'activated'; reissued: boolean; remaining: number; outcome: InstallOutcome }
  | { status: 'queued'; pending: PendingActivation };
export interface OfflineImportItem {
  fingerprint: string;
  gateway_id: string | null;
  name: string | null;
  /** `installed`, `refused` (by the server) or `failed` (here). */
  result: string;
  error: ErrorView | null;
}
export interface FloatingStatus {
  pool: string;
  pool_points: number;
  pool_in_use: number;
  ttl_seconds: number;
  lease_points: number | null;
  lease_expires_at: string | null;
  /** `leased` or `none`. */
  state: string;
}
/** Pending (src-tauri): answer of `check_activation_code` — core's format_partial + parse. */
export interface CodeCheck {
  /** The input regrouped (XXXX-XXXX-XXXX-XXXX-XXXXC) as far as it goes. */
  formatted: string;
  /** All 21 symbols are there and the check symbol matches. */
  complete: boolean;
  /** A definite problem (bad character, too long, wrong check symbol); null while merely incomplete. */
  error: ErrorBody | null;
}
export interface ReplayReport {
  activated: number;
  rejected: number;
  still_pending: number;
}
