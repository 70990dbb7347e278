// The journeys, each asserting what the user sees and saving a screenshot
// (taken once the expected state is on screen). Each runs on a fresh app
// of its own (run.mjs) and makes what it needs on the server (orders,
// pools), so none depends on another or on their order; the first starts
// from a fresh install.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chooseFile, dropFiles, ldctl, saveFile } from './native.mjs';
import { waitFor } from './wd.mjs';

const digits = (s) => Number(String(s).replace(/[^0-9]/g, ''));
const tile = (wd, label) => wd.textOf(`section.tile[aria-label="${label}"] .value`);
const DEMO_ORDER = 'ORD-2025-0001';
const DEMO_EMAIL = 'ops@hzmeters.example';

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

/** A new gateway order of the demo enterprise account (as the vendor); its activation code. */
let orders = 0;
async function newOrder(server, { quantity = 5, maxTags = 2000 } = {}) {
  const account = await server.get('/v1/account');
  const order_no = `ORD-E2E-${process.pid}-${Date.now()}-${++orders}`;
  const o = await server.admin('/v1/admin/gateway-orders', {
    account_id: account.id, order_no, email: 'e2e@example.com', customer: 'E2E Works', quantity,
    max_connections: 200, max_tags: maxTags, plugins: ['modbus-tcp', 'mqtt'], validity_days: 365,
  });
  return { order_no, code: o.activation_code };
}

/** A license the server signs for hardware `fingerprint` (a new order's): its id and file text. */
async function licenseFor(server, fingerprint, opts) {
  const { code } = await newOrder(server, opts);
  const a = await server.anon('/v1/gateway/activate', { code, fingerprint });
  return { id: a.license_id, text: a.license };
}

const fingerprintOf = (bin, machineId) => ldctl(bin, ['fingerprint', '--machine-id-file', machineId]).fingerprint;

/** Opens a page from the sidebar (see `Session.page`). */
const nav = (wd, label, view) => wd.page(label, view);

const toGateway = (wd) => nav(wd, 'Gateway License', 'gateway');

/** Dismisses the toasts (they would cover part of a screenshot). */
async function noToasts(wd) {
  for (const b of await wd.findAll('.toasts button[aria-label="Dismiss"]')) await wd.click(b).catch(() => {});
  await waitFor('the toasts to go', async () => (await wd.findAll('.toasts .toast')).length === 0);
}

/** The demo order's code entered on this machine: the license with its fields. */
async function activateDemoCode(wd, server) {
  const order = await server.anon('/v1/gateway/orders/lookup', { order_no: DEMO_ORDER, email: DEMO_EMAIL });
  await toGateway(wd);
  const input = await wd.find('#activation-code');
  await wd.type(input, order.activation_code.toLowerCase());
  await waitFor('the code to be accepted', async () => (await wd.attr(input, 'aria-invalid')) !== 'true' && (await wd.findAll('.tick')).length > 0);
  await wd.button('Activate');
  await waitFor('kind Activation Code', async () => (await wd.textOf('[data-testid="kind-chip"]')) === 'Activation Code');
}

