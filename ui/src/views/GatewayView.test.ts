import { afterEach, describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import GatewayView from './GatewayView.svelte';
import { drop } from '../lib/state.svelte';
import { setLocale } from '../lib/i18n/index.svelte';
import { gateway, view } from '../test/fixtures';

function backend(extra: Record<string, () => unknown>) {
  mockIPC((cmd) => {
    if (cmd in extra) return extra[cmd]!();
    if (cmd === 'list_gateways') return [gateway];
    if (cmd === 'gateway_license') return view;
    if (cmd === 'floating_status') return null;
    return null;
  });
}

describe('GatewayView', () => {
  afterEach(() => setLocale('en'));

  it('renders the details list as edge consoles do', async () => {
    backend({});
    render(GatewayView);
    await screen.findByText('LIC-1');
    for (const label of ['Issued At', 'Expire At', 'Tags Usage', 'Connections', 'Enabled Plugins', 'Kind', 'Hardware identifier']) {
      expect(screen.getByText(label)).toBeTruthy();
    }
    expect(screen.getByText('3,120 / 5,000')).toBeTruthy();
    expect(screen.getByText('opc-ua')).toBeTruthy();
  });

  it("a queued activation the server refused leads with its code's title, its text in zh-CN below (no English)", async () => {
    const refused = { key: 'k1', gateway_id: 'fp-this', code: 'NFHP-KTY4-CCSG-T8Z5-ZQKBB', queued_at: '2026-11-22T10:00:00Z' };
    backend({
      gateway_license: () => ({
        ...view,
        pending: [
          { ...refused, error: { code: 'ORDER_EXHAUSTED', message: 'order ORD-1 has no license left', params: { order: 'ORD-1', activated: 3, quantity: 3 } } },
          { ...refused, key: 'k2', error: { code: 'SOMETHING_NEW', message: 'a new refusal', params: {} } },
        ],
      }),
    });
    setLocale('zh-CN');
    render(GatewayView);
    await screen.findByText('订单 ORD-1 已没有剩余许可证（已激活 3 / 3）：请购买更多，或重新激活已有许可证的网关');
    const [first, second] = [...document.querySelectorAll('.row-error')];
    expect(first!.querySelector('strong')?.textContent).toBe('订单已无剩余许可证');
    expect(first!.getAttribute('data-code')).toBe('ORDER_EXHAUSTED');
    expect(second!.querySelector('strong')?.textContent).toBe('尚未激活');
    expect(second!.textContent).not.toContain('a new refusal');
  });

  it('keeps an upload error on screen and the previous license displayed', async () => {
    backend({
      upload_license_dialog: () => {
        throw { code: 'LICENSE_EXPIRED', message: 'the license expired on 2025-01-01; nothing was replaced' };
      },
    });
    render(GatewayView);
    await screen.findByText('LIC-1');
    await fireEvent.click(screen.getByRole('button', { name: 'Upload License' }));
    const alert = await screen.findByRole('alert');
    expect(alert.getAttribute('data-code')).toBe('LICENSE_EXPIRED');
    expect(alert.querySelector('strong')?.textContent).toBe('License expired');
    expect(alert.textContent).toContain('nothing was replaced');
    expect(screen.getByText('LIC-1')).toBeTruthy();
    expect(screen.getByText('The license shown below is still installed.')).toBeTruthy();
  });

  it('an install error whose code has no words of its own says the last install failed', async () => {
    backend({
      upload_license_dialog: () => {
        throw { code: 'SOMETHING_NEW', message: 'a new kind of failure' };
      },
    });
    render(GatewayView);
    await screen.findByText('LIC-1');
    await fireEvent.click(screen.getByRole('button', { name: 'Upload License' }));
    const alert = await screen.findByRole('alert');
    expect(alert.querySelector('strong')?.textContent).toBe('The last install failed');
  });

  it('installs a dropped file through the same seam and shows the result', async () => {
    const seen: string[][] = [];
    mockIPC((cmd, args) => {
      if (cmd === 'list_gateways') return [gateway];
      if (cmd === 'gateway_license') return view;
      if (cmd === 'install_license_files') {
        seen.push((args as { paths: string[] }).paths);
        return { gateway_id: gateway.id, replaced: true, backup: 'b.lic', view };
      }
      return null;
    });
    render(GatewayView);
    await screen.findByText('LIC-1');
    drop.pendingLicense = ['/tmp/new.lic'];
    await waitFor(() => expect(seen).toEqual([['/tmp/new.lic']]));
    expect(drop.pendingLicense).toBeNull();
  });

  it("offline import: each refused gateway leads with its code's zh-CN title above its zh-CN text; unknown codes get the result's own title", async () => {
    setLocale('zh-CN');
    const item = (fingerprint: string, name: string, result: string, error: { code: string; message: string } | null) =>
      ({ fingerprint, gateway_id: fingerprint, name, result, error });
    backend({
      import_offline_response: () => [
        item('hw1:01', 'gw-1', 'installed', null),
        item('hw1:02', 'gw-2', 'refused', { code: 'ORDER_EXHAUSTED', message: "order 'ORD-7' has no license left (3 of 3 activated)" }),
        item('hw1:03', 'gw-3', 'refused', { code: 'SOMETHING_NEW', message: 'a new kind of refusal' }),
        item('hw1:04', 'gw-4', 'failed', { code: 'SOMETHING_ELSE', message: 'a new kind of failure' }),
      ],
    });
    render(GatewayView);
    await screen.findByText('LIC-1');
    await fireEvent.click(screen.getByRole('button', { name: '导入响应文件' }));
    const card = screen.getByRole('region', { name: '离线激活' });
    await waitFor(() => expect(within(card).getAllByRole('listitem').length).toBe(4));
    const [ok, exhausted, refused, failed] = within(card).getAllByRole('listitem');
    expect(ok!.textContent).toContain('已安装');
    expect(ok!.querySelector('[data-code]')).toBeNull();
    expect(exhausted!.textContent).toContain('被拒绝');
    const err = exhausted!.querySelector('[data-code]')!;
    expect(err.getAttribute('data-code')).toBe('ORDER_EXHAUSTED');
    expect(err.querySelector('strong')?.textContent).toBe('订单已无剩余许可证');
    expect(err.textContent).toContain('订单已没有剩余许可证：请购买更多');
    expect(err.getAttribute('title')).toBe('ORDER_EXHAUSTED');
    expect(refused!.querySelector('strong')?.textContent).toBe('未激活');
    expect(refused!.querySelector('[data-code]')?.getAttribute('title')).toBe('SOMETHING_NEW');
    expect(failed!.textContent).toContain('失败');
    expect(failed!.querySelector('strong')?.textContent).toBe('未安装');
    expect(card.textContent).not.toMatch(/order|refusal|failure/);
  });
});
