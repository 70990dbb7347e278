// Formatting only: every number and date shown comes from Rust; these turn
// them into text for the current locale. Nothing here computes a quota, a
// count or a date rule.
import { locale, t } from './i18n/index.svelte';
import type { GatewaySummary, Int, PackageTerms } from './types';

export function num(n: Int | null | undefined): string {
  if (n === null || n === undefined) return '—';
  return new Intl.NumberFormat(locale()).format(n);
}

/** `2026-03-31T10:00:00Z` → `2026-03-31 10:00` in the user's time zone. */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function date(iso: string | null | undefined): string {
  return iso ? dateTime(iso).slice(0, 10) : '—';
}

/** "3 min ago" / "3 分钟前" for a timestamp Rust returned, relative to `now`. */
export function relative(iso: string, now: Date = new Date()): string {
  const then = new Date(iso).getTime();
  if (Number.isNaN(then)) return iso;
  const secs = Math.round((then - now.getTime()) / 1000);
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto', style: 'long' });
  const abs = Math.abs(secs);
  if (abs < 45) return rtf.format(0, 'second');
  if (abs < 3600) return rtf.format(Math.round(secs / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(secs / 3600), 'hour');
  return rtf.format(Math.round(secs / 86400), 'day');
}

/** Width of a bar, for CSS only (never shown as a number). */
export function barWidth(value: Int, max: Int): string {
  const v = Number(value);
  const m = Number(max);
  if (!(m > 0)) return '0%';
  return `${Math.min(100, Math.max(0, (v / m) * 100))}%`;
}

/** "in 6 days" / "6天后" for a number of seconds Rust computed (never a rule). */
export function inSeconds(secs: number): string {
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: 'always', style: 'long' });
  if (secs >= 86400) return rtf.format(Math.floor(secs / 86400), 'day');
  if (secs >= 3600) return rtf.format(Math.floor(secs / 3600), 'hour');
  return rtf.format(Math.max(1, Math.floor(secs / 60)), 'minute');
}

/** A package allowance in the user's language: "5 y · 1500 msg/day · 1 OTA/mo ≤ 5 MB · 7 d". */
export function packageSummary(p: PackageTerms): string {
  const v = p.validity;
  const parts = [
    v.years ? t('package.years', { n: num(v.years) }) : '',
    v.months ? t('package.months', { n: num(v.months) }) : '',
    v.days ? t('package.days', { n: num(v.days) }) : '',
  ].filter(Boolean);
  return t('package.summary', {
    validity: parts.length ? parts.join(' ') : t('package.days', { n: 0 }),
    messages: num(p.messages_per_day),
    ota: num(p.ota_per_month),
    cap: num(p.ota_cap_mb),
    storage: num(p.storage_days),
  });
}

/** A gateway's name; this machine is called so in the user's language. */
export function gatewayName(g: Pick<GatewaySummary, 'name' | 'this_machine'>): string {
  return g.this_machine ? t('gateway.thisMachine') : g.name;
}
