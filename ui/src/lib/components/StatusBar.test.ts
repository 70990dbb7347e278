import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import StatusBar from './StatusBar.svelte';
import { tick } from 'svelte';
import { app, requestSync } from '../state.svelte';
import { status } from '../../test/fixtures';

describe('StatusBar', () => {
  it('shows online, last synced relative with the exact time on hover', async () => {
    mockIPC(() => null);
    app.sync = { ...status };
    render(StatusBar);
    expect(screen.getByText('Online')).toBeTruthy();
    const synced = screen.getByTestId('last-synced');
    expect(synced.textContent).toContain('Last synced 3 minutes ago');
    expect(synced.getAttribute('title')).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
  });

  it('shows sync progress with its phase and n / total', async () => {
    mockIPC(() => null);
    app.sync = { ...status, syncing: true, progress: { phase: 'changes', done: 1400, total: 2800, full: true } };
    render(StatusBar);
    expect(screen.getByText('Changes 1,400 / 2,800')).toBeTruthy();
    expect(screen.getByRole('meter', { name: 'Syncing' })).toBeTruthy();
  });

  it('offline: red dot, outbox count, clock warning and the outbox list with errors', async () => {
    mockIPC((cmd) =>
      cmd === 'list_outbox'
        ? [{ id: 1, kind: 'assign_codes', state: 'rejected', attempts: 1, created_at: status.staleness.last_synced_at, updated_at: status.staleness.last_synced_at, path: '/x', body: '{}', error: { code: 'NOT_ENOUGH_UNASSIGNED', message: 'only 12 are unassigned' }, response: null }]
        : null,
    );
    app.sync = {
      ...status,
      online: false,
      outbox_pending: 2,
      outbox_rejected: 1,
      staleness: { ...status.staleness, clock_warning: { code: 'CLOCK_BEHIND', message: 'this clock is behind the last server time' } },
    };
    render(StatusBar);
    expect(screen.getByText('Offline')).toBeTruthy();
    expect(screen.getByText(/Clock warning/).closest('[data-code]')?.getAttribute('data-code')).toBe('CLOCK_BEHIND');
    await fireEvent.click(screen.getByRole('button', { name: /2 pending/ }));
    await waitFor(() => expect(screen.getByText('only 12 are unassigned')).toBeTruthy());
    expect(screen.getByText('Assign codes')).toBeTruthy();
    expect(screen.getByText('Rejected')).toBeTruthy();
  });

  it('announces the end of a sync the user asked for, and stays quiet for background syncs', async () => {
    app.toasts.splice(0);
    app.sync = { ...status, syncing: true };
    render(StatusBar);
    // A background sync ends: the views reload, no toast.
    app.sync = { ...status, syncing: false };
    await tick();
    expect(app.toasts.length).toBe(0);
    // The user presses Sync now; the command answers once the sync is over.
    mockIPC((cmd) => (cmd === 'sync_now' ? { ...status, syncing: false } : null));
    app.sync = { ...status, syncing: true };
    await tick();
    await requestSync();
    await tick();
    expect(app.toasts.map((t) => t.text)).toEqual(['Sync finished']);
  });

  it('a sync that ended unseen still refreshes the views (its time is new)', async () => {
    mockIPC(() => null);
    app.sync = { ...status };
    render(StatusBar);
    await tick();
    const before = app.epoch;
    // Never saw it running: only the newer last-synced time tells.
    app.sync = { ...status, seq: 5, staleness: { ...status.staleness, last_synced_at: new Date().toISOString() } };
    await tick();
    expect(app.epoch).toBe(before + 1);
    // The same status again changes nothing.
    app.sync = { ...app.sync };
    await tick();
    expect(app.epoch).toBe(before + 1);
  });
});
