import { afterEach, describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import LicensesView from './LicensesView.svelte';
import { setLocale } from '../lib/i18n/index.svelte';
import type { LicenseQuery, LicenseWindow } from '../lib/types';

const page: LicenseWindow = { data_center: 'cn-east', total: 2300, used: 1796, remaining: 504, count: 0, offset: 0, rows: [] };
const charts = { consumption: '<svg></svg>', burn_down: '<svg></svg>', burn_down_per_month: 3, burn_down_runs_out: null, burn_down_months: 24, expirations: '<svg></svg>' };

/** The view, and every query it sent to `license_window`. */
function view(): LicenseQuery[] {
  const queries: LicenseQuery[] = [];
  mockIPC((cmd, args) => {
    if (cmd === 'license_window') {
      queries.push((args as { query: LicenseQuery }).query);
      return page;
    }
    if (cmd === 'product_cards') return [];
    if (cmd === 'license_charts') return charts;
    return null;
  });
  render(LicensesView);
  return queries;
}
const lastStatus = (q: LicenseQuery[]) => q[q.length - 1]?.status ?? null;

describe('LicensesView', () => {
  afterEach(() => setLocale('en'));

  it("each counter lists its codes: Used → used (active or expired), Remaining → unused, Total → all", async () => {
    const queries = view();
    await waitFor(() => expect(screen.getByRole('region', { name: 'Used' }).textContent).toContain('1,796'));
    expect(lastStatus(queries)).toBeNull();
    const select = screen.getByRole('combobox', { name: 'Status' }) as HTMLSelectElement;

    const used = within(screen.getByRole('region', { name: 'Used' })).getByRole('button', { name: 'Show the used codes in the table' });
    expect(used.getAttribute('aria-pressed')).toBe('false');
    await fireEvent.click(used);
    await waitFor(() => expect(lastStatus(queries)).toBe('used'));
    expect(select.value).toBe('used');
    expect(used.getAttribute('aria-pressed')).toBe('true');

    await fireEvent.click(screen.getByRole('button', { name: 'Show the remaining codes in the table' }));
    await waitFor(() => expect(lastStatus(queries)).toBe('unused'));
    expect(select.value).toBe('unused');
    expect(used.getAttribute('aria-pressed')).toBe('false');

    await fireEvent.click(screen.getByRole('button', { name: 'Show every code in the table' }));
    await waitFor(() => expect(lastStatus(queries)).toBeNull());
    expect(select.value).toBe('');
  });

  it('offers Used in the status filter, in en and zh-CN', async () => {
    view();
    const select = screen.getByRole('combobox', { name: 'Status' });
    const options = () => [...select.querySelectorAll('option')].map((o) => [o.value, o.textContent?.trim()]);
    expect(options()).toContainEqual(['used', 'Used (active or expired)']);
    setLocale('zh-CN');
    await waitFor(() => expect(options()).toContainEqual(['used', '已使用（已激活或已过期）']));
    expect(screen.getByRole('button', { name: '在表格中查看已使用的激活码' }).textContent?.trim()).toBe('查看');
  });
});
