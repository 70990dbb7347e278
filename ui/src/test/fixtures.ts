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
  { pk: 'p1a2b3', name: 'Smart Meter S2', package_summary: '5 y · 1500 msg/day · 1 OTA/mo ≤ 5 MB · 7 d', overage_policy: 'block', total: 1200, used: 1084, remaining: 116, devices: 1090, runs_out: '2026-09', renewal_warnings: 38, ota_topups: 10, message_topups: 0 },
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
export const billing = {
  pk: 'p1a2b3', overage_policy: 'bill', message_topups: 6000, ota_topups: 3, month: '2026-12', month_closes_at: '2026-12-31T16:00:00Z',
  message_overage_this_month: 900, ota_overage_this_month: 2,
  statements: [
    { month: '2026-11', overage_policy: 'bill', message_overage: 12000, message_topups_applied: 8000, messages_billed: 4000, ota_overage: 0, ota_topups_applied: 0, ota_billed: 0, ota_topups_used_in_month: 0, message_topups_left: 0, ota_topups_left: 3, closed_at: '2026-11-30T16:00:30Z' },
    { month: '2026-10', overage_policy: 'block', message_overage: 0, message_topups_applied: 0, messages_billed: 0, ota_overage: 0, ota_topups_applied: 0, ota_billed: 0, ota_topups_used_in_month: 2, message_topups_left: 8000, ota_topups_left: 3, closed_at: '2026-10-31T16:00:30Z' },
  ],
};
