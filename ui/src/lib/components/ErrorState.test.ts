import { afterEach, describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/svelte';
import ErrorState from './ErrorState.svelte';
import { setLocale } from '../i18n/index.svelte';

const badSignature = {
  code: 'LICENSE_SIGNATURE_INVALID',
  message:
    'the license signature is not valid (signature mismatch): the file was altered or not issued by LicenseDesk; ask the issuer for a new one',
};

describe('ErrorState', () => {
  afterEach(() => setLocale('en'));

  it('shows an error as an alert with a title by its code, Rust’s message and the code', () => {
    render(ErrorState, { error: { code: 'CACHE_ERROR', message: 'the local cache failed: disk full' } });
    const box = screen.getByRole('alert');
    expect(box.querySelector('strong')?.textContent).toBe('Local cache error');
    expect(box.textContent).toContain('disk full');
    expect(box.querySelector('code')?.textContent).toBe('CACHE_ERROR');
    expect(box.getAttribute('data-code')).toBe('CACHE_ERROR');
  });

  it('leads a bad license signature with its zh-CN title, Rust’s message kept below', () => {
    setLocale('zh-CN');
    render(ErrorState, { error: badSignature });
    const box = screen.getByRole('alert');
    expect(box.querySelector('strong')?.textContent).toBe('许可证签名无效');
    expect(box.querySelector('p')?.textContent).toBe(badSignature.message);
    expect(box.querySelector('code')?.textContent).toBe('LICENSE_SIGNATURE_INVALID');
  });

  it('a code without words of its own keeps the generic title, in either language', () => {
    const { unmount } = render(ErrorState, { error: { code: 'SOMETHING_NEW', message: 'a new kind of failure' } });
    expect(screen.getByRole('alert').querySelector('strong')?.textContent).toBe('Something went wrong');
    unmount();
    setLocale('zh-CN');
    render(ErrorState, { error: { code: 'SOMETHING_NEW', message: 'a new kind of failure' } });
    expect(screen.getByRole('alert').querySelector('strong')?.textContent).toBe('出错了');
  });

  it('a fallback title is used only for a code without words of its own', () => {
    const { unmount } = render(ErrorState, { error: { code: 'SOMETHING_NEW', message: 'x' }, fallbackTitle: 'The last install failed' });
    expect(screen.getByRole('alert').querySelector('strong')?.textContent).toBe('The last install failed');
    unmount();
    render(ErrorState, { error: badSignature, fallbackTitle: 'The last install failed' });
    expect(screen.getByRole('alert').querySelector('strong')?.textContent).toBe('License signature invalid');
  });

  it('compact: the title leads the message when the code has one, none otherwise', () => {
    setLocale('zh-CN');
    const { unmount } = render(ErrorState, {
      error: { code: 'LEDGER_ALLOTMENT_EXHAUSTED', message: 'all 5 licenses of allotment a1 are issued: check out a new allotment' },
      compact: true,
    });
    const p = screen.getByRole('alert').querySelector('p')!;
    expect(p.querySelector('strong')?.textContent).toBe('配额已用完');
    expect(p.textContent).toContain('all 5 licenses of allotment a1 are issued');
    unmount();
    render(ErrorState, { error: { code: 'SOMETHING_NEW', message: 'a new kind of failure' }, compact: true });
    expect(screen.getByRole('alert').querySelector('strong')).toBeNull();
  });

  it('shows a cache that never synced as a calm status, not an error', () => {
    render(ErrorState, { error: { code: 'NOT_SYNCED', message: 'nothing is synced yet' } });
    expect(screen.queryByRole('alert')).toBeNull();
    const box = screen.getByRole('status');
    expect(box.textContent).toContain('Not synced yet');
    expect(box.classList.contains('info')).toBe(true);
  });
});
