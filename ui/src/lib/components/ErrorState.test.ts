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

  it('in zh-CN: the title and the text are Chinese, worded from the params; the code only on hover', () => {
    setLocale('zh-CN');
    render(ErrorState, { error: badSignature });
    const box = screen.getByRole('alert');
    expect(box.querySelector('strong')?.textContent).toBe('许可证签名无效');
    expect(box.querySelector('p')?.textContent).toBe('许可证签名无效：文件已被修改，或并非由 LicenseDesk 签发；请向签发方索取新的许可证');
    expect(box.querySelector('code')).toBeNull();
    expect(box.getAttribute('title')).toBe('LICENSE_SIGNATURE_INVALID');
    expect(box.textContent).not.toMatch(/signature|issuer/);
  });

  it('fills the text from the params, numbers and times in the locale’s form', () => {
    setLocale('zh-CN');
    render(ErrorState, {
      error: {
        code: 'LICENSE_HARDWARE_MISMATCH',
        message: 'the license is bound to hardware A, not to this gateway (B)',
        params: { bound: 'AAAA-BBBB-CCCC-DDDDD', actual: 'EEEE-FFFF-GGGG-HHHHH' },
      },
    });
    expect(screen.getByRole('alert').querySelector('p')?.textContent).toBe(
      '该许可证绑定的硬件是 AAAA-BBBB-CCCC-DDDDD，而不是此网关（EEEE-FFFF-GGGG-HHHHH）：请安装到签发时指定的网关，或为 EEEE-FFFF-GGGG-HHHHH 申请许可证',
    );
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
      error: {
        code: 'LEDGER_ALLOTMENT_EXHAUSTED',
        message: 'record 6: the allotment of 5 licenses is used up: check out a new allotment',
        params: { record: 6, max: 5 },
      },
      compact: true,
    });
    const p = screen.getByRole('alert').querySelector('p')!;
    expect(p.querySelector('strong')?.textContent).toBe('配额已用完');
    expect(p.textContent).toContain('第 6 条记录：5 个许可证的配额已用完');
    unmount();
    // No title and no Chinese text of its own: the generic title, never English.
    render(ErrorState, { error: { code: 'SOMETHING_NEW', message: 'a new kind of failure' }, compact: true });
    expect(screen.getByRole('alert').querySelector('strong')).toBeNull();
    expect(screen.getByRole('alert').querySelector('p')?.textContent).toBe('出错了');
  });

  it('shows a cache that never synced as a calm status, not an error', () => {
    render(ErrorState, { error: { code: 'NOT_SYNCED', message: 'nothing is synced yet' } });
    expect(screen.queryByRole('alert')).toBeNull();
    const box = screen.getByRole('status');
    expect(box.textContent).toContain('Not synced yet');
    expect(box.classList.contains('info')).toBe(true);
  });
});
