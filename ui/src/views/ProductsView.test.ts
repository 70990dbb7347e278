import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import ProductsView from './ProductsView.svelte';
import { cards, overview } from '../test/fixtures';

describe('ProductsView', () => {
  it("shows Rust's numbers, formatted, and the product cards", async () => {
    mockIPC((cmd) => (cmd === 'account_overview' ? overview : cmd === 'product_cards' ? cards : null));
    render(ProductsView);
    await waitFor(() => expect(screen.getByRole('region', { name: 'Total' }).textContent).toContain('2,300'));
    expect(screen.getByRole('region', { name: 'Remaining' }).textContent).toContain('504');
    expect(screen.getByRole('heading', { name: 'Smart Meter S2' })).toBeTruthy();
    expect(screen.getByText('38 devices go offline at renewal')).toBeTruthy();
    expect(screen.getByText('runs out ~ 2026-09', { exact: false })).toBeTruthy();
    // No unassigned codes: no Assign action.
    expect(screen.queryByRole('button', { name: 'Assign' })).toBeNull();
  });

  it("shows Rust's error with one action, and recovers on retry", async () => {
    let fail = true;
    mockIPC((cmd) => {
      if (cmd === 'product_cards' && fail) throw { code: 'CACHE_ERROR', message: 'the local cache failed: disk I/O error' };
      return cmd === 'account_overview' ? overview : cmd === 'product_cards' ? cards : null;
    });
    render(ProductsView);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('the local cache failed: disk I/O error');
    expect(alert.getAttribute('data-code')).toBe('CACHE_ERROR');
    fail = false;
    await fireEvent.click(screen.getByRole('button', { name: 'Retry' }));
    await screen.findByRole('heading', { name: 'Smart Meter S2' });
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('says what to do next when there are no products', async () => {
    mockIPC((cmd) => (cmd === 'account_overview' ? overview : cmd === 'product_cards' ? [] : null));
    render(ProductsView);
    expect(await screen.findByText('No products yet')).toBeTruthy();
  });
});
