import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import ProductsView from './ProductsView.svelte';
import { app } from '../lib/state.svelte';
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

  it('an assignment the server refuses is an error, not "queued", and the dialog stays open', async () => {
    app.toasts.splice(0);
    let answer: unknown = null;
    mockIPC((cmd) => {
      if (cmd === 'account_overview') return { ...overview, unassigned: 12 };
      if (cmd === 'product_cards') return cards;
      if (cmd === 'assign_codes') return answer;
      return null;
    });
    render(ProductsView);
    await fireEvent.click(await screen.findByRole('button', { name: 'Assign' }));
    const dialog = await screen.findByRole('dialog');
    const item = { id: 7, kind: 'assign_codes', attempts: 1, created_at: '2026-11-22T10:00:00Z', updated_at: '2026-11-22T10:00:00Z', path: '/v1/products/p1a2b3/assign', body: '{"count":1}', response: null };
    answer = { ...item, state: 'rejected', error: { code: 'ASSIGN_COUNT_EXCEEDS_AVAILABLE', message: 'cannot assign 1 codes: only 0 unassigned' } };
    await fireEvent.submit(dialog.querySelector('form')!);
    await waitFor(() => expect(app.toasts.length).toBe(1));
    expect(app.toasts[0]).toMatchObject({ kind: 'error', code: 'ASSIGN_COUNT_EXCEEDS_AVAILABLE', text: 'cannot assign 1 codes: only 0 unassigned' });
    expect(screen.getByRole('dialog')).toBeTruthy();
    // Accepted: a success, and the dialog closes.
    answer = { ...item, state: 'done', error: null };
    await fireEvent.submit(dialog.querySelector('form')!);
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(app.toasts.map((t) => [t.kind, t.text])).toContainEqual(['success', 'Codes assigned']);
  });
});
