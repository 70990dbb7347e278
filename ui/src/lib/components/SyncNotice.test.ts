import { afterEach, describe, expect, it } from 'vitest';
import { fireEvent, render, screen } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import { tick } from 'svelte';
import StatusBar from './StatusBar.svelte';
import { app } from '../state.svelte';
import { setLocale } from '../i18n/index.svelte';
import type { LastSync } from '../types';
import { status } from '../../test/fixtures';

const EN = "The server's data was replaced or restored from a backup, so LicenseDesk synced everything again (2,800 records, 12 changes). Changes waiting to be sent were kept.";
const ZH = '服务器的数据已被替换或从备份中恢复，因此 LicenseDesk 已重新同步全部数据（2,800 条记录、12 项更改）。等待发送的更改已保留。';
const startedOver: LastSync = { started_over: true, full: true, snapshot_rows: 2800, changes_applied: 12, seq: 7 };
const ordinary: LastSync = { started_over: false, full: false, snapshot_rows: 0, changes_applied: 3, seq: 9 };
const notice = () => screen.queryByTestId('sync-started-over');

describe('SyncNotice (in the status bar)', () => {
  afterEach(() => setLocale('en'));

  it('is hidden before any sync and after an ordinary one', async () => {
    mockIPC(() => null);
    app.sync = { ...status, last_sync: null };
    render(StatusBar);
    expect(notice()).toBeNull();
    app.sync = { ...status, seq: 9, last_sync: ordinary };
    await tick();
    expect(notice()).toBeNull();
  });

  it('says calmly that a sync started over, until the next sync does not', async () => {
    mockIPC(() => null);
    app.sync = { ...status, seq: 7, last_sync: startedOver };
    render(StatusBar);
    const n = notice();
    expect(n?.getAttribute('role')).toBe('status');
    expect(n?.textContent).toContain(EN);
    // A sync running keeps it; one that ends without starting over clears it.
    app.sync = { ...status, seq: 8, syncing: true, last_sync: startedOver };
    await tick();
    expect(notice()).not.toBeNull();
    app.sync = { ...status, seq: 9, last_sync: ordinary };
    await tick();
    expect(notice()).toBeNull();
  });

  it('is dismissed with a keyboard-reachable button, and comes back for another sync that starts over', async () => {
    mockIPC(() => null);
    app.sync = { ...status, seq: 7, last_sync: startedOver };
    render(StatusBar);
    const dismiss = screen.getByRole('button', { name: 'Dismiss' });
    expect(dismiss.tagName).toBe('BUTTON');
    expect(dismiss.getAttribute('type')).toBe('button');
    await fireEvent.click(dismiss);
    expect(notice()).toBeNull();
    // The same sync's status again (a re-read): still dismissed.
    app.sync = { ...status, seq: 8, last_sync: startedOver };
    await tick();
    expect(notice()).toBeNull();
    // Another sync that started over is said again.
    app.sync = { ...status, seq: 12, last_sync: { ...startedOver, seq: 12 } };
    await tick();
    expect(notice()?.textContent).toContain(EN);
  });

  it('speaks zh-CN', async () => {
    mockIPC(() => null);
    setLocale('zh-CN');
    app.sync = { ...status, seq: 7, last_sync: startedOver };
    render(StatusBar);
    expect(notice()?.textContent).toContain(ZH);
    expect(screen.getByRole('button', { name: '关闭' })).toBeTruthy();
  });
});
