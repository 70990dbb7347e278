import { afterEach, describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import AccountsView from './AccountsView.svelte';
import { app } from '../lib/state.svelte';
import { setLocale } from '../lib/i18n/index.svelte';
import { allAccounts, profiles } from '../test/fixtures';

afterEach(() => {
  setLocale('en');
  app.page = 'products';
});

describe('AccountsView', () => {
  it('shows every profile with its figures and data age, and the sums Rust made', async () => {
    mockIPC((cmd, args) => {
      if (cmd === 'all_accounts') return allAccounts;
      if (cmd === 'switch_profile') return { ...profiles, active_id: (args as { id: string }).id };
      return null;
    });
    app.profiles = profiles;
    render(AccountsView);
    const sums = await screen.findByTestId('accounts-sum');
    expect(within(sums).getByRole('region', { name: 'Total' }).textContent).toContain('2,605');
    expect(within(sums).getByRole('region', { name: 'Remaining' }).textContent).toContain('over 2 of 2 accounts');
    const lena = screen.getByRole('article', { name: 'Lena' });
    expect(lena.querySelector('[data-figure="total"]')?.textContent).toBe('305');
    expect(lena.textContent).toContain('eu-central');
    expect(within(lena).getByTestId('data-age').textContent).toMatch(/Last synced/);
    // Its last background sync failed: said, the figures kept.
    expect(within(lena).getByRole('alert').getAttribute('data-code')).toBe('SERVER_UNREACHABLE');
    const hz = screen.getByRole('article', { name: 'Hangzhou' });
    expect(within(hz).getByText('Active profile')).toBeTruthy();
    expect(within(hz).getByRole('row', { name: /Smart Meter S2/ }).textContent).toContain('116 / 1,200');
    await fireEvent.click(within(lena).getByRole('button', { name: 'Open' }));
    await waitFor(() => expect(app.page).toBe('products'));
    expect(app.profiles?.active_id).toBe('p-lena');
  });

  it('an empty list says what to do', async () => {
    mockIPC((cmd) => (cmd === 'all_accounts' ? { accounts: [], total: 0, used: 0, remaining: 0, counted: 0 } : null));
    render(AccountsView);
    expect(await screen.findByText('No profiles yet')).toBeTruthy();
  });

  it('speaks zh-CN', async () => {
    setLocale('zh-CN');
    mockIPC((cmd) => (cmd === 'all_accounts' ? allAccounts : null));
    app.profiles = profiles;
    render(AccountsView);
    expect(await screen.findByRole('heading', { name: '所有账户' })).toBeTruthy();
    expect(screen.getByRole('button', { name: '同步所有账户' })).toBeTruthy();
    expect(within(await screen.findByRole('article', { name: 'Lena' })).getByRole('alert').textContent).toContain('无法连接 http://127.0.0.1:8787 的服务器');
  });
});
