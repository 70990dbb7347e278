import { afterEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/svelte';
import { tick } from 'svelte';
import Toasts from './Toasts.svelte';
import { app, toastError, toastSuccess } from '../state.svelte';
import { setLocale } from '../i18n/index.svelte';

const notALicense = {
  code: 'LICENSE_ARMOR_INVALID',
  message: 'this is not a LicenseDesk license file (no BEGIN line): choose the .lic file you received, unmodified',
};

describe('Toasts', () => {
  afterEach(() => {
    app.toasts.splice(0);
    setLocale('en');
    vi.useRealTimers();
  });

  it('the toasts stand in a region named Notifications (a div may not carry a name)', async () => {
    render(Toasts);
    toastSuccess('Saved');
    await tick();
    const region = screen.getByRole('region', { name: 'Notifications' });
    expect(within(region).getByRole('status').textContent).toContain('Saved');
  });

  it('an error toast leads with its code’s title, Rust’s message below, and stays', async () => {
    vi.useFakeTimers();
    render(Toasts);
    toastError(notALicense);
    await tick();
    const toast = screen.getByRole('alert');
    expect(toast.getAttribute('data-code')).toBe('LICENSE_ARMOR_INVALID');
    expect(within(toast).getByText('Not a license file').tagName).toBe('STRONG');
    expect(within(toast).getByText(notALicense.message)).toBeTruthy();
    // Errors never go by themselves.
    vi.advanceTimersByTime(60_000);
    await tick();
    expect(screen.getByRole('alert')).toBe(toast);
  });

  it('the title and the text follow the language; a code without words gets the generic title, no English', async () => {
    render(Toasts);
    toastError(notALicense);
    toastError({ code: 'SOMETHING_NEW', message: 'a new kind of failure' });
    setLocale('zh-CN');
    await tick();
    const [first, second] = screen.getAllByRole('alert');
    expect(first!.querySelector('strong')?.textContent).toBe('不是许可证文件');
    expect(first!.textContent).toContain('这不是 LicenseDesk 许可证文件：请选择您收到的、未经修改的 .lic 文件');
    expect(second!.querySelector('strong')?.textContent).toBe('出错了');
    expect(second!.textContent).not.toContain('a new kind of failure');
    expect(first!.textContent).not.toContain('BEGIN');
  });

  it('a success toast is only its text, without a title', async () => {
    render(Toasts);
    toastSuccess('Profile saved');
    await tick();
    const toast = screen.getByRole('status');
    expect(toast.textContent?.trim()).toBe('Profile saved');
    expect(toast.querySelector('strong')).toBeNull();
  });
});
