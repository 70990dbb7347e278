// `cargo xtask bench ui`'s driver: the release app (LICENSEDESK_APP) under
// Xvfb, driven by tauri-driver + WebKitWebDriver, on a fresh profile of a
// server holding 1,000,000 consumption records (LICENSEDESK_SERVER_URL,
// LICENSEDESK_TOKEN: the sync bench's seeded server). The app's first sync
// fills its cache; then License Management is opened and its virtualized
// table is timed in the page (performance.now(), from the click or the jump
// to the moment its rows are in the DOM, and to the next frame after the
// one that draws them: painted). Prints figures, never fails on a time.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session, freePort, waitFor } from './wd.mjs';

const APP = process.env.LICENSEDESK_APP;
const URL = process.env.LICENSEDESK_SERVER_URL;
const TOKEN = process.env.LICENSEDESK_TOKEN;
const ROWS = Number(process.env.LICENSEDESK_BENCH_ROWS ?? 1_000_000);
if (!APP || !URL || !TOKEN) {
  console.error('set LICENSEDESK_APP, LICENSEDESK_SERVER_URL and LICENSEDESK_TOKEN (cargo xtask bench ui does)');
  process.exit(2);
}

/** Resident and proportional memory (MB) of the app and its WebKit processes. */
function memory() {
  const pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  const exe = (p) => {
    try {
      return readlinkSync(`/proc/${p}/exe`);
    } catch {
      return '';
    }
  };
  const parent = (p) => {
    try {
      return readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ')[1];
    } catch {
      return '';
    }
  };
  const field = (path, key) => {
    try {
      const line = readFileSync(path, 'utf8').split('\n').find((l) => l.startsWith(key));
      return Number(line.split(/\s+/)[1]) / 1024;
    } catch {
      return 0;
    }
  };
  const app = pids.filter((p) => exe(p) === APP);
  const all = [...app, ...pids.filter((p) => app.includes(parent(p)))];
  return {
    processes: all.length,
    rss: all.reduce((s, p) => s + field(`/proc/${p}/status`, 'VmRSS:'), 0),
    pss: all.reduce((s, p) => s + field(`/proc/${p}/smaps_rollup`, 'Pss:'), 0),
    mainRss: app.reduce((s, p) => s + field(`/proc/${p}/status`, 'VmRSS:'), 0),
  };
}

// In the page: run `act`, then wait until `css` matches a loaded row (seen
// the moment the DOM changes: a MutationObserver) and the frame that draws
// it has been drawn (the next frame has begun: the second animation frame
// from the change; the first one runs before its frame is painted). The
// times in ms: [painted, in the DOM].
const TIMED = `
  const [act, css, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
  const t0 = performance.now();
  const table = () => document.querySelector('[role=group][aria-label="Consumption details"]');
  let seen = false;
  const check = () => {
    if (seen || !document.querySelector(css)) return;
    seen = true;
    observer.disconnect();
    clearTimeout(timeout);
    const dom = performance.now() - t0;
    requestAnimationFrame(() => requestAnimationFrame(() => done([performance.now() - t0, dom])));
  };
  const observer = new MutationObserver(check);
  observer.observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ['class', 'aria-rowindex'] });
  const timeout = setTimeout(() => { observer.disconnect(); if (!seen) done([-1, -1]); }, 60000);
  if (act === 'nav') [...document.querySelectorAll('nav button')].find((b) => b.textContent.trim() === 'License Management').click();
  else table().scrollToRow(Number(act));
  check();`;
const rowsInDom = (wd) => wd.exec("return document.querySelectorAll('tbody tr[data-index]').length");
const row = (i) => `tbody tr[aria-rowindex="${i + 2}"]:not(.pending)`;

