// End-to-end suite: the real app (LICENSEDESK_APP, built with
// tauri/custom-protocol) driven by tauri-driver + WebKitWebDriver under
// Xvfb (`cargo xtask e2e` wraps this in xvfb-run) against a real
// `licensedesk-server --demo` (LICENSEDESK_SERVER_BIN) on a loopback port.
//
// Journeys never depend on one another: each runs a fresh app (its own data
// dir, machine id and ldctl home; tauri-driver started for it), with the
// demo server's enterprise profile unless it starts from a fresh install,
// against the shared demo server unless it needs one of its own (the
// journey that stops its server). A journey makes the orders and pools it
// uses. Closing line: `e2e: N passed, N failed`.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Session, waitFor } from './wd.mjs';
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

// Absolute: the children run in the journeys' dirs.
const abs = (p) => p && resolve(p);
const APP = abs(process.env.LICENSEDESK_APP);
const SERVER_BIN = abs(process.env.LICENSEDESK_SERVER_BIN);
const LDCTL = abs(process.env.LICENSEDESK_LDCTL) ?? (SERVER_BIN && join(dirname(SERVER_BIN), 'ldctl'));
const SHOTS = process.env.LICENSEDESK_SCREENSHOTS ?? 'docs/screenshots';
if (!APP || !SERVER_BIN) {
  console.error('set LICENSEDESK_APP and LICENSEDESK_SERVER_BIN (cargo xtask e2e does)');
  process.exit(2);
}
// Only the journeys whose name contains this (a journey alone while developing).
const ONLY = process.env.LICENSEDESK_E2E_ONLY ?? '';

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const tmp = mkdtempSync(join(tmpdir(), 'licensedesk-e2e-'));
const children = new Set();
// Each child leads a process group of its own, so that stopping it stops
// what it started too (tauri-driver's WebKitWebDriver, the app).
// `cwd` is where a save dialog starts: a journey's own dir, never the checkout.
const spawnLogged = (bin, args, env, cwd = tmp) => {
  const child = spawn(bin, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stopAll = () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  };
  const log = [];
  child.stdout.on('data', (d) => log.push(String(d)));
  child.stderr.on('data', (d) => log.push(String(d)));
  child.log = log;
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
};

