// An error's title: a few words in the user's language chosen by its stable
// `code`, shown above Rust's message (which keeps the specifics: file names,
// counts, what to do). Only code → words: the UI decides nothing here. The
// one map for the status bar, ErrorState, the error toasts and the refused
// items of lists (RowError: the Field Kit's per-gateway results, the
// outbox, the offline import).
//
// The codes are those that reach the UI (src-tauri/src/error.rs): the
// client's (a server's refusal of a sync or read is SERVER_REJECTED; a
// queued action the server refused keeps the server's code in the outbox),
// the gateways' and the field kit's (both keep a refusing server's own code,
// e.g. NOT_FOUND for an unknown Activation Code), and the licensedesk-core
// codes they wrap. contract.test.ts checks each one is a code Rust has.
import { dateTime, num } from './format';
import { locale, t, type MessageKey } from './i18n/index.svelte';
import { errorTextsZhCN } from './i18n/errors.zh-CN';
import type { Language } from './types';

const TITLES = new Map<string, MessageKey>([
  // Files chosen or dropped
  ['FILE_NOT_FOUND', 'error.fileNotFound'],
  ['FILE_UNREADABLE', 'error.fileUnreadable'],
  ['FILE_NOT_A_FILE', 'error.notAFile'],
  ['FILE_TOO_LARGE', 'error.fileTooLarge'],
  ['FIELD_FILE_TOO_LARGE', 'error.fileTooLarge'],
  ['FILE_NONE', 'error.noFile'],
  ['FIELD_NO_FILES', 'error.noFile'],
  ['FILE_TOO_MANY', 'error.tooManyFiles'],
  ['FIELD_IO', 'error.fileIo'],
  ['IO_ERROR', 'error.fileIo'],
  ['EXPORT_IO', 'error.fileIo'],

  // License files
  ['LICENSE_TOO_LARGE', 'error.licenseTooLarge'],
  ['LICENSE_ARMOR_INVALID', 'error.notALicense'],
  ['LICENSE_BASE64_INVALID', 'error.licenseDamaged'],
  ['LICENSE_ENVELOPE_INVALID', 'error.licenseDamaged'],
  ['LICENSE_VERSION_UNSUPPORTED', 'error.licenseUnsupported'],
  ['LICENSE_PAYLOAD_VERSION_UNSUPPORTED', 'error.licenseUnsupported'],
  ['LICENSE_ALG_UNSUPPORTED', 'error.licenseUnsupported'],
  ['LICENSE_KID_UNKNOWN', 'error.licenseSignerUnknown'],
  ['LICENSE_SIGNATURE_INVALID', 'error.licenseSignature'],
  ['DELEGATE_LICENSE_SIGNATURE_INVALID', 'error.licenseSignature'],
  ['DELEGATE_CERT_SIGNATURE_INVALID', 'error.licenseSignature'],
  ['LICENSE_PAYLOAD_INVALID', 'error.licenseContent'],
  ['LICENSE_HARDWARE_MISMATCH', 'error.licenseHardware'],
  ['LICENSE_EXPIRED', 'error.licenseExpired'],
  ['LICENSE_NOT_YET_VALID', 'error.licenseNotYetValid'],
  ['KEYS_MISSING', 'error.keysMissing'],
  ['LICENSE_NONE_INSTALLED', 'error.noLicense'],
  ['LIMIT_BELOW_USAGE', 'error.belowUsage'],

  // Key sets: a profile's trusted keys and the server's rotations
  ['KEYSET_UNTRUSTED', 'error.keysetUntrusted'],
  ['KEYSET_KEY_CONFLICT', 'error.keysetUntrusted'],
  ['KEYSET_CHAIN_INVALID', 'error.keysetAltered'],
  ['KEYSET_MALFORMED', 'error.keysetInvalid'],
  ['KEYSET_TOO_LARGE', 'error.keysetInvalid'],
  ['KEYSET_EMPTY', 'error.keysetInvalid'],
  ['TRUST_DAMAGED', 'error.keysetInvalid'],

  // Usage files and files dropped on the window
  ['USAGE_FILE_MALFORMED', 'error.usageFile'],
  ['USAGE_FILE_TOO_LARGE', 'error.usageFile'],
  ['USAGE_FILE_EMPTY', 'error.usageFile'],
  ['USAGE_FILE_OUT_OF_ORDER', 'error.usageFile'],
  ['USAGE_FILE_VERSION', 'error.usageFile'],
  ['USAGE_FILE_TOO_MANY_SAMPLES', 'error.usageFile'],
  ['USAGE_OUT_OF_RANGE', 'error.usageFile'],
  ['FILE_KIND_UNKNOWN', 'error.fileKind'],
  ['FILE_KINDS_MIXED', 'error.fileKindsMixed'],
  ['REQUEST_UNANSWERED_OFFLINE', 'error.unansweredOffline'],
  ['CLOCK_SET_BACK', 'error.clock'],
  ['CLOCK_ISSUED_IN_FUTURE', 'error.clock'],

  // Gateways
  ['GATEWAY_UNKNOWN', 'error.gatewayUnknown'],
  ['GATEWAY_NOT_FOUND', 'error.gatewayUnknown'],
  ['GATEWAY_EXISTS', 'error.gatewayExists'],
  ['GATEWAY_NAME_INVALID', 'error.gatewayName'],
  ['STORAGE_IO', 'error.gatewayStorage'],
  ['FINGERPRINT_MALFORMED', 'error.fingerprintMalformed'],
  ['FINGERPRINT_TOO_LONG', 'error.fingerprintMalformed'],
  ['FINGERPRINT_CHECK_MISMATCH', 'error.fingerprintTypo'],

  // Activation Codes (the server's refusals keep their codes)
  ['CODE_MALFORMED', 'error.codeMalformed'],
  ['CODE_TOO_LONG', 'error.codeMalformed'],
  ['CODE_CHECK_MISMATCH', 'error.codeTypo'],
  ['NOT_FOUND', 'error.notFound'],
  ['ORDER_EXHAUSTED', 'error.orderExhausted'],
  ['HARDWARE_ALREADY_ACTIVATED', 'error.hardwareActivatedElsewhere'],
  ['RATE_LIMITED', 'error.rateLimited'],

  // Queued actions the server refused (the outbox keeps the server's code)
  ['ASSIGN_COUNT_EXCEEDS_AVAILABLE', 'error.notEnoughUnassigned'],

  // Offline activation: request and response files
  ['OFFLINE_REQUEST_TOO_LARGE', 'error.requestInvalid'],
  ['OFFLINE_REQUEST_MALFORMED', 'error.requestInvalid'],
  ['OFFLINE_REQUEST_EMPTY', 'error.requestInvalid'],
  ['OFFLINE_REQUEST_TOO_MANY', 'error.requestInvalid'],
  ['OFFLINE_RESPONSE_TOO_LARGE', 'error.responseInvalid'],
  ['OFFLINE_RESPONSE_MALFORMED', 'error.responseInvalid'],
  ['OFFLINE_RESPONSE_SIGNATURE_INVALID', 'error.responseSignature'],
  ['OFFLINE_RESPONSE_KID_UNKNOWN', 'error.responseSignature'],
  ['OFFLINE_REQUEST_NOT_FOUND', 'error.responseUnmatched'],
  ['OFFLINE_NONCE_UNKNOWN', 'error.responseUnmatched'],

  // The server
  ['SERVER_UNREACHABLE', 'error.unreachable'],
  ['FIELD_NETWORK', 'error.unreachable'],
  ['SERVER_REJECTED', 'error.rejected'],
  ['SERVER_PROTOCOL', 'error.protocol'],
  ['SERVER_REPLY_INVALID', 'error.protocol'],
  ['SERVER_TIME_INVALID', 'error.serverTime'],
  ['CLOCK_SERVER_TIME_INVALID', 'error.serverTime'],
  ['INTERNAL', 'error.serverInternal'],
  ['UNAUTHORIZED', 'error.unauthorized'],
  ['SYNC_CANCELLED', 'error.cancelled'],

  // Profiles and tokens
  ['TOKEN_MISSING', 'error.tokenMissing'],
  ['TOKEN_STORE_FAILED', 'error.tokenStore'],
  ['PROFILE_MISSING', 'error.profileMissing'],
  ['PROFILE_NOT_FOUND', 'error.profileNotFound'],

  // Field Kit
  ['FIELD_ALLOTMENT_NOT_FOUND', 'error.allotmentNotFound'],
  ['LEDGER_ALLOTMENT_EXHAUSTED', 'error.allotmentUsedUp'],
  ['DELEGATE_CERT_EXPIRED', 'error.allotmentExpired'],
  ['FIELD_REQUEST_OUT_OF_SCOPE', 'error.outOfScope'],
  ['DELEGATE_SCOPE_EXCEEDED', 'error.outOfScope'],
  ['ALLOTMENT_EXCEEDS_ORDER', 'error.notEnoughLicenses'],
  ['ALLOTMENT_EXCEEDS_PRODUCT', 'error.notEnoughLicenses'],
  ['FIELD_KEY_INVALID', 'error.fieldKey'],
  ['FIELD_DB', 'error.fieldDb'],
  ['LEDGER_MALFORMED', 'error.ledgerDamaged'],
  ['LEDGER_CHAIN_BROKEN', 'error.ledgerDamaged'],
  ['LEDGER_RECORD_ALTERED', 'error.ledgerDamaged'],
  ['LEDGER_TRUNCATED', 'error.ledgerDamaged'],
  ['LEDGER_FORKED', 'error.ledgerForked'],

  // The local cache
  ['NOT_SYNCED', 'common.notSyncedTitle'],
  ['CACHE_ERROR', 'error.cache'],
  ['DATA_CORRUPT', 'error.corrupt'],
  ['CACHE_TOO_NEW', 'error.cacheTooNew'],
  ['INVALID_INPUT', 'error.invalidInput'],
  ['OTA_SIZE_INVALID', 'error.otaSize'],
  ['OTA_SIZE_TOO_LARGE', 'error.otaSize'],

  // Settings and alerts
  ['SETTINGS_SYNC_INTERVAL_INVALID', 'error.settingsInvalid'],
  ['ALERT_THRESHOLD_INVALID', 'error.settingsInvalid'],
  ['ALERT_WATERMARK_ORDER', 'error.settingsInvalid'],
  ['NO_CODES_AVAILABLE', 'error.noCodes'],
]);

