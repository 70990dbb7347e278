// App-wide state shared by the shell and the views: current page, theme,
// sync status, profiles, toasts. Values come from Rust through api.ts.
import { api, toApiError, type ApiError } from './api';
import { setLocale } from './i18n/index.svelte';
import type { Language, ProfileList, Settings, SyncStatus, Theme } from './types-pending';

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

export async function saveSettings(patch: Partial<Settings>): Promise<void> {
  const next: Settings = { ...app.settings, ...patch };
  applySettings(next);
  try {
    applySettings(await api.saveSettings(next));
  } catch (e) {
    toastError(e);
  }
}

export function setLanguage(language: Language): Promise<void> {
  return saveSettings({ language });
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
