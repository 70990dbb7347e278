// The journeys of issue 16: an app that watches for its user. Alerts from a
// real change of the server's data and the background round; the All
// accounts view with two profiles on two demo accounts, then offline; every
// word in Chinese (the Devices quota panel, an error). Each asserts what the
// user sees; the screenshots go to docs/screenshots/.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { waitFor } from './wd.mjs';

const SHOTS = process.env.LICENSEDESK_SCREENSHOTS ?? 'docs/screenshots';

/** The raised alerts the Alerts view lists, as `kind/subject`. */
const raisedAlerts = (wd) =>
  wd.exec(`return [...document.querySelectorAll('[data-testid="alert"]')].map((e) => e.dataset.kind + '/' + e.dataset.subject);`);
/** The notifications the Alerts view lists (newest first), as `kind/subject`. */
const notifications = (wd) =>
  wd.exec(`return [...document.querySelectorAll('[data-testid="notification"]')].map((e) => e.dataset.kind + '/' + e.dataset.subject);`);
const rounds = async (wd) => Number(await wd.attr(await wd.find('[data-testid="last-checked"]'), 'data-rounds'));

/** Picks a language in Settings (the select Rust saves). */
async function setLanguage(wd, lang, settingsLabel) {
  await wd.page(settingsLabel, 'settings');
  await wd.exec(`const s = document.querySelector('[data-testid="language"]'); s.value = '${lang}'; s.dispatchEvent(new Event('change', { bubbles: true }));`);
  await waitFor(`the language ${lang}`, async () => (await wd.exec('return document.documentElement.lang')) === lang);
}

/** Words of two Latin letters or more left in `text` once `allowed` (names, keys, units the user gave) are taken out. */
function english(text, allowed) {
  let rest = text;
  for (const a of allowed) rest = rest.split(a).join(' ');
  return rest.match(/[A-Za-z]{2,}/g) ?? [];
}

const dialogWindow = (title) => {
  try {
    return execFileSync('xdotool', ['search', '--onlyvisible', '--name', `^${title}$`]).toString().trim().split('\n')[0];
  } catch {
    return null;
  }
};

/** Picks `path` in the native open dialog the button `label` opens (titled the same). */
async function chooseFile(wd, label, path) {
  for (let attempt = 1; ; attempt++) {
    await wd.button(label);
    const win = await waitFor(`the ${label} dialog`, () => dialogWindow(label));
    execFileSync('xdotool', ['windowfocus', '--sync', win]);
    execFileSync('xdotool', ['key', '--clearmodifiers', 'ctrl+l']);
    execFileSync('xdotool', ['type', '--delay', '20', path]);
    execFileSync('xdotool', ['key', 'Return']);
    const gone = (key) => () => {
      if (!dialogWindow(label)) return true;
      execFileSync('xdotool', ['key', key]);
      return false;
    };
    if (await waitFor('the dialog to close', gone('Return'), 8000).then(() => true, () => false)) return;
    if (attempt === 3) throw new Error(`the ${label} dialog did not take ${path} in 3 attempts`);
    execFileSync('xdotool', ['windowfocus', '--sync', win]);
    await waitFor('the dialog to be cancelled', gone('Escape'), 10000);
  }
}

