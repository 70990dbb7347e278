import { afterEach, describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import StatusBar from './StatusBar.svelte';
import { tick } from 'svelte';
import { app, requestSync } from '../state.svelte';
import { setLocale } from '../i18n/index.svelte';
import { status } from '../../test/fixtures';

const unreachable = {
  code: 'SERVER_UNREACHABLE',
  message:
    'the server at http://127.0.0.1:45873 cannot be reached (error sending request for url (http://127.0.0.1:45873/v1/keys)); the data shown is from the last sync',
  params: { url: 'http://127.0.0.1:45873', detail: 'error sending request' },
};

describe('StatusBar', () => {
  afterEach(() => setLocale('en'));

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
        ? [{ id: 1, kind: 'assign_codes', state: 'rejected', attempts: 1, created_at: status.staleness.last_synced_at, updated_at: status.staleness.last_synced_at, path: '/x', body: '{}', error: { code: 'ASSIGN_COUNT_EXCEEDS_AVAILABLE', message: 'cannot assign 50 codes: only 12 unassigned codes are left; assign at most 12 or buy more', params: {} }, response: null }]
        : null,
    );
    app.sync = {
      ...status,
      online: false,
      outbox_pending: 2,
      outbox_rejected: 1,
      staleness: { ...status.staleness, clock_warning: { code: 'CLOCK_BEHIND', message: 'this clock is behind the last server time', params: {} } },
    };
    render(StatusBar);
    expect(screen.getByText('Offline')).toBeTruthy();
    expect(screen.getByText(/Clock warning/).closest('[data-code]')?.getAttribute('data-code')).toBe('CLOCK_BEHIND');
    // A known clock code: its short title, the whole message on hover and
    // for screen readers, never cut off in the bar.
    app.sync = {
      ...app.sync,
      staleness: {
        ...status.staleness,
        clock_warning: { code: 'CLOCK_SET_BACK', message: "this computer's clock is behind a time already seen: set the clock", params: {} },
      },
    };
    await tick();
    const chip = screen.getByRole('alert');
    expect(chip.getAttribute('data-code')).toBe('CLOCK_SET_BACK');
    expect(chip.getAttribute('title')).toBe("this computer's clock is behind a time already seen: set the clock");
    expect(chip.textContent).toBe("Computer clock looks wrong: this computer's clock is behind a time already seen: set the clock");
    expect(chip.querySelector('.sr-only')?.textContent).toBe(": this computer's clock is behind a time already seen: set the clock");
    await fireEvent.click(screen.getByRole('button', { name: /2 pending/ }));
    await waitFor(() => expect(screen.getByText('cannot assign 50 codes: only 12 unassigned codes are left; assign at most 12 or buy more')).toBeTruthy());
    expect(screen.getByText('Assign codes')).toBeTruthy();
    expect(screen.getByText('Rejected')).toBeTruthy();
    expect(screen.getByText('Not enough unassigned codes').tagName).toBe('STRONG');
  });

  it("a rejected outbox item leads with its code's zh-CN title above its zh-CN text; an unknown code says the server refused", async () => {
    const at = status.staleness.last_synced_at;
    const item = (id: number, code: string, message: string) =>
      ({ id, kind: 'assign_codes', state: 'rejected', attempts: 1, created_at: at, updated_at: at, path: '/x', body: '{}', error: { code, message }, response: null });
    mockIPC((cmd) =>
      cmd === 'list_outbox'
        ? [
            item(1, 'ASSIGN_COUNT_EXCEEDS_AVAILABLE', 'cannot assign 50 codes: only 12 unassigned codes are left; assign at most 12 or buy more'),
            item(2, 'SOMETHING_NEW', 'a new kind of refusal'),
          ]
        : null,
    );
    setLocale('zh-CN');
    app.sync = { ...status, outbox_pending: 0, outbox_rejected: 2 };
    render(StatusBar);
    await fireEvent.click(screen.getByRole('button', { name: /0 项待发送/ }));
    const panel = await screen.findByRole('dialog', { name: '发件箱' });
    await waitFor(() => expect(panel.querySelectorAll('[data-code]').length).toBe(2));
    const [known, unknown] = [...panel.querySelectorAll('[data-code]')];
    expect(known!.getAttribute('data-code')).toBe('ASSIGN_COUNT_EXCEEDS_AVAILABLE');
    expect(known!.querySelector('strong')?.textContent).toBe('未分配的激活码不足');
    // The server sent no params for it: the variant without figures.
    expect(known!.textContent).toContain('未分配的激活码不够：请先同步，查看还能分配多少');
    expect(known!.getAttribute('title')).toBe('ASSIGN_COUNT_EXCEEDS_AVAILABLE');
    expect(unknown!.querySelector('strong')?.textContent).toBe('服务器拒绝了请求');
    expect(unknown!.textContent).not.toContain('a new kind of refusal');
    expect(unknown!.getAttribute('title')).toBe('SOMETHING_NEW');
    expect(panel.textContent).not.toMatch(/cannot|refusal/);
    // Retry and Dismiss stay beside each rejected item.
    expect(within(panel).getAllByRole('button', { name: '重试' }).length).toBe(2);
    expect(within(panel).getAllByRole('button', { name: '移除' }).length).toBe(2);
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

  it("the last sync's error is a short summary chosen by its code, in en and zh-CN, the message on hover", async () => {
    mockIPC(() => null);
    app.sync = { ...status, online: false, last_error: unreachable };
    render(StatusBar);
    const chip = screen.getByTestId('sync-error');
    expect(chip.tagName).toBe('BUTTON');
    expect(chip.textContent?.trim()).toBe('Server unreachable');
    expect(chip.getAttribute('title')).toBe(unreachable.message);
    expect(chip.getAttribute('data-code')).toBe('SERVER_UNREACHABLE');
    setLocale('zh-CN');
    await tick();
    expect(chip.textContent?.trim()).toBe('无法连接服务器');
  });

  it('an error code without words of its own says "Last sync failed"', async () => {
    mockIPC(() => null);
    app.sync = { ...status, last_error: { code: 'SOMETHING_NEW', message: 'a new kind of failure', params: {} } };
    render(StatusBar);
    const chip = screen.getByTestId('sync-error');
    expect(chip.textContent?.trim()).toBe('Last sync failed');
    setLocale('zh-CN');
    await tick();
    expect(chip.textContent?.trim()).toBe('上次同步失败');
  });

  it('the error chip opens a panel with the full message and the code; Escape closes it and gives the focus back', async () => {
    mockIPC(() => null);
    app.sync = { ...status, online: false, last_error: unreachable };
    render(StatusBar);
    const chip = screen.getByRole('button', { name: 'Server unreachable' });
    expect(chip.getAttribute('aria-expanded')).toBe('false');
    expect(screen.queryByRole('dialog')).toBeNull();
    chip.focus();
    await fireEvent.click(chip);
    const panel = screen.getByRole('dialog', { name: 'Server unreachable' });
    expect(chip.getAttribute('aria-expanded')).toBe('true');
    expect(chip.getAttribute('aria-controls')).toBe(panel.id);
    expect(screen.getByTestId('sync-error-message').textContent).toBe(unreachable.message);
    expect(panel.querySelector('code')?.textContent).toBe('SERVER_UNREACHABLE');
    expect(panel.contains(document.activeElement)).toBe(true);
    await fireEvent.keyDown(document.activeElement ?? window, { key: 'Escape' });
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(chip.getAttribute('aria-expanded')).toBe('false');
    expect(document.activeElement).toBe(chip);
  });

  it("the panel's Sync now runs the sync, is disabled while it runs, and the error goes when a sync succeeds", async () => {
    let calls = 0;
    let finish: (s: unknown) => void = () => {};
    mockIPC((cmd) => {
      if (cmd !== 'sync_now') return null;
      calls++;
      return new Promise((resolve) => (finish = resolve));
    });
    app.sync = { ...status, online: false, last_error: unreachable, seq: 1 };
    render(StatusBar);
    await fireEvent.click(screen.getByTestId('sync-error'));
    const panel = screen.getByRole('dialog', { name: 'Server unreachable' });
    const retry = within(panel).getByRole('button', { name: /Sync now/ });
    expect((retry as HTMLButtonElement).disabled).toBe(false);
    await fireEvent.click(retry);
    expect(calls).toBe(1);
    // The sync runs (its status event): the error stays in the open panel, the action waits.
    app.sync = { ...status, online: false, syncing: true, last_error: unreachable, seq: 2 };
    await tick();
    expect(screen.getByTestId('sync-error')).toBeTruthy();
    expect((within(panel).getByRole('button', { name: /Syncing/ }) as HTMLButtonElement).disabled).toBe(true);
    // It succeeds: the error and its panel go.
    finish({ ...status, seq: 3 });
    await waitFor(() => expect(screen.queryByTestId('sync-error')).toBeNull());
    expect(screen.queryByRole('dialog')).toBeNull();
    // The focus was in the panel: it goes to the bar's Sync now, not to the page.
    expect(document.activeElement?.textContent?.trim()).toBe('Sync now');
  });

  it('takes its words from the one error-title map (errors.ts), as ErrorState and toasts do', async () => {
    mockIPC(() => null);
    app.sync = { ...status, last_error: { code: 'TOKEN_MISSING', message: 'no API token stored for profile "p1": sign in again', params: {} } };
    render(StatusBar);
    const chip = screen.getByTestId('sync-error');
    expect(chip.textContent?.trim()).toBe('No API token');
    setLocale('zh-CN');
    await tick();
    expect(chip.textContent?.trim()).toBe('缺少 API 令牌');
  });

  it('a sync the user cancelled is shown calm, not as a failure', async () => {
    mockIPC(() => null);
    app.sync = { ...status, last_error: { code: 'SYNC_CANCELLED', message: 'the sync was cancelled', params: {} } };
    render(StatusBar);
    const chip = screen.getByTestId('sync-error');
    expect(chip.textContent?.trim()).toBe('Sync cancelled');
    expect(chip.classList.contains('idle')).toBe(true);
    expect(chip.classList.contains('bad')).toBe(false);
    // A real failure is red.
    app.sync = { ...status, last_error: unreachable };
    await tick();
    expect(chip.classList.contains('bad')).toBe(true);
    expect(chip.classList.contains('idle')).toBe(false);
  });

  it('names each outbox kind Rust queues, in en and zh-CN', async () => {
    const at = status.staleness.last_synced_at;
    mockIPC((cmd) =>
      cmd === 'list_outbox'
        ? [{ id: 3, kind: 'license_install', state: 'pending', attempts: 0, created_at: at, updated_at: at, path: '/v1/gateway/installs', body: '{}', error: null, response: null }]
        : null,
    );
    app.sync = { ...status, outbox_pending: 1 };
    const { unmount } = render(StatusBar);
    await fireEvent.click(screen.getByRole('button', { name: /1 pending/ }));
    expect(await screen.findByText('License install report')).toBeTruthy();
    unmount();
    setLocale('zh-CN');
    render(StatusBar);
    await fireEvent.click(screen.getByRole('button', { name: /1 项待发送/ }));
    expect(await screen.findByText('许可证安装记录')).toBeTruthy();
  });

  it('the outbox list takes the focus when it opens; Escape closes it and gives the focus back to its button', async () => {
    mockIPC((cmd) => (cmd === 'list_outbox' ? [] : null));
    app.sync = { ...status, outbox_pending: 2 };
    render(StatusBar);
    const button = screen.getByRole('button', { name: /2 pending/ });
    button.focus();
    await fireEvent.click(button);
    expect(button.getAttribute('aria-expanded')).toBe('true');
    const panel = screen.getByRole('dialog', { name: 'Outbox' });
    await waitFor(() => expect(document.activeElement).toBe(panel));
    await fireEvent.keyDown(window, { key: 'Escape' });
    expect(document.getElementById('outbox-panel')).toBeNull();
    expect(button.getAttribute('aria-expanded')).toBe('false');
    expect(document.activeElement).toBe(button);
  });

  it('Escape in a modal dialog above the bar leaves its panels alone', async () => {
    mockIPC(() => null);
    app.sync = { ...status, online: false, last_error: unreachable };
    render(StatusBar);
    await fireEvent.click(screen.getByTestId('sync-error'));
    expect(screen.getByRole('dialog', { name: 'Server unreachable' })).toBeTruthy();
    const modal = document.createElement('dialog');
    modal.setAttribute('open', '');
    document.body.append(modal);
    try {
      await fireEvent.keyDown(modal, { key: 'Escape' });
      expect(screen.getByRole('dialog', { name: 'Server unreachable' })).toBeTruthy();
    } finally {
      modal.remove();
    }
    await fireEvent.keyDown(window, { key: 'Escape' });
    expect(screen.queryByRole('dialog', { name: 'Server unreachable' })).toBeNull();
  });
});
