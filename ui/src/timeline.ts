// Timeline layout: where each snapshot sits, the epoch groups, keyboard
// stepping and hit testing. Pure functions over arrays, so that scrubbing
// through 10,000 snapshots costs a binary search and a redraw.

import type { SnapshotMeta } from './bindings/SnapshotMeta';
import type { Trigger } from './bindings/Trigger';

/** Horizontal geometry of the timeline: `count` snapshots spread by index over the width. */
export interface TimelineLayout {
  count: number;
  width: number;
  padLeft: number;
  padRight: number;
}

export function makeLayout(count: number, width: number, pad = 8): TimelineLayout {
  return { count, width, padLeft: pad, padRight: pad };
}

/** x (CSS px) of the snapshot at `index`; a single snapshot sits in the middle. */
export function xOfIndex(layout: TimelineLayout, index: number): number {
  const inner = Math.max(0, layout.width - layout.padLeft - layout.padRight);
  if (layout.count <= 1) return layout.padLeft + inner / 2;
  return layout.padLeft + (index / (layout.count - 1)) * inner;
}

/** The index of the snapshot nearest to `x`, clamped to the run (-1 when there is none). */
export function indexAtX(layout: TimelineLayout, x: number): number {
  if (layout.count === 0) return -1;
  if (layout.count === 1) return 0;
  const inner = Math.max(1, layout.width - layout.padLeft - layout.padRight);
  const t = (x - layout.padLeft) / inner;
  const i = Math.round(t * (layout.count - 1));
  return Math.min(layout.count - 1, Math.max(0, i));
}

/**
 * The snapshot under the pointer: the nearest one when it lies within
 * `tolerance` px, else -1 (for hover tooltips, which should not stick to far ticks).
 */
export function hitTest(layout: TimelineLayout, x: number, tolerance = 6): number {
  const i = indexAtX(layout, x);
  if (i < 0) return -1;
  return Math.abs(xOfIndex(layout, i) - x) <= tolerance ? i : -1;
}

/** Index of `seq` in ascending `seqs`; when absent, the index of the nearest seq (-1 if empty). */
export function indexOfSeq(seqs: ArrayLike<number>, seq: number): number {
  const n = seqs.length;
  if (n === 0) return -1;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (seqs[mid] < seq) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(seqs[lo - 1] - seq) <= Math.abs(seqs[lo] - seq)) return lo - 1;
  return lo;
}

/** A run of consecutive snapshots in the same epoch (outermost loop count; null: outside loops). */
export interface EpochGroup {
  epoch: number | null;
  start: number;
  /** Inclusive. */
  end: number;
}

export function epochGroups(snapshots: readonly Pick<SnapshotMeta, 'loops'>[]): EpochGroup[] {
  const groups: EpochGroup[] = [];
  for (let i = 0; i < snapshots.length; i++) {
    const loops = snapshots[i].loops;
    const epoch = loops.length > 0 ? loops[0] : null;
    const last = groups[groups.length - 1];
    if (last && last.epoch === epoch) last.end = i;
    else groups.push({ epoch, start: i, end: i });
  }
  return groups;
}

/**
 * Which epoch groups get a text label: left to right, each label needs
 * `minGap` px from the previous one; groups outside loops get none.
 */
export function labelledGroups(
  layout: TimelineLayout,
  groups: readonly EpochGroup[],
  minGap: number,
): EpochGroup[] {
  const out: EpochGroup[] = [];
  let lastX = Number.NEGATIVE_INFINITY;
  for (const g of groups) {
    if (g.epoch == null) continue;
    const x = xOfIndex(layout, g.start);
    if (x - lastX >= minGap) {
      out.push(g);
      lastX = x;
    }
  }
  return out;
}

/** How a snapshot's tick is drawn. */
export type TickClass = 'error' | 'explicit' | 'exit' | 'plain';

export function tickClass(trigger: Trigger, label: string | null | undefined): TickClass {
  switch (trigger) {
    case 'exception':
    case 'signal':
      return 'error';
    case 'explicit':
      return 'explicit';
    case 'exit':
      return 'exit';
    default:
      return label ? 'explicit' : 'plain';
  }
}

/**
 * The index the cursor moves to for a key press, or null when the key does
 * not move it. Left/Right: one snapshot, with Shift: ten; Home/End: the ends.
 */
export function stepIndex(index: number, count: number, key: string, shift: boolean): number | null {
  if (count === 0) return null;
  const clamp = (i: number) => Math.min(count - 1, Math.max(0, i));
  const step = shift ? 10 : 1;
  switch (key) {
    case 'ArrowLeft':
      return clamp(index - step);
    case 'ArrowRight':
      return clamp(index + step);
    case 'PageUp':
      return clamp(index - 100);
    case 'PageDown':
      return clamp(index + 100);
    case 'Home':
      return 0;
    case 'End':
      return count - 1;
    default:
      return null;
  }
}

/** The tooltip text of one snapshot. */
export function describeSnapshot(s: SnapshotMeta): string {
  const parts = [`#${s.seq}`, s.trigger];
  if (s.label) parts.push(`“${s.label}”`);
  if (s.file != null || s.line != null) {
    const file = s.file ? s.file.split(/[\\/]/).pop() : '';
    parts.push(`${file}${s.line != null ? `:${s.line}` : ''}`);
  }
  if (s.loops.length > 0) parts.push(`epoch ${s.loops[0]}${s.loops.length > 1 ? ` (${s.loops.slice(1).join('/')})` : ''}`);
  if (s.nonfinite > 0) parts.push(`${s.nonfinite} non-finite`);
  return parts.join(' · ');
}
