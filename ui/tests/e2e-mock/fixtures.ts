// Test data for the mock-IPC Playwright suite ONLY (never shipped: the app
// shows what Rust returns). `scenario` picks variants: offline, upload error…
import { mockIPC } from '@tauri-apps/api/mocks';

type Args = Record<string, unknown> | undefined;
export interface Scenario {
  offline?: boolean;
  syncing?: boolean;
  emptyProducts?: boolean;
  uploadError?: boolean;
  trial?: boolean;
  language?: 'en' | 'zh-CN';
  theme?: 'light' | 'dark' | 'system';
  emptyFieldKit?: boolean;
  /** The last sync emptied the cache and synced again (the server's data was replaced or restored). */
  startedOver?: boolean;
  /** Codes in the account (License Management's table), default 2,300. */
  licenseCount?: number;
}

const NOW = Date.now();
const ago = (mins: number) => new Date(NOW - mins * 60_000).toISOString();
const inDays = (d: number) => new Date(NOW + d * 86_400_000).toISOString();

// A chart shaped like licensedesk-client's (charts.rs): drawn at 360 × 200 with 13 px
// axis labels, colours as var(--…) presentation attributes, no caption (the UI
// titles it and draws its legend). `more` is stacked in danger; `limit` is a danger line.
const MONTH = new Date(NOW);
function months(n: number, from: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const d = new Date(Date.UTC(MONTH.getUTCFullYear(), MONTH.getUTCMonth() + from + i, 1));
    return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
  });
}
function days(n: number): string[] {
  return Array.from({ length: n }, (_, i) => new Date(NOW - (n - 1 - i) * 86_400_000).toISOString().slice(5, 10));
}
function chart(labels: string[], values: number[], opts: { more?: number[]; limit?: number; every?: number; fromEnd?: boolean } = {}): string {
  const [w, h, left, right, top, bottom] = [360, 200, 42, 344, 8, 167];
  const max = Math.max(...values.map((v, i) => v + (opts.more?.[i] ?? 0)), opts.limit ?? 0) * 1.1;
  const y = (v: number) => bottom - (v / max) * (bottom - top);
  const bw = (right - left) / values.length;
  const rect = (i: number, from: number, to: number, c: string) =>
    `<rect x="${left + i * bw + bw / 10}" y="${y(to)}" width="${(bw * 4) / 5}" height="${y(from) - y(to)}" fill="var(--${c})"/>`;
  const bars = values.map((v, i) => rect(i, 0, v, 'accent') + (opts.more?.[i] ? rect(i, v, v + opts.more[i], 'danger') : '')).join('');
  const step = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000].find((s) => Math.ceil(max / s) < 6) ?? 1000;
  const ticks = Array.from({ length: Math.floor(max / step) + 1 }, (_, i) => i * step);
  const grid = ticks
    .map((v) => `<line x1="${left}" x2="${right}" y1="${y(v)}" y2="${y(v)}" stroke="var(--grid)"/><text x="${left - 9}" y="${y(v)}" dy="0.5ex" text-anchor="end" font-family="inherit" font-size="13" fill="var(--fg)">${v}</text>`)
    .join('');
  const lim = opts.limit ? `<polyline points="${left},${y(opts.limit)} ${right},${y(opts.limit)}" stroke-width="2" fill="none" stroke="var(--danger)"/>` : '';
  const every = opts.every ?? 3;
  const xl = labels
    .map((l, i) => ((opts.fromEnd ? labels.length - 1 - i : i) % every ? '' : `<text x="${left + (i + 0.5) * bw}" y="177" dy="0.76em" text-anchor="middle" font-family="inherit" font-size="13" fill="var(--fg)">${l}</text>`))
    .join('');
  const axis = `<polyline points="${left},${top} ${left},${bottom} ${right},${bottom}" fill="none" stroke="var(--muted)"/>`;
  return `<svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" xmlns="http://www.w3.org/2000/svg">${grid}${bars}${lim}${axis}${xl}</svg>`;
}

