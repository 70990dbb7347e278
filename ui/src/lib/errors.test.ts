import { afterEach, describe, expect, it } from 'vitest';
import { ERROR_TITLES, errorTitle, hasErrorTitle } from './errors';
import { en } from './i18n/en';
import { zhCN } from './i18n/zh-CN';
import { setLocale } from './i18n/index.svelte';

describe('error titles', () => {
  afterEach(() => setLocale('en'));

  it('every code in the map has its own words in en and in zh-CN', () => {
    expect(ERROR_TITLES.size).toBeGreaterThan(30);
    for (const [code, key] of ERROR_TITLES) {
      expect(code, code).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(en[key]?.trim().length, `${code} → ${key} (en)`).toBeGreaterThan(0);
      expect(zhCN[key]?.trim().length, `${code} → ${key} (zh-CN)`).toBeGreaterThan(0);
      // zh-CN must not fall back to English.
      expect(zhCN[key], `${code} → ${key}`).not.toBe(en[key]);
      expect(zhCN[key], `${code} → ${key}`).toMatch(/[\u4e00-\u9fff]/);
    }
  });

  it('titles are short: a title, not a sentence', () => {
    for (const [code, key] of ERROR_TITLES) {
      expect(en[key].length, code).toBeLessThanOrEqual(32);
      expect(zhCN[key].length, code).toBeLessThanOrEqual(16);
      expect(en[key], code).not.toMatch(/[.:;]$/);
      expect(zhCN[key], code).not.toMatch(/[。：；]$/);
    }
  });

  it('follows the language; a code without words gets the fallback, else the generic title', () => {
    expect(errorTitle('LICENSE_SIGNATURE_INVALID')).toBe('License signature invalid');
    expect(errorTitle('SOMETHING_NEW')).toBe('Something went wrong');
    expect(errorTitle('SOMETHING_NEW', 'The last install failed')).toBe('The last install failed');
    expect(errorTitle('LICENSE_SIGNATURE_INVALID', 'The last install failed')).toBe('License signature invalid');
    expect(hasErrorTitle('SOMETHING_NEW')).toBe(false);
    // Only the map's own entries, not what every object has.
    expect(hasErrorTitle('constructor')).toBe(false);
    setLocale('zh-CN');
    expect(errorTitle('LICENSE_SIGNATURE_INVALID')).toBe('许可证签名无效');
    expect(errorTitle('CODE_CHECK_MISMATCH')).toBe('激活码有输入错误');
    expect(errorTitle('SOMETHING_NEW')).toBe('出错了');
  });
});
