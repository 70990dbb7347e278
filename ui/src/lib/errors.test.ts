import { afterEach, describe, expect, it } from 'vitest';
import { ERROR_TITLES, errorSentence, errorText, errorTitle, fill, hasErrorTitle } from './errors';
import { packageSummary } from './format';
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

  it('words an error in the user\'s language from its params: Rust\'s message in English', () => {
    const noCodes = {
      code: 'NO_CODES_AVAILABLE',
      message: 'taken offline: product Street Light Controller (psl0003) has no assigned activation code left',
      params: { pk: 'psl0003', product: 'Street Light Controller', unassigned: 1234 },
    };
    expect(errorText(noCodes)).toBe(noCodes.message);
    setLocale('zh-CN');
    expect(errorText(noCodes)).toBe(
      '已离线：产品 Street Light Controller（psl0003）没有已分配的激活码了；账户还有 1,234 个未分配的激活码，可分配给此产品，或购买激活码',
    );
    // The server's variant has no product name; core's none of the figures.
    expect(errorText({ ...noCodes, params: { pk: 'p1', unassigned: 0 } })).toMatch(/^产品 p1 没有已分配的激活码了；账户还有 0 个/);
    expect(errorText({ ...noCodes, params: {} })).toBe('没有可用的激活码了：请为产品购买激活码，或把未分配的激活码分配给它');
    // A code without a text: null, and the title stands in where one is needed.
    expect(errorText({ code: 'SOMETHING_NEW', message: 'x', params: {} })).toBeNull();
    expect(errorSentence({ code: 'SOMETHING_NEW', message: 'x', params: {} })).toBe('出错了');
    expect(errorSentence({ code: 'OTA_NEEDS_TOPUPS', message: 'x', params: { attempts: 2, remaining: 0, topups: 2, reset_at: '2026-05-01T00:00:00.000000Z' } })).toMatch(
      /^需要 2 次，但本月只剩 0 次：请购买 2 次加油包，或等到 2026-05-01 \d\d:\d\d$/,
    );
  });

  it('fills a template only when every value is there', () => {
    expect(fill('{a} of {b}', { a: 1, b: 20000 })).toBe('1 of 20,000');
    expect(fill('{a} of {b}', { a: 1 })).toBeNull();
    expect(fill('{a}', { a: null })).toBeNull();
  });

  it('words a package in the user\'s language', () => {
    const p = { validity: { years: 5, months: 0, days: 0 }, messages_per_day: 1500, ota_per_month: 1, ota_cap_mb: 5, storage_days: 7 };
    expect(packageSummary(p)).toBe('5 y · 1,500 msg/day · 1 OTA/mo ≤ 5 MB · 7 d');
    expect(packageSummary({ ...p, validity: { years: 1, months: 6, days: 0 } })).toMatch(/^1 y 6 mo · /);
    setLocale('zh-CN');
    expect(packageSummary(p)).toBe('5 年 · 每天 1,500 条消息 · 每月 1 次 OTA ≤ 5 MB · 存储 7 天');
  });
});
