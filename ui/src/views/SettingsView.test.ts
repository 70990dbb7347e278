import { afterEach, describe, expect, it } from 'vitest';
import { fireEvent, render, screen } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import SettingsView from './SettingsView.svelte';
import { app, applySettings, loadSettings } from '../lib/state.svelte';

afterEach(() => {
  applySettings({ language: 'en', theme: 'system' });
  localStorage.clear();
});

describe('SettingsView', () => {
  it('switches the language of every string and remembers it', async () => {
    mockIPC(() => null);
    app.profiles = { profiles: [], active_id: null };
    render(SettingsView);
    expect(screen.getByRole('heading', { name: 'Settings' })).toBeTruthy();
    await fireEvent.change(screen.getByTestId('language'), { target: { value: 'zh-CN' } });
    expect(screen.getByRole('heading', { name: '设置' })).toBeTruthy();
    expect(screen.getByText('语言')).toBeTruthy();
    expect(document.documentElement.lang).toBe('zh-CN');
    expect(loadSettings().language).toBe('zh-CN');
  });

  it('forces dark or light, and follows the OS on System', async () => {
    mockIPC(() => null);
    app.profiles = { profiles: [], active_id: null };
    render(SettingsView);
    await fireEvent.click(screen.getByLabelText('Dark'));
    expect(document.documentElement.getAttribute('data-theme')).toBe('dark');
    await fireEvent.click(screen.getByLabelText('System'));
    expect(document.documentElement.hasAttribute('data-theme')).toBe(false);
  });

  it('adds a profile once its server keys were shown: the keys it trusts and the token go to Rust once', async () => {
    const calls: [string, unknown][] = [];
    const keys = { keys: [{ kid: 'ld-1', fingerprint: '3f2a 91bc 0d44 12ab 9f00 aa11 bb22 cc33', created_at: '2026-01-01T00:00:00Z', current: true }], json: '{"keys":[],"current":"ld-1"}' };
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      if (cmd === 'fetch_server_keys') return keys;
      if (cmd === 'add_profile') return { id: 'p1', name: 'HZ', server_url: 'http://127.0.0.1:8787', account_label: 'acme', data_center: null };
      if (cmd === 'list_profiles') return { profiles: [{ id: 'p1', name: 'HZ', server_url: 'http://127.0.0.1:8787', account_label: 'acme', data_center: null }], active_id: 'p1' };
      return null;
    });
    app.profiles = { profiles: [], active_id: null };
    render(SettingsView);
    await fireEvent.click(screen.getByRole('button', { name: 'Add profile' }));
    await fireEvent.input(screen.getByLabelText('Name'), { target: { value: 'HZ' } });
    await fireEvent.input(screen.getByLabelText('Server URL'), { target: { value: 'http://127.0.0.1:8787' } });
    await fireEvent.input(screen.getByLabelText('Account'), { target: { value: 'acme' } });
    await fireEvent.input(screen.getByLabelText('API token'), { target: { value: 's3cret' } });
    // First submit: the server's keys are fetched and shown, nothing saved.
    await fireEvent.submit(screen.getByRole('form', { name: 'Add profile' }));
    await screen.findByText('3f2a 91bc 0d44 12ab 9f00 aa11 bb22 cc33');
    expect(calls.filter(([c]) => c === 'add_profile')).toEqual([]);
    expect(calls.find(([c]) => c === 'fetch_server_keys')?.[1]).toEqual({ serverUrl: 'http://127.0.0.1:8787' });
    // Then: trusted and saved.
    await fireEvent.click(screen.getByRole('button', { name: 'Trust these keys and save' }));
    await screen.findByText('HZ');
    expect(calls.find(([c]) => c === 'add_profile')).toEqual([
      'add_profile',
      { profile: { name: 'HZ', server_url: 'http://127.0.0.1:8787', account_label: 'acme' }, token: 's3cret', trustedKeys: keys.json },
    ]);
    expect(screen.queryByDisplayValue('s3cret')).toBeNull();
  });
});
