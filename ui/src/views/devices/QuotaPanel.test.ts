import { afterEach, describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import QuotaPanel from './QuotaPanel.svelte';
import { setLocale } from '../../lib/i18n/index.svelte';

const quota = { pk: 'p1', product_name: 'Meter', dk: 'dev-1', status: 'active', online: true, offline_reason: null, activated_at: '2025-01-01T00:00:00Z', expires_at: '2030-01-01T00:00:00Z', package_summary: null, messages_per_day: 1500, messages_today: 12, messages_reset_at: '2026-01-02T00:00:00Z', ota_per_month: 1, ota_cap_mb: 5, ota_this_month: 0, ota_reset_at: '2026-02-01T00:00:00Z', storage_days: 7, retention_cutoff: '2025-12-25T00:00:00Z' };
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
});
