import { describe, expect, it } from 'vitest';
import {
  columnBands,
  ema,
  extent,
  formatTick,
  linearTicks,
  logTicks,
  makeScale,
  nearestPoint,
  nearestSorted,
  niceStep,
  paddedDomain,
  panRange,
  snapshotAtX,
  snapshotX,
  zoomRange,
} from './chart';

describe('scales', () => {
  it('maps a linear domain onto pixels and back', () => {
    const s = makeScale([0, 10], [100, 200]);
    expect(s.toPx(0)).toBe(100);
    expect(s.toPx(5)).toBe(150);
    expect(s.toPx(10)).toBe(200);
    expect(s.fromPx(175)).toBeCloseTo(7.5);
  });
  it('inverts for a y axis (pixels grow downwards)', () => {
    const y = makeScale([0, 1], [200, 0]);
    expect(y.toPx(1)).toBe(0);
    expect(y.toPx(0.25)).toBe(150);
    expect(y.fromPx(100)).toBeCloseTo(0.5);
  });
  it('spaces decades evenly on a log scale', () => {
    const y = makeScale([1, 1000], [0, 300], true);
    expect(y.toPx(1)).toBeCloseTo(0);
    expect(y.toPx(10)).toBeCloseTo(100);
    expect(y.toPx(100)).toBeCloseTo(200);
    expect(y.fromPx(150)).toBeCloseTo(10 ** 1.5);
  });
  it('does not divide by zero on an empty domain', () => {
    const s = makeScale([3, 3], [0, 100]);
    expect(Number.isFinite(s.toPx(3))).toBe(true);
  });
});

describe('domains', () => {
  it('ignores non-finite values, and non-positive ones on a log axis', () => {
    expect(extent([3, Number.NaN, -1, Number.POSITIVE_INFINITY, 7])).toEqual([-1, 7]);
    expect(extent([3, -1, 0, 7], true)).toEqual([3, 7]);
    expect(extent([])).toBeNull();
    expect(extent([0, -2], true)).toBeNull();
  });
  it('pads by 5% of the span, and widens a flat series', () => {
    expect(paddedDomain([0, 100], false)).toEqual([-5, 105]);
    expect(paddedDomain([2, 2], false)).toEqual([1.8, 2.2]);
    expect(paddedDomain([0, 0], false)).toEqual([-1, 1]);
    expect(paddedDomain(null, false)).toEqual([0, 1]);
    const [lo, hi] = paddedDomain([1, 100], true);
    expect(lo).toBeCloseTo(10 ** -0.1);
    expect(hi).toBeCloseTo(10 ** 2.1);
  });
});

