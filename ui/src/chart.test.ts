import { describe, expect, it } from 'vitest';
import { extent, makeScale, paddedDomain, positionOfSeq, quantile, snapshotAtX, yRange } from './chart';

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

describe('y range', () => {
  // A loss that starts far above the rest (as the demo run's 0.16 against values near 0.01).
  const loss = [0.16, 0.012, 0.011, 0.0105, 0.0102, 0.0101, 0.01, 0.0099, 0.0098, 0.0097];
  it('holds every value without ignoring outliers', () => {
    const [lo, hi] = yRange(loss, false, false);
    expect(lo).toBeLessThanOrEqual(0.0097);
    expect(hi).toBeGreaterThanOrEqual(0.16);
  });
  it('leaves the first point and far values out when asked', () => {
    const [lo, hi] = yRange(loss, false, true);
    expect(lo).toBeLessThanOrEqual(0.0097);
    expect(hi).toBeLessThan(0.02);
    // A spike in the middle is left out too; the values around it stay in.
    const spiky = [1, 1.1, 1.2, 1.15, 1.3, 50, 1.25, 1.2, 1.1, 1.05, 1.0, 1.1];
    const [a, b] = yRange(spiky, false, true);
    expect(b).toBeLessThan(2);
    expect(a).toBeLessThanOrEqual(1.0);
  });
  it('works on a log axis and with too few points to judge', () => {
    const [lo, hi] = yRange([100, 1, 0.9, 0.8, 0.7, 0.6, -1, 0], true, true);
    expect(lo).toBeGreaterThan(0);
    expect(hi).toBeLessThan(10);
    expect(yRange([5, 1], false, true)).toEqual(paddedDomain([1, 5], false));
    expect(yRange([], false, true)).toEqual([0, 1]);
  });
  it('interpolates quantiles', () => {
    expect(quantile([1, 2, 3, 4, 5], 0.5)).toBe(3);
    expect(quantile([0, 10], 0.25)).toBe(2.5);
    expect(quantile([], 0.5)).toBeNaN();
  });
});

describe('snapshots on a card', () => {
  // Snapshot positions as query gives them: several snapshots can share an x (an epoch).
  const positions = [{ seq: 0, x: 0 }, { seq: 1, x: 10 }, { seq: 2, x: 10 }, { seq: 5, x: 30 }];
  it('maps a click to the nearest snapshot within tolerance (the last of equals)', () => {
    expect(snapshotAtX(positions, 12, 5)).toBe(2);
    expect(snapshotAtX(positions, 27, 5)).toBe(5);
    expect(snapshotAtX(positions, 20, 5)).toBeNull();
    expect(snapshotAtX([], 1, 5)).toBeNull();
  });
  it('places a seq at its own position or the last one before it', () => {
    expect(positionOfSeq(positions, 1)).toBe(10);
    expect(positionOfSeq(positions, 4)).toBe(10);
    expect(positionOfSeq(positions, 9)).toBe(30);
    expect(positionOfSeq([{ seq: 3, x: 1 }], 2)).toBeNull();
  });
});

describe('extent', () => {
  it('skips non-finite values and non-positive ones on a log axis', () => {
    expect(extent([3, Number.NaN, -1, 7])).toEqual([-1, 7]);
    expect(extent([3, -1, 0, 7], true)).toEqual([3, 7]);
    expect(extent([])).toBeNull();
    expect(makeScale([0, 10], [0, 100]).toPx(5)).toBe(50);
  });
});
