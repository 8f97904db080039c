import { describe, expect, it } from 'vitest';
import type { SnapshotMeta } from './bindings/SnapshotMeta';
import {
  describeSnapshot,
  epochGroups,
  hitTest,
  indexAtX,
  indexOfSeq,
  labelledGroups,
  makeLayout,
  stepIndex,
  tickClass,
  xOfIndex,
} from './timeline';

function snap(seq: number, loops: number[] = [], extra: Partial<SnapshotMeta> = {}): SnapshotMeta {
  return {
    seq,
    trigger: 'iteration',
    file: '/home/u/train.py',
    line: 10,
    loops,
    label: null,
    time: 100 + seq,
    capture_ms: 1,
    bytes_new: 0,
    bytes_reused: 0,
    objects: 3,
    nonfinite: 0,
    ...extra,
  };
}

describe('layout', () => {
  const layout = makeLayout(11, 120, 10); // 100 px inner: 10 px per snapshot
  it('places snapshots by index between the paddings', () => {
    expect(xOfIndex(layout, 0)).toBe(10);
    expect(xOfIndex(layout, 10)).toBe(110);
    expect(xOfIndex(layout, 5)).toBe(60);
  });
  it('maps x back to the nearest index, clamped', () => {
    expect(indexAtX(layout, 60)).toBe(5);
    expect(indexAtX(layout, 64)).toBe(5);
    expect(indexAtX(layout, 66)).toBe(6);
    expect(indexAtX(layout, -50)).toBe(0);
    expect(indexAtX(layout, 500)).toBe(10);
  });
  it('round-trips every index', () => {
    const big = makeLayout(10_000, 1200, 8);
    for (const i of [0, 1, 17, 4999, 9998, 9999]) {
      // At 10,000 snapshots over ~1184 px several share a pixel: the round trip lands within one pixel.
      expect(Math.abs(xOfIndex(big, indexAtX(big, xOfIndex(big, i))) - xOfIndex(big, i))).toBeLessThan(1);
    }
    const small = makeLayout(50, 1000);
    for (let i = 0; i < 50; i++) expect(indexAtX(small, xOfIndex(small, i))).toBe(i);
  });
  it('handles no snapshot and a single one', () => {
    expect(indexAtX(makeLayout(0, 100), 50)).toBe(-1);
    expect(indexAtX(makeLayout(1, 100), 3)).toBe(0);
    expect(xOfIndex(makeLayout(1, 100, 10), 0)).toBe(50);
  });
  it('hit tests within a tolerance only', () => {
    expect(hitTest(layout, 61, 3)).toBe(5);
    expect(hitTest(layout, 64.5, 3)).toBe(-1);
    expect(hitTest(makeLayout(0, 100), 10)).toBe(-1);
  });
});

describe('indexOfSeq', () => {
  it('finds seqs with gaps (after gc) and falls back to the nearest', () => {
    const seqs = [0, 1, 5, 9, 20];
    expect(indexOfSeq(seqs, 5)).toBe(2);
    expect(indexOfSeq(seqs, 20)).toBe(4);
    expect(indexOfSeq(seqs, 6)).toBe(2);
    expect(indexOfSeq(seqs, 8)).toBe(3);
    expect(indexOfSeq(seqs, 100)).toBe(4);
    expect(indexOfSeq(seqs, -3)).toBe(0);
    expect(indexOfSeq([], 1)).toBe(-1);
  });
});

describe('epoch groups', () => {
  const snaps = [snap(0), snap(1, [0, 1]), snap(2, [0, 2]), snap(3, [1, 0]), snap(4, [1, 1]), snap(5, [2]), snap(6)];
  it('groups consecutive snapshots by outermost loop count', () => {
    expect(epochGroups(snaps)).toEqual([
      { epoch: null, start: 0, end: 0 },
      { epoch: 0, start: 1, end: 2 },
      { epoch: 1, start: 3, end: 4 },
      { epoch: 2, start: 5, end: 5 },
      { epoch: null, start: 6, end: 6 },
    ]);
  });
  it('labels groups only where there is room', () => {
    const groups = epochGroups(snaps);
    const wide = makeLayout(snaps.length, 700, 0);
    expect(labelledGroups(wide, groups, 40).map((g) => g.epoch)).toEqual([0, 1, 2]);
    const narrow = makeLayout(snaps.length, 70, 0); // ~11.7 px per snapshot
    expect(labelledGroups(narrow, groups, 30).map((g) => g.epoch)).toEqual([0, 2]);
  });
});

describe('keyboard stepping', () => {
  it('moves by one, ten with Shift, and to the ends', () => {
    expect(stepIndex(5, 100, 'ArrowRight', false)).toBe(6);
    expect(stepIndex(5, 100, 'ArrowLeft', false)).toBe(4);
    expect(stepIndex(5, 100, 'ArrowRight', true)).toBe(15);
    expect(stepIndex(5, 100, 'ArrowLeft', true)).toBe(0);
    expect(stepIndex(95, 100, 'ArrowRight', true)).toBe(99);
    expect(stepIndex(50, 100, 'Home', false)).toBe(0);
    expect(stepIndex(50, 100, 'End', false)).toBe(99);
  });
  it('ignores other keys and empty runs', () => {
    expect(stepIndex(5, 100, 'a', false)).toBeNull();
    expect(stepIndex(0, 0, 'ArrowRight', false)).toBeNull();
  });
});

describe('ticks and tooltips', () => {
  it('classes triggers by how they are marked', () => {
    expect(tickClass('exception', null)).toBe('error');
    expect(tickClass('signal', null)).toBe('error');
    expect(tickClass('explicit', null)).toBe('explicit');
    expect(tickClass('iteration', 'best')).toBe('explicit');
    expect(tickClass('iteration', null)).toBe('plain');
    expect(tickClass('exit', null)).toBe('exit');
  });
  it('describes a snapshot with seq, trigger, line and epoch', () => {
    const text = describeSnapshot(snap(12, [3, 7], { trigger: 'exception', nonfinite: 2, label: 'x' }));
    expect(text).toContain('#12');
    expect(text).toContain('exception');
    expect(text).toContain('train.py:10');
    expect(text).toContain('epoch 3');
    expect(text).toContain('2 non-finite');
  });
});
