// The ONE seam between the UI and Rust. Every `invoke` and every event
// `listen` goes through this module, typed with the generated bindings
// (src/bindings/, re-exported by ./types.ts). Errors always reach the
// UI as `ApiError { code, message, params }`: views branch on `code` and
// word the error in the user's language from `params` (errors.ts);
// nothing here or above parses error text.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type {
  AccountOverview,
  AlertsView,
  AllAccounts,
  AllotmentSummary,
  AuditPage,
  KeySetView,
  OpenedFiles,
  OrderView,
  PoolView,
  RequestAnswers,
  UsageCharts,
  UsageImport,
  FieldIssueReport,
  IssuedView,
  ReconcileOutcome,
  ScopeKind,
  CodeCheck,
  DeviceQuota,
  ErrorBody,
  ActivationOutcome,
  GatewaySummary,
  GatewayLicenseView,
  InstallOutcome,
  OfflineImportItem,
  ReplayReport,
  LicenseWindow,
  LicenseQuery,
  NearExpiryPage,
  NearExpiryQuery,
  OtaCost,
  OutboxItem,
  ProductBilling,
  ProductCard,
  NewProfile,
  Profile,
  LicenseCharts,
  ProfileList,
  Settings,
  SyncProgress,
  SyncStatus,
} from './types';

export type ErrorParams = ErrorBody['params'];

export class ApiError extends Error implements ErrorBody {
  readonly code: string;
  readonly params: ErrorParams;
  constructor(code: string, message: string, params: ErrorParams = {}) {
    super(message);
    this.code = code;
    this.params = params;
    this.name = 'ApiError';
  }
}

/** Anything thrown by Rust (or by the IPC layer) as an ApiError. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) {
    const { code, message, params } = e as { code: unknown; message: unknown; params?: unknown };
    if (typeof code === 'string' && typeof message === 'string') {
      const p = params && typeof params === 'object' && !Array.isArray(params) ? (params as ErrorParams) : {};
      return new ApiError(code, message, p);
    }
  }
  if (typeof e === 'string') return new ApiError('IPC_ERROR', e);
  if (e instanceof Error) return new ApiError('IPC_ERROR', e.message);
  return new ApiError('IPC_ERROR', String(e));
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toApiError(e);
  }
}

/** Command names, in one place so the Rust side can be checked against them. */
export const COMMANDS = [
  'list_profiles',
  'switch_profile',
  'get_settings',
  'save_settings',
  'add_profile',
  'remove_profile',
  'fetch_server_keys',
  'import_keyset_dialog',
  'trusted_keys',
  'sync_status',
  'sync_now',
  'sync_cancel',
  'list_outbox',
  'retry_outbox_item',
  'dismiss_outbox_item',
  'account_overview',
  'product_cards',
  'product_billing',
  'assign_codes',
  'license_window',
  'license_charts',
  'export_licenses_csv',
  'near_expiry_devices',
  'device_quota',
  'device_messages_chart',
  'ota_cost',
  'ota_cost_for_file',
  'list_gateways',
  'add_gateway',
  'remove_gateway',
  'add_gateways_from_request',
  'replay_gateway_activations',
  'gateway_license',
  'upload_license_dialog',
  'install_license_files',
  'check_activation_code',
  'activate_gateway',
  'export_offline_request',
  'import_offline_response',
  'open_files',
  'answer_requests_dialog',
  'import_usage_dialog',
  'gateway_usage_charts',
  'floating_pools',
  'release_lease',
  'lookup_order',
  'license_file_text',
  'export_license_dialog',
  'field_allotments',
  'field_checkout',
  'field_issue_files',
  'field_issue_dialog',
  'field_issue_fingerprint',
  'field_issued',
  'field_reconcile',
  'field_audit',
  'field_export_ledger',
  'list_alerts',
  'sync_all',
  'all_accounts',
] as const;

export const EVENTS = {
  syncProgress: 'sync://progress',
  syncStatus: 'sync://status',
  /** A background round ended: every profile synced, alerts evaluated. */
  round: 'background://round',
  /** The tray asks the window to show a page. */
  navigate: 'app://navigate',
  dragEnter: 'tauri://drag-enter',
  dragOver: 'tauri://drag-over',
  dragDrop: 'tauri://drag-drop',
  dragLeave: 'tauri://drag-leave',
} as const;

