// The journeys of issues 5 and 6, each asserting what the user sees and
// saving a screenshot (taken after the expected state is on screen). The
// "server stopped" journey stops the server, so it runs last (`last`).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { waitFor } from './wd.mjs';

const digits = (s) => Number(String(s).replace(/[^0-9]/g, ''));
const tile = (wd, label) => wd.textOf(`section.tile[aria-label="${label}"] .value`);

async function tilesEqual(wd, want) {
  return waitFor(`tiles = ${JSON.stringify(want)}`, async () => {
    const got = {
      total: digits(await tile(wd, 'Total')),
      used: digits(await tile(wd, 'Used')),
      remaining: digits(await tile(wd, 'Remaining')),
    };
    return got.total === want.total && got.used === want.used && got.remaining === want.remaining && got;
  }, 60000);
}

const dialogWindow = (title) => {
  try {
    return execFileSync('xdotool', ['search', '--onlyvisible', '--name', `^${title}$`]).toString().trim().split('\n')[0];
  } catch {
    return null;
  }
};

/**
 * Opens the native file dialog with the button `label` and picks `path` in
 * it. No window manager runs under Xvfb: the dialog gets the focus, then the
 * path is typed into GTK's location field. A keystroke lost on a loaded
 * machine leaves the dialog open: it is then cancelled (Escape, which the
 * app takes as "no file") and the whole pick is tried again, up to 3 times.
 */
async function chooseFile(wd, label, path) {
  for (let attempt = 1; ; attempt++) {
    await wd.button(label);
    const win = await waitFor(`the ${label} dialog`, () => dialogWindow(label));
    execFileSync('xdotool', ['windowfocus', '--sync', win]);
    execFileSync('xdotool', ['key', '--clearmodifiers', 'ctrl+l']);
    execFileSync('xdotool', ['type', '--delay', '20', path]);
    execFileSync('xdotool', ['key', 'Return']);
    // GTK may take the first Return for its completion: press it until the
    // dialog goes.
    const gone = (key) => () => {
      if (!dialogWindow(label)) return true;
      execFileSync('xdotool', ['key', key]);
      return false;
    };
    const closed = await waitFor('the dialog to close', gone('Return'), 8000).then(() => true, () => false);
    if (closed) return;
    if (attempt === 3) throw new Error(`the ${label} dialog did not take ${path} in 3 attempts`);
    execFileSync('xdotool', ['windowfocus', '--sync', win]);
    await waitFor('the dialog to be cancelled', gone('Escape'), 10000);
  }
}

