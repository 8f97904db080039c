// @vitest-environment jsdom
// The canvas views drawn into a recording 2D context: the draw code runs
// end to end (no canvas in jsdom otherwise) and puts the marks where the
// layout says.

import { beforeAll, describe, expect, it, vi } from 'vitest';

import type { SeriesView } from '../bindings/SeriesView';
import type { SnapshotMeta } from '../bindings/SnapshotMeta';
import { cardLayout } from '../cards';
import { CardsView, cardData, chartNotes, type CardsHandlers, type ChartSeries } from './cardsView';
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

describe('CardsView', () => {
  const view = (over: Partial<SeriesView> = {}): SeriesView => ({
    run: 'r', name: 'loss', x_axis: 'step', points: [[0, 2], [1, 1], [2, 0.5], [3, 0.4]], markers: [{ x: 4, kind: 'nan', count: 1 }, { x: 5, kind: '-inf', count: 2 }],
    smoothed: [[0, 2], [1, 1.5], [2, 1], [3, 0.8]], raw_points: 6, decimated: true, nonpositive: 0, total_points: 6, no_x: 0, snapshots: [0, 1, 2, 3, 4, 5], snapshot_seqs: [0, 1, 2, 3, 4, 5], ...over,
  });
  const handlers = (log: string[]): CardsHandlers => ({
    requestRange: (r) => log.push(`range ${r ? r.join('-') : 'all'}`),
    selectSeq: (seq) => log.push(`seq ${seq}`),
    togglePin: (n) => log.push(`pin ${n}`),
    move: (n, d, before) => log.push(`move ${n} ${d}${before ? ` before ${before}` : ''}`),
  });

  it('draws one card per metric in its group, with markers, dashes and the snapshot line', async () => {
    calls = [];
    const root = document.createElement('div');
    document.body.append(root);
    const log: string[] = [];
    const cards = new CardsView(root, handlers(log));
    cards.setContext({ axisTitle: 'step', logY: false, ignoreOutliers: false });
    const series = new Map<string, ChartSeries[]>([
      ['train/loss', [
        { key: 'r|train/loss', label: 'train/loss', color: '#f00', view: view({ name: 'train/loss' }) },
        { key: 'o|train/loss', label: 'train/loss (o)', color: '#f88', view: view({ run: 'o', name: 'train/loss', markers: [] }), dash: [6, 4] },
      ]],
      ['train/acc', [{ key: 'r|train/acc', label: 'train/acc', color: '#0f0', view: view({ name: 'train/acc', markers: [] }) }]],
      ['lr', [{ key: 'r|lr', label: 'lr', color: '#00f', view: view({ name: 'lr', markers: [] }) }]],
    ]);
    cards.setCards(cardLayout(['train/loss', 'lr', 'train/acc'], ['lr']), new Set(['lr']), series);
    // uPlot draws on the next microtask.
    await new Promise((r) => setTimeout(r, 0));
    const shown = [...root.querySelectorAll<HTMLElement>('.card')].map((c) => c.dataset.card);
    expect(shown).toEqual(['lr', 'train/loss', 'train/acc']);
    expect([...root.querySelectorAll('.card-group-title')].map((e) => e.textContent)).toEqual(['Pinned', 'train']);
    expect(root.querySelector('[data-card="lr"]')?.classList.contains('pinned')).toBe(true);
    // Each card is its own uPlot chart; the compared run's line is dashed; NaN and -Inf drawn.
    expect(root.querySelectorAll('.uplot')).toHaveLength(3);
    const dashes = calls.filter(([m]) => m === 'setLineDash').map(([, a]) => a[0]);
    expect(dashes).toContainEqual([6, 4]);
    expect(calls.map(([m]) => m)).toContain('closePath');
    cards.setCursorSeq(2);
    expect(cards.cursorX('lr')).toBe(2);
    // Pin and move buttons ask the owner.
    root.querySelector<HTMLButtonElement>('[data-card="train/acc"] .card-up')?.click();
    root.querySelector<HTMLButtonElement>('[data-card="train/loss"] .card-pin')?.click();
    expect(log).toEqual(['move train/acc -1', 'pin train/loss']);
    // Each card places the snapshot on its own x: a series whose steps differ.
    const stepped = new Map([['loss', [{ key: 'r|loss', label: 'loss', color: '#f00', view: view({ snapshots: [10, 20, 30], snapshot_seqs: [1, 2, 3] }) }]], ['acc', [{ key: 'r|acc', label: 'acc', color: '#0f0', view: view({ snapshots: [0.5, 1, 1.5], snapshot_seqs: [1, 2, 3] }) }]]]);
    cards.setCards(cardLayout(['loss', 'acc'], []), new Set(), stepped);
    expect(cards.cursorX('loss')).toBe(20);
    expect(cards.cursorX('acc')).toBe(1);
  });

  it('updates cards in place and shows a message when there is nothing', () => {
    const root = document.createElement('div');
    const cards = new CardsView(root, handlers([]));
    const one = new Map([['loss', [{ key: 'r|loss', label: 'loss', color: '#f00', view: view() }]]]);
    cards.setCards(cardLayout(['loss'], []), new Set(), one);
    const plot = root.querySelector('.uplot');
    cards.setCards(cardLayout(['loss'], []), new Set(), new Map([['loss', [{ key: 'r|loss', label: 'loss', color: '#f00', view: view({ points: [[0, 1], [1, 2]] }) }]]]));
    expect(root.querySelector('.uplot')).toBe(plot);
    cards.setMessage('No metric selected');
    expect(root.textContent).toContain('No metric selected');
    expect(root.querySelector('.uplot')).toBeNull();
  });

  it('aligns the series of a card on one x', () => {
    const a = view({ points: [[0, 1], [2, 3]], smoothed: null, snapshots: [0, 1, 2] });
    const b = view({ run: 'o', points: [[1, 5]], smoothed: null, snapshots: [1] });
    const data = cardData([{ key: 'a', label: 'a', color: '#000', view: a }, { key: 'b', label: 'b', color: '#000', view: b, dash: [2, 2] }]);
    expect([...data[0]]).toEqual([0, 1, 2]);
    expect([...data[1]]).toEqual([1, undefined, 3]);
    expect([...data[3]]).toEqual([undefined, 5, undefined]);
  });
});

describe('chartNotes', () => {
  it('names what is left out', () => {
    expect(chartNotes([{ nonpositive: 2, no_x: 0 }, { nonpositive: 1, no_x: 0 }], true)).toBe('3 values ≤ 0 not drawn on the log axis');
    expect(chartNotes([{ nonpositive: 2, no_x: 0 }], false)).toBe('');
    expect(chartNotes([{ nonpositive: 0, no_x: 1 }], false)).toBe('1 point without a value on this axis');
  });
});
