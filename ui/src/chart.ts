// Chart math uPlot does not do: scales for the small canvases (variable
// history), y domains with a margin, the y range that ignores outliers, and
// the snapshot a click on a card means (positions come from query). Ticks,
// zoom and the cursor are uPlot's. No DOM here.

export type Range = readonly [number, number];

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

/** The q-quantile (0..1) of sorted values, linearly interpolated. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

/**
 * The y range a card shows for its values (in x order): every finite value
 * (positive only on a log axis) with a margin; with `ignoreOutliers`, the
 * first point (a loss starting far above the rest) and values beyond
 * Tukey's far fences (3 interquartile ranges outside the quartiles, on the
 * log of the values for a log axis) are left out of the range (they are
 * still drawn, clipped), like TensorBoard's "ignore outliers in chart
 * scaling".
 */
export function yRange(values: readonly number[], log: boolean, ignoreOutliers: boolean): [number, number] {
  const finite = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  if (!ignoreOutliers || finite.length < 4) return paddedDomain(extent(finite, log), log);
  const rest = [...finite.slice(1)].sort((a, b) => a - b);
  const f = log ? Math.log10 : (v: number) => v;
  const lo = f(quantile(rest, 0.25));
  const hi = f(quantile(rest, 0.75));
  const spread = 3 * (hi - lo);
  const keep = rest.filter((v) => f(v) >= lo - spread && f(v) <= hi + spread);
  return paddedDomain(extent(keep, log), log);
}

/** A snapshot's place on a card's x axis, as query gives it. */
export interface SnapshotPosition {
  seq: number;
  x: number;
}

/**
 * The seq of the snapshot a click at data x means: the nearest position
 * within `tolerance` data units (among equals, the last snapshot there);
 * null when none is close enough.
 */
export function snapshotAtX(positions: readonly SnapshotPosition[], x: number, tolerance: number): number | null {
  let best: SnapshotPosition | null = null;
  let bestDist = Number.POSITIVE_INFINITY;
  for (const p of positions) {
    const d = Math.abs(p.x - x);
    if (d <= bestDist) {
      best = p;
      bestDist = d;
    }
  }
  return best && bestDist <= tolerance ? best.seq : null;
}

/** x of the snapshot `seq` among the positions (the last one at or before it); null when none. */
export function positionOfSeq(positions: readonly SnapshotPosition[], seq: number): number | null {
  let out: number | null = null;
  for (const p of positions) {
    if (p.seq <= seq) out = p.x;
    else break;
  }
  return out;
}
