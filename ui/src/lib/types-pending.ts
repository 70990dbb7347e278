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

// ── Profiles and settings ────────────────────────────────────────────────
export interface Profile {
  id: string;
  name: string;
  server_url: string;
  account: string;
  data_center: string;
  has_token: boolean;
}
export interface ProfileList {
  profiles: Profile[];
  active_id: string | null;
}
export interface ProfileInput {
  id: string | null;
  name: string;
  server_url: string;
  account: string;
  data_center: string;
  /** Only sent when the user typed a new token; stored in the OS keyring by Rust. */
  token: string | null;
}
export type Language = 'en' | 'zh-CN';
export type Theme = 'light' | 'dark' | 'system';
export interface Settings {
  language: Language;
  theme: Theme;
}

// ── Sync status, progress, outbox ────────────────────────────────────────
export interface SyncProgress {
  phase: string;
  done: Int;
  total: Int | null;
}
export interface ClockGuard {
  code: string;
  message: string;
}
export interface SyncStatus {
  online: boolean;
  last_synced_at: string | null;
  syncing: boolean;
  progress: SyncProgress | null;
  outbox_pending: Int;
  outbox_rejected: Int;
  clock_guard: ClockGuard | null;
  last_error: ErrorBody | null;
}
export interface OutboxItem {
  id: Int;
  kind: string;
  summary: string;
  state: 'pending' | 'done' | 'rejected';
  attempts: Int;
  created_at: string;
  error: ErrorBody | null;
}

// ── Products (Product Management) ────────────────────────────────────────
export interface Counters {
  total: Int;
  used: Int;
  remaining: Int;
}
export interface Overview {
  account: string;
  data_center: string;
  counters: Counters;
  unassigned: Int;
}
export interface ProductCard {
  pk: string;
  name: string;
  package_summary: string | null;
  counters: Counters;
  /** Month the remaining codes run out at the current rate, e.g. "2027-03". */
  runs_out: string | null;
  /** Devices that will go offline at their next renewal for want of codes. */
  renewals_failing: Int;
}

// ── License Management ───────────────────────────────────────────────────
export type CodeStatus = 'unused' | 'active' | 'expired';
export type LicenseSortKey = 'code' | 'product' | 'device' | 'consumed_at' | 'expires_at' | 'status';
export interface LicenseQuery {
  pk: string | null;
  status: CodeStatus | null;
  expiring_within_days: number | null;
  search: string | null;
  sort: LicenseSortKey;
  descending: boolean;
  cursor: string | null;
  limit: number;
}
export interface LicenseRow {
  code: string;
  batch: string | null;
  product_name: string | null;
  pk: string | null;
  dk: string | null;
  consumed_at: string | null;
  expires_at: string | null;
  status: CodeStatus;
}
export interface LicensePage {
  rows: LicenseRow[];
  next_cursor: string | null;
  matching: Int;
}
export interface Charts {
  /** SVG documents rendered by Rust (plotters); they use CSS variables. */
  consumption: string;
  burn_down: string;
  expirations: string;
}

// ── Devices ──────────────────────────────────────────────────────────────
export interface NearExpiryQuery {
  search: string | null;
  window_days: number;
}
export interface NearExpiryDevice {
  pk: string;
  product_name: string;
  dk: string;
  activated_at: string | null;
  expires_at: string;
  replacement_available: boolean;
}
export interface DeviceQuota {
  pk: string;
  dk: string;
  product_name: string;
  package_summary: string;
  validity: string;
  messages_today: Int;
  messages_limit: Int;
  messages_resets_at: string;
  messages_chart: string;
  ota_used: Int;
  ota_limit: Int;
  ota_cap_mb: Int;
  ota_topups: Int;
  storage_days: Int;
  retained_since: string;
  overage_policy: 'block' | 'bill';
}
export interface OtaCost {
  bytes: Int;
  attempts: Int;
  allowed: boolean;
  remaining_this_month: Int;
  reason: string | null;
}

// ── Gateway licenses ─────────────────────────────────────────────────────
export type LicenseKind = 'trial' | 'file' | 'activation' | 'floating';
export interface Gateway {
  id: string;
  name: string;
  hardware: string;
  this_machine: boolean;
}
export interface UsageBar {
  in_use: Int;
  max: Int;
}
export interface GatewayLicenseView {
  gateway: Gateway;
  /** `licensed` when the installed license applies, `trial` otherwise. */
  mode: 'licensed' | 'trial';
  /** Why the trial applies (from Rust, already a sentence). */
  trial_reason: string | null;
  expired: boolean;
  license_id: string | null;
  customer: string | null;
  kind: LicenseKind;
  issued_at: string | null;
  expire_at: string | null;
  tags: UsageBar;
  connections: UsageBar;
  plugins: string[];
  hardware: string | null;
  floating: FloatingLease | null;
}
export interface FloatingLease {
  server: string;
  points: Int;
  last_heartbeat_at: string | null;
  expires_at: string;
  healthy: boolean;
}
export interface CodeCheck {
  /** The input regrouped (XXXX-XXXX-XXXX-XXXX-XXXXC) as far as it goes. */
  formatted: string;
  complete: boolean;
  error: ErrorBody | null;
}
export interface InstallOutcome {
  gateway_id: string;
  license_id: string;
  /** `installed` now, or `queued` in the outbox until the server is back. */
  state: 'installed' | 'queued' | 'exported';
  message: string;
}
