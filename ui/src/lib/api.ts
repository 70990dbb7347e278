// The ONE seam between the UI and Rust. Every `invoke` and every event
// `listen` goes through this module, typed with the generated bindings
// (src/bindings/, pending ones in ./types-pending.ts). Errors always reach the
// UI as `ApiError { code, message }`: views branch on `code` and show
// `message`; nothing here or above parses error text.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type {
  Charts,
  CodeCheck,
  DeviceQuota,
  ErrorBody,
  Gateway,
  GatewayLicenseView,
  InstallOutcome,
  LicensePage,
  LicenseQuery,
  NearExpiryDevice,
  NearExpiryQuery,
  OtaCost,
  OutboxItem,
  Overview,
  ProductCard,
  ProfileInput,
  ProfileList,
  Settings,
  SyncProgress,
  SyncStatus,
  Counters,
} from './types-pending';

export class ApiError extends Error implements ErrorBody {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = 'ApiError';
  }
}

/** Anything thrown by Rust (or by the IPC layer) as an ApiError. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) {
    const { code, message } = e as { code: unknown; message: unknown };
    if (typeof code === 'string' && typeof message === 'string') return new ApiError(code, message);
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
  'save_profile',
  'delete_profile',
  'get_settings',
  'save_settings',
  'sync_status',
  'sync_now',
  'sync_cancel',
  'list_outbox',
  'retry_outbox_item',
  'account_overview',
  'product_cards',
  'assign_codes',
  'data_center_counters',
  'license_page',
  'license_charts',
  'export_licenses_csv',
  'near_expiry_devices',
  'device_quota',
  'ota_cost',
  'ota_cost_for_file',
  'list_gateways',
  'gateway_license',
  'upload_license_dialog',
  'install_license_files',
  'check_activation_code',
  'activate_gateway',
  'export_offline_request',
  'import_offline_response',
] as const;

export const EVENTS = {
  syncProgress: 'sync://progress',
  syncStatus: 'sync://status',
  dragEnter: 'tauri://drag-enter',
  dragOver: 'tauri://drag-over',
  dragDrop: 'tauri://drag-drop',
  dragLeave: 'tauri://drag-leave',
} as const;

export const api = {
  // Profiles and settings
  listProfiles: () => call<ProfileList>('list_profiles'),
  switchProfile: (id: string) => call<ProfileList>('switch_profile', { id }),
  saveProfile: (profile: ProfileInput) => call<ProfileList>('save_profile', { profile }),
  deleteProfile: (id: string) => call<ProfileList>('delete_profile', { id }),
  getSettings: () => call<Settings>('get_settings'),
  saveSettings: (settings: Settings) => call<Settings>('save_settings', { settings }),

  // Sync and outbox
  syncStatus: () => call<SyncStatus>('sync_status'),
  syncNow: () => call<SyncStatus>('sync_now'),
  syncCancel: () => call<void>('sync_cancel'),
  listOutbox: () => call<OutboxItem[]>('list_outbox'),
  retryOutboxItem: (id: number | bigint) => call<OutboxItem[]>('retry_outbox_item', { id: Number(id) }),

  // Products
  accountOverview: () => call<Overview>('account_overview'),
  productCards: () => call<ProductCard[]>('product_cards'),
  assignCodes: (pk: string, count: number) => call<Overview>('assign_codes', { pk, count }),

  // License Management
  dataCenterCounters: () => call<Counters>('data_center_counters'),
  licensePage: (query: LicenseQuery) => call<LicensePage>('license_page', { query }),
  licenseCharts: () => call<Charts>('license_charts'),
  /** Opens the native save dialog in Rust; resolves to the written path, or null if cancelled. */
  exportLicensesCsv: (query: LicenseQuery) => call<string | null>('export_licenses_csv', { query }),

  // Devices
  nearExpiryDevices: (query: NearExpiryQuery) => call<NearExpiryDevice[]>('near_expiry_devices', { query }),
  deviceQuota: (pk: string, dk: string) => call<DeviceQuota>('device_quota', { pk, dk }),
  otaCost: (pk: string, dk: string, bytes: number) => call<OtaCost>('ota_cost', { pk, dk, bytes }),
  otaCostForFile: (pk: string, dk: string, path: string) => call<OtaCost>('ota_cost_for_file', { pk, dk, path }),

  // Gateway licenses
  listGateways: () => call<Gateway[]>('list_gateways'),
  gatewayLicense: (gatewayId: string) => call<GatewayLicenseView>('gateway_license', { gatewayId }),
  /** Native open dialog in Rust; null when the user cancelled. */
  uploadLicenseDialog: (gatewayId: string) => call<InstallOutcome | null>('upload_license_dialog', { gatewayId }),
  /** Paths dropped on the window; read once in Rust, with a size cap. */
  installLicenseFiles: (gatewayId: string, paths: string[]) =>
    call<InstallOutcome>('install_license_files', { gatewayId, paths }),
  checkActivationCode: (input: string) => call<CodeCheck>('check_activation_code', { input }),
  activateGateway: (gatewayId: string, code: string) => call<InstallOutcome>('activate_gateway', { gatewayId, code }),
  exportOfflineRequest: (gatewayId: string, code: string) =>
    call<string | null>('export_offline_request', { gatewayId, code }),
  importOfflineResponse: (gatewayId: string) => call<InstallOutcome | null>('import_offline_response', { gatewayId }),

  // Events
  onSyncProgress: (handler: (p: SyncProgress) => void): Promise<UnlistenFn> =>
    listen<SyncProgress>(EVENTS.syncProgress, (e) => handler(e.payload)),
  onSyncStatus: (handler: (s: SyncStatus) => void): Promise<UnlistenFn> =>
    listen<SyncStatus>(EVENTS.syncStatus, (e) => handler(e.payload)),
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