/** Every code with a title of its own, and its message key (for tests). */
export const ERROR_TITLES: ReadonlyMap<string, MessageKey> = TITLES;

/** Whether `code` has a title of its own. */
export function hasErrorTitle(code: string): boolean {
  return TITLES.has(code);
}

/**
 * The title for an error's `code` in the current language; for a code
 * without words of its own, `fallback` (already translated), else the
 * generic "Something went wrong".
 */
export function errorTitle(code: string, fallback?: string): string {
  const key = TITLES.get(code);
  if (key) return t(key);
  return fallback ?? t('common.errorTitle');
}

/** Each language's texts of the codes; English is Rust's own message. */
const TEXTS: Record<Language, Record<string, string | readonly string[]> | null> = {
  en: null,
  'zh-CN': errorTextsZhCN,
};

/** The texts of `lang` by code (for tests); `null` for English (Rust's). */
export function errorTexts(lang: Language): Record<string, string | readonly string[]> | null {
  return TEXTS[lang];
}

type ParamValue = string | number | bigint | boolean | null | undefined;

/** A param as the user reads it: numbers and instants in the locale's form. */
function shown(v: ParamValue): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'bigint') return num(v);
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(v)) return dateTime(v);
  return String(v);
}

/** `template` with every `{name}` filled from `params`, or null when one is missing. */
export function fill(template: string, params: Record<string, ParamValue>): string | null {
  let missing = false;
  const text = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const v = shown(params[name]);
    if (v === null) missing = true;
    return v ?? '';
  });
  return missing ? null : text;
}

/**
 * An error's (or a reason's) text in the user's language: in English,
 * Rust's message (written in English, with the specifics); in another
 * language, the code's text worded from its params (the first variant whose
 * values are all there), else `null` — never Rust's English. Shown below
 * the code's title; see [`errorSentence`] where no title is shown.
 */
export function errorText(e: { code: string; message: string; params?: Record<string, ParamValue> | null }): string | null {
  const texts = TEXTS[locale()];
  if (!texts) return e.message;
  const entry = texts[e.code];
  const variants: readonly string[] = entry === undefined ? [] : typeof entry === 'string' ? [entry] : entry;
  for (const v of variants) {
    const text = fill(v, e.params ?? {});
    if (text !== null) return text;
  }
  return null;
}

/** [`errorText`], or the code's title when it has no text in this language. */
export function errorSentence(e: { code: string; message: string; params?: Record<string, ParamValue> | null }): string {
  return errorText(e) ?? errorTitle(e.code);
}
