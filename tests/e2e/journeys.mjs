// The five journeys of issue 5, each asserting what the user sees and
// saving a screenshot (taken after the expected state is on screen).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
      await wd.button('Upload License');
      const win = await waitFor('the Upload License dialog', () => {
        try {
          return execFileSync('xdotool', ['search', '--onlyvisible', '--name', '^Upload License$']).toString().trim().split('\n')[0];
        } catch {
          return null;
        }
      });
      // No window manager under Xvfb: give the dialog the focus, then type
      // the path into GTK's location field and confirm.
      execFileSync('xdotool', ['windowfocus', '--sync', win]);
      execFileSync('xdotool', ['key', '--clearmodifiers', 'ctrl+l']);
      execFileSync('xdotool', ['type', '--delay', '20', bad]);
      execFileSync('xdotool', ['key', 'Return']);
      await waitFor('the dialog to close', () => {
        try {
          execFileSync('xdotool', ['search', '--onlyvisible', '--name', '^Upload License$']);
          execFileSync('xdotool', ['key', 'Return']);
          return false;
        } catch {
          return true;
        }
      });
      const code = await waitFor('the install error', async () => {
        const [el] = await wd.findAll('.install-error [role="alert"]');
        return el && wd.attr(el, 'data-code');
      });
      if (!code.startsWith('LICENSE_')) throw new Error(`error code ${code}`);
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
    name: 'server stopped → offline, how old the data is, views still work',
    shot: '05-offline.png',
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
