import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen } from '@testing-library/svelte';
import ChartsPanel from './ChartsPanel.svelte';
import { Resource } from '../../lib/resource.svelte';
import { setLocale } from '../../lib/i18n/index.svelte';
import type { LicenseCharts } from '../../lib/types';

const svg = '<svg viewBox="0 0 360 200"><rect fill="var(--accent)"/><text>2026-07</text></svg>';
const runsOut: LicenseCharts = { consumption: svg, burn_down: svg, burn_down_per_month: 1234, burn_down_runs_out: '2027-10', burn_down_months: 24, expirations: svg };
const lasts: LicenseCharts = { ...runsOut, burn_down_per_month: 3, burn_down_runs_out: null };

async function panel(data: LicenseCharts) {
  const charts = new Resource<LicenseCharts>(() => Promise.resolve(data));
  await charts.load();
  render(ChartsPanel, { charts });
}
const line = () => screen.getByTestId('burn-down-line').textContent?.trim();
const legend = () => screen.getByRole('list', { name: /Legend|图例/ });
const swatches = () => [...legend().querySelectorAll('li')].map((li) => [li.textContent?.trim(), li.querySelector('.swatch')?.className]);

describe('ChartsPanel', () => {
  afterEach(() => setLocale('en'));

  it("states the burn-down's rate and run-out month from Rust, and tells screen readers too", async () => {
    await panel(runsOut);
    expect(line()).toBe('At 1,234 a month, codes run out in 2027-10');
    const img = screen.getByRole('img', { name: 'Remaining codes forecast' });
    expect(img.getAttribute('aria-describedby')).toBe(screen.getByTestId('burn-down-line').id);
  });

  it('says when the remaining codes last the whole forecast', async () => {
    await panel(lasts);
    expect(line()).toBe('At 3 a month, enough for the next 24 months');
  });

  it("gives the expirations chart a legend in the chart's colours", async () => {
    await panel(runsOut);
    expect(swatches()).toEqual([
      ['Renewed with remaining codes', expect.stringMatching(/\bbar\b.*\baccent\b/)],
      ['Offline for want of codes', expect.stringMatching(/\bbar\b.*\bdanger\b/)],
    ]);
    const img = screen.getByRole('img', { name: 'Expirations, next 12 months' });
    expect(img.getAttribute('aria-describedby')).toBe(legend().id);
  });

  it('speaks zh-CN', async () => {
    setLocale('zh-CN');
    await panel(runsOut);
    expect(line()).toBe('按每月 1,234 个计算，预计 2027-10 用完');
    expect(swatches().map((s) => s[0])).toEqual(['使用剩余激活码续期', '因激活码不足而离线']);
    cleanup();
    await panel(lasts);
    expect(line()).toBe('按每月 3 个计算，足够未来 24 个月使用');
  });
});
