// App-wide state shared by the shell and the views: current page, theme,
// sync status, profiles, toasts. Values come from Rust through api.ts.
import { setLocale } from './i18n/index.svelte';
import { api, toApiError, type ApiError } from './api';
import type { AlertsView, Language, ProfileList, Settings, SyncStatus, Theme } from './types';

export type { Language, Settings, Theme };

export type Page = 'products' | 'accounts' | 'licenses' | 'devices' | 'gateway' | 'fieldKit' | 'alerts' | 'settings';
export const PAGES: Page[] = ['products', 'accounts', 'licenses', 'devices', 'gateway', 'fieldKit', 'alerts', 'settings'];

export interface Toast {
  id: number;
  kind: 'success' | 'error';
  text: string;
  code?: string;
  /** An error toast's error, worded in the language shown. */
  error?: ApiError;
}

export const app = $state({
  page: 'products' as Page,
  sidebarCollapsed: false,
  /** Language and theme at once (from the webview's copy); the rest from Rust. */
  settings: { language: 'en', theme: 'system' } as Settings,
  /** Rust's settings have arrived (every field of `settings` is real). */
  settingsLoaded: false,
  /** The alerts and notifications, refreshed after every background round. */
  alerts: null as AlertsView | null,
  profiles: null as ProfileList | null,
  sync: null as SyncStatus | null,
  toasts: [] as Toast[],
  /** Bumped after a sync or a profile switch: views reload their data. */
  epoch: 0,
  /** The user pressed Sync now: its end is announced (background syncs are quiet). */
  syncRequested: false,
});

let toastId = 0;
const SUCCESS_MS = 4000;

/** Success toasts go away by themselves; errors stay until dismissed. */
export function toastSuccess(text: string): void {
  const id = ++toastId;
  app.toasts.push({ id, kind: 'success', text });
  setTimeout(() => dismissToast(id), SUCCESS_MS);
}

export function toastError(e: unknown): ApiError {
  const err = toApiError(e);
  app.toasts.push({ id: ++toastId, kind: 'error', text: err.message, code: err.code, error: err });
  return err;
}

export function dismissToast(id: number): void {
  const i = app.toasts.findIndex((t) => t.id === id);
  if (i >= 0) app.toasts.splice(i, 1);
}

/**
 * Takes a sync status unless a newer one is already here: an answer to
 * `sync_status` / `sync_now` and the `sync://status` events can arrive in
 * any order, and the newest (largest `seq`) must win.
 */
export function applySyncStatus(s: SyncStatus): void {
  if (!app.sync || s.seq >= app.sync.seq) app.sync = s;
}

/** Sync now, as the user asked: the status bar announces its end. */
export async function requestSync(): Promise<void> {
  app.syncRequested = true;
  try {
    applySyncStatus(await api.syncNow());
  } catch (e) {
    app.syncRequested = false;
    toastError(e);
  }
}

export function navigate(page: Page): void {
  app.page = page;
}

export function applyTheme(theme: Theme): void {
  if (typeof document === 'undefined') return;
  const root = document.documentElement;
  if (theme === 'system') root.removeAttribute('data-theme');
  else root.setAttribute('data-theme', theme);
}

export function applySettings(s: Settings | FirstPaint): void {
  app.settings = { ...app.settings, ...s };
  setLocale(s.language);
  applyTheme(s.theme);
}

// Language and theme: Rust keeps them (get_settings / save_settings); a copy
// in the webview's storage paints the first frame in the right language and
// theme before Rust answers. Without either, the OS decides.
const SETTINGS_KEY = 'licensedesk.settings';

/** Language and theme for the first frame; the rest comes from Rust. */
export type FirstPaint = Pick<Settings, 'language' | 'theme'>;

export function loadSettings(): FirstPaint {
  const osLang: Language =
    typeof navigator !== 'undefined' && navigator.language?.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
  const fallback: FirstPaint = { language: osLang, theme: 'system' };
  try {
    const raw = globalThis.localStorage?.getItem(SETTINGS_KEY);
    if (!raw) return fallback;
    const s = JSON.parse(raw) as Partial<Settings>;
    return {
      language: s.language === 'en' || s.language === 'zh-CN' ? s.language : fallback.language,
      theme: s.theme === 'light' || s.theme === 'dark' || s.theme === 'system' ? s.theme : 'system',
    };
  } catch {
    return fallback;
  }
}

/**
 * Saves a change of the settings: on top of Rust's (asked first if they
 * have not arrived, so nothing is saved back as a default). Refused values
 * change nothing; the error is returned and toasted.
 */
export async function saveSettings(patch: Partial<Settings>): Promise<ApiError | null> {
  const before = app.settings;
  // Shown at once (a language or theme switch), saved next.
  applySettings({ ...before, ...patch });
  remember(app.settings);
  try {
    const base = app.settingsLoaded ? before : await api.getSettings();
    const saved = await api.saveSettings({ ...base, ...patch });
    if (saved) {
      applySettings(saved);
      app.settingsLoaded = true;
      remember(saved);
    }
    return null;
  } catch (e) {
    applySettings(before);
    remember(before);
    return toastError(e);
  }
}

function remember(s: Settings): void {
  try {
    globalThis.localStorage?.setItem(SETTINGS_KEY, JSON.stringify({ language: s.language, theme: s.theme }));
  } catch {
    // Storage unavailable: Rust's copy still holds.
  }
}

/** Rust's settings win over the cached copy once they arrive. */
export async function syncSettingsFromRust(): Promise<void> {
  try {
    const s = await api.getSettings();
    applySettings(s);
    app.settingsLoaded = true;
    remember(s);
  } catch (e) {
    toastError(e);
  }
}

export function setLanguage(language: Language): void {
  void saveSettings({ language });
}

export function reloadViews(): void {
  app.epoch++;
}

/** Re-reads the alerts (after a background round, at start). */
export async function loadAlerts(): Promise<void> {
  try {
    app.alerts = await api.listAlerts();
  } catch (e) {
    toastError(e);
  }
}

/** Switches to profile `id` (when it is not the active one) and reloads the views. */
export async function useProfile(id: string): Promise<void> {
  if (app.profiles?.active_id === id) return;
  app.profiles = await api.switchProfile(id);
  reloadViews();
}

// ── Files dropped on the window ───────────────────────────────────────────
// The current view may claim drops (the OTA calculator takes firmware files);
// otherwise a drop is a license file for the Gateway License page.
export interface DropClaim {
  title: string;
  hint: string;
  onDrop: (paths: string[]) => void;
}
export const drop = $state({
  over: false,
  claim: null as DropClaim | null,
  /** Paths dropped outside the Gateway page, installed when it opens. */
  pendingLicense: null as string[] | null,
});