export const journeys = [
  {
    name: 'open → overview numbers equal the server’s',
    shot: '01-products-overview.png',
    async run({ wd, server }) {
      await wd.find('[data-view="products"]');
      await wd.button('Sync now');
      const o = await server.get('/v1/account');
      await tilesEqual(wd, { total: o.total, used: o.used, remaining: o.remaining });
      await wd.find('.grid .card');
    },
  },
  {
    name: 'products: a product’s Billing shows the server’s statements, top-ups and this month so far',
    shot: '07-products-billing.png',
    async run({ wd, server }) {
      await wd.button('Products');
      await wd.find('[data-pk="pcc0002"]');
      const statements = await server.get('/v1/products/pcc0002/statements');
      const card = await server.get('/v1/products/pcc0002');
      const withOverage = statements.find((s) => s.message_overage > 0);
      if (!withOverage) throw new Error(`the demo closed no month with overage: ${JSON.stringify(statements.slice(0, 3))}`);
      await wd.clickOn('[data-pk="pcc0002"] .billing button');
      const dialog = 'dialog[aria-label="Billing · Cold Chain Tracker"]';
      await wd.find(dialog);
      const fmt = (n) => new Intl.NumberFormat('en').format(n);
      await waitFor('the top-ups left and a closed month with overage', async () => {
        const text = (await wd.textOf(dialog)).replace(/\s+/g, ' ');
        return (
          text.includes(`${fmt(card.message_topups)} messages`) &&
          text.includes(withOverage.month) &&
          text.includes(`${fmt(withOverage.message_overage)} − ${fmt(withOverage.message_topups_applied)} = ${fmt(withOverage.messages_billed)}`) &&
          text
        );
      }, 30000);
      const rows = await wd.findAll(`${dialog} tbody tr`);
      if (rows.length !== statements.length) throw new Error(`${rows.length} rows, the server has ${statements.length} statements`);
      // Left open for the screenshot; the runner closes it before the next journey.
    },
  },
  {
    name: 'gateway page: an activation code → the license with its fields',
    shot: '02-gateway-activated.png',
    async run({ wd, server }) {
      const order = await server.post('/v1/gateway/orders/lookup', {
        order_no: 'ORD-2025-0001',
        email: 'ops@hzmeters.example',
      });
      await wd.button('Gateway License');
      await wd.find('[data-view="gateway"]');
      const input = await wd.find('#activation-code');
      await wd.type(input, order.activation_code.toLowerCase());
      await waitFor('the code to be accepted', async () => (await wd.attr(input, 'aria-invalid')) !== 'true' && (await wd.findAll('.tick')).length > 0);
      await wd.button('Activate');
      await waitFor('kind Activation Code', async () => (await wd.textOf('[data-testid="kind-chip"]')) === 'Activation Code');
      const page = await wd.textOf('[data-view="gateway"]');
      for (const want of ['modbus-tcp', 'opcua', 'mqtt', '2,000']) {
        if (!page.includes(want)) throw new Error(`gateway page lacks ${want}`);
      }
    },
  },
  {
    name: 'a corrupted license file (Upload License dialog) → error shown, previous license kept',
    shot: '03-upload-corrupted.png',
    async run({ wd, tmp }) {
      const bad = join(tmp, 'corrupted.lic');
      writeFileSync(bad, '-----BEGIN LICENSEDESK LICENSE-----\nbm90IGEgbGljZW5zZQ==\n-----END LICENSEDESK LICENSE-----\n');
      await chooseFile(wd, 'Upload License', bad);
      const code = await waitFor('the install error', async () => {
        const [el] = await wd.findAll('.install-error [role="alert"]');
        return el && wd.attr(el, 'data-code');
      });
      if (!code.startsWith('LICENSE_')) throw new Error(`error code ${code}`);
      // Led by the code's own title (ui/src/lib/errors.ts; "License file
      // damaged" for this file), not by the fallback for codes without one.
      const title = (await wd.textOf('.install-error [role="alert"] strong')).trim();
      if (!title || title === 'The last install failed' || title === 'Something went wrong') {
        throw new Error(`install error ${code} titled "${title}"`);
      }
      if ((await wd.textOf('[data-testid="kind-chip"]')) !== 'Activation Code') throw new Error('previous license not shown');
    },
  },
  {
    name: 'a sync shows progress, then fresh data',
    shot: '04-sync-fresh-data.png',
    async run({ wd, server }) {
      const before = await server.get('/v1/account');
      const product = (await server.get('/v1/products')).find((p) => p.package);
      await server.admin('/v1/admin/batches', { account_id: before.id, pk: product.pk, count: 25, package: product.package });
      await wd.button('Products');
      await wd.find('[data-view="products"]');
      await wd.exec(`window.__sawProgress = false;
        new MutationObserver(() => { if (document.querySelector('.progress[role="status"]')) window.__sawProgress = true; })
          .observe(document.body, { subtree: true, childList: true });`);
      await wd.button('Sync now');
      await tilesEqual(wd, { total: before.total + 25, used: before.used, remaining: before.remaining + 25 });
      if (!(await wd.exec('return window.__sawProgress'))) throw new Error('no progress was shown');
    },
  },
  {
    name: 'field kit: check out 2 → issue a typed fingerprint → pending sync → Reconcile → reconciled',
    shot: '06-field-kit.png',
    async run({ wd, server }) {
      const orderNo = 'ORD-2025-0001';
      // The demo order exists and has licenses left (the gateway journey used one).
      const order = await server.post('/v1/gateway/orders/lookup', { order_no: orderNo, email: 'ops@hzmeters.example' });
      if (!order.activation_code) throw new Error(`no demo order ${orderNo}`);
      // A real gateway fingerprint, from the real ldctl next to the server binary.
      const ldctl = process.env.LICENSEDESK_LDCTL ?? join(dirname(process.env.LICENSEDESK_SERVER_BIN), 'ldctl');
      const { fingerprint } = JSON.parse(execFileSync(ldctl, ['fingerprint', '--json', '--machine-id', 'licensedesk-e2e-field-gateway-1']).toString());

      await wd.button('Field Kit');
      await wd.find('[data-view="fieldKit"]');
      await wd.find('[data-view="fieldKit"] .empty, [data-testid="allotment"]');
      const orderInput = await wd.find('form.checkout input.mono');
      await wd.type(orderInput, orderNo);
      const [count, days] = await wd.findAll('form.checkout .two input');
      await wd.clear(count);
      await wd.type(count, '2');
      await wd.clear(days);
      await wd.type(days, '7');
      await wd.clickOn('form.checkout button[type="submit"]');
      await waitFor('2 / 2 remaining', async () => (await wd.textOf('[data-testid="remaining"]')).includes('2 / 2'), 30000);

      const fp = await wd.find('form.fp input');
      await wd.type(fp, fingerprint);
      await wd.clickOn('form.fp button[type="submit"]');
      const row = () => wd.findX(`//section[@aria-labelledby="fk-issued"]//tbody/tr[td[normalize-space(.)="${fingerprint}"]]`);
      await waitFor('the issued row pending sync', async () => (await wd.text(await row())).includes('Pending sync'));
      await waitFor('1 / 2 remaining', async () => (await wd.textOf('[data-testid="remaining"]')).includes('1 / 2'));

      await wd.button('Reconcile');
      await waitFor('the issued row reconciled', async () => (await wd.text(await row())).includes('Reconciled'), 30000);
      // The server's own audit log, shown beside the local list.
      await wd.clickOn('details[data-testid="audit"] summary');
      await wd.find('[data-testid="audit"] li[data-action="checkout"]');
      await wd.find('[data-testid="audit"] li[data-action="issuance"]');
      const rec = await wd.textOf('[data-testid="audit"] li[data-action="reconcile"]');
      if (!rec.includes('1 newly consumed')) throw new Error(`audit entry: ${rec}`);
      const log = await server.get('/v1/field/audit');
      const consumed = log.filter((e) => e.action === 'reconcile').reduce((n, e) => n + e.detail.newly_consumed, 0);
      if (consumed !== 1) throw new Error(`server consumed ${consumed}, want 1`);
      // Frame the shot: toasts dismissed, the issued list and the audit log in view.
      for (const b of await wd.findAll('.toasts button[aria-label="Dismiss"]')) await wd.click(b).catch(() => {});
      await waitFor('the toasts to go', async () => (await wd.findAll('.toasts .toast')).length === 0);
      await wd.exec(`document.querySelector('[data-testid="audit"]').scrollIntoView({ block: 'end' });
        const table = document.querySelector('section[aria-labelledby="fk-issued"] .scroll');
        if (table) table.scrollLeft = table.scrollWidth;`);
      await wd.find('[data-testid="audit"] li[data-action="reconcile"]');
    },
  },
  {
    name: 'server stopped → offline, how old the data is, views still work',
    shot: '05-offline.png',
    last: true,
    async run({ wd, server }) {
      server.stop();
      await wd.button('Sync now');
      await waitFor('Offline in the status bar', async () => (await wd.textOf('.conn')).includes('Offline'));
      await wd.find('[data-testid="last-synced"]');
      await wd.button('License Management');
      await waitFor('license rows', async () => (await wd.findAll('table tbody tr')).length > 5);
      await wd.find('[data-testid="stale"]');
    },
  },
];