/** A `licensedesk-server --demo` on a free loopback port, with its HTTP helpers. */
async function startServer(name) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const dataDir = join(tmp, name);
  const proc = spawnLogged(SERVER_BIN, ['--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--demo'], {});
  await waitFor(`the license server ${name}`, () => fetch(`${base}/health`).then((r) => r.ok).catch(() => false), 60000);
  const tokens = JSON.parse(readFileSync(join(dataDir, 'demo-tokens.json'), 'utf8'));
  const token = tokens.accounts.find((a) => a.kind === 'enterprise').token;
  const http = async (method, path, body, auth = token) => {
    const r = await fetch(base + path, {
      method,
      headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    const v = text ? JSON.parse(text) : null;
    if (!r.ok) throw new Error(`${method} ${path}: ${text}`);
    return v;
  };
  return {
    base,
    token,
    tokens,
    proc,
    dataDir,
    get: (p) => http('GET', p),
    /** GET as another demo account (its token). */
    getAs: (p, auth) => http('GET', p, undefined, auth),
    post: (p, b) => http('POST', p, b),
    /** A POST without a token (order lookup, activation by code). */
    anon: (p, b) => http('POST', p, b, null),
    admin: (p, b) => http('POST', p, b, tokens.admin_token),
    stop: () => proc.stopAll(),
  };
}

/**
 * A fresh app for one journey: tauri-driver started with the app's
 * environment (its own data dir, machine id file, ldctl home), and a
 * WebDriver session on it.
 */
async function startApp(dir, server, fresh) {
  mkdirSync(dir, { recursive: true });
  const machineId = join(dir, 'machine-id');
  writeFileSync(machineId, `licensedesk-e2e-${dir.split('/').pop()}\n`);
  const env = {
    LICENSEDESK_DATA_DIR: join(dir, 'app'),
    LICENSEDESK_MACHINE_ID_FILE: machineId,
    LICENSEDESK_LDCTL_HOME: join(dir, 'ldctl-this-machine'),
    LICENSEDESK_FIELD_OUT: join(dir, 'field-out'),
    // The background round (sync every profile, evaluate the alerts) every
    // few seconds instead of minutes, so the alerts journey sees rounds.
    LICENSEDESK_SYNC_EVERY_SECS: '4',
  };
  if (!fresh) Object.assign(env, { LICENSEDESK_SERVER_URL: server.base, LICENSEDESK_TOKEN: server.token });
  const driverPort = await freePort();
  const driver = spawnLogged('tauri-driver', ['--port', String(driverPort), '--native-port', String(await freePort())], env, dir);
  const wdBase = `http://127.0.0.1:${driverPort}`;
  await waitFor('tauri-driver', () => fetch(`${wdBase}/status`).then((r) => r.ok).catch(() => false), 30000);
  const wd = await Session.create(wdBase, APP);
  return { wd, driver, machineId, ldctlHome: env.LICENSEDESK_LDCTL_HOME };
}

const shared = await startServer('server');
mkdirSync(SHOTS, { recursive: true });
let passed = 0;
let failed = 0;
const started = Date.now();
try {
  for (const [i, j] of journeys.entries()) {
    if (ONLY && !j.name.includes(ONLY)) continue;
    const t0 = Date.now();
    const dir = join(tmp, `j${String(i).padStart(2, '0')}`);
    let app = null;
    let own = null;
    try {
      // A journey that stops its server has one of its own.
      const server = j.ownServer || j.stopsServer ? (own = await startServer(`server-j${i}`)) : shared;
      app = await startApp(dir, server, !!j.fresh);
      const wd = app.wd;
      // The picture, once the journey has asserted what it needs; views get
      // a moment to replace their loading placeholders (pitfall 6) — not a
      // check. A journey may take it itself at the moment that tells most.
      // (A journey without a shot of its own, `shot: null`, takes its own.)
      let snapped = !j.shot;
      const snap = async () => {
        await waitFor('no loading placeholders', async () => (await wd.findAll('.sk')).length === 0, 10000).catch(() => {});
        await wd.screenshot(join(SHOTS, j.shot));
        snapped = true;
      };
      // What the app printed so far (its stderr reaches the driver's).
      const appLog = () => app.driver.log.join('');
      await j.run({ wd, server, tmp: dir, machineId: app.machineId, ldctlHome: app.ldctlHome, ldctl: LDCTL, snap, appLog });
      if (!snapped) await snap();
      passed++;
      console.log(`  ✓ ${j.name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      console.log(`  ✗ ${j.name}\n    ${String(e?.message ?? e).split('\n').join('\n    ')}`);
      if (app) {
        // What the window showed, for a failure seen only in a CI log.
        const [bar] = await app.wd.findAll('footer.statusbar').catch(() => []);
        if (bar) console.log(`    status bar: ${(await app.wd.text(bar).catch(() => '?')).replace(/\s+/g, ' ')}`);
        await app.wd.screenshot(join(tmp, `failed-${j.shot ?? `j${i}.png`}`)).catch(() => {});
        writeFileSync(join(tmp, `driver-j${i}.log`), app.driver.log.join(''));
        const tail = app.driver.log.join('').trim().split('\n').slice(-10);
        console.log(`    app and driver log, last lines:\n      ${tail.join('\n      ')}`);
      }
    } finally {
      if (app) {
        await app.wd.close();
        app.driver.stopAll();
      }
      if (own) own.stop();
    }
  }
} finally {
  for (const c of children) c.stopAll();
  if (failed) {
    console.log(`    (logs and screenshots of failures: ${tmp})`);
    writeFileSync(join(tmp, 'server.log'), shared.proc.log.join(''));
  } else {
    rmSync(tmp, { recursive: true, force: true });
  }
}
console.log(`\ne2e: ${passed} passed, ${failed} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
process.exit(failed ? 1 : 0);
