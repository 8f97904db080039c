// Chart math: scales (linear and log), y domains, ticks, zoom and pan of the
// x range, per-pixel min/max bands of decimated points, and the snapshot a
// click on the chart means. No DOM here.

import type { SnapshotMeta } from './bindings/SnapshotMeta';
import type { XAxis } from './bindings/XAxis';

export type Range = readonly [number, number];
export type XY = readonly [number, number];

/** A mapping from data to pixels (and back). */
export interface Scale {
  readonly domain: Range;
  readonly range: Range;
  readonly log: boolean;
  toPx(v: number): number;
  fromPx(px: number): number;
}

export function makeScale(domain: Range, range: Range, log = false): Scale {
  const f = log ? (v: number) => Math.log10(v) : (v: number) => v;
  const inv = log ? (v: number) => 10 ** v : (v: number) => v;
  const d0 = f(domain[0]);
  const d1 = f(domain[1]);
  const span = d1 - d0 || 1;
  const [r0, r1] = range;
  return {
    domain,
    range,
    log,
    toPx: (v: number) => r0 + ((f(v) - d0) / span) * (r1 - r0),
    fromPx: (px: number) => inv(d0 + ((px - r0) / (r1 - r0 || 1)) * span),
  };
}

/** The smallest and largest finite value (positive only for a log axis); null when none. */
export function extent(values: Iterable<number>, log = false): [number, number] | null {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (!Number.isFinite(v) || (log && v <= 0)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : null;
}

/**
 * A y domain holding every value with a margin: 5% of the span on a linear
 * axis (a flat series gets ±1 or ±10%), a fraction of a decade on a log one.
 */
export function paddedDomain(ext: [number, number] | null, log: boolean): [number, number] {
  if (ext == null) return log ? [1, 10] : [0, 1];
  let [lo, hi] = ext;
  if (log) {
    const l0 = Math.log10(lo);
    const l1 = Math.log10(hi);
    const pad = l1 > l0 ? (l1 - l0) * 0.05 : 0.5;
    return [10 ** (l0 - pad), 10 ** (l1 + pad)];
  }
  if (hi === lo) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return [lo - d, hi + d];
  }
  const pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  return [lo, hi];
}

/** A 1, 2 or 5 times a power of ten step giving about `count` intervals over the span. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0) || count <= 0) return 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const nice = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10;
  return nice * mag;
}

/** Round tick values inside [min, max]. */
export function linearTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) return [min];
  const lo = Math.min(min, max);
  const hi = Math.max(min, max);
  const step = niceStep(hi - lo, count);
  const first = Math.ceil(lo / step - 1e-9);
  const ticks: number[] = [];
  for (let i = first; i * step <= hi + step * 1e-9; i++) {
    // Multiplying (not accumulating) keeps 0.1 * 3 from drifting far; round off the rest.
    ticks.push(Number((i * step).toPrecision(12)));
    if (ticks.length > 1000) break;
  }
  return ticks;
}

/** Powers of ten inside [min, max] (with 2 and 5 multiples when the range spans under two decades). */
export function logTicks(min: number, max: number): number[] {
  if (!(min > 0) || !(max > 0)) return [];
  const lo = Math.min(min, max);
  const hi = Math.max(min, max);
  const e0 = Math.floor(Math.log10(lo));
  const e1 = Math.ceil(Math.log10(hi));
  const mults = e1 - e0 <= 2 ? [1, 2, 5] : [1];
  const ticks: number[] = [];
  for (let e = e0; e <= e1; e++) {
    for (const m of mults) {
      const v = Number((m * 10 ** e).toPrecision(12));
      if (v >= lo * (1 - 1e-12) && v <= hi * (1 + 1e-12)) ticks.push(v);
    }
  }
  return ticks;
}

/**
 * Zooms `range` by `factor` (< 1 zooms in) keeping `anchor` (a data x,
 * usually under the pointer) where it is; the result never gets narrower
 * than `minSpan` nor leaves `bounds` when given.
 */
export function zoomRange(range: Range, anchor: number, factor: number, bounds?: Range, minSpan = 1e-9): [number, number] {
  const [a, b] = range;
  let span = (b - a) * factor;
  if (span < minSpan) span = minSpan;
  const t = b > a ? (anchor - a) / (b - a) : 0.5;
  let lo = anchor - t * span;
  let hi = lo + span;
  if (bounds) {
    const full = bounds[1] - bounds[0];
    if (span >= full) return [bounds[0], bounds[1]];
    if (lo < bounds[0]) {
      lo = bounds[0];
      hi = lo + span;
    }
    if (hi > bounds[1]) {
      hi = bounds[1];
      lo = hi - span;
    }
  }
  return [lo, hi];
}

