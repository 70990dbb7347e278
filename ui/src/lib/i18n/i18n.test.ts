import { describe, expect, it } from 'vitest';
import { en } from './en';
import { zhCN } from './zh-CN';
import { setLocale, t } from './index.svelte';

describe('catalogues', () => {
  it('en and zh-CN have exactly the same keys', () => {
    expect(Object.keys(zhCN).sort()).toEqual(Object.keys(en).sort());
  });

  it('no message is empty and placeholders match', () => {
    const holes = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort();
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      expect(en[key].length, key).toBeGreaterThan(0);
      expect(zhCN[key].length, key).toBeGreaterThan(0);
      expect(holes(zhCN[key]), key).toEqual(holes(en[key]));
    }
  });

  it("uses ui.md's words exactly", () => {
    const words: [keyof typeof en, string, string][] = [
      ['products.title', 'Product Management', '产品管理'],
      ['nav.resourceManagement', 'Resource Management', '资源管理'],
      ['licenses.title', 'License Management', '激活码管理'],
      ['gateway.activation', 'Activation Code', '激活码'],
      ['common.total', 'Total', '总数'],
      ['common.used', 'Used', '已使用'],
      ['common.remaining', 'Remaining', '剩余'],
      ['devices.allowance', 'Package allowance', '激活码套餐'],
      ['devices.validity', 'Validity period', '有效期'],
      ['devices.messagesPerDay', 'Messages per day', '每日消息数'],
      ['devices.otaThisMonth', 'OTA upgrades per month', '每月 OTA 升级次数'],
      ['devices.storage', 'Storage duration', '存储时长'],
      ['settings.dataCenter', 'Data center', '数据中心'],
      ['products.pk', 'Product key (PK)', '产品 Key (PK)'],
      ['licenses.colDevice', 'Device key (DK)', '设备 Key (DK)'],
      ['gateway.title', 'Gateway License', '网关许可证'],
      ['gateway.upload', 'Upload License', '上传许可证'],
      ['gateway.issuedAt', 'Issued At', '签发时间'],
      ['gateway.expireAt', 'Expire At', '过期时间'],
      ['gateway.tagsUsage', 'Tags Usage', '数据标签使用量'],
      ['gateway.plugins', 'Enabled Plugins', '已启用插件'],
      ['gateway.kind.trial', 'Trial license', '试用许可证'],
      ['gateway.kind.floating', 'Floating license', '浮动许可证'],
      ['gateway.hardware', 'Hardware identifier', '硬件标识'],
      ['gateway.offline', 'Offline activation', '离线激活'],
      ['fieldKit.title', 'Field Kit', '现场工具包'],
      ['status.lastSynced', 'Last synced', '上次同步'],
    ];
    for (const [key, e, z] of words) {
      expect(en[key]).toBe(e);
      expect(zhCN[key]).toBe(z);
    }
    expect(zhCN['devices.topups']).toContain('加油包');
  });

  it('t() interpolates and follows the locale', () => {
    setLocale('en');
    expect(t('status.outbox', { n: 3 })).toBe('3 pending');
    setLocale('zh-CN');
    expect(t('status.outbox', { n: 3 })).toBe('3 项待发送');
    setLocale('en');
  });
});
