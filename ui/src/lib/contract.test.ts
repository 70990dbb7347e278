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
});
