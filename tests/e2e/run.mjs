// End-to-end suite: the real app (LICENSEDESK_APP, built with
// tauri/custom-protocol) driven by tauri-driver + WebKitWebDriver under
// Xvfb (`cargo xtask e2e` wraps this in xvfb-run) against a real
// `licensedesk-server --demo` (LICENSEDESK_SERVER_BIN) on a loopback port.
// Closing line: `e2e: N passed, N failed`.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session, freePort, waitFor } from './wd.mjs';
import { journeys as plain } from './journeys.mjs';
import { watching } from './watching.mjs';

// The journeys that need the server first, then those that stop it, then
// the one that runs with it stopped.
const all = [...plain, ...watching];
const journeys = [
  ...all.filter((j) => !j.stopsServer && !j.last),
  ...all.filter((j) => j.stopsServer && !j.last),
  ...all.filter((j) => j.last),
];

const APP = process.env.LICENSEDESK_APP;
const SERVER_BIN = process.env.LICENSEDESK_SERVER_BIN;
const SHOTS = process.env.LICENSEDESK_SCREENSHOTS ?? 'docs/screenshots';
if (!APP || !SERVER_BIN) {
  console.error('set LICENSEDESK_APP and LICENSEDESK_SERVER_BIN (cargo xtask e2e does)');
  process.exit(2);
}

const tmp = mkdtempSync(join(tmpdir(), 'licensedesk-e2e-'));
const children = [];
const spawnLogged = (name, bin, args, env) => {
  const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = [];
  child.stdout.on('data', (d) => log.push(String(d)));
  child.stderr.on('data', (d) => log.push(String(d)));
  child.log = log;
  children.push(child);
  return child;
};

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const serverData = join(tmp, 'server');
const serverProc = spawnLogged('server', SERVER_BIN, ['--data-dir', serverData, '--listen', `127.0.0.1:${port}`, '--demo'], {});
await waitFor('the license server', () => fetch(`${base}/health`).then((r) => r.ok).catch(() => false), 60000);
const tokens = JSON.parse(readFileSync(join(serverData, 'demo-tokens.json'), 'utf8'));
const token = tokens.accounts.find((a) => a.kind === 'enterprise').token;

const http = async (method, path, body, auth = token) => {
  const r = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${auth}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const v = await r.json();
  if (!r.ok) throw new Error(`${method} ${path}: ${JSON.stringify(v)}`);
  return v;
};
const server = {
  base,
  tokens,
  get: (p) => http('GET', p),
  /** GET as another demo account (its token). */
  getAs: (p, auth) => http('GET', p, undefined, auth),
  post: (p, b) => http('POST', p, b),
  admin: (p, b) => http('POST', p, b, tokens.admin_token),
  stop: () => serverProc.kill('SIGKILL'),
};

const machineId = join(tmp, 'machine-id');
writeFileSync(machineId, 'licensedesk-e2e-machine\n');
const driverPort = await freePort();
const driver = spawnLogged('tauri-driver', 'tauri-driver', ['--port', String(driverPort), '--native-port', String(await freePort())], {
  LICENSEDESK_SERVER_URL: base,
  LICENSEDESK_TOKEN: token,
  LICENSEDESK_DATA_DIR: join(tmp, 'app'),
  LICENSEDESK_MACHINE_ID_FILE: machineId,
  // The background round (sync every profile, evaluate the alerts) every
  // few seconds instead of minutes, so the alerts journey sees rounds.
  LICENSEDESK_SYNC_EVERY_SECS: '4',
});
const wdBase = `http://127.0.0.1:${driverPort}`;
await waitFor('tauri-driver', () => fetch(`${wdBase}/status`).then((r) => r.ok).catch(() => false), 30000);

mkdirSync(SHOTS, { recursive: true });
let passed = 0;
let failed = 0;
const started = Date.now();
const wd = await Session.create(wdBase, APP);
try {
  for (const j of journeys) {
    const t0 = Date.now();
    try {
      // Each journey starts from the window without a dialog left open by
      // the one before (a modal makes the rest inert): cancelled as Escape would.
      await wd.exec("document.querySelectorAll('dialog[open]').forEach((d) => d.dispatchEvent(new Event('cancel', { cancelable: true })))");
      // What the app printed so far (its stderr reaches the driver's).
      const appLog = () => driver.log.join('');
      await j.run({ wd, server, tmp, appLog });
      // The journey has asserted what it needs; for the picture, give views a
      // moment to replace their loading placeholders (pitfall 6) — not a check.
      if (j.shot) {
        await waitFor('no loading placeholders', async () => (await wd.findAll('.sk')).length === 0, 10000).catch(() => {});
        await wd.screenshot(join(SHOTS, j.shot));
      }
      passed++;
      console.log(`  ✓ ${j.name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      console.log(`  ✗ ${j.name}\n    ${String(e?.message ?? e).split('\n').join('\n    ')}`);
      // What the window showed, for a failure seen only in a CI log.
      const [bar] = await wd.findAll('footer.statusbar').catch(() => []);
      if (bar) console.log(`    status bar: ${(await wd.text(bar).catch(() => '?')).replace(/\s+/g, ' ')}`);
      await wd.screenshot(join(tmp, `failed-${j.shot ?? 'journey.png'}`)).catch(() => {});
    }
  }
} finally {
  await wd.close();
  for (const c of children) c.kill('SIGKILL');
  if (failed) {
    console.log(`    (server and driver logs, screenshots of failures: ${tmp})`);
    writeFileSync(join(tmp, 'driver.log'), driver.log.join(''));
    writeFileSync(join(tmp, 'server.log'), serverProc.log.join(''));
    const tail = driver.log.join('').trim().split('\n').slice(-15);
    console.log(`    app and driver log, last lines:\n      ${tail.join('\n      ')}`);
  } else {
    rmSync(tmp, { recursive: true, force: true });
  }
}
console.log(`\ne2e: ${passed} passed, ${failed} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
process.exit(failed ? 1 : 0);
