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
});