describe('ticks', () => {
  it('chooses 1-2-5 steps', () => {
    expect(niceStep(10, 5)).toBe(2);
    expect(niceStep(1, 5)).toBeCloseTo(0.2);
    expect(niceStep(1000, 4)).toBe(200);
    expect(niceStep(7, 2)).toBe(5);
  });
  it('generates round ticks inside the range', () => {
    expect(linearTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(linearTicks(0.05, 0.95, 4)).toEqual([0.2, 0.4, 0.6, 0.8]);
    expect(linearTicks(-3, 3, 3)).toEqual([-2, 0, 2]);
    const t = linearTicks(0, 0.3, 3);
    expect(t).toEqual([0, 0.1, 0.2, 0.3]);
    expect(linearTicks(5, 5)).toEqual([5]);
  });
  it('puts log ticks on decades (with 2 and 5 on short ranges)', () => {
    expect(logTicks(0.5, 2000)).toEqual([1, 10, 100, 1000]);
    expect(logTicks(1, 50)).toEqual([1, 2, 5, 10, 20, 50]);
    expect(logTicks(-1, 10)).toEqual([]);
  });
  it('formats ticks to the step’s precision', () => {
    expect(formatTick(0.2, 0.2)).toBe('0.2');
    expect(formatTick(1000, 200)).toBe('1000');
    expect(formatTick(0.25, 0.05)).toBe('0.25');
    expect(formatTick(0, 1)).toBe('0');
    expect(formatTick(2e7, 1e7)).toBe('2e+7');
  });
});

describe('zoom and pan', () => {
  it('keeps the anchor at the same relative place', () => {
    const [a, b] = zoomRange([0, 100], 25, 0.5);
    expect(b - a).toBeCloseTo(50);
    expect((25 - a) / (b - a)).toBeCloseTo(0.25);
  });
  it('stays inside the bounds and never narrower than the minimum', () => {
    expect(zoomRange([0, 100], 50, 4, [0, 100])).toEqual([0, 100]);
    const r = zoomRange([80, 100], 99, 1.5, [0, 100]);
    expect(r[1]).toBe(100);
    expect(r[1] - r[0]).toBeCloseTo(30);
    const tiny = zoomRange([0, 1], 0.5, 1e-9, undefined, 0.01);
    expect(tiny[1] - tiny[0]).toBeCloseTo(0.01);
  });
  it('pans by a data delta, clamped to the bounds with the width kept', () => {
    expect(panRange([10, 20], 5)).toEqual([15, 25]);
    expect(panRange([10, 20], -50, [0, 100])).toEqual([0, 10]);
    expect(panRange([10, 20], 500, [0, 100])).toEqual([90, 100]);
  });
});

describe('bands and hit tests', () => {
  it('keeps the min and max of each pixel column', () => {
    const x = makeScale([0, 10], [0, 10]);
    const pts: [number, number][] = [
      [0, 1], [0.2, 5], [0.5, -2], [0.9, 3], // column 0
      [1.1, 4], // column 1
      [3.5, Number.NaN], [3.6, 7], // column 3
    ];
    expect(columnBands(pts, x)).toEqual([
      { px: 0, min: -2, max: 5 },
      { px: 1, min: 4, max: 4 },
      { px: 3, min: 7, max: 7 },
    ]);
  });
  it('finds nearest points by binary search', () => {
    const pts: [number, number][] = [[0, 0], [10, 1], [20, 2], [30, 3]];
    expect(nearestPoint(pts, 14)).toBe(1);
    expect(nearestPoint(pts, 16)).toBe(2);
    expect(nearestPoint(pts, -5)).toBe(0);
    expect(nearestPoint(pts, 99)).toBe(3);
    expect(nearestPoint([], 1)).toBe(-1);
    expect(nearestSorted([1, 4, 9], 6)).toBe(1);
    expect(nearestSorted([1, 4, 9], 7)).toBe(2);
  });
});

describe('snapshots on the x axis', () => {
  const snaps = [
    { seq: 0, loops: [], time: 100 },
    { seq: 1, loops: [0], time: 101 },
    { seq: 2, loops: [0], time: 103 },
    { seq: 3, loops: [1], time: 110 },
  ];
  it('places a snapshot on each axis', () => {
    expect(snapshotX(snaps[2], 'step', 100)).toBe(2);
    expect(snapshotX(snaps[2], 'epoch', 100)).toBe(0);
    expect(snapshotX(snaps[0], 'epoch', 100)).toBeNull();
    expect(snapshotX(snaps[3], 'time', 100)).toBe(10);
  });
  it('maps a click to the snapshot at the nearest position within tolerance', () => {
    expect(snapshotAtX(snaps, [0, 1, 2, 3], 'step', 100, 2.3, 0.5)).toBe(2);
    expect(snapshotAtX(snaps, [0, 1, 2, 3], 'step', 100, 2.6, 0.5)).toBe(3);
    expect(snapshotAtX(snaps, [0, 3], 'step', 100, 1.6, 0.5)).toBe(-1);
    expect(snapshotAtX(snaps, [0, 1, 3, 10], 'time', 100, 9, 2)).toBe(3);
    // Several snapshots in one epoch: the last of them.
    expect(snapshotAtX(snaps, [0, 1], 'epoch', 100, 0.1, 0.5)).toBe(2);
  });
});

describe('ema', () => {
  it('is bias-corrected like TensorBoard and skips non-finite values', () => {
    const s = ema([10, 20, Number.NaN, 30], 0.6);
    expect(s[0]).toBe(10);
    expect(s[1]).toBeCloseTo(16.25);
    expect(s[2]).toBeNaN();
    expect(s[3]).toBeGreaterThan(16.25);
    expect(ema([1, 2, 3], 0)).toEqual([1, 2, 3]);
  });
});