const products = [
  { pk: 'p1a2b3', name: 'Smart Meter S2', package: { validity: { years: 5, months: 0, days: 0 }, messages_per_day: 1500, ota_per_month: 1, ota_cap_mb: 5, storage_days: 7 }, overage_policy: 'block', total: 1200, used: 1084, remaining: 116, devices: 1090, runs_out: '2026-09', renewal_warnings: 38, ota_topups: 10, message_topups: 0 },
  { pk: 'k9x7m2', name: 'Cold-chain Tracker', package: { validity: { years: 3, months: 0, days: 0 }, messages_per_day: 500, ota_per_month: 2, ota_cap_mb: 10, storage_days: 30 }, overage_policy: 'bill', total: 800, used: 412, remaining: 388, devices: 415, runs_out: '2028-02', renewal_warnings: 0, ota_topups: 0, message_topups: 6000 },
  { pk: 'q4w8e1', name: 'Gateway Bridge G1', package: { validity: { years: 1, months: 0, days: 0 }, messages_per_day: 5000, ota_per_month: 4, ota_cap_mb: 50, storage_days: 14 }, overage_policy: 'block', total: 300, used: 300, remaining: 0, devices: 305, runs_out: null, renewal_warnings: 12, ota_topups: 0, message_topups: 0 },
  { pk: 'z5v3n6', name: 'Air Quality Probe', package: null, overage_policy: 'block', total: 0, used: 0, remaining: 0, devices: 0, runs_out: null, renewal_warnings: 0, ota_topups: 0, message_topups: 0 },
];

// Row `i` of the License Management table for filter `q`, as Rust's window
// returns it: the same index always gives the same row.
const STATUSES = ['active', 'active', 'active', 'expired', 'unused'];
function licenseRow(i: number, q: Record<string, unknown>) {
  // `used` is a counter's word: active or expired (core's StatusFilter).
  const allowed = q.status === 'used' ? ['active', 'expired'] : q.status ? [String(q.status)] : STATUSES;
  const status = allowed[i % allowed.length]!;
  const p = products.find((x) => x.pk === q.pk) ?? products[i % 3]!;
  const consumed = status === 'unused' ? null : ago(60 * 24 * (700 - (i % 700)));
  return {
    code: `${(1000 + i).toString(36).toUpperCase().padStart(4, '0')}-7QKM-2B4R-8HJN-5WZ${(i % 10).toString()}C`,
    batch_id: 1 + (i % 7),
    batch_kind: i % 11 === 0 ? 'free' : 'purchase',
    pk: status === 'unused' && i % 2 ? null : p.pk,
    product_name: status === 'unused' && i % 2 ? null : p.name,
    dk: status === 'unused' ? null : `dev-${(100000 + i).toString()}`,
    consumed_at: consumed,
    expires_at: consumed ? (status === 'expired' ? ago(60 * 24 * (i % 90 + 1)) : inDays(30 + (i % 900))) : null,
    status,
  };
}

function licenseWindow(total: number, q: Record<string, unknown>, offset: number, limit: number, withCount: boolean) {
  const share = q.status === 'used' ? 0.8 : q.status === 'unused' || q.status === 'expired' ? 0.2 : q.status === 'active' ? 0.6 : 1;
  const count = Math.round((total * share) / (q.pk ? 3 : 1));
  const rows = [];
  for (let i = offset; i < Math.min(count, offset + limit); i++) rows.push(licenseRow(i, q));
  return { data_center: 'cn-east', total, used: Math.round(total * 0.78), remaining: total - Math.round(total * 0.78), count: withCount ? count : null, offset, rows };
}

const thisMachine = { id: 'fp-this', name: 'This machine', fingerprint: 'hw1:5f2c9a7e41b0d8c3', this_machine: true, source: 'this_machine', added_at: ago(60 * 24 * 40), kind: 'file', licensed: true, expire_at: inDays(300) };
const remote = { id: 'fp-remote', name: 'Line 3 edge gateway', fingerprint: 'hw1:a3e0117c9d52f6b8', this_machine: false, source: 'request_file', added_at: ago(60 * 24 * 3), kind: 'trial', licensed: false, expire_at: null };


