// An alert's words in the user's language, from the figures Rust put in its
// params (the rules are core's; nothing is decided here).
import { fill } from './errors';
import { t, type MessageKey } from './i18n/index.svelte';
import type { Alert } from './types';

function worded(key: MessageKey, a: Alert): string | null {
  return fill(t(key), a.params);
}

const expired = (a: Alert) => a.kind === 'gateway_expiring' && a.params.expired === true;

/** "Smart Water Meter: 19 % of codes left". */
export function alertTitle(a: Alert): string {
  const key = (expired(a) ? 'alert.gateway_expiring.expiredTitle' : `alert.${a.kind}.title`) as MessageKey;
  return worded(key, a) ?? t(`alert.kind.${a.kind}` as MessageKey);
}

/** What it means and what to do. */
export function alertBody(a: Alert): string {
  let key = `alert.${a.kind}.body` as MessageKey;
  if (expired(a)) key = 'alert.gateway_expiring.expiredBody';
  if (a.kind === 'not_synced' && !a.params.last_synced_at) key = 'alert.not_synced.bodyNever';
  return worded(key, a) ?? '';
}

export function alertKindLabel(a: Alert): string {
  return t(`alert.kind.${a.kind}` as MessageKey);
}

export function alertActionLabel(a: Alert): string {
  return t(`alerts.action.${a.action}` as MessageKey);
}
