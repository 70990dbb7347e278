// The dark theme is written twice in app.css: once for the OS's dark mode
// (System), once for Settings' forced Dark. Both must say the same, or a
// colour fixed in one (e.g. for contrast) stays wrong in the other.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Read from disk: Vitest hands CSS imports (even ?raw) over empty.
const css = readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'app.css'), 'utf8');

function vars(block: string): Record<string, string> {
  return Object.fromEntries([...block.matchAll(/(--[\w-]+)\s*:\s*([^;]+);/g)].map((m) => [m[1]!, m[2]!.trim()]));
}
function body(selector: string): string {
  const at = css.indexOf(selector);
  expect(at, selector).toBeGreaterThanOrEqual(0);
  const open = css.indexOf('{', at);
  return css.slice(open + 1, css.indexOf('}', open));
}

describe('app.css themes', () => {
  it('the OS dark mode and the forced dark theme declare the same variables', () => {
    const system = vars(body(":root:not([data-theme='light'])"));
    const forced = vars(body(":root[data-theme='dark']"));
    expect(Object.keys(system).length).toBeGreaterThan(20);
    expect(forced).toEqual(system);
  });
});