// Field kit: one allotment of 5 (3 issued: reconciled, conflict, pending) that
// the journey issues into; state kept per page.
const FIELD_ID = 'alt-7c1e94d2a0b35f68';
const fp = (n: number) => `0P4P-15${n}3-6RC7-E76${n}U`;
function fieldKit(empty: boolean) {
  const issued: { seq: number; slot: number; fingerprint: string; license_id: string; issued_at: string; state: string; code: string | null; message: string | null }[] = empty
    ? []
    : [
        { seq: 1, slot: 1, fingerprint: fp(1), license_id: `${FIELD_ID}-1`, issued_at: ago(60 * 26), state: 'reconciled', code: null, message: null },
        { seq: 2, slot: 2, fingerprint: fp(2), license_id: `${FIELD_ID}-2`, issued_at: ago(60 * 25), state: 'conflict', code: 'HARDWARE_ALREADY_ACTIVATED', message: 'this gateway got a license of the order elsewhere meanwhile; its field license was not counted' },
        { seq: 3, slot: 3, fingerprint: fp(3), license_id: `${FIELD_ID}-3`, issued_at: ago(45), state: 'pending_sync', code: null, message: null },
      ];
  let max = 5;
  // What the allotment is for: the demo's ORD-2025-0001, or (checked out
  // by product) its product across ORD-2025-0001 and ORD-2025-0004.
  const orderScope = {
    kind: 'order', reference: 'ORD-2025-0001', order: 'ORD-2025-0001', product: 'edge-gateway-pro', customer: 'Hangzhou Smart Meters Co.',
    plugins: ['modbus-tcp', 'opcua', 'mqtt'], max_connections: 200, max_tags: 2000, max_license_days: 365,
  };
  let scope: Record<string, unknown> = orderScope;
  const summary = () => ({
    allotment_id: FIELD_ID, server: 'http://127.0.0.1:8787', scope, max_licenses: max,
    issued: issued.length, remaining: max - issued.length, not_before: ago(60 * 30), not_after: inDays(6.2),
    expires_in_secs: Math.round(6.2 * 86400), expired: false,
    pending_sync: issued.filter((i) => i.state === 'pending_sync').length,
    reconciled: issued.filter((i) => i.state === 'reconciled').length,
    conflicts: issued.filter((i) => i.state === 'conflict').length,
    server_state: 'open', consumed: 1, synced_at: empty ? null : ago(60 * 24),
  });
  let checkedOut = !empty;
  let reconciles = 0;
  const outDir = `/home/me/LicenseDesk/field/${FIELD_ID}`;
  const issue = (fingerprint: string, name: string | null) => {
    const existing = issued.find((i) => i.fingerprint === fingerprint);
    if (existing) return { fingerprint, name, file: `${outDir}/license-${fingerprint}.lic`, issued: { ...existing, allotment_id: FIELD_ID, reissue: true, license: '' }, code: null, message: null };
    if (issued.length >= max) return { fingerprint, name, file: null, issued: null, code: 'LEDGER_ALLOTMENT_EXHAUSTED', message: `record ${issued.length + 1}: the allotment of ${max} licenses is used up: check out a new allotment` };
    const row = { seq: issued.length + 1, slot: issued.length + 1, fingerprint, license_id: `${FIELD_ID}-${issued.length + 1}`, issued_at: new Date().toISOString(), state: 'pending_sync', code: null, message: null };
    issued.push(row);
    return { fingerprint, name, file: `${outDir}/license-${fingerprint}.lic`, issued: { ...row, allotment_id: FIELD_ID, reissue: false, license: '' }, code: null, message: null };
  };
  return {
    field_allotments: () => (checkedOut ? [summary()] : []),
    field_checkout: (a: Args) => {
      if (a?.kind === 'product') {
        if (a.reference !== 'edge-gateway-pro') return Promise.reject({ code: 'NOT_FOUND', message: 'gateway order of this product not found' });
        scope = { ...orderScope, kind: 'product', reference: 'edge-gateway-pro', order: null, plugins: ['modbus-tcp', 'mqtt'] };
      } else if (a?.reference !== 'ORD-2025-0001') {
        return Promise.reject({ code: 'NOT_FOUND', message: 'order not found' });
      }
      max = Number(a.count);
      checkedOut = true;
      return summary();
    },
    field_issued: () => issued.map((i) => ({ ...i, allotment_id: FIELD_ID })),
    field_issue_files: (a: Args) => ({ out_dir: outDir, outcomes: (a!.paths as string[]).flatMap((_, f) => [issue(fp(4 + f * 2), `gw-${4 + f * 2}`), issue(fp(5 + f * 2), `gw-${5 + f * 2}`), issue(fp(6 + f * 2), `gw-${6 + f * 2}`)]) }),
    field_issue_dialog: () => null,
    field_issue_fingerprint: (a: Args) => {
      const o = issue(String(a!.fingerprint), null);
      return o.code ? Promise.reject({ code: o.code, message: o.message }) : { out_dir: outDir, outcomes: [o] };
    },
    // The server's audit log, newest first (one page).
    field_audit: () => ({
      entries: [
        ...(reconciles > 0
          ? [{ id: 2, allotment_id: FIELD_ID, at: '2026-03-31T12:00:00Z', action: 'reconcile', detail: { entries: issued.length, new_entries: issued.length, newly_consumed: issued.length, conflicts: 0 } }]
          : []),
        {
          id: 1, allotment_id: FIELD_ID, at: '2026-03-31T10:00:00Z', action: 'checkout',
          detail: scope.kind === 'product'
            ? { scope: 'product', product: 'edge-gateway-pro', order_no: null, max_licenses: max, orders: [{ order_no: 'ORD-2025-0001', count: Math.min(max, 7) }, ...(max > 7 ? [{ order_no: 'ORD-2025-0004', count: max - 7 }] : [])] }
            : { scope: 'order', order_no: 'ORD-2025-0001', max_licenses: max },
        },
      ],
      next_cursor: null,
    }),
    field_export_ledger: () => '/home/me/ledger-alt-0001.json',
    field_reconcile: () => {
      reconciles++;
      const n = issued.filter((i) => i.state === 'pending_sync').length;
      issued.forEach((i) => i.state === 'pending_sync' && (i.state = 'reconciled'));
      return { entries: issued.length, new_entries: n, newly_consumed: n, consumed: 1 + n, conflicts: 0, summary: summary() };
    },
  };
}

