import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import ProductCard from './ProductCard.svelte';
import { billing, cards } from '../../test/fixtures';
import { setLocale } from '../../lib/i18n/index.svelte';

describe('BillingDialog', () => {
  it("opens from a card and shows Rust's policy, top-ups, this month and each statement", async () => {
    setLocale('en');
    const asked: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === 'product_billing') {
        asked.push(args);
        return billing;
      }
      return null;
    });
    render(ProductCard, { card: cards[0]! });
    expect(screen.getByText('Top-ups: 10 OTA · 0 msg')).toBeTruthy();
    await fireEvent.click(screen.getByRole('button', { name: 'Billing of Smart Meter S2: overage, top-ups and statements' }));
    const dialog = await screen.findByRole('dialog', { name: 'Billing · Smart Meter S2' });
    await waitFor(() => expect(dialog.textContent).toContain('3 OTA attempts · 6,000 messages'));
    expect(asked).toEqual([{ pk: 'p1a2b3' }]);
    expect(dialog.textContent).toContain('Overage in 2026-12 so far');
    expect(dialog.textContent).toContain('900 messages · 2 OTA attempts');
    const rows = dialog.querySelectorAll('tbody tr');
    expect(rows.length).toBe(2);
    expect(rows[0]!.textContent).toContain('2026-11');
    expect(rows[0]!.textContent).toContain('12,000 − 8,000 = 4,000');
    expect(rows[1]!.textContent).toContain('2 top-ups used by upgrades');
  });

  it('says when the first month closes when none has yet', async () => {
    setLocale('en');
    mockIPC((cmd) => (cmd === 'product_billing' ? { ...billing, statements: [] } : null));
    render(ProductCard, { card: cards[0]! });
    await fireEvent.click(screen.getByRole('button', { name: /^Billing of/ }));
    expect(await screen.findByText('No month closed yet', { exact: false })).toBeTruthy();
  });

  it("shows Rust's error with a retry", async () => {
    setLocale('en');
    let fail = true;
    mockIPC((cmd) => {
      if (cmd !== 'product_billing') return null;
      if (fail) throw { code: 'CACHE_ERROR', message: 'the local cache failed: disk I/O error' };
      return billing;
    });
    render(ProductCard, { card: cards[0]! });
    await fireEvent.click(screen.getByRole('button', { name: /^Billing of/ }));
    const alert = await screen.findByRole('alert');
    expect(alert.getAttribute('data-code')).toBe('CACHE_ERROR');
    fail = false;
    await fireEvent.click(screen.getByRole('button', { name: 'Retry' }));
    await waitFor(() => expect(screen.getByRole('dialog').textContent).toContain('6,000 messages'));
  });
});
