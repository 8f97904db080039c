// @vitest-environment jsdom
// The canvas views drawn into a recording 2D context: the draw code runs
// end to end (no canvas in jsdom otherwise) and puts the marks where the
// layout says.

import { beforeAll, describe, expect, it, vi } from 'vitest';

import type { SeriesView } from '../bindings/SeriesView';
import type { SnapshotMeta } from '../bindings/SnapshotMeta';
import { ChartView, chartNotes } from './chartView';
import { TimelineView } from './timelineView';

type Call = [string, unknown[]];

/** A 2D context that accepts everything and records the calls. */
function recorder(calls: Call[]): CanvasRenderingContext2D {
  const state: Record<string | symbol, unknown> = {};
  return new Proxy(state, {
    get(target, prop) {
      if (prop in target) return target[prop];
      if (prop === 'measureText') return (t: string) => ({ width: t.length * 6 });
      return (...args: unknown[]) => {
        calls.push([String(prop), args]);
      };
    },
    set(target, prop, value) {
      target[prop] = value;
      return true;
    },
  }) as unknown as CanvasRenderingContext2D;
}

let calls: Call[] = [];

beforeAll(() => {
  vi.stubGlobal('ResizeObserver', class {
    observe() {}
    disconnect() {}
  });
  HTMLCanvasElement.prototype.getContext = function () {
    return recorder(calls);
  } as unknown as HTMLCanvasElement['getContext'];
});

function canvas(width: number, height: number): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.getBoundingClientRect = () => ({ width, height, top: 0, left: 0, right: width, bottom: height, x: 0, y: 0, toJSON: () => ({}) });
  document.body.append(c);
  return c;
}

function snap(seq: number, extra: Partial<SnapshotMeta> = {}): SnapshotMeta {
  return { seq, trigger: 'iteration', file: 't.py', line: 1, loops: [Math.floor(seq / 10)], label: null, time: seq, capture_ms: 1, bytes_new: 0, bytes_reused: 0, objects: 1, nonfinite: 0, ...extra };
}

const texts = () => calls.filter(([m]) => m === 'fillText').map(([, a]) => a[0]);

describe('TimelineView', () => {
  it('draws epoch labels, the NaN marker and the cursor flag', () => {
    calls = [];
    const c = canvas(820, 70);
    const tip = document.createElement('div');
    const view = new TimelineView(c, tip, { select: () => {} });
    const snaps = Array.from({ length: 40 }, (_, i) => snap(i, i === 39 ? { trigger: 'exception' } : {}));
    view.setData(snaps, 25);
    view.setCursor(12);
    expect(c.dataset.seq).toBe('12');
    expect(texts()).toEqual(expect.arrayContaining(['epoch 0', 'epoch 3', 'NaN', '#12']));
    // Moving the cursor copies the layer and draws the new flag, without rebuilding the ticks.
    calls = [];
    view.setCursor(13);
    expect(texts()).toEqual(['#13']);
    expect(calls.filter(([m]) => m === 'drawImage')).toHaveLength(1);
  });

  it('picks the snapshot under the pointer', () => {
    const c = canvas(820, 70);
    const picked: number[] = [];
    const view = new TimelineView(c, document.createElement('div'), { select: (i) => picked.push(i) });
    view.setData(Array.from({ length: 11 }, (_, i) => snap(i)), null);
    view.setCursor(0);
    c.setPointerCapture = () => {};
    c.hasPointerCapture = () => false;
    // 800 px inner width over 10 steps: index 5 sits at x = 10 + 400.
    const ev = new MouseEvent('pointerdown', { bubbles: true });
    Object.defineProperty(ev, 'offsetX', { value: 412 });
    Object.defineProperty(ev, 'pointerId', { value: 1 });
    c.dispatchEvent(ev);
    expect(picked).toEqual([5]);
  });
});