export const api = {
  // Profiles and settings
  listProfiles: () => call<ProfileList>('list_profiles'),
  switchProfile: (id: string) => call<ProfileList>('switch_profile', { id }),
  /**
   * The token goes to the OS keyring in Rust; it is never read back.
   * `trustedKeys` is the key set the user checked (a KeySetView's json):
   * the profile trusts it from now on.
   */
  addProfile: (profile: NewProfile, token: string, trustedKeys: string | null) =>
    call<Profile>('add_profile', { profile, token, trustedKeys }),
  /** The key set a server serves, with fingerprints, to check before trusting it. */
  fetchServerKeys: (serverUrl: string) => call<KeySetView>('fetch_server_keys', { serverUrl }),
  /** Native open dialog for a key set file; null if cancelled. */
  importKeysetDialog: () => call<KeySetView | null>('import_keyset_dialog'),
  /** What the active profile trusts; null when nothing is pinned yet. */
  trustedKeys: () => call<KeySetView | null>('trusted_keys'),
  removeProfile: (id: string) => call<ProfileList>('remove_profile', { id }),
  getSettings: () => call<Settings>('get_settings'),
  saveSettings: (settings: Settings) => call<Settings>('save_settings', { settings }),

  // Sync and outbox
  syncStatus: () => call<SyncStatus>('sync_status'),
  syncNow: () => call<SyncStatus>('sync_now'),
  syncCancel: () => call<void>('sync_cancel'),
  listOutbox: () => call<OutboxItem[]>('list_outbox'),
  retryOutboxItem: (id: number) => call<OutboxItem[]>('retry_outbox_item', { id }),
  dismissOutboxItem: (id: number) => call<OutboxItem[]>('dismiss_outbox_item', { id }),

  // Alerts and every account
  /** Raised alerts (most urgent first), then cleared ones; the notifications sent. */
  listAlerts: () => call<AlertsView>('list_alerts'),
  /** Syncs every profile now and evaluates the alerts; resolves when done. */
  syncAll: () => call<AlertsView>('sync_all'),
  /** Every profile's figures from its cache (works offline). */
  allAccounts: () => call<AllAccounts>('all_accounts'),

  // Products
  accountOverview: () => call<AccountOverview>('account_overview'),
  productCards: () => call<ProductCard[]>('product_cards'),
  productBilling: (pk: string) => call<ProductBilling>('product_billing', { pk }),
  /** Online: assigned at once; offline: queued in the outbox (the answer says which). */
  assignCodes: (pk: string, count: number) => call<OutboxItem>('assign_codes', { pk, count }),

  // License Management
  /** The License Management rows from position `offset` (`query.limit` of them), with the filtered set's length when `count`. */
  licenseWindow: (query: LicenseQuery, offset: number, count: boolean) =>
    call<LicenseWindow>('license_window', { query, offset, count }),
  licenseCharts: () => call<LicenseCharts>('license_charts'),
  /** Opens the native save dialog in Rust; resolves to the written path, or null if cancelled. */
  exportLicensesCsv: (query: LicenseQuery) => call<string | null>('export_licenses_csv', { query }),

  // Devices
  nearExpiryDevices: (query: NearExpiryQuery) => call<NearExpiryPage>('near_expiry_devices', { query }),
  deviceQuota: (pk: string, dk: string) => call<DeviceQuota>('device_quota', { pk, dk }),
  deviceMessagesChart: (pk: string, dk: string) => call<string>('device_messages_chart', { pk, dk }),
  otaCost: (pk: string, dk: string, bytes: number) => call<OtaCost>('ota_cost', { pk, dk, bytes }),
  otaCostForFile: (pk: string, dk: string, path: string) => call<OtaCost>('ota_cost_for_file', { pk, dk, path }),

  // Gateway licenses
  listGateways: () => call<GatewaySummary[]>('list_gateways'),
  addGateway: (name: string, fingerprint: string) => call<GatewaySummary>('add_gateway', { name, fingerprint }),
  removeGateway: (gatewayId: string) => call<GatewaySummary[]>('remove_gateway', { gatewayId }),
  /** Native open dialog for an activation request file; null if cancelled. */
  addGatewaysFromRequest: () => call<GatewaySummary[] | null>('add_gateways_from_request'),
  /** Sends activations queued while offline. */
  replayGatewayActivations: () => call<ReplayReport>('replay_gateway_activations'),
  gatewayLicense: (gatewayId: string) => call<GatewayLicenseView>('gateway_license', { gatewayId }),
  /** Native open dialog in Rust; null when the user cancelled. */
  uploadLicenseDialog: (gatewayId: string | null) => call<InstallOutcome | null>('upload_license_dialog', { gatewayId }),
  /** Paths dropped on the window; read once in Rust, with a size cap. */
  installLicenseFiles: (gatewayId: string | null, paths: string[]) =>
    call<InstallOutcome>('install_license_files', { gatewayId, paths }),
  /** Regroups what was typed and flags a wrong check symbol (core's rules, offline). */
  checkActivationCode: (input: string) => call<CodeCheck>('check_activation_code', { input }),
  activateGateway: (gatewayId: string, code: string) => call<ActivationOutcome>('activate_gateway', { gatewayId, code }),
  /** Builds the request and saves it through a native save dialog; the path, or null if cancelled. */
  exportOfflineRequest: (gatewayId: string, code: string) =>
    call<string | null>('export_offline_request', { gatewayId, code }),
  /** Native open dialog for the response file; null if cancelled. */
  importOfflineResponse: () => call<OfflineImportItem[] | null>('import_offline_response'),
  /**
   * Files dropped on the window, told apart by content in Rust: a license
   * (installed), request files (answered), usage files (imported), a
   * response bundle (installed).
   */
  openFiles: (gatewayId: string | null, paths: string[]) => call<OpenedFiles>('open_files', { gatewayId, paths }),
  /** Native open dialog for request files (several); null if cancelled. */
  answerRequestsDialog: () => call<RequestAnswers | null>('answer_requests_dialog'),
  /** Native open dialog for a usage file; null if cancelled. */
  importUsageDialog: () => call<UsageImport | null>('import_usage_dialog'),
  gatewayUsageCharts: (gatewayId: string) => call<UsageCharts>('gateway_usage_charts', { gatewayId }),
  /** The account's floating pools with their live leases (online). */
  floatingPools: () => call<PoolView[]>('floating_pools'),
  releaseLease: (pool: string, fingerprint: string) => call<PoolView>('release_lease', { pool, fingerprint }),
  /** Order number + e-mail → the order (online). */
  lookupOrder: (orderNo: string, email: string) => call<OrderView>('lookup_order', { orderNo, email }),
  /** The installed license file's text (to copy it). */
  licenseFileText: (gatewayId: string) => call<string>('license_file_text', { gatewayId }),
  /** Native save dialog; the written path, or null if cancelled. */
  exportLicenseDialog: (gatewayId: string) => call<string | null>('export_license_dialog', { gatewayId }),

  // Field kit (offline field activation). Checkout and reconcile are online
  // (the active profile's server); issuing is offline. License files go to
  // ~/LicenseDesk/field/<allotment>/ (the report says where).
  fieldAllotments: () => call<AllotmentSummary[]>('field_allotments'),
  /** From order `reference` (kind `order`) or gateway product `reference`. */
  fieldCheckout: (kind: ScopeKind, reference: string, count: number, days: number) =>
    call<AllotmentSummary>('field_checkout', { kind, reference, count, days }),
  /** Request files dropped on the window: one outcome per gateway. */
  fieldIssueFiles: (allotmentId: string, paths: string[]) =>
    call<FieldIssueReport>('field_issue_files', { allotmentId, paths }),
  /** Native open dialog for a request file; null if cancelled. */
  fieldIssueDialog: (allotmentId: string) => call<FieldIssueReport | null>('field_issue_dialog', { allotmentId }),
  fieldIssueFingerprint: (allotmentId: string, fingerprint: string) =>
    call<FieldIssueReport>('field_issue_fingerprint', { allotmentId, fingerprint }),
  fieldIssued: (allotmentId: string) => call<IssuedView[]>('field_issued', { allotmentId }),
  fieldReconcile: (allotmentId: string) => call<ReconcileOutcome>('field_reconcile', { allotmentId }),
  /** A page of the server's audit log of the allotment, newest first (online). */
  fieldAudit: (allotmentId: string, cursor: string | null) => call<AuditPage>('field_audit', { allotmentId, cursor }),
  /** The ledger through a native save dialog; the written path, or null if cancelled. */
  fieldExportLedger: (allotmentId: string) => call<string | null>('field_export_ledger', { allotmentId }),

  // Events
  onSyncProgress: (handler: (p: SyncProgress) => void): Promise<UnlistenFn> =>
    listen<SyncProgress>(EVENTS.syncProgress, (e) => handler(e.payload)),
  onSyncStatus: (handler: (s: SyncStatus) => void): Promise<UnlistenFn> =>
    listen<SyncStatus>(EVENTS.syncStatus, (e) => handler(e.payload)),
  onRound: (handler: () => void): Promise<UnlistenFn> => listen(EVENTS.round, () => handler()),
  onNavigate: (handler: (page: string) => void): Promise<UnlistenFn> =>
    listen<string>(EVENTS.navigate, (e) => handler(e.payload)),
  /** Files dragged over / dropped on the window (Tauri's drag-drop events). */
  onFileDrag: async (handler: (e: FileDrag) => void): Promise<UnlistenFn> => {
    const offs = await Promise.all([
      listen(EVENTS.dragEnter, () => handler({ kind: 'enter' })),
      listen(EVENTS.dragOver, () => handler({ kind: 'over' })),
      listen<{ paths?: string[] }>(EVENTS.dragDrop, (e) => handler({ kind: 'drop', paths: e.payload?.paths ?? [] })),
      listen(EVENTS.dragLeave, () => handler({ kind: 'leave' })),
    ]);
    return () => offs.forEach((off) => off());
  },
};

export type FileDrag = { kind: 'enter' | 'over' | 'leave' } | { kind: 'drop'; paths: string[] };
export type Api = typeof api;
