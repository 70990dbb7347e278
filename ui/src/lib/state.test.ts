import { describe, expect, it } from 'vitest';
import { app, applySyncStatus } from './state.svelte';
import { status } from '../test/fixtures';

describe('applySyncStatus', () => {
  it('keeps the newest status whatever order they arrive in', () => {
    app.sync = { ...status, syncing: true, seq: 1 };
    // The start-up sync's end (seq 3) arrives before the answer to the
    // window's first sync_status, taken while it still ran (seq 2).
    applySyncStatus({ ...status, syncing: false, seq: 3 });
    applySyncStatus({ ...status, syncing: true, seq: 2 });
    expect(app.sync?.syncing).toBe(false);
    expect(app.sync?.seq).toBe(3);
    // A newer one (a sync that started since) wins.
    applySyncStatus({ ...status, syncing: true, seq: 4 });
    expect(app.sync?.syncing).toBe(true);
  });
});
