// What the journeys do outside the webview, as a user would: pick and save
// files in the real GTK dialogs, drop files on the window from a real drag
// source, run the real ldctl. Every wait is for a condition.
import { execFileSync, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wd.mjs';

const here = dirname(fileURLToPath(import.meta.url));

const window = (title) => {
  try {
    return execFileSync('xdotool', ['search', '--onlyvisible', '--name', `^${title}$`]).toString().trim().split('\n')[0];
  } catch {
    return null;
  }
};

/** Presses `key` in the dialog until it goes; whether it went. */
async function closeWith(title, key, timeoutMs) {
  return waitFor(
    `the ${title} dialog to close`,
    () => {
      if (!window(title)) return true;
      execFileSync('xdotool', ['key', key]);
      return false;
    },
    timeoutMs,
  ).then(
    () => true,
    () => false,
  );
}

/**
 * Opens the native file dialog `title` with the button `label` and gives it
 * `path`. No window manager runs under Xvfb: the dialog gets the focus,
 * then the path is typed, into GTK's location field (open: ctrl+L) or its
 * name field (save: selected first). A keystroke lost on a loaded machine
 * leaves the dialog open: it is then cancelled (Escape, which the app takes
 * as "no file") and the whole pick is tried again, up to 3 times.
 */
async function inDialog(wd, label, title, path, save) {
  for (let attempt = 1; ; attempt++) {
    await wd.button(label);
    const win = await waitFor(`the ${title} dialog`, () => window(title));
    execFileSync('xdotool', ['windowfocus', '--sync', win]);
    execFileSync('xdotool', ['key', '--clearmodifiers', save ? 'ctrl+a' : 'ctrl+l']);
    execFileSync('xdotool', ['type', '--delay', '20', path]);
    execFileSync('xdotool', ['key', 'Return']);
    // GTK may take the first Return for its completion: press it until the
    // dialog goes.
    if (await closeWith(title, 'Return', 8000)) return;
    if (attempt === 3) throw new Error(`the ${title} dialog did not take ${path} in 3 attempts`);
    execFileSync('xdotool', ['windowfocus', '--sync', win]);
    await closeWith(title, 'Escape', 10000);
  }
}

/** Picks `path` in the open dialog the button `label` opens (titled `title`, else `label`). */
export const chooseFile = (wd, label, path, title = label) => inDialog(wd, label, title, path, false);

/** Saves to `path` in the save dialog the button `label` opens (titled `title`). */
export const saveFile = (wd, label, title, path) => inDialog(wd, label, title, path, true);

/**
 * Drops `paths` on the app's window as a file manager would: a GTK drag
 * source (drag.py) offers them, and the pointer drags from it to the middle
 * of the window (XDND, which tauri turns into its drag-drop events), and
 * lets go once the window shows it would take them (its drop overlay), as
 * a person does: releasing before the window answered the drag's status
 * makes the source cancel the drop (XDND's leave instead of its drop).
 */
export async function dropFiles(wd, paths) {
  // A drag the window never showed (no overlay) is let go of and made
  // again; one the window showed was dropped, and is never repeated.
  for (let attempt = 1; ; attempt++) {
    if (await dragOnce(wd, paths)) return;
    if (attempt === 3) throw new Error(`the window never showed the dragged files (${attempt} drags)`);
  }
}

/** The app's drop overlay is up (the window is told of a drag of files). */
const overlayUp = async (wd) => (await wd.findAll('.overlay[role="dialog"]')).length > 0;

/** One drag of `paths` onto the window; whether the window showed it before the release. */
async function dragOnce(wd, paths) {
  const app = await waitFor('the app window', () => window('LicenseDesk'));
  const geo = execFileSync('xdotool', ['getwindowgeometry', '--shell', app]).toString();
  const n = (k) => Number(geo.match(new RegExp(`${k}=(\\d+)`))[1]);
  const [ax, ay, aw, ah] = [n('X'), n('Y'), n('WIDTH'), n('HEIGHT')];
  // Beside the window when the screen has room, else over its corner.
  const [sx, sy] = [Math.min(ax + aw + 10, 1440 - 170), Math.min(ay + ah + 10, 900 - 90)];
  const src = spawn('/usr/bin/python3', [join(here, 'drag.py'), String(sx), String(sy), ...paths], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  src.stdout.on('data', (d) => (out += d));
  const gone = new Promise((resolve) => src.on('exit', resolve));
  try {
    await waitFor('the drag source', () => out.includes('ready') && window('licensedesk-e2e-drag-source'));
    const [fx, fy] = [sx + 80, sy + 40];
    const [tx, ty] = [ax + Math.round(aw / 2), ay + Math.round(ah / 2)];
    execFileSync('xdotool', ['mousemove', '--sync', String(fx), String(fy), 'mousedown', '1']);
    // Past GTK's drag threshold first, then on to the window, in steps (each
    // motion is what starts the drag and what the window is told of).
    for (let i = 1; i <= 12; i++) {
      const f = i / 12;
      execFileSync('xdotool', ['mousemove', '--sync', String(Math.round(fx + (tx - fx) * f)), String(Math.round(fy + (ty - fy) * f))]);
    }
    execFileSync('xdotool', ['mousemove', '--sync', String(tx + 2), String(ty + 2)]);
    let shown = false;
    try {
      shown = await waitFor('the drop overlay', () => overlayUp(wd), 10000);
    } catch {
      shown = false;
    }
    execFileSync('xdotool', ['mouseup', '1']);
    await waitFor('the drop to end', () => out.includes('dropped'), 15000);
    return shown;
  } finally {
    src.kill();
    await gone;
  }
}

/** Runs ldctl with `args` (plus `--json`); its JSON document, or throws with its error. */
export function ldctl(bin, args) {
  try {
    return JSON.parse(execFileSync(bin, [...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString());
  } catch (e) {
    const out = e.stdout?.toString() ?? '';
    throw new Error(`ldctl ${args.join(' ')}: ${out || e.message}`);
  }
}
