// Loading state for one piece of data from Rust: loading → ready | error.
// Data already shown stays shown while reloading (offline views keep working).
import { untrack } from 'svelte';
import { toApiError, type ApiError } from './api';
import { app } from './state.svelte';

export class Resource<T> {
  data = $state<T | null>(null);
  error = $state<ApiError | null>(null);
  loading = $state(false);
  /** A value has arrived at least once (it may legitimately be null). */
  loaded = $state(false);
  #seq = 0;
  #fetch: () => Promise<T>;

  constructor(fetch: () => Promise<T>) {
    this.#fetch = fetch;
  }

  get status(): 'loading' | 'error' | 'ready' {
    if (this.loaded) return 'ready';
    if (this.error) return 'error';
    return 'loading';
  }

  async load(): Promise<void> {
    const seq = ++this.#seq;
    this.loading = true;
    try {
      const value = await this.#fetch();
      if (seq !== this.#seq) return;
      this.data = value;
      this.loaded = true;
      this.error = null;
    } catch (e) {
      if (seq !== this.#seq) return;
      this.error = toApiError(e);
    } finally {
      if (seq === this.#seq) this.loading = false;
    }
  }
}

/** Load now and again after every sync or profile switch. Call in a component. */
export function loadOnEpoch(...resources: Resource<unknown>[]): void {
  $effect(() => {
    void app.epoch;
    untrack(() => resources.forEach((r) => r.load()));
  });
}