describe('ChartView', () => {
  const view = (over: Partial<SeriesView> = {}): SeriesView => ({
    run: 'r', name: 'loss', x_axis: 'step', points: [[0, 2], [1, 1], [2, 0.5], [3, 0.4]], markers: [{ x: 4, kind: 'nan', count: 1 }, { x: 5, kind: '-inf', count: 2 }],
    smoothed: [[0, 2], [1, 1.5], [2, 1], [3, 0.8]], raw_points: 6, decimated: true, nonpositive: 0, total_points: 6, no_x: 0, snapshots: [0, 1, 2, 3, 4, 5], ...over,
  });

  it('draws series with bands, markers and the cursor, and asks for data when zoomed', () => {
    calls = [];
    const c = canvas(800, 220);
    const requests: (readonly [number, number] | null)[] = [];
    const chart = new ChartView(c, document.createElement('div'), { requestRange: (r) => requests.push(r), selectSnapshot: () => {} });
    chart.setContext({ axis: 'step', logY: false, snapshots: Array.from({ length: 6 }, (_, i) => snap(i)), startedAt: 0 });
    chart.setSeries([{ key: 'r|loss', label: 'loss', color: '#f00', view: view() }]);
    chart.setCursorX(2);
    const methods = calls.map(([m]) => m);
    expect(methods).toContain('fillRect'); // bands
    expect(methods).toContain('lineTo'); // lines, markers, cursor
    expect(methods).toContain('closePath'); // the -Inf triangle
    expect(chart.plotWidth).toBe(800 - 60 - 14);
    // Wheel up zooms in around the pointer: a narrower range is requested after the debounce.
    vi.useFakeTimers();
    const wheel = new WheelEvent('wheel', { deltaY: -500, cancelable: true });
    Object.defineProperty(wheel, 'offsetX', { value: 400 });
    c.dispatchEvent(wheel);
    vi.advanceTimersByTime(200);
    vi.useRealTimers();
    expect(requests).toHaveLength(1);
    const r = requests[0];
    expect(r).not.toBeNull();
    if (r) expect(r[1] - r[0]).toBeLessThan(5);
    expect(chart.visibleRange).toEqual(r);
  });

  it('draws a compared run dashed, and a click on its snapshots does not move the cursor', () => {
    calls = [];
    const c = canvas(800, 220);
    const picked: number[] = [];
    const chart = new ChartView(c, document.createElement('div'), { requestRange: () => {}, selectSnapshot: (i) => picked.push(i) });
    chart.setContext({ axis: 'step', logY: false, snapshots: Array.from({ length: 11 }, (_, i) => snap(i)), startedAt: 0 });
    const click = (x: number) => {
      c.setPointerCapture = () => {};
      c.hasPointerCapture = () => false;
      for (const type of ['pointerdown', 'pointerup']) {
        const ev = new MouseEvent(type, { bubbles: true });
        Object.defineProperty(ev, 'offsetX', { value: x });
        Object.defineProperty(ev, 'pointerId', { value: 1 });
        c.dispatchEvent(ev);
      }
    };
    const open = view({ points: [[0, 2], [10, 1]], smoothed: null, markers: [], snapshots: [0] });
    const compared = view({ run: 'other', points: [[0, 3], [10, 0.5]], smoothed: null, markers: [], snapshots: [0, 5, 10] });
    chart.setSeries([
      { key: 'r|loss', label: 'loss', color: '#f00', view: open },
      { key: 'other|loss', label: 'loss (other)', color: '#f88', view: compared, dash: [6, 4] },
    ]);
    const dashes = calls.filter(([m]) => m === 'setLineDash').map(([, a]) => a[0]);
    expect(dashes).toContainEqual([6, 4]);
    // x = 5 sits mid-plot: only the compared run has a snapshot there.
    click(60 + (800 - 60 - 14) / 2);
    expect(picked).toEqual([]);
    // The open run's own snapshot (x = 0) still moves the cursor.
    click(60);
    expect(picked).toEqual([0]);
  });

  it('says what is missing when there is nothing to draw', () => {
    calls = [];
    const chart = new ChartView(canvas(800, 220), document.createElement('div'), { requestRange: () => {}, selectSnapshot: () => {} });
    chart.setSeries([], 'No series selected');
    expect(texts()).toContain('No series selected');
  });
});

describe('chartNotes', () => {
  it('names what is left out', () => {
    expect(chartNotes([{ nonpositive: 2, no_x: 0 }, { nonpositive: 1, no_x: 0 }], true)).toBe('3 values ≤ 0 not drawn on the log axis');
    expect(chartNotes([{ nonpositive: 2, no_x: 0 }], false)).toBe('');
    expect(chartNotes([{ nonpositive: 0, no_x: 1 }], false)).toBe('1 point outside any loop (no epoch)');
  });
});