export const journeys = [
  {
    name: 'fresh install: create the profile (checking its key fingerprints), upload a license by the dialog and by a drop',
    shot: '00-fresh-install.png',
    fresh: true,
    async run({ wd, server, tmp, machineId, ldctl: bin }) {
      const fp = fingerprintOf(bin, machineId);
      const first = await licenseFor(server, fp);
      const second = await licenseFor(server, fp);
      const [firstFile, secondFile] = [join(tmp, 'first.lic'), join(tmp, 'second.lic')];
      writeFileSync(firstFile, first.text);
      writeFileSync(secondFile, second.text);
      // The fingerprint a gateway sees for the same server (ldctl trust).
      const want = ldctl(bin, ['--home', join(tmp, 'ldctl-check'), 'trust', '--server', server.base]).keys[0].fingerprint;

      await nav(wd, 'Settings', 'settings');
      await wd.button('Add profile');
      const inputs = await wd.findAll('form[aria-label="Add profile"] input');
      for (const [el, value] of [[inputs[0], 'Demo'], [inputs[1], server.base], [inputs[2], 'Hangzhou Smart Meters'], [inputs[3], server.token]]) {
        await wd.type(el, value);
      }
      await wd.button('Check server keys');
      await waitFor('the key fingerprint', async () => (await wd.textOf('.keys-step')).includes(want));
      await wd.button('Trust these keys and save');
      await waitFor('the profile', async () => (await wd.textOf('[data-view="settings"] .profiles')).includes('Demo'));
      await waitFor('the trusted keys', async () => (await wd.textOf('[data-testid="trusted-keys"]')).includes(want));

      await toGateway(wd);
      await chooseFile(wd, 'Upload License', firstFile);
      await waitFor(`license ${first.id} installed`, async () => (await wd.textOf('[data-view="gateway"]')).includes(first.id));
      if ((await wd.textOf('[data-testid="kind-chip"]')) !== 'Activation Code') throw new Error('kind');
      await dropFiles(wd, [secondFile]);
      await waitFor(`license ${second.id} installed by the drop`, async () => (await wd.textOf('[data-view="gateway"]')).includes(second.id), 30000);
      await waitFor('the first kept as a backup', async () => (await wd.textOf('[data-view="gateway"]')).includes('1 previous licenses kept as backups'));
      await noToasts(wd);
    },
  },
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
      await nav(wd, 'Products', 'products');
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
      await activateDemoCode(wd, server);
      const page = await wd.textOf('[data-view="gateway"]');
      for (const want of ['modbus-tcp', 'opcua', 'mqtt', '2,000']) {
        if (!page.includes(want)) throw new Error(`gateway page lacks ${want}`);
      }
    },
  },
  {
    name: 'a corrupted license file (Upload License dialog) → error shown, previous license kept',
    shot: '03-upload-corrupted.png',
    async run({ wd, server, tmp }) {
      await activateDemoCode(wd, server);
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
      await wd.find('[data-view="products"]');
      await wd.button('Sync now');
      const before = await server.get('/v1/account');
      await tilesEqual(wd, { total: before.total, used: before.used, remaining: before.remaining });
      const product = (await server.get('/v1/products')).find((p) => p.package);
      await server.admin('/v1/admin/batches', { account_id: before.id, pk: product.pk, count: 25, package: product.package });
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
    async run({ wd, server, ldctl: bin }) {
      const { order_no: orderNo } = await newOrder(server, { quantity: 3 });
      // A real gateway fingerprint, from the real ldctl.
      const { fingerprint } = ldctl(bin, ['fingerprint', '--machine-id', 'licensedesk-e2e-field-gateway-1']);

      await nav(wd, 'Field Kit', 'fieldKit');
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
      // The server's own audit log, beside the local list, newest first.
      await wd.clickOn('details[data-testid="audit"] summary');
      await wd.find('[data-testid="audit"] li[data-action="checkout"]');
      await wd.find('[data-testid="audit"] li[data-action="issuance"]');
      const first = await wd.textOf('[data-testid="audit"] li:first-child');
      if (!first.includes('Reconcile') || !first.includes('1 newly consumed')) throw new Error(`newest audit entry: ${first}`);
      const log = await server.get('/v1/field/audit');
      const consumed = log.entries.filter((e) => e.action === 'reconcile').reduce((n, e) => n + e.detail.newly_consumed, 0);
      if (consumed !== 1) throw new Error(`server consumed ${consumed}, want 1`);
      // Frame the shot: toasts dismissed, the issued list and the audit log in view.
      await noToasts(wd);
      await wd.exec(`document.querySelector('[data-testid="audit"]').scrollIntoView({ block: 'end' });
        const table = document.querySelector('section[aria-labelledby="fk-issued"] .scroll');
        if (table) table.scrollLeft = table.scrollWidth;`);
      await wd.find('[data-testid="audit"] li[data-action="reconcile"]');
    },
  },
  {
    name: 'field kit: the ledger exported by the save dialog verifies with ldctl ledger verify',
    shot: '17-ledger-export.png',
    async run({ wd, server, tmp, ldctl: bin }) {
      // The checkout form asks for 5 unless told otherwise.
      const { order_no: orderNo } = await newOrder(server, { quantity: 5 });
      const { fingerprint } = ldctl(bin, ['fingerprint', '--machine-id', 'licensedesk-e2e-ledger-gateway']);
      await nav(wd, 'Field Kit', 'fieldKit');
      await wd.find('[data-view="fieldKit"] .empty, [data-testid="allotment"]');
      await wd.type(await wd.find('form.checkout input.mono'), orderNo);
      await wd.clickOn('form.checkout button[type="submit"]');
      await waitFor('the allotment', async () => (await wd.textOf('[data-testid="allotment"]')).includes(orderNo), 30000);
      await wd.type(await wd.find('form.fp input'), fingerprint);
      await wd.clickOn('form.fp button[type="submit"]');
      await wd.findX(`//section[@aria-labelledby="fk-issued"]//tbody/tr[td[normalize-space(.)="${fingerprint}"]]`);
      const out = join(tmp, 'exported', 'ledger.json');
      mkdirSync(join(tmp, 'exported'), { recursive: true });
      await saveFile(wd, 'Export ledger', 'Export ledger', out);
      await waitFor('the ledger file', () => existsSync(out));
      const home = join(tmp, 'ldctl-verifier');
      ldctl(bin, ['--home', home, 'trust', '--server', server.base]);
      const v = ldctl(bin, ['--home', home, 'ledger', 'verify', out]);
      if (v.records !== 1 || v.slots_used !== 1) throw new Error(`ledger verify: ${JSON.stringify(v)}`);
      await waitFor('the saved toast', async () => (await wd.textOf('.toasts')).includes('ledger.json'));
    },
  },
  {
    name: 'usage: ldctl usage set on this machine → figures, over-trial, chart; a license below it refused; a remote gateway’s usage file dropped',
    shot: '13-usage.png',
    async run({ wd, server, tmp, machineId, ldctlHome, ldctl: bin }) {
      const fp = fingerprintOf(bin, machineId);
      ldctl(bin, ['--home', ldctlHome, 'usage', 'set', '--tags', '36', '--connections', '9', '--machine-id-file', machineId]);
      ldctl(bin, ['--home', ldctlHome, 'usage', 'set', '--tags', '40', '--connections', '12', '--machine-id-file', machineId]);
      await toGateway(wd);
      await waitFor('40 / 30 tags in use', async () => (await wd.textOf('[data-testid="tags-usage"]')).includes('40 / 30'));
      await waitFor('over the trial', async () => (await wd.textOf('[data-testid="over-trial"]')).includes('40 data tags and 12 connections'));
      await wd.find('[data-testid="usage-card"] figure svg');

      // A license for 30 tags while 40 are in use: refused, both figures named.
      const small = await licenseFor(server, fp, { maxTags: 30 });
      const file = join(tmp, 'small.lic');
      writeFileSync(file, small.text);
      await chooseFile(wd, 'Upload License', file);
      const alert = await wd.find('.install-error [role="alert"][data-code="LIMIT_BELOW_USAGE"]');
      const text = await wd.text(alert);
      if (!text.includes('30') || !text.includes('40')) throw new Error(`refusal: ${text}`);
      await wd.button('Dismiss');

      // A remote gateway reports by a usage file.
      const remote = join(tmp, 'ldctl-remote');
      ldctl(bin, ['--home', remote, 'usage', 'set', '--tags', '7', '--connections', '2', '--machine-id', 'e2e-remote-usage']);
      const usageFile = join(tmp, 'remote.ldusage');
      ldctl(bin, ['--home', remote, 'usage', 'export', '-o', usageFile, '--machine-id', 'e2e-remote-usage']);
      const remoteFp = ldctl(bin, ['fingerprint', '--machine-id', 'e2e-remote-usage']).fingerprint;
      await dropFiles(wd, [usageFile]);
      await waitFor('the remote gateway added', async () =>
        (await wd.exec('return [...document.querySelectorAll(".picker option")].map((o) => o.value)')).includes(remoteFp), 30000);
      await noToasts(wd);
      await wd.exec(`document.querySelector('[data-testid="usage-card"]').scrollIntoView({ block: 'center' });`);
    },
  },
  {
    name: 'floating: a lease claimed by ldctl shows live in the app with its time left and usage, then lapses',
    shot: '14-floating-lease.png',
    async run({ wd, server, tmp, ldctl: bin, snap }) {
      const account = await server.get('/v1/account');
      const pool = `e2e-pool-${Date.now()}`;
      const created = await server.admin('/v1/admin/floating/pools', { account_id: account.id, name: pool, points: 100, ttl_seconds: 20 });
      const home = join(tmp, 'ldctl-floating');
      const mid = ['--machine-id', 'e2e-floating-gateway'];
      const fp = ldctl(bin, ['fingerprint', ...mid]).fingerprint;
      ldctl(bin, ['--home', home, 'trust', '--server', server.base]);
      ldctl(bin, ['--home', home, 'usage', 'set', '--tags', '22', '--connections', '3', ...mid]);
      const lease = ldctl(bin, ['--home', home, 'lease', 'claim', '--server', server.base, '--pool', pool, '--points', '25', '--token', created.token, ...mid]);
      if (lease.license.kind !== 'floating') throw new Error(`claimed ${JSON.stringify(lease)}`);
      await toGateway(wd);
      const row = `[data-pool="${pool}"] tr[data-fingerprint="${fp}"]`;
      await waitFor('the live lease', async () => (await wd.textOf(row)).includes('22 tags · 3 conn.'), 20000);
      const left = await wd.textOf(`${row} [data-testid="time-left"]`);
      if (!/^0:([01]\d|20)$/.test(left)) throw new Error(`time left ${left}`);
      await wd.exec(`document.querySelector('[data-pool="${pool}"]').scrollIntoView({ block: 'center' });`);
      await snap();
      // No heartbeat: the lease lapses, the app drops it, the license expires with it.
      await waitFor('the lease to lapse', async () => (await wd.findAll(row)).length === 0, 45000);
      await wd.find(`[data-pool="${pool}"]`);
      const shown = ldctl(bin, ['--home', home, 'show', ...mid]);
      if (shown.effective.mode !== 'trial' || shown.effective.reason.reason !== 'expired') throw new Error(`after the lapse: ${JSON.stringify(shown.effective)}`);
    },
  },
  {
    name: 'offline requests: a batch of ldctl request files dropped → answered by the server, saved beside them, installed by ldctl',
    shot: '15-requests-answered.png',
    async run({ wd, server, tmp, ldctl: bin }) {
      const { code } = await newOrder(server, { quantity: 5 });
      const gw = [1, 2].map((n) => ({ home: join(tmp, `gw-${n}`), mid: ['--machine-id', `e2e-request-gateway-${n}`], dir: join(tmp, `site-${n}`), n }));
      for (const g of gw) {
        mkdirSync(g.dir, { recursive: true });
        ldctl(bin, ['request', '--code', code, '--name', `Pump ${g.n}`, '-o', join(g.dir, `pump-${g.n}.ldreq`), ...g.mid]);
      }
      await toGateway(wd);
      await dropFiles(wd, gw.map((g) => join(g.dir, `pump-${g.n}.ldreq`)));
      await waitFor('both answered', async () => {
        const t = await wd.textOf('[data-testid="answers"]');
        return t.includes('Pump 1') && t.includes('Pump 2') && (t.match(/Issued/g) ?? []).length === 2;
      }, 30000);
      for (const g of gw) {
        const resp = join(g.dir, `pump-${g.n}.ldresp`);
        if (!existsSync(resp)) throw new Error(`no answer beside ${g.dir}`);
        // The gateway installs its answer.
        ldctl(bin, ['--home', g.home, 'trust', '--server', server.base]);
        const installed = ldctl(bin, ['--home', g.home, 'install', resp, ...g.mid]);
        if (installed.kind !== 'activation') throw new Error(`installed ${JSON.stringify(installed)}`);
      }
      await noToasts(wd);
      await wd.exec(`document.querySelector('[data-testid="answers"]').scrollIntoView({ block: 'center' });`);
    },
  },
  {
    name: 'order lookup: order number + e-mail → code, quantity, used, remaining, activations',
    shot: '16-order-lookup.png',
    async run({ wd, server }) {
      const want = await server.anon('/v1/gateway/orders/lookup', { order_no: DEMO_ORDER, email: DEMO_EMAIL });
      await toGateway(wd);
      const [no, email] = await wd.findAll('[data-testid="order-lookup"] input');
      await wd.type(no, DEMO_ORDER);
      await wd.type(email, DEMO_EMAIL);
      await wd.clickOn('[data-testid="order-lookup"] button[type="submit"]');
      await waitFor('the order', async () => (await wd.textOf('[data-testid="order-code"]')) === want.activation_code);
      for (const [id, n] of [['order-quantity', want.quantity], ['order-used', want.used], ['order-remaining', want.remaining]]) {
        const got = digits(await wd.textOf(`[data-testid="${id}"]`));
        if (got !== n) throw new Error(`${id}: ${got}, the server says ${n}`);
      }
      const rows = await wd.findAll('[data-testid="order-lookup"] tbody tr');
      if (rows.length !== want.activations.length) throw new Error(`${rows.length} activations shown, ${want.activations.length} on the server`);
      await wd.exec(`document.querySelector('[data-testid="order-lookup"]').scrollIntoView({ block: 'center' });`);
    },
  },
  {
    name: 'server stopped → offline, how old the data is, views still work',
    shot: '05-offline.png',
    ownServer: true,
    async run({ wd, server }) {
      await wd.find('[data-view="products"]');
      await wd.button('Sync now');
      const o = await server.get('/v1/account');
      await tilesEqual(wd, { total: o.total, used: o.used, remaining: o.remaining });
      server.stop();
      await wd.button('Sync now');
      await waitFor('Offline in the status bar', async () => (await wd.textOf('.conn')).includes('Offline'));
      await wd.find('[data-testid="last-synced"]');
      await nav(wd, 'License Management', 'licenses');
      await waitFor('license rows', async () => (await wd.findAll('table tbody tr')).length > 5);
      await wd.find('[data-testid="stale"]');
    },
  },
];
