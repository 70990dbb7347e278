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
    if (cmd === 'floating_pools') return [];
    if (cmd === 'gateway_usage_charts') return { samples: 0, tags_svg: null, connections_svg: null };
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
    backend({});
    mockIPC((cmd, args) => {
      if (cmd === 'list_gateways') return [gateway];
      if (cmd === 'gateway_license') return view;
      if (cmd === 'floating_pools') return [];
      if (cmd === 'gateway_usage_charts') return { samples: 0, tags_svg: null, connections_svg: null };
      if (cmd === 'open_files') {
        seen.push((args as { paths: string[] }).paths);
        return { kind: 'license', outcome: { gateway_id: gateway.id, replaced: true, backup: 'b.lic', view } };
      }
      return null;
    });
    render(GatewayView);
    await screen.findByText('LIC-1');
    drop.pendingLicense = ['/tmp/new.lic'];
    await waitFor(() => expect(seen).toEqual([['/tmp/new.lic']]));
    expect(drop.pendingLicense).toBeNull();
  });

  it('says when nothing reported usage instead of showing 0 in use, and flags running over the trial', async () => {
    backend({ gateway_license: () => ({ ...view, usage_reported_at: null, tags: { in_use: 0, max: 5000, percent: 0, over_limit: false } }) });
    render(GatewayView);
    await screen.findByText('LIC-1');
    expect(screen.getByTestId('tags-usage').textContent).toContain('5,000 max');
    expect(screen.getByTestId('usage-not-reported')).toBeTruthy();
    expect(screen.queryByText('0 / 5,000')).toBeNull();
    expect(await screen.findByTestId('usage-none')).toBeTruthy();
  });

  it('running over the trial is shown as such', async () => {
    backend({
      gateway_license: () => ({
        ...view, kind: 'trial', trial: { reason: 'none_installed' }, installed: null, over_trial: true,
        tags: { in_use: 40, max: 30, percent: 133, over_limit: true }, connections: { in_use: 12, max: 30, percent: 40, over_limit: false },
      }),
    });
    render(GatewayView);
    const over = await screen.findByTestId('over-trial');
    expect(over.textContent).toContain('40 data tags and 12 connections in use; the trial allows 30');
  });

  it('request files dropped are answered and listed with where each answer went', async () => {
    const answers = {
      via: 'server',
      answers: [
        { request_file: '/site/a.ldreq', fingerprint: 'hw1:01', gateway_id: 'hw1:01', name: 'Pump 1', result: 'issued', via: 'server', response_file: '/site/a.ldresp', at: '2026-11-22T10:00:00Z', error: null },
        { request_file: '/site/a.ldreq', fingerprint: 'hw1:02', gateway_id: 'hw1:02', name: 'Pump 2', result: 'refused', via: 'server', response_file: '/site/a.ldresp', at: '2026-11-22T10:00:00Z', error: { code: 'ORDER_EXHAUSTED', message: 'no license left' } },
      ],
    };
    backend({ open_files: () => ({ kind: 'requests', answers }) });
    render(GatewayView);
    await screen.findByText('LIC-1');
    drop.pendingLicense = ['/site/a.ldreq'];
    const list = await screen.findByTestId('answers');
    expect(list.textContent).toContain('Pump 1');
    expect(list.textContent).toContain('/site/a.ldresp');
    expect(list.querySelector('[data-code]')?.getAttribute('data-code')).toBe('ORDER_EXHAUSTED');
    expect(screen.getByText('Answered by the license server')).toBeTruthy();
  });

  it('shows each pool with its live leases and time left, and releases one', async () => {
    const pool = (leases: unknown[]) => ({ name: 'edge-fleet', points: 200, in_use: 60, ttl_seconds: 300, plugins: [], leases });
    const lease = { fingerprint: 'hw1:77', gateway_id: null, gateway_name: 'Line 7', this_machine: false, points: 60, claimed_at: '2026-11-22T10:00:00Z', expires_at: '2026-11-22T10:05:00Z', seconds_left: 125, connections: 3, tags: 27, usage_at: '2026-11-22T10:01:00Z' };
    const released: unknown[] = [];
    backend({ floating_pools: () => [pool([lease])] });
    mockIPC((cmd, args) => {
      if (cmd === 'list_gateways') return [gateway];
      if (cmd === 'gateway_license') return view;
      if (cmd === 'gateway_usage_charts') return { samples: 0, tags_svg: null, connections_svg: null };
      if (cmd === 'floating_pools') return [pool([lease])];
      if (cmd === 'release_lease') {
        released.push(args);
        return { ...pool([]), in_use: 0 };
      }
      return null;
    });
    render(GatewayView);
    const row = await waitFor(() => {
      const r = document.querySelector('tr[data-fingerprint="hw1:77"]');
      if (!r) throw new Error('no lease row');
      return r as HTMLElement;
    });
    expect(row.textContent).toContain('Line 7');
    expect(within(row).getByTestId('time-left').textContent).toBe('2:05');
    expect(row.textContent).toContain('27 tags · 3 conn.');
    await fireEvent.click(within(row).getByRole('button', { name: 'Release' }));
    await waitFor(() => expect(released).toEqual([{ pool: 'edge-fleet', fingerprint: 'hw1:77' }]));
    await waitFor(() => expect(document.querySelector('tr[data-fingerprint="hw1:77"]')).toBeNull());
  });

  it('looks an order up and shows its figures and activations', async () => {
    const seen: unknown[] = [];
    backend({});
    mockIPC((cmd, args) => {
      if (cmd === 'list_gateways') return [gateway];
      if (cmd === 'gateway_license') return view;
      if (cmd === 'floating_pools') return [];
      if (cmd === 'gateway_usage_charts') return { samples: 0, tags_svg: null, connections_svg: null };
      if (cmd === 'lookup_order') {
        seen.push(args);
        return {
          order_no: 'ORD-1', product: 'edge-gateway-pro', customer: 'Buyer', activation_code: 'NFHP-KTY4-CCSG-T8Z5-ZQKBB', quantity: 10, used: 3, remaining: 7,
          max_connections: 200, max_tags: 2000, plugins: [], validity_days: 365,
          activations: [{ fingerprint: 'hw1:aa', gateway_name: 'ld-workstation', this_machine: false, license_id: 'lic-1', issued_at: '2026-11-01T00:00:00Z', reissued: 0 }],
        };
      }
      return null;
    });
    render(GatewayView);
    await screen.findByText('LIC-1');
    const card = screen.getByTestId('order-lookup');
    await fireEvent.input(within(card).getByLabelText('Order number'), { target: { value: ' ORD-1 ' } });
    await fireEvent.input(within(card).getByLabelText('E-mail'), { target: { value: 'b@example.com' } });
    await fireEvent.click(within(card).getByRole('button', { name: 'Look up' }));
    await within(card).findByTestId('order-code');
    expect(seen).toEqual([{ orderNo: 'ORD-1', email: 'b@example.com' }]);
    expect(within(card).getByTestId('order-remaining').textContent).toBe('7');
    expect(card.textContent).toContain('ld-workstation · hw1:aa');
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