/** Moves `range` by `delta` in data units, kept inside `bounds` when given (its width stays). */
export function panRange(range: Range, delta: number, bounds?: Range): [number, number] {
  let lo = range[0] + delta;
  let hi = range[1] + delta;
  if (bounds) {
    const span = hi - lo;
    if (lo < bounds[0]) {
      lo = bounds[0];
      hi = lo + span;
    }
    if (hi > bounds[1]) {
      hi = bounds[1];
      lo = Math.max(bounds[0], hi - span);
    }
  }
  return [lo, hi];
}

/** One pixel column of a series: the smallest and largest y drawn there. */
export interface Band {
  px: number;
  min: number;
  max: number;
}

/**
 * Groups points (sorted by x) into whole-pixel columns and keeps each
 * column's min and max y: the band a decimated series (first, min, max and
 * last of each column) is drawn as.
 */
export function columnBands(points: readonly XY[], x: Scale): Band[] {
  const out: Band[] = [];
  let cur: Band | null = null;
  for (const [px0, y] of points) {
    if (!Number.isFinite(y)) continue;
    const px = Math.floor(x.toPx(px0));
    if (cur && cur.px === px) {
      if (y < cur.min) cur.min = y;
      if (y > cur.max) cur.max = y;
    } else {
      cur = { px, min: y, max: y };
      out.push(cur);
    }
  }
  return out;
}

/** Index of the value in ascending `xs` nearest to `x` (-1 when empty). */
export function nearestSorted(xs: readonly number[], x: number): number {
  const n = xs.length;
  if (n === 0) return -1;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && x - xs[lo - 1] <= xs[lo] - x) return lo - 1;
  return lo;
}

/** Index of the point (sorted by x) nearest to `x` (-1 when empty). */
export function nearestPoint(points: readonly XY[], x: number): number {
  const n = points.length;
  if (n === 0) return -1;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid][0] < x) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && x - points[lo - 1][0] <= points[lo][0] - x) return lo - 1;
  return lo;
}

/**
 * Where a snapshot sits on an x axis, as the series views place them:
 * step: its seq; epoch: its completed outermost iterations (null outside
 * loops); time: seconds since the run started.
 */
export function snapshotX(s: Pick<SnapshotMeta, 'seq' | 'loops' | 'time'>, axis: XAxis, startedAt: number): number | null {
  switch (axis) {
    case 'step':
      return s.seq;
    case 'epoch':
      return s.loops.length > 0 ? s.loops[0] : null;
    case 'time':
      return s.time - startedAt;
  }
  return null;
}

/**
 * The snapshot a click at data x means: the nearest of the series' snapshot
 * positions (`positions`, sorted), if it is within `tolerance` data units,
 * mapped to the index of the snapshot sitting there (for epochs, the last
 * snapshot of that epoch). -1 when none is close enough.
 */
export function snapshotAtX(
  snapshots: readonly Pick<SnapshotMeta, 'seq' | 'loops' | 'time'>[],
  positions: readonly number[],
  axis: XAxis,
  startedAt: number,
  x: number,
  tolerance: number,
): number {
  const p = nearestSorted(positions, x);
  const target = p >= 0 ? positions[p] : x;
  if (Math.abs(target - x) > tolerance) return -1;
  let best = -1;
  let bestDist = Number.POSITIVE_INFINITY;
  for (let i = 0; i < snapshots.length; i++) {
    const sx = snapshotX(snapshots[i], axis, startedAt);
    if (sx == null) continue;
    const d = Math.abs(sx - target);
    // `<=`: among equals (snapshots of one epoch), the last wins.
    if (d <= bestDist) {
      best = i;
      bestDist = d;
    }
  }
  return best;
}

/** Tick text: as few decimals as the step needs. */
export function formatTick(v: number, step: number): string {
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs >= 1e6 || abs < 1e-4) return v.toExponential(1).replace('.0e', 'e');
  const decimals = step > 0 ? Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9))) : 2;
  return v.toFixed(decimals);
}

/** The client-side EMA (TensorBoard's, bias-corrected), for series not smoothed by the query. */
export function ema(values: readonly number[], weight: number): number[] {
  const out: number[] = [];
  let last = 0;
  let n = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) {
      out.push(Number.NaN);
      continue;
    }
    n += 1;
    last = last * weight + (1 - weight) * v;
    out.push(weight > 0 ? last / (1 - weight ** n) : v);
  }
  return out;
}
