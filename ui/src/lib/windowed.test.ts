import { describe, expect, it } from 'vitest';
import { WindowedRows, type RowWindow } from './windowed.svelte';
import { EDGE, MAX_REAL, realStart, scaleFor, toReal, toVirtual } from './virtual-scale';

/** A list of `count` numbers whose window fetches wait until released. */
function held(count: number) {
  const calls: { offset: number; limit: number; count: boolean; release: () => void }[] = [];
  const rows = new WindowedRows<number>(
    (offset, limit, withCount) =>
      new Promise<RowWindow<number>>((resolve) => {
        const rows = Array.from({ length: Math.max(0, Math.min(limit, count - offset)) }, (_, k) => offset + k);
        calls.push({ offset, limit, count: withCount, release: () => resolve({ count: withCount ? count : null, offset, rows }) });
      }),
    100,
    5,
  );
  return { rows, calls };
}
const settle = () => new Promise((r) => setTimeout(r, 0));

describe('WindowedRows', () => {
  it('fetches the pages in view in one call, the length with the first', async () => {
    const { rows, calls } = held(1_000_000);
    rows.reset();
    expect(calls.map((c) => [c.offset, c.count])).toEqual([[0, true]]);
    calls[0]!.release();
    await settle();
    expect(rows.ready).toBe(true);
    expect(rows.count).toBe(1_000_000);
    expect(rows.get(42)).toBe(42);
    rows.show(150, 420);
    expect(calls.slice(1).map((c) => [c.offset, c.limit])).toEqual([[100, 400]]);
    expect(rows.loading).toBe(true);
    calls[1]!.release();
    await settle();
    expect([rows.get(150), rows.get(420), rows.pagesHeld]).toEqual([150, 420, 5]);
  });

  it('serves what is in view when a fetch ends, not what was passed by', async () => {
    const { rows, calls } = held(1_000_000);
    rows.reset();
    calls[0]!.release();
    await settle();
    // Dragged across the list: each position asks; two fetches run.
    for (const at of [10_000, 20_000, 30_000, 40_000, 900_000]) rows.show(at, at + 30);
    expect(calls.slice(1).map((c) => c.offset)).toEqual([10_000, 20_000]);
    calls[1]!.release();
    await settle();
    // The next fetch is for where the table is now.
    expect(calls.slice(3).map((c) => c.offset)).toEqual([900_000]);
    calls[2]!.release();
    calls[3]!.release();
    await settle();
    expect(rows.get(900_010)).toBe(900_010);
    expect(rows.get(30_000)).toBeUndefined();
  });

  it('drops a window of a list it has left, and keeps few pages', async () => {
    const { rows, calls } = held(1_000_000);
    rows.reset();
    rows.reset();
    calls[0]!.release();
    await settle();
    expect(rows.ready).toBe(false);
    calls[1]!.release();
    await settle();
    expect(rows.ready).toBe(true);
    for (let p = 0; p < 12; p++) {
      rows.show(p * 1000, p * 1000 + 10);
      for (const c of calls.splice(2)) c.release();
      await settle();
    }
    expect(rows.pagesHeld).toBeLessThanOrEqual(5);
    expect(rows.get(11_005)).toBe(11_005);
  });
});

describe('WindowedRows after a sync', () => {
  it('keeps showing the rows until their fresh copies arrive, and asks the length again', async () => {
    let version = 1;
    const calls: { offset: number; count: boolean; release: () => void }[] = [];
    const rows = new WindowedRows<string>((offset, limit, withCount) =>
      new Promise((resolve) => {
        const v = version;
        calls.push({ offset, count: withCount, release: () => resolve({ count: withCount ? 500 + v : null, offset, rows: Array.from({ length: limit }, (_, k) => `v${v}-${offset + k}`) }) });
      }),
    );
    rows.reset();
    calls[0]!.release();
    await settle();
    rows.show(120, 160);
    calls[1]!.release();
    await settle();
    expect(rows.get(130)).toBe('v1-130');
    version = 2;
    rows.reset(true);
    // The page in view is fetched again, with the length; the old one stays shown.
    expect(calls.slice(2).map((c) => [c.offset, c.count])).toEqual([[100, true]]);
    expect(rows.get(130)).toBe('v1-130');
    expect(rows.ready).toBe(true);
    calls[2]!.release();
    await settle();
    expect(rows.get(130)).toBe('v2-130');
    expect(rows.count).toBe(502);
  });
});

describe('virtual scale', () => {
  it('is 1:1 while the rows fit', () => {
    const s = scaleFor(36 * 1000, 720);
    expect(s.real).toBe(36_000);
    for (const r of [0, 100, 35_280]) expect(toVirtual(r, s)).toBe(r);
  });

  it('caps the content past what a browser lays out, 1:1 at both ends, continuous and invertible', () => {
    const s = scaleFor(36 + 36 * 1_000_000, 720);
    expect(s.real).toBe(MAX_REAL);
    const rMax = MAX_REAL - 720;
    // The ends: exactly where the rows would be.
    expect(toVirtual(0, s)).toBe(0);
    expect(toVirtual(EDGE, s)).toBe(EDGE);
    expect(toVirtual(rMax, s)).toBe(36 + 36 * 1_000_000 - 720);
    expect(toVirtual(rMax - 10, s)).toBe(36 + 36 * 1_000_000 - 730);
    // Between: faster, monotonic, continuous, and toReal undoes it.
    let last = -1;
    for (let r = 0; r <= rMax; r += rMax / 1000) {
      const v = toVirtual(r, s);
      expect(v).toBeGreaterThan(last);
      expect(toReal(v, s)).toBeCloseTo(r, 4);
      last = v;
    }
    for (const edge of [EDGE, rMax - EDGE]) expect(toVirtual(edge + 1e-6, s) - toVirtual(edge - 1e-6, s)).toBeLessThan(1e-3);
    // Rows around the view are drawn 1:1: the first row at the top, and
    // the last at the content's end when scrolled to it.
    expect(realStart(36, 0, s)).toBe(36);
    expect(realStart(36_000_036 - 36, 36_000_036 - 720, s)).toBeCloseTo(MAX_REAL - 36, 6);
  });
});
