import { afterEach, describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import FieldKitView from './FieldKitView.svelte';
import { app, drop } from '../lib/state.svelte';
import { setLocale } from '../lib/i18n/index.svelte';
import type { AllotmentScope, AllotmentSummary, AuditEntry, IssuedView } from '../lib/types';

const ID = 'alt-0011';
const orderScope: AllotmentScope = {
  kind: 'order', reference: 'ORD-9', order: 'ORD-9', product: 'edge-gateway-lite', customer: 'Buyer Ltd',
  plugins: ['modbus-rtu'], max_connections: 100, max_tags: 1000, max_license_days: 365,
};
const summary: AllotmentSummary = {
  allotment_id: ID, server: 'http://s', scope: orderScope, max_licenses: 5, issued: 2, remaining: 3,
  not_before: '2026-03-31T10:00:00Z', not_after: '2026-04-07T10:00:00Z', expires_in_secs: 2 * 86400 + 3600,
  expired: false, pending_sync: 1, reconciled: 0, conflicts: 1, server_state: 'open', consumed: 0, synced_at: null,
};
const issued: IssuedView[] = [
  { allotment_id: ID, seq: 1, slot: 1, fingerprint: 'FP-ONE', license_id: `${ID}-1`, issued_at: '2026-03-31T11:00:00Z', state: 'conflict', code: 'HARDWARE_ALREADY_ACTIVATED', message: 'activated elsewhere meanwhile' },
  { allotment_id: ID, seq: 2, slot: 2, fingerprint: 'FP-TWO', license_id: `${ID}-2`, issued_at: '2026-03-31T11:05:00Z', state: 'pending_sync', code: null, message: null },
];

afterEach(() => {
  drop.claim = null;
  setLocale('en');
});

describe('FieldKitView', () => {
  it("shows Rust's allotment numbers and each license's sync state", async () => {
    mockIPC((cmd) => (cmd === 'field_allotments' ? [summary] : cmd === 'field_issued' ? issued : null));
    render(FieldKitView);
    const card = await screen.findByRole('region', { name: 'Allotment' });
    await waitFor(() => expect(within(card).getByTestId('remaining').textContent).toContain('3 / 5'));
    expect(within(card).getByTestId('expiry').textContent).toContain('Expires in 2 days');
    expect(within(card).getByRole('heading', { level: 2 }).textContent).toBe('Order ORD-9');
    const scope = within(card).getByRole('group', { name: 'Scope' });
    expect(scope.textContent).toContain('Buyer Ltd');
    expect(scope.textContent).toContain('of product edge-gateway-lite');
    expect(scope.textContent).toContain('modbus-rtu');
    expect(scope.textContent).toContain('up to 100 connections · 1,000 data tags · each license valid 365 days');
    const table = await screen.findByRole('table', { name: 'Issued licenses' });
    const rows = within(table).getAllByRole('row');
    expect(rows[1]!.textContent).toContain('Conflict');
    expect(rows[1]!.textContent).toContain('HARDWARE_ALREADY_ACTIVATED');
    expect(rows[1]!.textContent).toContain('activated elsewhere meanwhile');
    expect(rows[1]!.querySelector('.row-error strong')?.textContent).toBe('Gateway licensed elsewhere');
    expect(rows[2]!.textContent).toContain('Pending sync');
    setLocale('zh-CN');
    await waitFor(() => expect(rows[1]!.querySelector('.row-error strong')?.textContent).toBe('该网关已在别处获得许可'));
  });

  it('the issued licenses scroll from the keyboard: their scrolling box takes the focus and is named', async () => {
    mockIPC((cmd) => (cmd === 'field_allotments' ? [summary] : cmd === 'field_issued' ? issued : null));
    render(FieldKitView);
    const table = await screen.findByRole('table', { name: 'Issued licenses' });
    const box = table.parentElement!;
    expect(box.tabIndex).toBe(0);
    expect(screen.getByRole('group', { name: 'Issued licenses' })).toBe(box);
    box.focus();
    expect(document.activeElement).toBe(box);
  });

  it('issues dropped request files for the shown allotment and lists each gateway', async () => {
    let sent: unknown = null;
    mockIPC((cmd, args) => {
      if (cmd === 'field_allotments') return [summary];
      if (cmd === 'field_issued') return issued;
      if (cmd === 'field_issue_files') {
        sent = args;
        return {
          out_dir: `/home/me/LicenseDesk/field/${ID}`,
          outcomes: [
            { fingerprint: 'FP-3', name: 'gw-3', file: `/out/license-FP-3.lic`, issued: { allotment_id: ID, fingerprint: 'FP-3', slot: 3, seq: 3, license_id: `${ID}-3`, issued_at: '2026-03-31T12:00:00Z', reissue: false, license: '' }, code: null, message: null },
            { fingerprint: 'FP-9', name: 'gw-9', file: null, issued: null, code: 'LEDGER_ALLOTMENT_EXHAUSTED', message: 'all 5 licenses are issued' },
          ],
        };
      }
      return null;
    });
    render(FieldKitView);
    await screen.findByRole('region', { name: 'Allotment' });
    await waitFor(() => expect(drop.claim?.title).toBe('Drop request files to issue licenses'));
    drop.claim!.onDrop(['/tmp/r.json']);
    const results = await screen.findByRole('region', { name: 'Result per gateway' });
    expect(sent).toEqual({ allotmentId: ID, paths: ['/tmp/r.json'] });
    const items = within(results).getAllByRole('listitem');
    expect(items[0]!.textContent).toContain('Issued');
    expect(items[1]!.textContent).toContain('Refused');
    expect(items[1]!.textContent).toContain('LEDGER_ALLOTMENT_EXHAUSTED');
    expect(items[1]!.textContent).toContain('all 5 licenses are issued');
  });

  it("titles a refused gateway by its code in zh-CN above Rust's message and the code; an unknown code says it was not issued", async () => {
    setLocale('zh-CN');
    mockIPC((cmd) => {
      if (cmd === 'field_allotments') return [summary];
      if (cmd === 'field_issued') return issued;
      if (cmd === 'field_issue_files') {
        return {
          out_dir: `/home/me/LicenseDesk/field/${ID}`,
          outcomes: [
            { fingerprint: 'FP-9', name: 'gw-9', file: null, issued: null, code: 'LEDGER_ALLOTMENT_EXHAUSTED', message: 'record 6: the allotment of 5 licenses is used up: check out a new allotment', params: { record: 6, max: 5 } },
            { fingerprint: 'FP-10', name: 'gw-10', file: null, issued: null, code: 'SOMETHING_NEW', message: 'a new kind of refusal', params: {} },
          ],
        };
      }
      return null;
    });
    render(FieldKitView);
    await screen.findByRole('region', { name: '配额' });
    await waitFor(() => expect(drop.claim).not.toBeNull());
    drop.claim!.onDrop(['/tmp/r.json']);
    const results = await screen.findByRole('region', { name: '各网关结果' });
    const [known, unknown] = within(results).getAllByRole('listitem');
    expect(known!.textContent).toContain('已拒绝');
    const err = known!.querySelector('[data-code]')!;
    expect(err.getAttribute('data-code')).toBe('LEDGER_ALLOTMENT_EXHAUSTED');
    expect(err.querySelector('strong')?.textContent).toBe('配额已用完');
    expect(err.textContent).toContain('第 6 条记录：5 个许可证的配额已用完：请签出新的配额');
    expect(err.getAttribute('title')).toBe('LEDGER_ALLOTMENT_EXHAUSTED');
    expect(err.textContent).not.toMatch(/[A-Za-z]{4}/);
    const other = unknown!.querySelector('[data-code]')!;
    expect(other.querySelector('strong')?.textContent).toBe('未签发');
    expect(other.textContent).not.toContain('a new kind of refusal');
    expect(other.getAttribute('title')).toBe('SOMETHING_NEW');
  });

  it("shows the server's audit log of the allotment when opened, newest first, older pages on demand", async () => {
    const newest: AuditEntry[] = [
      { id: 4, allotment_id: ID, at: '2026-03-31T12:00:00Z', action: 'reconcile', detail: { entries: 2, new_entries: 2, newly_consumed: 1, conflicts: 1 } },
    ];
    const older: AuditEntry[] = [
      { id: 1, allotment_id: ID, at: '2026-03-31T10:00:00Z', action: 'checkout', detail: { order_no: 'ORD-9', max_licenses: 5 } },
    ];
    const asked: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === 'field_allotments') return [summary];
      if (cmd === 'field_issued') return issued;
      if (cmd === 'field_audit') {
        asked.push(args);
        const cursor = (args as { cursor: string | null }).cursor;
        return cursor ? { entries: older, next_cursor: null } : { entries: newest, next_cursor: '4' };
      }
      return null;
    });
    render(FieldKitView);
    const details = await screen.findByTestId('audit');
    expect(details.textContent).toContain('Server audit log');
    expect(asked).toEqual([]);
    (details as HTMLDetailsElement).open = true;
    await fireEvent(details, new Event('toggle'));
    const list = await screen.findByRole('list', { name: 'Server audit log' });
    expect(asked).toEqual([{ allotmentId: ID, cursor: null }]);
    let items = within(list).getAllByRole('listitem');
    expect(items[0]!.textContent).toContain('Reconcile');
    expect(items[0]!.textContent).toContain('2 records uploaded, 1 newly consumed, 1 conflicts');
    await fireEvent.click(screen.getByRole('button', { name: 'Older entries' }));
    await waitFor(() => expect(within(list).getAllByRole('listitem').length).toBe(2));
    expect(asked[1]).toEqual({ allotmentId: ID, cursor: '4' });
    items = within(list).getAllByRole('listitem');
    expect(items[1]!.textContent).toContain('Checkout');
    expect(items[1]!.textContent).toContain('5 licenses of ORD-9');
    expect(screen.queryByRole('button', { name: 'Older entries' })).toBeNull();
  });

  it('exports the ledger through the save dialog', async () => {
    const asked: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === 'field_allotments') return [summary];
      if (cmd === 'field_issued') return issued;
      if (cmd === 'field_export_ledger') {
        asked.push(args);
        return '/home/me/ledger.json';
      }
      return null;
    });
    render(FieldKitView);
    await fireEvent.click(await screen.findByRole('button', { name: 'Export ledger…' }));
    await waitFor(() => expect(asked).toEqual([{ allotmentId: ID }]));
    await waitFor(() => expect(app.toasts.some((x) => x.text.includes('Ledger saved to /home/me/ledger.json'))).toBe(true));
  });

  it('checks out from a product when Product is chosen and shows the scope Rust returns', async () => {
    const productScope: AllotmentScope = {
      kind: 'product', reference: 'edge-gateway-pro', order: null, product: 'edge-gateway-pro', customer: 'Buyer Ltd',
      plugins: ['modbus-tcp', 'mqtt'], max_connections: 200, max_tags: 2000, max_license_days: 365,
    };
    const checkedOut: AllotmentSummary = { ...summary, allotment_id: 'alt-0022', scope: productScope, max_licenses: 8, issued: 0, remaining: 8 };
    let list: AllotmentSummary[] = [];
    let sent: unknown = null;
    mockIPC((cmd, args) => {
      if (cmd === 'field_allotments') return list;
      if (cmd === 'field_issued') return [];
      if (cmd === 'field_checkout') {
        sent = args;
        list = [checkedOut];
        return checkedOut;
      }
      return null;
    });
    render(FieldKitView);
    await screen.findByText('No allotment yet');
    const from = screen.getByRole('radiogroup', { name: 'Check out from' });
    const order = within(from).getByRole('radio', { name: 'Order' }) as HTMLInputElement;
    const product = within(from).getByRole('radio', { name: 'Product' }) as HTMLInputElement;
    expect(order.checked).toBe(true);
    expect(screen.getByLabelText('Order number')).toBeTruthy();
    await fireEvent.click(product);
    expect(product.checked).toBe(true);
    const input = screen.getByLabelText('Gateway product') as HTMLInputElement;
    expect(input.placeholder).toBe('edge-gateway-pro');
    expect(screen.getByTestId('product-hint').textContent).toContain('oldest first');
    await fireEvent.input(input, { target: { value: ' edge-gateway-pro ' } });
    const count = screen.getByLabelText('Licenses') as HTMLInputElement;
    await fireEvent.input(count, { target: { value: '8' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Check out' }));
    await waitFor(() => expect(sent).toEqual({ kind: 'product', reference: 'edge-gateway-pro', count: 8, days: 7 }));
    const card = await screen.findByRole('region', { name: 'Allotment' });
    await waitFor(() => expect(within(card).getByRole('heading', { level: 2 }).textContent).toBe('Product edge-gateway-pro'));
    const scope = within(card).getByRole('group', { name: 'Scope' });
    expect(scope.textContent).toContain('modbus-tcp');
    expect(scope.textContent).toContain('mqtt');
    expect(scope.textContent).not.toContain('of product');
    expect(scope.textContent).toContain('up to 200 connections · 2,000 data tags');
  });

  it('names the orders a product checkout drew from in the audit log', async () => {
    const audit: AuditEntry[] = [
      {
        id: 1, allotment_id: ID, at: '2026-03-31T10:00:00Z', action: 'checkout',
        detail: { scope: 'product', product: 'edge-gateway-pro', order_no: null, max_licenses: 8, orders: [{ order_no: 'ORD-1', count: 7 }, { order_no: 'ORD-4', count: 1 }] },
      },
    ];
    mockIPC((cmd) =>
      cmd === 'field_allotments' ? [summary] : cmd === 'field_issued' ? issued : cmd === 'field_audit' ? { entries: audit, next_cursor: null } : null,
    );
    render(FieldKitView);
    const details = await screen.findByTestId('audit');
    (details as HTMLDetailsElement).open = true;
    await fireEvent(details, new Event('toggle'));
    const list = await screen.findByRole('list', { name: 'Server audit log' });
    expect(within(list).getAllByRole('listitem')[0]!.textContent).toContain('8 licenses of product edge-gateway-pro (ORD-1 × 7, ORD-4 × 1)');
  });

  it("shows Rust's error and recovers on retry; an empty kit says what to do", async () => {
    let fail = true;
    mockIPC((cmd) => {
      if (cmd === 'field_allotments' && fail) throw { code: 'FIELD_DB', message: 'the field kit database failed: disk I/O error' };
      return cmd === 'field_allotments' ? [] : null;
    });
    render(FieldKitView);
    const alert = await screen.findByRole('alert');
    expect(alert.getAttribute('data-code')).toBe('FIELD_DB');
    fail = false;
    await fireEvent.click(screen.getByRole('button', { name: 'Retry' }));
    expect(await screen.findByText('No allotment yet')).toBeTruthy();
    expect(drop.claim).toBeNull();
  });
});