function gatewayView(id: string, trial: boolean) {
  const g = id === remote.id ? remote : thisMachine;
  if (trial || id === remote.id) {
    return {
      gateway: { ...g, kind: 'trial', licensed: false, expire_at: null },
      kind: 'trial', trial: { reason: 'none_installed' }, issued_at: null, expire_at: null, expired: false,
      connections: { in_use: 4, max: 30, percent: 13, over_limit: false },
      tags: { in_use: 27, max: 30, percent: 90, over_limit: false },
      plugins: [], bound_hardware: null, installed: null, backups: 0, pending: [],
      usage_reported_at: ago(12), over_trial: false, answers: [],
    };
  }
  return {
    gateway: g, kind: 'file', trial: null, issued_at: '2026-01-15T08:00:00Z', expire_at: '2027-01-15T08:00:00Z', expired: false,
    connections: { in_use: 48, max: 100, percent: 48, over_limit: false },
    tags: { in_use: 3120, max: 5000, percent: 62, over_limit: false },
    plugins: ['modbus-tcp', 'opc-ua', 'mqtt-bridge', 's7', 'bacnet'],
    bound_hardware: g.fingerprint,
    installed: { license_id: 'LIC-2026-00417', customer: 'Acme Water Works', kind: 'file', issued_at: '2026-01-15T08:00:00Z', expire_at: '2027-01-15T08:00:00Z', max_connections: 100, max_tags: 5000, plugins: ['modbus-tcp', 'opc-ua', 'mqtt-bridge', 's7', 'bacnet'], hardware: g.fingerprint, order: 'SO-88213', installed_at: ago(60 * 24 * 20) },
    backups: 2,
    pending: [],
    usage_reported_at: ago(4), over_trial: false,
    answers: [{ request_file: '/home/me/site-7/pump.ldreq', fingerprint: g.fingerprint, gateway_id: g.id, name: g.name, result: 'issued', via: 'server', response_file: '/home/me/site-7/pump.ldresp', at: ago(60 * 24), error: null }],
  };
}

/** What the tags used over the last reports, as charts.rs draws them. */
function usageCharts() {
  const labels = Array.from({ length: 24 }, (_, i) => `${String(8 + Math.floor(i / 2)).padStart(2, '0')}:${i % 2 ? '30' : '00'}`);
  return {
    samples: 96,
    tags_svg: chart(labels, Array.from({ length: 24 }, (_, i) => 2800 + i * 15), { limit: 5000, every: 6, fromEnd: true }),
    connections_svg: chart(labels, Array.from({ length: 24 }, (_, i) => 40 + (i % 9)), { limit: 100, every: 6, fromEnd: true }),
  };
}

