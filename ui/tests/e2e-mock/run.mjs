// Playwright (playwright-core + Debian's /usr/bin/chromium, no browser
// download) against the built UI in dist/, served through page.route (no
// port), with @tauri-apps/api/mocks installed by an init script before the
// app loads. Screenshots go to test-results/ (not committed).
import { chromium } from 'playwright-core';
import { build } from 'esbuild';
import { readFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tests } from './suite.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dist = path.join(root, 'dist');
const shots = path.join(root, 'test-results');
const ORIGIN = 'http://licensedesk.test';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json' };

if (!existsSync(path.join(dist, 'index.html'))) {
  console.error('e2e:mock: dist/ is missing — run `npm run build` first');
  process.exit(2);
}
await mkdir(shots, { recursive: true });

const bundle = await build({
  entryPoints: [path.join(root, 'tests/e2e-mock/entry.ts')],
  bundle: true,
  write: false,
  format: 'iife',
  target: 'es2022',
  logLevel: 'silent',
});
const mockScript = bundle.outputFiles[0].text;
// axe-core, injected into a page only when a journey checks accessibility.
const axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
// WCAG 2.0/2.1/2.2 A and AA; AXE_BEST=1 adds axe's best practices (to look at, by hand).
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', ...(process.env.AXE_BEST ? ['best-practice'] : [])];

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: FLAGS });
const only = process.argv[2];
let passed = 0;
let failed = 0;
const started = Date.now();

for (const test of tests) {
  if (only && !test.name.includes(only)) continue;
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    colorScheme: test.scenario?.colorScheme ?? 'light',
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.route(`${ORIGIN}/**`, async (route) => {
    const url = new URL(route.request().url());
    const rel = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
    const file = path.join(dist, rel);
    if (!file.startsWith(dist) || !existsSync(file)) return route.fulfill({ status: 404, body: 'not found' });
    return route.fulfill({ status: 200, body: await readFile(file), contentType: TYPES[path.extname(file)] ?? 'application/octet-stream' });
  });
  await page.addInitScript({ content: `window.__SCENARIO__ = ${JSON.stringify(test.scenario ?? {})};\n${mockScript}` });
  const shot = (name) => page.screenshot({ path: path.join(shots, `${name}.png`) });
  const t0 = Date.now();
  try {
    await page.goto(`${ORIGIN}/`);
    await test.run({ page, shot, expect: makeExpect(page), axe: (state, opts) => checkA11y(page, state, opts) });
    const unexpected = errors.filter((e) => !(test.allowErrors ?? []).some((a) => e.includes(a)));
    if (unexpected.length) throw new Error(`page errors:\n  ${unexpected.join('\n  ')}`);
    passed++;
    console.log(`  ✓ ${test.name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`  ✗ ${test.name}\n    ${String(e?.message ?? e).split('\n').join('\n    ')}`);
    await shot(`FAILED-${test.name.replace(/\W+/g, '-')}`).catch(() => {});
  } finally {
    await context.close();
  }
}
await browser.close();
console.log(`\ne2e:mock: ${passed} passed, ${failed} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
process.exit(failed ? 1 : 0);

// One axe-core run over the page as it is now: WCAG 2.0/2.1 A and AA rules;
// any violation of impact serious or critical fails the journey, listed with
// its rule, impact, targets and help. `exclude`: selectors of elements axe
// cannot judge (each with a comment where it is passed, saying why).
async function checkA11y(page, state, { exclude = [] } = {}) {
  // Transitions (a panel fading in, a collapsing sidebar) settle first so
  // colours are measured as they end up.
  await page.evaluate(() => Promise.all(document.getAnimations().map((a) => a.finished.catch(() => {}))));
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    // evaluate, not a <script> tag: the app's CSP allows 'self' scripts only.
    await page.evaluate(axeSource);
  }
  const { violations, incomplete } = await page.evaluate(
    async ([exclude, tags]) => {
      const r = await window.axe.run(
        { include: [document], exclude: exclude.map((s) => [s]) },
        { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations', 'incomplete'] },
      );
      const list = (vs) => vs.map((v) => ({ id: v.id, impact: v.impact, help: v.help, url: v.helpUrl, targets: v.nodes.map((n) => ({ target: n.target.join(' '), impact: n.impact, summary: n.failureSummary })) }));
      return { violations: list(r.violations), incomplete: list(r.incomplete) };
    },
    [exclude, AXE_TAGS],
  );
  // AXE_VERBOSE=1: also the lesser violations and what axe could not decide.
  if (process.env.AXE_VERBOSE) {
    for (const v of violations.filter((v) => v.impact !== 'serious' && v.impact !== 'critical')) console.log(`    note (${state}): ${v.id} (${v.impact}) ${v.targets.map((n) => n.target).join(', ')}`);
    for (const v of incomplete) console.log(`    review (${state}): ${v.id} ${v.targets.map((n) => `${n.target}: ${n.summary?.split('\n')[1]?.trim() ?? ''}`).join('; ')}`);
  }
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length) {
    // The first reason axe gives per element is enough to see what to fix.
    const why = (summary) => (summary ?? '').split('\n').map((l) => l.trim()).filter((l) => l && !/^Fix (any|all) of the following:$/.test(l))[0] ?? '';
    const lines = bad.map((v) => `${v.id} (${v.impact}): ${v.help} (${v.url})\n` + v.targets.map((n) => `      ${n.target}: ${why(n.summary)}`).join('\n'));
    throw new Error(`axe (${state}): ${bad.length} serious/critical violation(s)\n  ${lines.join('\n  ')}`);
  }
  return violations;
}

function makeExpect(page) {
  const timeout = 5000;
  return {
    visible: (locator) => locator.first().waitFor({ state: 'visible', timeout }),
    hidden: (locator) => locator.first().waitFor({ state: 'hidden', timeout }),
    text: async (locator, expected) => {
      await locator.first().waitFor({ state: 'visible', timeout });
      const deadline = Date.now() + timeout;
      let last = '';
      while (Date.now() < deadline) {
        last = (await locator.first().textContent()) ?? '';
        if (typeof expected === 'string' ? last.includes(expected) : expected.test(last)) return;
        await page.waitForTimeout(50);
      }
      throw new Error(`expected ${locator} to contain ${expected}, got ${JSON.stringify(last)}`);
    },
    count: async (locator, pred, what) => {
      const deadline = Date.now() + timeout;
      let n = 0;
      while (Date.now() < deadline) {
        n = await locator.count();
        if (pred(n)) return n;
        await page.waitForTimeout(50);
      }
      throw new Error(`count of ${what ?? locator}: ${n}`);
    },
    attr: async (locator, name, expected) => {
      const deadline = Date.now() + timeout;
      let v = null;
      while (Date.now() < deadline) {
        v = await locator.first().getAttribute(name);
        if (v === expected) return;
        await page.waitForTimeout(50);
      }
      throw new Error(`expected ${name}=${expected} on ${locator}, got ${v}`);
    },
    value: async (locator, expected) => {
      const deadline = Date.now() + timeout;
      let v = null;
      while (Date.now() < deadline) {
        v = await locator.first().inputValue();
        if (v === expected) return;
        await page.waitForTimeout(50);
      }
      throw new Error(`expected value ${expected} in ${locator}, got ${v}`);
    },
    true: (cond, msg) => {
      if (!cond) throw new Error(msg);
    },
  };
}
