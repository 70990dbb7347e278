// App-wide state shared by the shell and the views: current page, theme,
// sync status, profiles, toasts. Values come from Rust through api.ts.
import { setLocale } from './i18n/index.svelte';
import { api, toApiError, type ApiError } from './api';
import type { Language, ProfileList, Settings, SyncStatus, Theme } from './types';

export type { Language, Settings, Theme };

export type Page = 'products' | 'licenses' | 'devices' | 'gateway' | 'fieldKit' | 'settings';
export const PAGES: Page[] = ['products', 'licenses', 'devices', 'gateway', 'fieldKit', 'settings'];

export interface Toast {
  id: number;
  kind: 'success' | 'error';
  text: string;
  code?: string;
}

export const app = $state({
  page: 'products' as Page,
  sidebarCollapsed: false,
  settings: { language: 'en', theme: 'system' } as Settings,
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
  app.toasts.push({ id: ++toastId, kind: 'error', text: err.message, code: err.code });
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

export function applySettings(s: Settings): void {
  app.settings = s;
  setLocale(s.language);
  applyTheme(s.theme);
}

// Language and theme: Rust keeps them (get_settings / save_settings); a copy
// in the webview's storage paints the first frame in the right language and
// theme before Rust answers. Without either, the OS decides.
const SETTINGS_KEY = 'licensedesk.settings';

export function loadSettings(): Settings {
  const osLang: Language =
    typeof navigator !== 'undefined' && navigator.language?.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
  const fallback: Settings = { language: osLang, theme: 'system' };
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

export function saveSettings(patch: Partial<Settings>): void {
  const next: Settings = { ...app.settings, ...patch };
  applySettings(next);
  remember(next);
  api.saveSettings(next).catch(toastError);
}

function remember(s: Settings): void {
  try {
    globalThis.localStorage?.setItem(SETTINGS_KEY, JSON.stringify(s));
  } catch {
    // Storage unavailable: Rust's copy still holds.
  }
}

/** Rust's settings win over the cached copy once they arrive. */
export async function syncSettingsFromRust(): Promise<void> {
  try {
    const s = await api.getSettings();
    applySettings(s);
    remember(s);
  } catch (e) {
    toastError(e);
  }
}

export function setLanguage(language: Language): void {
  saveSettings({ language });
}

export function reloadViews(): void {
  app.epoch++;
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
