import { describe, expect, it } from 'vitest';

describe('contract with src-tauri', () => {
  it('the seam and the src-tauri command list are the same set', async () => {
    const { readFileSync } = await import('node:fs');
    const { resolve } = await import('node:path');
    const { COMMANDS } = await import('./api');
    const src = readFileSync(resolve(process.cwd(), '../src-tauri/src/command_list.rs'), 'utf8');
    const rust = [...src.matchAll(/"([a-z_]+)"/g)].map((m) => m[1]);
    expect(rust.length).toBeGreaterThan(0);
    const known = new Set<string>(COMMANDS);
    expect(rust.filter((c) => !known.has(c!))).toEqual([]);
    // …and calls nothing the Rust side does not register.
    expect(COMMANDS.filter((c) => !rust.includes(c))).toEqual([]);
  });

  it('every code with an error title is a code Rust has', async () => {
    const { readFileSync, readdirSync } = await import('node:fs');
    const { join, resolve } = await import('node:path');
    const { ERROR_TITLES } = await import('./errors');
    const roots = ['../crates', '../src-tauri/src'].map((d) => resolve(process.cwd(), d));
    const literals = new Set<string>();
    for (const root of roots) {
      for (const file of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
        if (!file.endsWith('.rs') || file.split(/[\\/]/).some((p) => p === 'tests' || p === 'target')) continue;
        for (const m of readFileSync(join(root, file), 'utf8').matchAll(/"([A-Z][A-Z0-9_]+)"/g)) literals.add(m[1]!);
      }
    }
    expect(literals.size).toBeGreaterThan(100);
    expect([...ERROR_TITLES.keys()].filter((c) => !literals.has(c))).toEqual([]);
  });

  it('every error code Rust can send has a zh-CN text, and every zh-CN text is a code', async () => {
    const { readFileSync, readdirSync } = await import('node:fs');
    const { join, resolve } = await import('node:path');
    const { errorTexts } = await import('./errors');
    // Every SCREAMING_SNAKE literal of the Rust sources (outside tests) is
    // an error code, except these words that are something else: env vars,
    // SQL, HTTP methods, names of kinds in messages.
    const NOT_CODES = new Set([
      'ACME', 'ASC', 'DESC', 'COMMIT', 'ROLLBACK', 'WAL', 'NORMAL', 'FULL', 'OFF', 'MEMORY', 'GET', 'POST',
      'UTC', 'DIR', 'HOME', 'USERPROFILE', 'XDG_DATA_HOME', 'CARGO_MANIFEST_DIR', 'LDCTL_HOME', 'LDCTL_MACHINE_ID',
      'LD_FIELD_CRASH_AT', 'KID', 'FILE', 'FIELD', 'FINGERPRINT', 'FLOATING', 'CONSUMED', 'REMAINING', 'EXCEEDED',
      'EXHAUSTED', 'EXPIRED', 'MISMATCH', 'QUOTA', 'SIGNATURE', 'TIME',
      // ldctl's argument names (clap's value_name) and the pool token's env var
      'URL', 'NAME', 'SECS', 'TOKEN', 'LDCTL_POOL_TOKEN',
      // WebKit's switches the desktop app reads (rendering.rs)
      'WEBKIT_DISABLE_COMPOSITING_MODE', 'WEBKIT_FORCE_COMPOSITING_MODE',
    ]);
    const roots = ['../crates', '../src-tauri/src'].map((d) => resolve(process.cwd(), d));
    const codes = new Set<string>();
    for (const root of roots) {
      for (const file of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
        if (!file.endsWith('.rs') || file.split(/[\\/]/).some((p) => ['tests', 'target', 'benches'].includes(p))) continue;
        let text = readFileSync(join(root, file), 'utf8');
        const cut = text.indexOf('#[cfg(test)]');
        if (cut >= 0) text = text.slice(0, cut);
        for (const m of text.matchAll(/"([A-Z][A-Z0-9_]{2,})"/g)) {
          if (!NOT_CODES.has(m[1]!) && !m[1]!.startsWith('LICENSEDESK_')) codes.add(m[1]!);
        }
      }
    }
    expect(codes.size).toBeGreaterThan(150);
    const zh = errorTexts('zh-CN')!;
    expect([...codes].filter((c) => !(c in zh)).sort(), 'codes without zh-CN text').toEqual([]);
    const uiOwn = ['INPUT_NOT_A_NUMBER', 'IPC_ERROR'];
    expect(Object.keys(zh).filter((c) => !codes.has(c) && !uiOwn.includes(c)).sort(), 'zh-CN texts of no code').toEqual([]);
    // Chinese, with no English sentence left.
    for (const [code, entry] of Object.entries(zh)) {
      for (const text of typeof entry === 'string' ? [entry] : entry) {
        expect(text, code).toMatch(/[\u4e00-\u9fff]/);
        const words = text.replace(/\{\w+\}/g, '').match(/[A-Za-z]{4,}/g) ?? [];
        expect(words.filter((w) => !['LicenseDesk', 'base', 'machine', 'Ed25519', 'ldreq', 'ldresp', 'edge', 'gateway', 'XXXX', 'XXXXX', 'YYYY'].includes(w)), `${code}: ${text}`).toEqual([]);
      }
    }
  });
});
