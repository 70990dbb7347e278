import { afterEach, describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import QuotaPanel from './QuotaPanel.svelte';
import { setLocale } from '../../lib/i18n/index.svelte';

const quota = { pk: 'p1', product_name: 'Meter', dk: 'dev-1', status: 'active', online: true, offline_reason: null, activated_at: '2025-01-01T00:00:00Z', expires_at: '2030-01-01T00:00:00Z', package: null, messages_per_day: 1500, messages_today: 12, messages_reset_at: '2026-01-02T00:00:00Z', ota_per_month: 1, ota_cap_mb: 5, ota_this_month: 0, ota_reset_at: '2026-02-01T00:00:00Z', storage_days: 7, retention_cutoff: '2025-12-25T00:00:00Z' };
const svg = '<svg viewBox="0 0 360 200"><rect fill="var(--accent)"/><polyline stroke="var(--danger)"/></svg>';

async function legend(name: RegExp) {
  mockIPC((cmd) => (cmd === 'device_quota' ? quota : cmd === 'device_messages_chart' ? svg : null));
  render(QuotaPanel, { pk: 'p1', dk: 'dev-1' });
  const list = await screen.findByRole('list', { name });
  return [...list.querySelectorAll('li')].map((li) => [li.textContent?.trim(), li.querySelector('.swatch')?.className]);
}

describe('QuotaPanel messages chart', () => {
  afterEach(() => setLocale('en'));

  it('has a legend: messages as accent bars, the daily limit as a danger line', async () => {
    expect(await legend(/Legend/)).toEqual([
      ['Messages', expect.stringMatching(/\bbar\b.*\baccent\b/)],
      ['Daily limit', expect.stringMatching(/\bline\b.*\bdanger\b/)],
    ]);
    expect(screen.getByRole('img', { name: 'Messages per day, last 30 days' }).getAttribute('aria-describedby')).toBe('messages-legend');
  });

  it('speaks zh-CN', async () => {
    setLocale('zh-CN');
    expect((await legend(/图例/)).map((i) => i[0])).toEqual(['消息数', '每日上限']);
  });

  it('in zh-CN the quota panel has no English: the offline reason, the package, the figures', async () => {
    setLocale('zh-CN');
    const offline = {
      ...quota,
      status: 'inactive',
      online: false,
      offline_reason: {
        code: 'NO_CODES_AVAILABLE',
        message: 'taken offline: product Meter (p1) has no assigned activation code left; the account has 3 unassigned code(s)',
        params: { pk: 'p1', product: 'Meter', unassigned: 3 },
      },
      package: { validity: { years: 1, months: 0, days: 0 }, messages_per_day: 500, ota_per_month: 1, ota_cap_mb: 5, storage_days: 7 },
    };
    mockIPC((cmd) => (cmd === 'device_quota' ? offline : cmd === 'device_messages_chart' ? svg : null));
    render(QuotaPanel, { pk: 'p1', dk: 'dev-1' });
    const reason = await screen.findByText(/^已离线：产品 Meter（p1）/);
    expect(reason.getAttribute('data-code')).toBe('NO_CODES_AVAILABLE');
    expect(screen.getByText('1 年 · 每天 500 条消息 · 每月 1 次 OTA ≤ 5 MB · 存储 7 天')).toBeTruthy();
    const panel = screen.getByTestId('quota');
    // Only names and keys the user gave (Meter, p1, dev-1) and units are Latin.
    const latin = (panel.textContent ?? '').replace(/Meter|dev-1|p1|OTA|MB/g, '').match(/[A-Za-z]{2,}/g);
    expect(latin).toBeNull();
  });
});
