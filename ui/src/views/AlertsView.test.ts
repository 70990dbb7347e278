import { afterEach, describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import AlertsView from './AlertsView.svelte';
import { app } from '../lib/state.svelte';
import { setLocale } from '../lib/i18n/index.svelte';
import { alertsView, profiles } from '../test/fixtures';

afterEach(() => {
  setLocale('en');
  app.page = 'products';
  app.alerts = null;
});

describe('AlertsView', () => {
  it('lists the raised alerts most urgent first, worded from their figures, with what to do', async () => {
    const calls: string[] = [];
    mockIPC((cmd, args) => {
      calls.push(`${cmd} ${JSON.stringify(args ?? {})}`);
      if (cmd === 'list_alerts') return alertsView;
      if (cmd === 'switch_profile') return { ...profiles, active_id: (args as { id: string }).id };
      return null;
    });
    app.profiles = { ...profiles, active_id: 'p-lena' };
    render(AlertsView);
    const list = await screen.findByRole('list', { name: 'Raised' });
    const items = within(list).getAllByTestId('alert');
    expect(items.map((i) => i.dataset.kind)).toEqual(['offline_at_renewal', 'low_remaining']);
    expect(items[1]!.textContent).toContain('Smart Water Meter: 19 % of codes left');
    expect(items[1]!.textContent).toContain('295 of 1,505 codes remaining, under the 20 % watermark');
    expect(items[0]!.textContent).toContain('Street Light Controller: 31 devices go offline at renewal');
    expect(items[0]!.textContent).toContain('Hangzhou');
    // The history and the notifications sent.
    expect(screen.getByText('Cleared (1)')).toBeTruthy();
    expect(screen.getAllByTestId('notification').length).toBe(2);
    // Its action: its profile first, then the page.
    await fireEvent.click(within(items[0]!).getByRole('button', { name: 'Assign codes' }));
    await waitFor(() => expect(app.page).toBe('products'));
    expect(calls).toContain('switch_profile {"id":"p-hz"}');
  });

  it('speaks zh-CN: every word of an alert', async () => {
    setLocale('zh-CN');
    mockIPC((cmd) => (cmd === 'list_alerts' ? alertsView : null));
    app.profiles = profiles;
    render(AlertsView);
    const list = await screen.findByRole('list', { name: '当前告警' });
    const [renewal, low] = within(list).getAllByTestId('alert');
    expect(low!.querySelector('strong')?.textContent).toBe('Smart Water Meter：激活码仅剩 19%');
    expect(renewal!.textContent).toContain('Street Light Controller：31 台设备将在续期时离线');
    const latin = (list.textContent ?? '').replace(/Smart Water Meter|Street Light Controller|Hangzhou/g, '').match(/[A-Za-z]{3,}/g);
    expect(latin).toBeNull();
  });

  it('says when nothing is raised, and syncs every account on demand', async () => {
    const calls: string[] = [];
    const empty = { ...alertsView, alerts: [], notifications: [] };
    mockIPC((cmd) => {
      calls.push(cmd);
      return cmd === 'list_alerts' || cmd === 'sync_all' ? empty : null;
    });
    render(AlertsView);
    expect(await screen.findByText('No alerts')).toBeTruthy();
    await fireEvent.click(screen.getByRole('button', { name: 'Sync all accounts' }));
    await waitFor(() => expect(calls).toContain('sync_all'));
  });
});
