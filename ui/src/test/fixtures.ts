// Small DTOs for the Vitest component tests (test data only).
export const status = {
  online: true,
  syncing: false,
  progress: null,
  staleness: { last_synced_at: new Date(Date.now() - 180_000).toISOString(), age_seconds: 180, server_time: null, clock_warning: null },
  outbox_pending: 0,
  outbox_rejected: 0,
  gateway_pending: 0,
  last_error: null,
  last_sync: null,
  seq: 0,
};
export const overview = { name: 'Acme', kind: 'enterprise', data_center: 'cn-east', time_zone: 'Asia/Shanghai', verified_enterprise: true, total: 2300, used: 1796, remaining: 504, unassigned: 0, free_codes: 10, staleness: status.staleness };
export const cards = [
  { pk: 'p1a2b3', name: 'Smart Meter S2', package: { validity: { years: 5, months: 0, days: 0 }, messages_per_day: 1500, ota_per_month: 1, ota_cap_mb: 5, storage_days: 7 }, overage_policy: 'block', total: 1200, used: 1084, remaining: 116, devices: 1090, runs_out: '2026-09', renewal_warnings: 38, ota_topups: 10, message_topups: 0 },
];
export const installed = {
  license_id: 'LIC-1', customer: 'Acme', kind: 'file', issued_at: '2026-01-15T08:00:00Z', expire_at: '2027-01-15T08:00:00Z', max_connections: 100, max_tags: 5000, plugins: ['opc-ua'], hardware: 'hw1:aa', order: null, installed_at: '2026-02-01T00:00:00Z',
};
export const gateway = { id: 'fp-this', name: 'ld-workstation', fingerprint: 'hw1:aa', this_machine: true, source: 'this_machine', added_at: '2026-01-01T00:00:00Z', kind: 'file', licensed: true, expire_at: '2027-01-15T08:00:00Z' };
export const view = {
  gateway, kind: 'file', trial: null, issued_at: '2026-01-15T08:00:00Z', expire_at: '2027-01-15T08:00:00Z', expired: false,
  connections: { in_use: 48, max: 100, percent: 48, over_limit: false }, tags: { in_use: 3120, max: 5000, percent: 62, over_limit: false },
  plugins: ['opc-ua'], bound_hardware: 'hw1:aa', installed, backups: 0, pending: [],
  usage_reported_at: '2026-11-22T09:00:00Z', over_trial: false, answers: [],
};

// Alerts and every account (issue 16).
const alertBase = { raised: true, cleared_at: null, times_raised: 1 };
export const alertsView = {
  alerts: [
    {
      ...alertBase,
      scope: 'p-hz',
      kind: 'offline_at_renewal',
      subject: 'psl0003',
      raised_at: '2026-04-01T08:00:00.000000Z',
      params: { profile: 'Hangzhou', product: 'Street Light Controller', pk: 'psl0003', devices: 31, days: 30, unassigned: 5, total: 400, remaining: 0 },
      action: 'assign_codes',
      urgency: 2,
    },
    {
      ...alertBase,
      scope: 'p-hz',
      kind: 'low_remaining',
      subject: 'pwm0001',
      raised_at: '2026-04-01T09:00:00.000000Z',
      params: { profile: 'Hangzhou', product: 'Smart Water Meter', pk: 'pwm0001', total: 1505, remaining: 295, percent: 19, watermark: 20, unassigned: 5 },
      action: 'buy_codes',
      urgency: 5,
    },
    {
      ...alertBase,
      raised: false,
      cleared_at: '2026-04-01T07:00:00.000000Z',
      scope: 'gateways',
      kind: 'gateway_expiring',
      subject: 'FP-1',
      raised_at: '2026-03-30T09:00:00.000000Z',
      params: { gateway: 'Line 3', fingerprint: 'FP-1', expire_at: '2026-04-20T00:00:00Z', days: 19, expired: false },
      action: 'renew',
      urgency: 3,
    },
  ],
  notifications: [
    { id: 2, scope: 'p-hz', kind: 'low_remaining', subject: 'pwm0001', title: 'Smart Water Meter: 19 % of codes left', body: '295 of 1505 remaining', language: 'en', asked_at: '2026-04-01T09:00:00.000000Z' },
    { id: 1, scope: 'p-hz', kind: 'offline_at_renewal', subject: 'psl0003', title: 'Street Light Controller: 31 devices go offline at renewal', body: '…', language: 'en', asked_at: '2026-04-01T08:00:00.000000Z' },
  ],
  rounds: 3,
  last_checked_at: new Date(Date.now() - 60_000).toISOString(),
};
export const profiles = {
  profiles: [
    { id: 'p-hz', name: 'Hangzhou', server_url: 'http://127.0.0.1:8787', account_label: 'hz', data_center: 'cn-east' },
    { id: 'p-lena', name: 'Lena', server_url: 'http://127.0.0.1:8787', account_label: 'lena', data_center: 'eu-central' },
  ],
  active_id: 'p-hz',
};
export const allAccounts = {
  accounts: [
    { profile: profiles.profiles[0]!, overview, cards, error: null, sync_error: null },
    {
      profile: profiles.profiles[1]!,
      overview: { ...overview, name: 'Lena Vogel', kind: 'individual', data_center: 'eu-central', total: 305, used: 250, remaining: 55 },
      cards: [],
      error: null,
      sync_error: { code: 'SERVER_UNREACHABLE', message: 'the server at http://127.0.0.1:8787 cannot be reached', params: { url: 'http://127.0.0.1:8787', detail: 'refused' } },
    },
  ],
  total: 2605,
  used: 2046,
  remaining: 559,
  counted: 2,
};
export const billing = {
  pk: 'p1a2b3', overage_policy: 'bill', message_topups: 6000, ota_topups: 3, month: '2026-12', month_closes_at: '2026-12-31T16:00:00Z',
  message_overage_this_month: 900, ota_overage_this_month: 2,
  statements: [
    { month: '2026-11', overage_policy: 'bill', message_overage: 12000, message_topups_applied: 8000, messages_billed: 4000, ota_overage: 0, ota_topups_applied: 0, ota_billed: 0, ota_topups_used_in_month: 0, message_topups_left: 0, ota_topups_left: 3, closed_at: '2026-11-30T16:00:30Z' },
    { month: '2026-10', overage_policy: 'block', message_overage: 0, message_topups_applied: 0, messages_billed: 0, ota_overage: 0, ota_topups_applied: 0, ota_billed: 0, ota_topups_used_in_month: 2, message_topups_left: 8000, ota_topups_left: 3, closed_at: '2026-10-31T16:00:30Z' },
  ],
};
