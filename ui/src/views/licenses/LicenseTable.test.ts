import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import LicenseTable from './LicenseTable.svelte';
import { WindowedRows, type RowWindow } from '../../lib/windowed.svelte';
import type { LicenseRow } from '../../lib/types';
import { scaleFor, toReal } from '../../lib/virtual-scale';

const row = (i: number, status = ['active', 'expired', 'unused'][i % 3]!): LicenseRow => ({
  code: `CODE-${i}`, batch_id: 1, batch_kind: 'purchase', pk: 'p1', product_name: 'Meter', dk: `dev-${i}`,
  consumed_at: '2025-01-01T00:00:00Z', expires_at: '2030-01-01T00:00:00Z', status,
});

/** A list of `count` rows, served a window at a time as Rust does; every
 * window asked for is recorded. */
function list(count: number) {
  const asked: { offset: number; limit: number; count: boolean }[] = [];
  const rows = new WindowedRows<LicenseRow>(async (offset, limit, withCount): Promise<RowWindow<LicenseRow>> => {
    asked.push({ offset, limit, count: withCount });
    const out = [];
    for (let i = offset; i < Math.min(count, offset + limit); i++) out.push(row(i));
    return { count: withCount ? count : null, offset, rows: out };
  });
  rows.reset();
  return { rows, asked };
}

// jsdom lays nothing out: the scroller gets a 720 px viewport.
const VIEWPORT = 720;
const ROW = 36;
let restore: () => void = () => {};
beforeAll(() => {
  const height = Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'offsetHeight');
  const client = Object.getOwnPropertyDescriptor(Element.prototype, 'clientHeight');
  const scroller = (el: Element) => el.classList.contains('scroller');
  Object.defineProperty(HTMLElement.prototype, 'offsetHeight', { configurable: true, get() { return scroller(this) ? VIEWPORT : 0; } });
  Object.defineProperty(Element.prototype, 'clientHeight', { configurable: true, get() { return scroller(this) ? VIEWPORT : 0; } });
  restore = () => {
    if (height) Object.defineProperty(HTMLElement.prototype, 'offsetHeight', height);
    if (client) Object.defineProperty(Element.prototype, 'clientHeight', client);
  };
});
afterAll(() => restore());

const dataRows = () => [...document.querySelectorAll<HTMLTableRowElement>('tbody tr[data-index]')];
const indexes = () => dataRows().map((r) => Number(r.dataset.index));

/** Scrolls the table's scroller to `top` real px and waits for row `row`,
 * loaded. */
async function scrollTo(top: number, row: number) {
  const scroller = document.querySelector<HTMLElement>('.scroller')!;
  scroller.scrollTop = top;
  await fireEvent.scroll(scroller);
  await waitFor(() => {
    expect(indexes()).toContain(row);
    expect(document.querySelectorAll('tbody tr.pending')).toHaveLength(0);
  });
}

describe('LicenseTable', () => {
  it('marks the sorted column and asks Rust for another sort on click', async () => {
    const onsort = vi.fn();
    const { rows } = list(3);
    render(LicenseTable, { rows, sort: 'expires_at', desc: true, top: 0, onsort });
    await waitFor(() => expect(screen.getByText('Unused')).toBeTruthy());
    expect(screen.getByRole('columnheader', { name: /Expires at/ }).getAttribute('aria-sort')).toBe('descending');
    await fireEvent.click(screen.getByRole('button', { name: 'Sort by Activation Code' }));
    expect(onsort).toHaveBeenCalledWith('code');
    expect(screen.getByText('Active').className).toContain('ok');
    expect(screen.getByText('Expired').className).toContain('bad');
    expect(screen.getByText('Unused').className).toContain('idle');
    expect(screen.getByText('3 matching')).toBeTruthy();
  });

  it('shows an empty state when nothing matches', async () => {
    const { rows } = list(0);
    render(LicenseTable, { rows, sort: 'id', desc: false, top: 0, onsort: () => {} });
    await waitFor(() => expect(screen.getByText('No codes match')).toBeTruthy());
  });

  it('keeps the same number of rows in the DOM however far a million-row table scrolls', async () => {
    const { rows, asked } = list(1_000_000);
    render(LicenseTable, { rows, sort: 'consumed_at', desc: true, top: 0, onsort: () => {} });
    await waitFor(() => expect(dataRows().length).toBeGreaterThan(0));
    const table = screen.getByRole('table', { name: 'Consumption details' });
    expect(table.getAttribute('aria-rowcount')).toBe('1000001');
    expect(screen.getByText('1,000,000 matching')).toBeTruthy();
    // The viewport's rows, one more for a partial row, 8 either side.
    const drawn = Math.ceil(VIEWPORT / ROW) + 1 + 16;
    await waitFor(() => expect(dataRows()).toHaveLength(drawn));
    expect(asked[0]).toEqual({ offset: 0, limit: 100, count: true });

    // 1,000,000 rows of 36 px are more than a browser lays out: the scroll
    // is scaled, the content capped (lib/virtual-scale.ts).
    const scroller = document.querySelector<HTMLElement>('.scroller')!;
    const spacers = () => [...document.querySelectorAll<HTMLElement>('tbody tr.spacer')].reduce((h, r) => h + parseFloat(r.style.height), 0);
    const scale = scaleFor(36 + 1_000_000 * ROW, VIEWPORT);
    const rowAt = (i: number) => toReal(i * ROW, scale);

    for (const target of [40, 1_000, 123_456, 500_000, 900_000, 999_000, 999_975]) {
      await scrollTo(rowAt(target), target);
      expect(dataRows()).toHaveLength(drawn);
      const first = indexes()[0]!;
      expect(indexes()).toEqual(Array.from({ length: drawn }, (_, k) => first + k));
      expect(target - first).toBeGreaterThanOrEqual(8);
      // Rows are drawn where they fall: row `target` right under the header.
      const above = parseFloat(document.querySelector<HTMLElement>('tbody tr.spacer')!.style.height);
      expect(above + (target - first) * ROW).toBeCloseTo(scroller.scrollTop, 0);
      expect(document.querySelector(`tbody tr[aria-rowindex="${target + 2}"]`)?.textContent).toContain(`CODE-${target}`);
      // The content is exactly as tall as the capped height (header, spacers, rows).
      expect(36 + spacers() + drawn * ROW).toBeCloseTo(30_000_000, 3);
    }

    // The end: the last rows, as many of them.
    await scrollTo(30_000_000 - VIEWPORT, 999_999);
    expect(dataRows()).toHaveLength(drawn);
    expect(indexes().at(-1)).toBe(999_999);
    // Only the pages in view were fetched, never the ones passed by.
    expect(asked.length).toBeLessThan(30);
    expect(rows.pagesHeld).toBeLessThanOrEqual(40);
  });
});