const VALID_CODE = '7K3MQ9TX2B4R8HJN5WZ0C';
function checkCode(input: string) {
  const raw = input.toUpperCase().replace(/[\s-]/g, '');
  const groups = [4, 4, 4, 4, 5];
  let out = '', i = 0;
  for (const g of groups) {
    if (i >= raw.length) break;
    out += (out ? '-' : '') + raw.slice(i, i + g);
    i += g;
  }
  const bad = raw.search(/[^0-9A-TV-Z]/);
  if (bad >= 0) return { formatted: out, complete: false, error: { code: 'CODE_MALFORMED', message: `'${raw[bad]}' (character ${bad + 1}) cannot appear in an activation code: codes use digits and letters except U; check the code for typos` } };
  if (raw.length > 21) return { formatted: out, complete: false, error: { code: 'CODE_MALFORMED', message: `the activation code has ${raw.length} symbols but needs 21: check that the whole code was copied` } };
  if (raw.length < 21) return { formatted: out, complete: false, error: null };
  if (raw !== VALID_CODE) return { formatted: out, complete: false, error: { code: 'CODE_CHECK_MISMATCH', message: 'the activation code contains a typo (its check symbol does not match): compare it symbol by symbol with the original' } };
  return { formatted: out, complete: true, error: null };
}