export const watching = [
  {
    name: 'a product crosses its watermark → one notification, listed in Alerts; the next rounds raise none',
    shot: '08-alerts.png',
    async run({ wd, server, appLog }) {
      await wd.page('Alerts', 'alerts');
      await waitFor('a first background round', async () => (await rounds(wd)) >= 1, 90000);
      const raised = await raisedAlerts(wd);
      // A product above its watermark (20 %) whose alert is not raised: its
      // devices connect until its Remaining is under 20 % of its Total.
      const products = (await server.get('/v1/products')).filter(
        (p) => p.package && p.total > 0 && p.remaining * 100 >= 20 * p.total && !raised.includes(`low_remaining/${p.pk}`),
      );
      const under = (p) => Math.ceil(p.total / 5) - 1; // the most Remaining under 20 %
      products.sort((a, b) => a.remaining - under(a) - (b.remaining - under(b)));
      const product = products[0];
      if (!product) throw new Error('no demo product above its watermark');
      const before = await notifications(wd);
      for (let i = 0; i < product.remaining - under(product); i++) {
        await server.post('/v1/devices/connect', { pk: product.pk, dk: `E2E-WATERMARK-${i}` });
      }
      const key = `low_remaining/${product.pk}`;
      await waitFor(`the ${key} alert`, async () => (await raisedAlerts(wd)).includes(key), 60000);
      const after = await notifications(wd);
      if (after.length !== before.length + 1 || after[0] !== key) {
        throw new Error(`notifications ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
      }
      // What the app asked the OS to show (its notification plugin call), once.
      const title = await wd.exec(`return document.querySelector('[data-testid="notification"] strong').textContent;`);
      const asked = appLog().split('\n').filter((l) => l.includes(`licensedesk: notification: ${title}`));
      if (asked.length !== 1) throw new Error(`the app asked the OS ${asked.length} times for "${title}"`);
      // Later rounds sync again and raise nothing new.
      const r = await rounds(wd);
      await waitFor('two more background rounds', async () => (await rounds(wd)) >= r + 2, 60000);
      const later = await notifications(wd);
      if (later.length !== after.length) throw new Error(`a later round notified: ${JSON.stringify(later)}`);
      const card = await wd.textOf(`[data-testid="alert"][data-kind="low_remaining"][data-subject="${product.pk}"]`);
      if (!card.includes(product.name) || !card.includes('% of codes left')) throw new Error(`alert card: ${card}`);
      await wd.exec(`const n = document.querySelector('[data-testid="notifications"]'); n.open = true;
        document.querySelector('[data-testid="alert"][data-subject="${product.pk}"][data-kind="low_remaining"]').scrollIntoView({ block: 'start' });`);
      await wd.find('[data-testid="notification"]');
    },
  },
  {
    name: 'zh-CN: the Devices quota panel and an error have no English left',
    // Its two shots are taken inside, in Chinese (it ends in English).
    shot: null,
    async run({ wd, server, tmp }) {
      // A device taken offline for want of codes (the demo's Street Light
      // Controller has 400 codes for 420 devices).
      const device = await server.get('/v1/devices/psl0003/PSL-00420');
      if (device.offline_reason !== 'no_codes') throw new Error(`PSL-00420: ${JSON.stringify(device)}`);
      await setLanguage(wd, 'zh-CN', 'Settings');
      try {
        await wd.page('设备', 'devices');
        const [pk, dk] = await wd.findAll('form.find input');
        await wd.type(pk, 'psl0003');
        await wd.type(dk, 'PSL-00420');
        await wd.clickOn('form.find button[type="submit"]');
        const reason = await wd.textOf('[data-testid="quota"] .reason[data-code="NO_CODES_AVAILABLE"]');
        if (!reason.startsWith('已离线：产品 Street Light Controller（psl0003）')) throw new Error(`reason: ${reason}`);
        await waitFor('the messages chart', async () => (await wd.findAll('[data-testid="quota"] svg')).length > 0);
        const panel = await wd.textOf('[data-testid="quota"]');
        const left = english(panel, ['Street Light Controller', 'psl0003', 'PSL-00420', 'OTA', 'MB']);
        if (left.length) throw new Error(`English left in the quota panel: ${left.join(', ')}`);
        await wd.screenshot(join(SHOTS, '09-devices-quota-zh.png'));

        // An upload refused: a license signed by a key this app does not trust.
        const ldctl = process.env.LICENSEDESK_LDCTL ?? join(dirname(process.env.LICENSEDESK_SERVER_BIN), 'ldctl');
        execFileSync(ldctl, ['keygen', '--out', join(tmp, 'untrusted'), '--kid', 'vendor-9']);
        const payload = join(tmp, 'payload.json');
        writeFileSync(payload, JSON.stringify({
          license_id: 'LIC-UNTRUSTED-1', kind: 'file', customer: 'Acme', issued_at: new Date(Date.now() - 86400e3).toISOString(),
          expire_at: new Date(Date.now() + 365 * 86400e3).toISOString(), max_connections: 10, max_tags: 100, plugins: [],
          hardware: null, product: null, order: null,
        }));
        const lic = join(tmp, 'untrusted.lic');
        execFileSync(ldctl, ['sign', payload, '--key', join(tmp, 'untrusted', 'signing-key.json'), '--out', lic]);
        await wd.page('网关许可证', 'gateway');
        await chooseFile(wd, '上传许可证', lic);
        const err = await wd.find('.install-error [role="alert"][data-code="LICENSE_KID_UNKNOWN"]');
        const text = await wd.text(err);
        if (!text.includes('许可证由密钥“vendor-9”签名，本安装不信任该密钥')) throw new Error(`error: ${text}`);
        const leftErr = english(text, ['vendor-9', 'LicenseDesk']);
        if (leftErr.length) throw new Error(`English left in the error: ${leftErr.join(', ')}`);
        await wd.exec(`document.querySelector('.install-error').scrollIntoView({ block: 'center' });`);
        await wd.screenshot(join(SHOTS, '10-error-zh.png'));
      } finally {
        await setLanguage(wd, 'en', '设置').catch(() => setLanguage(wd, 'en', 'Settings'));
        await wd.button('Gateway License');
      }
    },
  },
  {
    name: 'All accounts: two profiles on two demo accounts, then with the server stopped',
    shot: '12-all-accounts-offline.png',
    stopsServer: true,
    async run({ wd, server }) {
      const individual = server.tokens.accounts.find((a) => a.kind === 'individual');
      await wd.page('Settings', 'settings');
      const names = await wd.exec(`return [...document.querySelectorAll('.profiles strong')].map((e) => e.textContent);`);
      if (!names.includes('Lena')) {
        await wd.button('Add profile');
        const [name, url, account, token] = await wd.findAll('form.form input');
        await wd.type(name, 'Lena');
        await wd.type(url, server.base);
        await wd.type(account, 'Lena Vogel');
        await wd.type(token, individual.token);
        // First the server's key fingerprints are shown, then trusted.
        await wd.clickOn('form.form button[type="submit"]');
        await wd.find('form.form .keys-step .keys');
        await wd.clickOn('form.form button[type="submit"]');
        await waitFor('the second profile', async () => (await wd.exec(`return document.querySelectorAll('.profiles li').length`)) === 2);
      }
      await wd.page('All accounts', 'accounts');
      await wd.button('Sync all accounts');
      const profiles = await wd.exec(`return [...document.querySelectorAll('article.account')].map((a) => a.dataset.profile);`);
      if (profiles.length !== 2) throw new Error(`${profiles.length} accounts shown`);
      const figures = (id) =>
        wd.exec(`const a = document.querySelector('article.account[data-profile="${id}"]');
          return ['total', 'used', 'remaining'].map((k) => Number((a.querySelector('[data-figure="' + k + '"]')?.textContent ?? '').replace(/[^0-9]/g, '')));`);
      const want = [await server.get('/v1/account'), await server.getAs('/v1/account', individual.token)];
      for (const [i, w] of want.entries()) {
        await waitFor(`account ${w.name}'s figures`, async () => {
          const got = await figures(profiles[i]);
          return got[0] === w.total && got[1] === w.used && got[2] === w.remaining;
        }, 60000);
      }
      const sum = await wd.textOf('[data-testid="accounts-sum"] section.tile[aria-label="Total"] .value');
      if (Number(sum.replace(/[^0-9]/g, '')) !== want[0].total + want[1].total) throw new Error(`sum ${sum}`);
      // (textContent: WebDriver's visible text leaves out a line cut by an ellipsis.)
      const page = await wd.exec(`return document.querySelector('[data-view="accounts"]').textContent;`);
      for (const w of ['Hangzhou Smart Meters Co.', 'Lena Vogel', 'cn-east', 'eu-central', 'Garden Sensor']) {
        if (!page.includes(w)) throw new Error(`All accounts lacks ${w}: ${page.replace(/\s+/g, ' ').slice(0, 400)}`);
      }
      await wd.screenshot(join(SHOTS, '11-all-accounts.png'));

      // The server gone: the same figures, from the caches, and why they are old.
      server.stop();
      await wd.button('Sync all accounts');
      await waitFor('both syncs failed', async () => (await wd.findAll('article.account [data-code="SERVER_UNREACHABLE"]')).length === 2, 60000);
      for (const [i, w] of want.entries()) {
        const got = await figures(profiles[i]);
        if (got[0] !== w.total || got[2] !== w.remaining) throw new Error(`offline figures ${got} for ${w.name}`);
      }
      await wd.find('[data-view="accounts"] [data-testid="stale"]');
    },
  },
];
