// A virtualized list taller than a browser can lay out. WebKit and Chromium
// keep lengths in fixed point (1/64 px in a 32-bit integer): an element
// cannot be taller than 2^25 px (33,554,431), and a million rows of 36 px
// are 36,000,000. So the scroller's content is at most MAX_REAL px, and the
// virtualizer (@tanstack/svelte-virtual) works in "virtual" pixels, the
// rows' true offsets: the scroll offset it reads is mapped from real to
// virtual, and a scroll it asks for from virtual to real. The map is 1:1
// for EDGE px at either end and linear in between, so the rows near the top
// and the end are exactly where they would be, and rows are always drawn
// `rowHeight` real px tall around the view (only the scrollbar moves faster
// than the rows in the middle: 1.2× at a million rows).
import { elementScroll, observeElementOffset, type Virtualizer } from '@tanstack/svelte-virtual';

/** The tallest content a scroller gets (a margin below WebKit's limit). */
export const MAX_REAL = 30_000_000;
/** Real px at either end where the map is 1:1 (more than the rows drawn
 * beyond the view). */
export const EDGE = 4_000;

export interface Scale {
  /** The content's height, virtual px (the rows' true total). */
  total: number;
  /** The scroller's content height, real px. */
  real: number;
  /** The scroller's height. */
  viewport: number;
}

/** The scale of `total` virtual px in a viewport `viewport` px high. */
export function scaleFor(total: number, viewport: number, max = MAX_REAL): Scale {
  return { total, real: Math.min(total, max), viewport };
}

/** The linear part of the map: [real start, virtual start, virtual px per real px]. */
function middle(s: Scale): [number, number, number] {
  const realEnd = s.real - s.viewport - EDGE;
  const virtualEnd = s.total - s.viewport - EDGE;
  return [EDGE, EDGE, (virtualEnd - EDGE) / Math.max(1, realEnd - EDGE)];
}

/** The virtual offset of real scroll offset `r`. */
export function toVirtual(r: number, s: Scale): number {
  if (s.total <= s.real) return r;
  const [r0, v0, k] = middle(s);
  const rEnd = s.real - s.viewport - EDGE;
  if (r <= r0) return r;
  if (r >= rEnd) return s.total - s.real + r;
  return v0 + (r - r0) * k;
}

/** The real scroll offset of virtual offset `v`. */
export function toReal(v: number, s: Scale): number {
  if (s.total <= s.real) return v;
  const [r0, v0, k] = middle(s);
  const vEnd = s.total - s.viewport - EDGE;
  if (v <= v0) return v;
  if (v >= vEnd) return v - (s.total - s.real);
  return r0 + (v - v0) / k;
}

/** Where (real px from the content's top) a row that starts at virtual
 * `start` is drawn while the virtualizer is at virtual offset `v`: where
 * it falls relative to the view. */
export function realStart(start: number, v: number, s: Scale): number {
  return toReal(v, s) + (start - v);
}

/** Virtualizer options that read and set the scroll offset through `scale()`. */
export function scaledScrolling<S extends Element, I extends Element>(scale: () => Scale) {
  return {
    observeElementOffset: (instance: Virtualizer<S, I>, cb: (offset: number, isScrolling: boolean) => void) =>
      observeElementOffset(instance, (offset, isScrolling) => cb(toVirtual(offset, scale()), isScrolling)),
    scrollToFn: (offset: number, options: { adjustments?: number; behavior?: ScrollBehavior }, instance: Virtualizer<S, I>) =>
      elementScroll(toReal(offset + (options.adjustments ?? 0), scale()), { behavior: options.behavior }, instance),
  };
}
