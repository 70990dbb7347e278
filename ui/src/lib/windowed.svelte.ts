// Rows of a list too long to hold (a million codes), fetched from Rust a
// window at a time as a virtualized table scrolls. Only the pages in and
// near view are kept; the list's length comes from Rust with the first
// window, so the scrollbar stands for the whole list from the start.
// At most two fetches run at once, and each is for what is in view when it
// starts: dragging the scrollbar across a million rows does not queue the
// pages it passed.
import { untrack } from 'svelte';
import { SvelteMap } from 'svelte/reactivity';
import { toApiError, type ApiError } from './api';
import { app } from './state.svelte';

/** Pages fetched in one call at most (Rust's window is up to 500 rows). */
const MAX_RUN = 5;

/** What a window fetch returns (Rust's LicenseWindow and NearExpiryPage carry it). */
export interface RowWindow<T> {
  /** The list's length, when it was asked for. */
  count: number | null;
  offset: number;
  rows: T[];
}

export type FetchWindow<T> = (offset: number, limit: number, count: boolean) => Promise<RowWindow<T>>;

export class WindowedRows<T> {
  /** Rows in the whole list (0 until the first window arrives). */
  count = $state(0);
  /** The first window of the current list has arrived. */
  ready = $state(false);
  /** A fetch is running. */
  loading = $state(false);
  error = $state<ApiError | null>(null);
  readonly pageSize: number;
  readonly #keep: number;
  readonly #fetch: FetchWindow<T>;
  readonly #pages = new SvelteMap<number, T[]>();
  // Bookkeeping, never rendered: plain Sets. Pages fetched for the current
  // data (others are shown until their fresh copy arrives), and fetching.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly #fresh = new Set<number>();
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly #pending = new Set<number>();
  #generation = 0;
  #inFlight = 0;
  #wanted: [number, number] = [0, 0];
  #countWanted = true;

  /** `keep` pages at most are held (the ones nearest the view). */
  constructor(fetch: FetchWindow<T>, pageSize = 100, keep = 40) {
    this.#fetch = fetch;
    this.pageSize = pageSize;
    this.#keep = keep;
  }

  /** Row `i`, or undefined while its page is not here. */
  get(i: number): T | undefined {
    return this.#pages.get(Math.floor(i / this.pageSize))?.[i % this.pageSize];
  }

  /** Pages held now (tests and the bench look at it). */
  get pagesHeld(): number {
    return this.#pages.size;
  }

  /** A new list (filter, sort: its rows dropped, from the top) or new data
   * of the same list (a sync, `keepPosition`: the rows shown stay until
   * their fresh copies arrive): asks the length again and fetches what is
   * in view. */
  reset(keepPosition = false): void {
    this.#generation++;
    this.#fresh.clear();
    this.#pending.clear();
    this.#inFlight = 0;
    this.#countWanted = true;
    if (!keepPosition) {
      this.#pages.clear();
      this.#wanted = [0, Math.max(0, this.#wanted[1] - this.#wanted[0])];
      this.ready = false;
    }
    this.#pump();
  }

  /** The rows `first..=last` are in view (with overscan): fetch the pages
   * missing there; pages far from them are dropped. */
  show(first: number, last: number): void {
    this.#wanted = [Math.max(0, first), Math.max(first, last)];
    this.#pump();
  }

  /** Fetches the first run of pages missing in view (one call for up to
   * MAX_RUN of them), up to two calls at once. */
  #pump(): void {
    while (this.#inFlight < 2) {
      const run = this.#missing();
      if (run === null) break;
      void this.#load(run[0], run[1]);
    }
    this.loading = this.#inFlight > 0;
  }

  /** The first run of consecutive pages in view to fetch: [first, how many]. */
  #missing(): [number, number] | null {
    const [first, last] = this.#wanted;
    const end = Math.floor((this.ready ? Math.min(last, Math.max(0, this.count - 1)) : last) / this.pageSize);
    const wanted = (p: number) => !this.#fresh.has(p) && !this.#pending.has(p);
    for (let p = Math.floor(first / this.pageSize); p <= end; p++) {
      if (!wanted(p)) continue;
      let n = 1;
      while (n < MAX_RUN && p + n <= end && wanted(p + n)) n++;
      return [p, n];
    }
    return null;
  }

  async #load(page: number, pages: number): Promise<void> {
    const generation = this.#generation;
    const count = this.#countWanted;
    this.#countWanted = false;
    for (let k = 0; k < pages; k++) this.#pending.add(page + k);
    this.#inFlight++;
    try {
      const w = await this.#fetch(page * this.pageSize, pages * this.pageSize, count);
      if (generation !== this.#generation) return;
      if (w.count !== null) this.count = w.count;
      for (let k = 0; k < pages; k++) {
        this.#pages.set(page + k, w.rows.slice(k * this.pageSize, (k + 1) * this.pageSize));
        this.#fresh.add(page + k);
      }
      this.#evict();
      this.ready = true;
      this.error = null;
    } catch (e) {
      if (generation !== this.#generation) return;
      this.error = toApiError(e);
      if (count) this.#countWanted = true;
    } finally {
      if (generation === this.#generation) {
        for (let k = 0; k < pages; k++) this.#pending.delete(page + k);
        this.#inFlight--;
        if (this.error === null) this.#pump();
        this.loading = this.#inFlight > 0;
      }
    }
  }

  /** Drops the pages farthest from the view beyond `keep`. */
  #evict(): void {
    if (this.#pages.size <= this.#keep) return;
    const centre = (this.#wanted[0] + this.#wanted[1]) / 2 / this.pageSize;
    const far = [...this.#pages.keys()].sort((a, b) => Math.abs(b - centre) - Math.abs(a - centre));
    for (const p of far.slice(0, this.#pages.size - this.#keep)) {
      this.#pages.delete(p);
      this.#fresh.delete(p);
    }
  }

  /** After an error: try the pages in view again. */
  retry(): void {
    this.error = null;
    this.#pump();
  }
}

/** In a component: `rows` become a new list, from its top, whenever `key()`
 * changes (a filter, the sort), and the same list's fresh rows at the same
 * place after a sync or a profile switch. */
export function resetOnChange<T>(rows: WindowedRows<T>, key: () => unknown): void {
  $effect(() => {
    void key();
    untrack(() => rows.reset());
  });
  let epoch = app.epoch;
  $effect(() => {
    if (app.epoch === epoch) return;
    epoch = app.epoch;
    untrack(() => rows.reset(true));
  });
}
