// The one string catalogue. `t(key, params)` reads the current locale, so a
// template that calls it re-renders when the language changes.
import { en, type Catalogue, type MessageKey } from './en';
import { zhCN } from './zh-CN';
import type { Language } from '../types';

export type { MessageKey };
export const catalogues: Record<Language, Catalogue> = { en, 'zh-CN': zhCN };
export const languages: { id: Language; label: string }[] = [
  { id: 'en', label: 'English' },
  { id: 'zh-CN', label: '简体中文' },
];

const state = $state<{ locale: Language }>({ locale: 'en' });

export function locale(): Language {
  return state.locale;
}

export function setLocale(l: Language): void {
  state.locale = l;
  if (typeof document !== 'undefined') document.documentElement.lang = l;
}

export type Params = Record<string, string | number | bigint>;

export function t(key: MessageKey, params?: Params): string {
  const text = catalogues[state.locale][key] ?? en[key];
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}