const tmp = mkdtempSync(join(tmpdir(), 'licensedesk-bench-ui-'));
const driverPort = await freePort();
const driver = spawn('tauri-driver', ['--port', String(driverPort), '--native-port', String(await freePort())], {
  env: { ...process.env, LICENSEDESK_SERVER_URL: URL, LICENSEDESK_TOKEN: TOKEN, LICENSEDESK_DATA_DIR: join(tmp, 'app') },
  stdio: ['ignore', 'pipe', 'pipe'],
  // A process group of its own: stopping it stops its WebKitWebDriver too.
  detached: true,
});
const log = [];
driver.stdout.on('data', (d) => log.push(String(d)));
driver.stderr.on('data', (d) => log.push(String(d)));
const wdBase = `http://127.0.0.1:${driverPort}`;
let wd;
let code = 0;
try {
  await waitFor('tauri-driver', () => fetch(`${wdBase}/status`).then((r) => r.ok).catch(() => false), 30000);
  wd = await Session.create(wdBase, APP);
  // The first sync of the fresh profile (the app starts it itself).
  const t0 = Date.now();
  const status = () =>
    wd.cmd('POST', '/execute/async', {
      script: "const done = arguments[arguments.length - 1]; window.__TAURI_INTERNALS__.invoke('sync_status').then(done, (e) => done({ error: e }));",
      args: [],
    });
  await waitFor('the first sync', async () => {
    const s = await status();
    return !s.syncing && s.staleness?.last_synced_at;
  }, 600000);
  console.log(`first sync of ${ROWS.toLocaleString('en')} records in the app: ${((Date.now() - t0) / 1000).toFixed(1)} s (from the window's start)`);

  const [first] = await wd.cmd('POST', '/execute/async', { script: TIMED, args: ['nav', row(0)] });
  const count = await wd.exec('return document.querySelector(\'table[aria-label="Consumption details"]\').getAttribute("aria-rowcount")');
  const before = await rowsInDom(wd);
  // The rest of the view (tiles, charts) before the jumps: they read the
  // same cache.
  const t1 = Date.now();
  await waitFor('the charts', async () => (await wd.findAll('figure.chart svg')).length >= 3, 120000);
  const memBefore = memory();
  console.log(`License Management opened: first rows painted in ${first.toFixed(0)} ms; the table's length ${Number(count) - 1} rows; ${before} rows in the DOM; the charts ${(first + Date.now() - t1).toFixed(0)} ms after the click (at most)`);

  // Jumps: 900,000 first (nothing of it fetched before), then other deep
  // rows, then two rows fetched already (what is left is the rendering).
  const jumps = [];
  for (const target of [900_000, 900_000 + 37_003, 400_011, 999_000, 123_457, 900_000 - 51_011, 654_321, 900_000, 400_011]) {
    const i = Math.min(target, ROWS - 1);
    const [ms, dom] = await wd.cmd('POST', '/execute/async', { script: TIMED, args: [String(i), row(i)] });
    const n = await rowsInDom(wd);
    jumps.push({ i, ms, dom, n });
  }
  const after = await rowsInDom(wd);
  // The window alone: the IPC call the table makes for a page at row 900,000.
  const ipc = await wd.cmd('POST', '/execute/async', {
    script: `const done = arguments[arguments.length - 1]; const out = [];
      const q = { pk: null, status: null, expiring_within_days: null, search: null, sort: 'consumed_at', desc: true, cursor: null, limit: 100 };
      (async () => { for (let k = 0; k < 5; k++) { const t = performance.now(); await window.__TAURI_INTERNALS__.invoke('license_window', { query: q, offset: 900000 + k * 1000, count: false }); out.push(performance.now() - t); } done(out); })();`,
    args: [],
  });
  const memAfter = memory();
  const times = jumps.map((j) => j.ms).sort((a, b) => a - b);
  console.log(`jump to row ${jumps[0].i.toLocaleString('en')}: painted in ${jumps[0].ms.toFixed(0)} ms (goal ≤ 100 ms); ${jumps.length} deep jumps: median ${times[times.length >> 1].toFixed(0)} ms, max ${times[times.length - 1].toFixed(0)} ms`);
  console.log(`  per jump (rows in the DOM / painted, DOM rows): ${jumps.map((j) => `${j.i}: ${j.dom.toFixed(0)}/${j.ms.toFixed(0)} ms, ${j.n}`).join('; ')}`);
  console.log(`  the window's IPC call alone (100 rows at row 900,000): ${ipc.map((t) => t.toFixed(0)).join(', ')} ms`);
  console.log(`DOM rows of the table: ${before} before the jumps, ${after} after (${jumps.every((j) => j.n === before) ? 'the same at every position' : 'CHANGED'})`);
  const mb = (m) => `app + WebKit processes RSS ${m.rss.toFixed(0)} MB, PSS ${m.pss.toFixed(0)} MB (main process RSS ${m.mainRss.toFixed(0)} MB, ${m.processes} processes)`;
  console.log(`memory on opening the table: ${mb(memBefore)}`);
  console.log(`memory after the jumps:      ${mb(memAfter)}`);
  await wd.screenshot(join(tmp, 'bench-ui.png'));
  if (process.env.LICENSEDESK_BENCH_SHOT) writeFileSync(process.env.LICENSEDESK_BENCH_SHOT, readFileSync(join(tmp, 'bench-ui.png')));
} catch (e) {
  code = 1;
  console.error(`bench ui: ${e?.message ?? e}`);
  console.error(`app and driver log, last lines:\n  ${log.join('').trim().split('\n').slice(-20).join('\n  ')}`);
} finally {
  if (wd) await wd.close();
  try {
    process.kill(-driver.pid, 'SIGKILL');
  } catch {
    driver.kill('SIGKILL');
  }
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(code);
