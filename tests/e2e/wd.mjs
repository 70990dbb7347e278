// A minimal W3C WebDriver client over Node's fetch (tauri-driver in front
// of WebKitWebDriver), plus polling helpers: every wait is for a condition.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

/** A free TCP port on loopback. */
export const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

export async function waitFor(what, fn, timeoutMs = 20000) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${last?.message ?? last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  static async create(base, application) {
    const r = await fetch(`${base}/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ capabilities: { alwaysMatch: { 'tauri:options': { application } } } }),
    });
    const v = await r.json();
    if (!r.ok) throw new Error(`new session: ${JSON.stringify(v)}`);
    return new Session(base, v.value.sessionId);
  }

  async cmd(method, path, body) {
    const r = await fetch(`${this.base}/session/${this.id}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const v = await r.json();
    if (!r.ok) throw new Error(`${method} ${path}: ${JSON.stringify(v.value ?? v)}`);
    return v.value;
  }

  async findAll(css) {
    const found = await this.cmd('POST', '/elements', { using: 'css selector', value: css });
    return found.map((e) => e[ELEMENT]);
  }
  async xpathAll(xpath) {
    const found = await this.cmd('POST', '/elements', { using: 'xpath', value: xpath });
    return found.map((e) => e[ELEMENT]);
  }
  async find(css) {
    return waitFor(`element ${css}`, async () => (await this.findAll(css))[0]);
  }
  async findX(xpath) {
    return waitFor(`element ${xpath}`, async () => (await this.xpathAll(xpath))[0]);
  }
  text(el) {
    return this.cmd('GET', `/element/${el}/text`);
  }
  attr(el, name) {
    return this.cmd('GET', `/element/${el}/attribute/${name}`);
  }
  click(el) {
    return this.cmd('POST', `/element/${el}/click`, {});
  }
  clear(el) {
    return this.cmd('POST', `/element/${el}/clear`, {});
  }
  type(el, text) {
    return this.cmd('POST', `/element/${el}/value`, { text });
  }
  exec(script, args = []) {
    return this.cmd('POST', '/execute/sync', { script, args });
  }
  /**
   * Finds an element and acts on it, again from the finding if the element
   * went stale in between (a view re-rendered it): `fn`'s result.
   */
  async on(what, finder, fn, timeoutMs) {
    const r = await waitFor(what, async () => {
      const [el] = await finder();
      return el && { value: await fn(el) };
    }, timeoutMs);
    return r.value;
  }
  /** Clicks the first button whose text contains `label`. */
  button(label) {
    const xpath = `//button[contains(normalize-space(.), '${label}')]`;
    return this.on(`button ${label}`, () => this.xpathAll(xpath), (el) => this.click(el));
  }
  /**
   * Opens the page `view` with its sidebar button `label` and waits for it.
   * A fresh window settles its sidebar (the profile box takes its height
   * once the profiles are read), which can move a button under a click in
   * flight: the click is repeated until the page shows.
   */
  async page(label, view) {
    await waitFor(`the ${label} page`, async () => {
      if ((await this.findAll(`[data-view="${view}"]`)).length > 0) return true;
      await this.button(label);
      return (await this.findAll(`[data-view="${view}"]`)).length > 0;
    });
  }
  clickOn(css) {
    return this.on(`element ${css}`, () => this.findAll(css), (el) => this.click(el));
  }
  textOf(css) {
    return this.on(`element ${css}`, () => this.findAll(css), (el) => this.text(el));
  }
  async screenshot(path) {
    // Two animation frames first, so what the DOM holds now has been painted:
    // a screenshot can otherwise show an earlier frame (platform notes,
    // pitfall 6). A timer ends the wait if frames are throttled.
    await this.cmd('POST', '/execute/async', {
      script:
        'const done = arguments[arguments.length - 1]; let n = 0; const end = () => { if (!n++) done(true); };' +
        ' requestAnimationFrame(() => requestAnimationFrame(end)); setTimeout(end, 500);',
      args: [],
    });
    const png = await this.cmd('GET', '/screenshot');
    writeFileSync(path, Buffer.from(png, 'base64'));
  }
  close() {
    return fetch(`${this.base}/session/${this.id}`, { method: 'DELETE' }).catch(() => {});
  }
}