export function install(s: Scenario): void {
  // Window preferences live in the webview's storage (see state.svelte.ts).
  localStorage.setItem('licensedesk.settings', JSON.stringify({ language: s.language ?? 'en', theme: s.theme ?? 'light' }));
  const status = {
    online: !s.offline,
    syncing: !!s.syncing,
    progress: s.syncing ? { phase: 'changes', done: 1400, total: 2800, full: true } : null,
    staleness: { last_synced_at: s.offline ? ago(185) : ago(3), age_seconds: s.offline ? 185 * 60 : 180, server_time: ago(3), clock_warning: null },
    outbox_pending: s.offline ? 2 : 0,
    outbox_rejected: s.offline ? 1 : 0,
    gateway_pending: 0,
    last_error: s.offline ? { code: 'SERVER_UNREACHABLE', message: 'the server at http://127.0.0.1:8787 cannot be reached (error sending request for url (http://127.0.0.1:8787/v1/changes?cursor=48213%40c5a1f0e2)); the data shown is from the last sync' } : null,
    last_sync: s.startedOver ? { started_over: true, full: true, snapshot_rows: 2300, changes_applied: 14, seq: 1 } : null,
    seq: 1,
  };
  let settings = {
    language: s.language ?? 'en',
    theme: s.theme ?? 'light',
    sync_every_minutes: 5,
    close_to_tray: false,
    alerts: { notify: true, low_remaining_percent: 20, low_remaining_clear_percent: 25, runs_out_days: 30, renewal_days: 30, gateway_expiry_days: 30, lease_minutes: 10, not_synced_minutes: 60 },
  };
  const alerts = {
    alerts: [
      {
        scope: 'p-hz', kind: 'offline_at_renewal', subject: 'q4w8e1', raised: true, raised_at: ago(40), cleared_at: null, times_raised: 1, action: 'assign_codes', urgency: 2,
        params: { profile: 'Hangzhou', product: 'Gateway Bridge G1', pk: 'q4w8e1', devices: 12, days: 30, unassigned: 12, total: 300, remaining: 0 },
      },
      {
        scope: 'p-hz', kind: 'low_remaining', subject: 'p1a2b3', raised: true, raised_at: ago(20), cleared_at: null, times_raised: 2, action: 'buy_codes', urgency: 5,
        params: { profile: 'Hangzhou', product: 'Smart Meter S2', pk: 'p1a2b3', total: 1200, remaining: 116, percent: 9, watermark: 20, unassigned: 12 },
      },
      {
        scope: 'gateways', kind: 'gateway_expiring', subject: 'hw1:77d04be19a3c5e20', raised: false, raised_at: ago(60 * 30), cleared_at: ago(60 * 5), times_raised: 1, action: 'renew', urgency: 3,
        params: { gateway: 'Line 3 edge gateway', fingerprint: 'hw1:77d04be19a3c5e20', expire_at: inDays(20), days: 20, expired: false },
      },
    ],
    notifications: [
      { id: 2, scope: 'p-hz', kind: 'low_remaining', subject: 'p1a2b3', title: 'Smart Meter S2: 9 % of codes left', body: '116 of 1200 remaining (Hangzhou). Buy codes, or assign unassigned ones.', language: 'en', asked_at: ago(20) },
      { id: 1, scope: 'p-hz', kind: 'offline_at_renewal', subject: 'q4w8e1', title: 'Gateway Bridge G1: 12 devices go offline at renewal', body: '12 devices whose codes expire within 30 days have no code to renew from. Assign or buy codes.', language: 'en', asked_at: ago(40) },
    ],
    rounds: 4,
    last_checked_at: ago(1),
  };
  const handlers: Record<string, (a: Args) => unknown> = {
    get_settings: () => settings,
    save_settings: (a) => (settings = a!.settings as typeof settings),
    list_profiles: () => ({
      active_id: 'p-hz',
      profiles: [
        { id: 'p-hz', name: 'Hangzhou', server_url: 'https://licenses.acme.example', account_label: 'Acme IoT (enterprise)', data_center: 'cn-east' },
        { id: 'p-fra', name: 'Frankfurt', server_url: 'https://eu.licenses.acme.example', account_label: 'Acme IoT EU', data_center: 'eu-central' },
      ],
    }),
    switch_profile: () => handlers.list_profiles!(undefined),
    sync_status: () => status,
    sync_now: () => status,
    list_alerts: () => alerts,
    sync_all: () => alerts,
    all_accounts: () => {
      const hz = handlers.account_overview!(undefined) as Record<string, unknown>;
      const fra = { ...hz, name: 'Acme IoT EU', data_center: 'eu-central', time_zone: 'Europe/Berlin', total: 600, used: 410, remaining: 190, unassigned: 0 };
      const list = handlers.list_profiles!(undefined) as { profiles: unknown[] };
      return {
        accounts: [
          { profile: list.profiles[0], overview: hz, cards: s.emptyProducts ? [] : products, error: null, sync_error: null },
          { profile: list.profiles[1], overview: fra, cards: products.slice(1, 3), error: null, sync_error: s.offline ? status.last_error : null },
        ],
        total: 2900,
        used: 2206,
        remaining: 694,
        counted: 2,
      };
    },
    list_outbox: () => [
      { id: 11, kind: 'gateway_activation', state: 'pending', attempts: 3, created_at: ago(95), updated_at: ago(5), path: '/v1/gateways/activate', body: '{}', error: null, response: null },
      { id: 12, kind: 'assign_codes', state: 'rejected', attempts: 1, created_at: ago(60), updated_at: ago(58), path: '/v1/products/p1a2b3/assign', body: '{}', error: { code: 'ASSIGN_COUNT_EXCEEDS_AVAILABLE', message: 'cannot assign 50 codes: only 12 unassigned codes are left; assign at most 12 or buy more' }, response: null },
    ],
    account_overview: () => ({ name: 'Acme IoT', kind: 'enterprise', data_center: 'cn-east', time_zone: 'Asia/Shanghai', verified_enterprise: true, total: 2300, used: 1796, remaining: 504, unassigned: 12, free_codes: 10, staleness: status.staleness }),
    product_cards: () => (s.emptyProducts ? [] : products),
    product_billing: (a) => {
      const p = products.find((x) => x.pk === a!.pk);
      if (!p) throw { code: 'NOT_FOUND', message: `product ${String(a!.pk)} not found` };
      return {
        pk: p.pk, overage_policy: p.overage_policy, message_topups: p.message_topups, ota_topups: p.ota_topups,
        month: '2026-12', month_closes_at: '2026-12-31T16:00:00Z',
        message_overage_this_month: p.overage_policy === 'bill' ? 900 : 0, ota_overage_this_month: 0,
        statements: p.overage_policy === 'bill'
          ? [{ month: '2026-11', overage_policy: 'bill', message_overage: 12000, message_topups_applied: 8000, messages_billed: 4000, ota_overage: 0, ota_topups_applied: 0, ota_billed: 0, ota_topups_used_in_month: 0, message_topups_left: 6000, ota_topups_left: 0, closed_at: '2026-11-30T16:00:30Z' }]
          : [],
      };
    },
    license_window: (a) => licenseWindow(s.licenseCount ?? 2300, (a!.query ?? {}) as Record<string, unknown>, Number(a!.offset), Number((a!.query as Record<string, unknown>).limit ?? 100), !!a!.count),
    license_charts: () => ({
      consumption: chart(months(12, -11), [42, 55, 61, 48, 70, 88, 95, 77, 102, 110, 96, 120], { fromEnd: true }),
      // 504 remaining at 114 a month: four months' worth, short in the fifth.
      burn_down: chart(months(24, 0), [390, 276, 162, 48, ...Array<number>(20).fill(0)], { every: 6 }),
      burn_down_per_month: 114,
      burn_down_runs_out: months(5, 0)[4],
      burn_down_months: 24,
      expirations: chart(months(12, 0), [12, 30, 22, 41, 18, 25, 20, 3, 0, 0, 0, 0], { more: [0, 0, 0, 0, 0, 0, 40, 30, 20, 15, 28, 36] }),
    }),
    near_expiry_devices: (a) => {
      const devices = [
        { pk: 'p1a2b3', product_name: 'Smart Meter S2', dk: 'meter-004211', code: null, activated_at: '2021-06-02T09:12:00Z', expires_at: inDays(3), days_left: 3, replacement_available: true },
        { pk: 'p1a2b3', product_name: 'Smart Meter S2', dk: 'meter-004388', code: null, activated_at: '2021-06-09T11:40:00Z', expires_at: inDays(9), days_left: 9, replacement_available: true },
        { pk: 'q4w8e1', product_name: 'Gateway Bridge G1', dk: 'bridge-0091', code: null, activated_at: '2025-06-20T02:00:00Z', expires_at: inDays(14), days_left: 14, replacement_available: false },
        { pk: 'k9x7m2', product_name: 'Cold-chain Tracker', dk: 'trk-77120', code: null, activated_at: '2023-07-01T00:00:00Z', expires_at: inDays(27), days_left: 27, replacement_available: true },
      ];
      const q = (a!.query ?? {}) as Record<string, unknown>;
      const offset = Number(q.offset ?? 0);
      return { count: devices.length, offset, devices: devices.slice(offset, offset + Number(q.limit ?? 100)) };
    },
    device_quota: (a) => ({ pk: a!.pk, product_name: 'Smart Meter S2', dk: a!.dk, status: 'active', online: true, offline_reason: null, activated_at: '2021-06-02T09:12:00Z', expires_at: inDays(3), package: { validity: { years: 5, months: 0, days: 0 }, messages_per_day: 1500, ota_per_month: 1, ota_cap_mb: 5, storage_days: 7 }, messages_per_day: 1500, messages_today: 1126, messages_reset_at: inDays(0.4), ota_per_month: 1, ota_cap_mb: 5, ota_this_month: 0, ota_reset_at: inDays(12), storage_days: 7, retention_cutoff: ago(60 * 24 * 7) }),
    device_messages_chart: () => chart(days(30), [900, 1020, 1100, 980, 1250, 1400, 1320, 1180, 1010, 990, 1060, 1210, 1300, 1490, 1350, 1100, 1040, 1000, 1220, 1330, 1280, 1150, 1090, 1170, 1260, 1380, 1420, 1310, 1200, 1126], { limit: 1500, every: 6, fromEnd: true }),
    ota_cost: (a) => {
      const bytes = Number(a!.bytes);
      if (!(bytes > 0)) return Promise.reject({ code: 'OTA_SIZE_INVALID', message: 'the firmware size must be at least 1 byte' });
      const attempts = Math.max(1, Math.ceil(bytes / (5 * 1048576)));
      return { bytes, attempts, allowed: attempts <= 1, remaining_this_month: 1, reason: attempts <= 1 ? null : `needs ${attempts} attempts but 1 is left this month and there is no top-up package` };
    },
    list_gateways: () => [thisMachine, remote],
    gateway_license: (a) => gatewayView(String(a!.gatewayId), !!s.trial),
    floating_pools: () => [
      {
        name: 'plant-a', points: 500, in_use: 320, ttl_seconds: 300, plugins: ['modbus-tcp', 'mqtt'],
        leases: [
          { fingerprint: thisMachine.fingerprint, gateway_id: thisMachine.id, gateway_name: thisMachine.name, this_machine: true, points: 200, claimed_at: ago(300), expires_at: inDays(0.002), seconds_left: 187, connections: 48, tags: 180, usage_at: ago(1) },
          { fingerprint: 'hw1:77d04be19a3c5e20', gateway_id: null, gateway_name: null, this_machine: false, points: 120, claimed_at: ago(90), expires_at: inDays(0.001), seconds_left: 64, connections: null, tags: null, usage_at: null },
        ],
      },
    ],
    release_lease: () => ({ name: 'plant-a', points: 500, in_use: 200, ttl_seconds: 300, plugins: [], leases: [] }),
    gateway_usage_charts: (a) => (a!.gatewayId === thisMachine.id && !s.trial ? usageCharts() : { samples: 0, tags_svg: null, connections_svg: null }),
    lookup_order: () => ({
      order_no: 'ORD-2025-0001', product: 'edge-gateway-pro', customer: 'Acme Water Works', activation_code: '7K3M-Q9TX-2B4R-8HJN-5WZ0C', quantity: 10, used: 4, remaining: 6,
      max_connections: 200, max_tags: 2000, plugins: ['modbus-tcp', 'opcua', 'mqtt'], validity_days: 365,
      activations: [{ fingerprint: thisMachine.fingerprint, gateway_name: thisMachine.name, this_machine: true, license_id: 'LIC-2026-00417', issued_at: '2026-01-15T08:00:00Z', reissued: 0 }],
    }),
    license_file_text: () => '-----BEGIN LICENSEDESK LICENSE-----\n…\n-----END LICENSEDESK LICENSE-----\n',
    export_license_dialog: () => '/home/me/ld-workstation.lic',
    answer_requests_dialog: () => null,
    import_usage_dialog: () => null,
    trusted_keys: () => ({ keys: [{ kid: 'ld-20260101-9f3a11c2', fingerprint: '3f2a 91bc 0d44 12ab 9f00 aa11 bb22 cc33', created_at: '2026-01-01T00:00:00Z', current: true }], json: '{}' }),
    fetch_server_keys: () => ({ keys: [{ kid: 'ld-20260101-9f3a11c2', fingerprint: '3f2a 91bc 0d44 12ab 9f00 aa11 bb22 cc33', created_at: '2026-01-01T00:00:00Z', current: true }], json: '{}' }),
    upload_license_dialog: () =>
      s.uploadError
        ? Promise.reject({ code: 'LICENSE_SIGNATURE_INVALID', message: 'the license signature does not verify with any trusted key: the file was altered or is not from your vendor; nothing was replaced' })
        : { gateway_id: thisMachine.id, replaced: true, backup: 'license-20260601.lic', view: gatewayView(thisMachine.id, false) },
    install_license_files: () => Promise.reject({ code: 'LICENSE_ARMOR_INVALID', message: 'this is not a LicenseDesk license file (the first line must be -----BEGIN LICENSEDESK LICENSE-----): choose the .lic file you received, unmodified' }),
    open_files: () => Promise.reject({ code: 'LICENSE_ARMOR_INVALID', message: 'this is not a LicenseDesk license file (the first line must be -----BEGIN LICENSEDESK LICENSE-----): choose the .lic file you received, unmodified' }),
    check_activation_code: (a) => checkCode(String(a!.input)),
    // An offline response for three gateways: installed, refused by the server, failed here.
    import_offline_response: () => [
      { fingerprint: thisMachine.fingerprint, gateway_id: thisMachine.id, name: thisMachine.name, result: 'installed', error: null },
      { fingerprint: remote.fingerprint, gateway_id: remote.id, name: remote.name, result: 'refused', error: { code: 'ORDER_EXHAUSTED', message: 'order ORD-2025-0007 has no license left (5 of 5 activated): buy more, or re-activate a gateway that already has one' } },
      { fingerprint: 'hw1:77d04be19a3c5e20', gateway_id: null, name: 'Line 4 edge gateway', result: 'failed', error: { code: 'GATEWAY_UNKNOWN', message: 'the license is bound to gateway hw1:77d04be19a3c5e20, which is not in the registry: add that gateway first, then install the license again', params: { fingerprint: 'hw1:77d04be19a3c5e20' } } },
    ],
    ...fieldKit(!!s.emptyFieldKit),
    activate_gateway: () => ({ status: 'activated', reissued: false, remaining: 4, outcome: { gateway_id: thisMachine.id, replaced: true, backup: null, view: gatewayView(thisMachine.id, false) } }),
  };
  mockIPC(
    (cmd, args) => {
      const h = handlers[cmd];
      if (!h) return Promise.reject({ code: 'UNKNOWN_COMMAND', message: `fixture has no command ${cmd}` });
      return h(args as Args);
    },
    { shouldMockEvents: true },
  );
}
