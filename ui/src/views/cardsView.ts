// The metric cards (#chart): one uPlot chart per metric, grouped by name
// prefix, each with its own y axis, all sharing the x axis (one zoom) and
// the hover cursor (uPlot's cursor sync). A card draws the open run's series
// (its raw points faint, the smoothed line over them) and the compared
// runs' (dashed), NaN/±Inf markers, and the current snapshot as a line.
// Drag zooms x on every card, double-click resets, a click jumps to the
// nearest snapshot; each card can be pinned (shown first) and moved (its
// ↑ ↓ buttons, or dragged onto another card).

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

import type { SeriesView } from '../bindings/SeriesView';
import type { CardGroup } from '../cards';
import { positionOfSeq, snapshotAtX, yRange, type Range, type SnapshotPosition } from '../chart';
import { formatCount, formatNumber } from '../format';
import { clear, cssVar, h } from './dom';

export interface ChartSeries {
  /** Unique among the series drawn (run and name). */
  key: string;
  label: string;
  color: string;
  view: SeriesView;
  /** A compared run's series: drawn with this dash pattern (the cursor stays the open run's). */
  dash?: number[];
}

export interface CardsContext {
  /** The x axis's title (`step`, `epoch`, `snapshot`, `seconds since the start`). */
  axisTitle: string;
  logY: boolean;
  ignoreOutliers: boolean;
}

export interface CardsHandlers {
  /** The user zoomed (a range) or reset (null): fetch every card for it. */
  requestRange(range: Range | null): void;
  /** A click near a snapshot's position: its seq. */
  selectSeq(seq: number): void;
  togglePin(name: string): void;
  /** Moves a card by delta places, or before another card (dropped on it). */
  move(name: string, delta: number, before?: string): void;
}

/** The snapshot positions a series view carries ([x, seq] per snapshot in its range). */
export function viewPositions(v: Pick<SeriesView, 'snapshots' | 'snapshot_seqs'>): SnapshotPosition[] {
  return v.snapshots.map((x, i) => ({ x, seq: v.snapshot_seqs[i] ?? x }));
}

/** Points the card leaves out, as one line: values ≤ 0 on a log axis, points without an x on this axis. */
export function chartNotes(views: readonly Pick<SeriesView, 'nonpositive' | 'no_x'>[], logY: boolean): string {
  const nonpositive = views.reduce((n, v) => n + v.nonpositive, 0);
  const noX = views.reduce((n, v) => n + v.no_x, 0);
  const parts: string[] = [];
  if (logY && nonpositive > 0) parts.push(`${formatCount(nonpositive)} value${nonpositive === 1 ? '' : 's'} ≤ 0 not drawn on the log axis`);
  if (noX > 0) parts.push(`${formatCount(noX)} point${noX === 1 ? '' : 's'} without a value on this axis`);
  return parts.join(' · ');
}

/** uPlot's aligned data for a card: x, then per series its raw and smoothed y, then the snapshot positions (no y). */
export function cardData(series: readonly ChartSeries[]): uPlot.AlignedData {
  const tables: uPlot.AlignedData[] = [];
  for (const s of series) {
    const v = s.view;
    tables.push([v.points.map((p) => p[0]), v.points.map((p) => p[1])]);
    const sm = v.smoothed ?? [];
    tables.push([sm.map((p) => p[0]), sm.map((p) => p[1])]);
  }
  const pos = series.find((s) => !s.dash)?.view.snapshots ?? [];
  tables.push([pos, pos.map(() => null)]);
  return uPlot.join(tables as uPlot.AlignedData[]);
}

const HEIGHT = 170;
const SYNC = 'snapline-cards';

interface Card {
  name: string;
  el: HTMLElement;
  plotEl: HTMLElement;
  note: HTMLElement;
  plot: uPlot | null;
  series: ChartSeries[];
  /** Where the open run's snapshots sit on this card's x (each series has its own steps). */
  positions: SnapshotPosition[];
  /** The series count the plot was made for (a new plot when it changes). */
  shape: string;
  cursorLine: HTMLElement | null;
}

export class CardsView {
  private readonly root: HTMLElement;
  private readonly handlers: CardsHandlers;
  private cards = new Map<string, Card>();
  private order: string[] = [];
  private pinned = new Set<string>();
  private ctx: CardsContext = { axisTitle: 'step', logY: false, ignoreOutliers: false };
  private range: [number, number] | null = null;
  private cursorSeq: number | null = null;
  private dragging: string | null = null;

  constructor(root: HTMLElement, handlers: CardsHandlers) {
    this.root = root;
    this.handlers = handlers;
    new ResizeObserver(() => this.resize()).observe(root);
  }

  /** Width a card's plot has: the width series are fetched at. */
  get plotWidth(): number {
    const first = this.cards.values().next().value;
    const w = first?.plotEl.clientWidth || Math.min(this.root.clientWidth, 560);
    return Math.max(64, Math.round(w) - 60);
  }

  get visibleRange(): [number, number] | null {
    return this.range;
  }

  get cardNames(): string[] {
    return [...this.order];
  }

  /** Forget the zoom (another run, another axis). */
  resetRange(): void {
    this.range = null;
  }

  setContext(ctx: CardsContext): void {
    this.ctx = ctx;
  }

  /** Nothing to draw: a message instead of cards. */
  setMessage(message: string): void {
    this.destroyAll();
    clear(this.root);
    this.root.append(h('div', { class: 'cards-message muted', text: message }));
  }

  /**
   * The cards to show (grouped, in order), which are pinned, and the series
   * each draws. Cards whose name and series stay are updated in place.
   */
  setCards(groups: readonly CardGroup[], pinned: ReadonlySet<string>, series: ReadonlyMap<string, ChartSeries[]>): void {
    const order = groups.flatMap((g) => g.cards);
    const layoutChanged = order.join('\n') !== this.order.join('\n') || [...pinned].join('\n') !== [...this.pinned].join('\n') || this.root.querySelector('.cards-message') != null;
    this.pinned = new Set(pinned);
    if (layoutChanged) this.layout(groups);
    this.order = order;
    for (const name of order) {
      const card = this.cards.get(name);
      if (card) this.fill(card, series.get(name) ?? []);
    }
    this.placeCursor();
  }

  /** The current snapshot (null: none). */
  setCursorSeq(seq: number | null): void {
    this.cursorSeq = seq;
    this.placeCursor();
  }

  /** The x of the current snapshot on a card's axis (null: not on it). */
  cursorX(name: string): number | null {
    const card = this.cards.get(name);
    return card && this.cursorSeq != null ? positionOfSeq(card.positions, this.cursorSeq) : null;
  }

  private destroyAll(): void {
    for (const c of this.cards.values()) c.plot?.destroy();
    this.cards.clear();
    this.order = [];
  }

  private layout(groups: readonly CardGroup[]): void {
    const old = this.cards;
    this.cards = new Map();
    clear(this.root);
    for (const g of groups) {
      const box = h('section', { class: 'card-group', 'data-group': g.prefix });
      if (g.title) box.append(h('h3', { class: 'card-group-title', text: g.title }));
      const grid = h('div', { class: 'card-grid' });
      box.append(grid);
      for (const name of g.cards) {
        const card = old.get(name) ?? this.makeCard(name);
        old.delete(name);
        const pin = card.el.querySelector<HTMLButtonElement>('.card-pin');
        const isPinned = this.pinned.has(name);
        card.el.classList.toggle('pinned', isPinned);
        if (pin) {
          pin.textContent = isPinned ? '★' : '☆';
          pin.setAttribute('aria-pressed', String(isPinned));
          pin.title = isPinned ? 'Unpin' : 'Pin (show first)';
        }
        grid.append(card.el);
        this.cards.set(name, card);
      }
      this.root.append(box);
    }
    for (const c of old.values()) c.plot?.destroy();
  }

  private makeCard(name: string): Card {
    const pin = h('button', { type: 'button', class: 'icon card-pin', 'aria-label': `Pin ${name}` }, '☆');
    const up = h('button', { type: 'button', class: 'icon card-up', title: 'Move up', 'aria-label': `Move ${name} up` }, '↑');
    const down = h('button', { type: 'button', class: 'icon card-down', title: 'Move down', 'aria-label': `Move ${name} down` }, '↓');
    pin.addEventListener('click', () => this.handlers.togglePin(name));
    up.addEventListener('click', () => this.handlers.move(name, -1));
    down.addEventListener('click', () => this.handlers.move(name, 1));
    const title = h('div', { class: 'card-head', draggable: 'true' }, h('span', { class: 'card-title', text: name, title: name }), h('span', { class: 'spacer' }), pin, up, down);
    const note = h('div', { class: 'card-note small muted' });
    const plotEl = h('div', { class: 'card-plot' });
    const el = h('div', { class: 'card', 'data-card': name }, title, plotEl, note);
    title.addEventListener('dragstart', (e) => {
      this.dragging = name;
      e.dataTransfer?.setData('text/plain', name);
    });
    el.addEventListener('dragover', (e) => {
      if (this.dragging && this.dragging !== name) e.preventDefault();
    });
    el.addEventListener('drop', (e) => {
      e.preventDefault();
      const moved = this.dragging;
      this.dragging = null;
      if (moved && moved !== name) this.handlers.move(moved, 0, name);
    });
    return { name, el, plotEl, note, plot: null, series: [], positions: [], shape: '', cursorLine: null };
  }

  private fill(card: Card, series: ChartSeries[]): void {
    card.series = series;
    const own = series.find((s) => !s.dash);
    card.positions = own ? viewPositions(own.view) : [];
    card.note.textContent = chartNotes(series.map((s) => s.view), this.ctx.logY);
    const shape = `${series.map((s) => `${s.key}|${s.color}|${s.dash?.join(',') ?? ''}`).join(';')}|${this.ctx.logY}|${this.ctx.axisTitle}`;
    const data = cardData(series);
    // What the card's x axis reads (for tests and tooltips): its axis and the x range of its points.
    const xs = series.flatMap((s) => (s.view.points.length > 0 ? [s.view.points[0][0], s.view.points[s.view.points.length - 1][0]] : []));
    card.el.dataset.xAxis = series[0]?.view.x_axis ?? '';
    card.el.dataset.xMin = xs.length > 0 ? String(Math.min(...xs)) : '';
    card.el.dataset.xMax = xs.length > 0 ? String(Math.max(...xs)) : '';
    if (card.plot && card.shape === shape) {
      card.plot.setData(data, true);
    } else {
      card.plot?.destroy();
      clear(card.plotEl);
      card.plot = this.makePlot(card, data);
      card.shape = shape;
      card.cursorLine = h('div', { class: 'snap-cursor' });
      card.plot.over.append(card.cursorLine);
    }
    if (this.range) card.plot.setScale('x', { min: this.range[0], max: this.range[1] });
  }

  private makePlot(card: Card, data: uPlot.AlignedData): uPlot {
    const muted = cssVar('--fg-muted');
    const grid = cssVar('--grid');
    const fmt = (_u: uPlot, v: number | null) => (v == null ? '—' : formatNumber(v));
    const seriesOpts: uPlot.Series[] = [{ label: this.ctx.axisTitle, value: fmt }];
    for (const s of card.series) {
      const smoothed = s.view.smoothed != null;
      seriesOpts.push({ label: smoothed ? `${s.label} (raw)` : s.label, stroke: s.color, width: smoothed ? 1 : 1.5, alpha: smoothed ? 0.3 : 1, dash: s.dash, spanGaps: true, points: { show: false }, value: fmt });
      seriesOpts.push({ label: s.label, stroke: s.color, width: 2, dash: s.dash, spanGaps: true, points: { show: false }, value: fmt, show: smoothed });
    }
    seriesOpts.push({ label: 'snapshots', show: false, class: 'positions' });
    const axis = { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const opts: uPlot.Options = {
      width: Math.max(120, card.plotEl.clientWidth || 480),
      height: HEIGHT,
      series: seriesOpts,
      scales: {
        x: { time: false },
        y: {
          distr: this.ctx.logY ? 3 : 1,
          range: (u) => {
            const ys: number[] = [];
            for (let i = 1; i < u.data.length - 1; i += 1) for (const v of u.data[i]) if (v != null) ys.push(v);
            return yRange(ys, this.ctx.logY, this.ctx.ignoreOutliers);
          },
        },
      },
      axes: [{ ...axis, label: this.ctx.axisTitle, labelSize: 16, size: 30 }, { ...axis, size: 56 }],
      cursor: { sync: { key: SYNC }, drag: { x: true, y: false } },
      legend: { show: true, live: true },
      hooks: {
        draw: [(u) => this.drawMarkers(u, card)],
        setSelect: [(u) => {
          if (u.select.width < 4) return;
          const lo = u.posToVal(u.select.left, 'x');
          const hi = u.posToVal(u.select.left + u.select.width, 'x');
          this.range = [lo, hi];
          this.handlers.requestRange(this.range);
        }],
        setScale: [(_u, key) => {
          if (key === 'x') this.placeCursor();
        }],
      },
    };
    const plot = new uPlot(opts, data, card.plotEl);
    let down: [number, number] | null = null;
    plot.over.addEventListener('mousedown', (e) => {
      down = [e.clientX, e.clientY];
    });
    plot.over.addEventListener('click', (e) => {
      const start = down;
      down = null;
      if (start && Math.abs(e.clientX - start[0]) > 3) return;
      const left = plot.cursor.left ?? -1;
      if (left < 0) return;
      const x = plot.posToVal(left, 'x');
      const tolerance = Math.abs(plot.posToVal(left + 8, 'x') - x);
      const seq = snapshotAtX(card.positions, x, tolerance);
      if (seq != null) this.handlers.selectSeq(seq);
    });
    plot.over.addEventListener('dblclick', () => {
      if (this.range == null) return;
      this.range = null;
      this.handlers.requestRange(null);
    });
    return plot;
  }

  /** NaN: a red × at the top; +Inf: ▲ at the top; -Inf: ▼ at the bottom (canvas pixels). */
  private drawMarkers(u: uPlot, card: Card): void {
    const ctx = u.ctx;
    const danger = cssVar('--danger');
    const { top, height } = u.bbox;
    const r = 4 * uPlot.pxRatio;
    ctx.save();
    ctx.strokeStyle = danger;
    ctx.fillStyle = danger;
    ctx.lineWidth = 2 * uPlot.pxRatio;
    for (const s of card.series) {
      for (const m of s.view.markers) {
        const X = u.valToPos(m.x, 'x', true);
        if (m.kind === 'nan') {
          const Y = top + 2 * r;
          ctx.beginPath();
          ctx.moveTo(X - r, Y - r);
          ctx.lineTo(X + r, Y + r);
          ctx.moveTo(X + r, Y - r);
          ctx.lineTo(X - r, Y + r);
          ctx.stroke();
        } else {
          const up = m.kind === 'inf';
          const Y = up ? top + r : top + height - r;
          ctx.beginPath();
          ctx.moveTo(X, Y);
          ctx.lineTo(X - r, Y + (up ? 2 * r : -2 * r));
          ctx.lineTo(X + r, Y + (up ? 2 * r : -2 * r));
          ctx.closePath();
          ctx.fill();
        }
      }
    }
    ctx.restore();
  }

  /** Moves each card's snapshot line (a positioned element over the plot: no redraw while scrubbing). */
  private placeCursor(): void {
    for (const c of this.cards.values()) {
      if (!c.plot || !c.cursorLine) continue;
      const x = this.cursorX(c.name);
      const px = x == null ? -1 : c.plot.valToPos(x, 'x');
      const inside = x != null && Number.isFinite(px) && px >= 0 && px <= c.plot.over.clientWidth + 0.5;
      c.cursorLine.hidden = !inside;
      if (inside) c.cursorLine.style.left = `${Math.round(px)}px`;
    }
  }

  private resize(): void {
    for (const c of this.cards.values()) {
      const w = c.plotEl.clientWidth;
      if (c.plot && w > 0 && Math.abs(c.plot.width - w) > 1) c.plot.setSize({ width: w, height: HEIGHT });
    }
    this.placeCursor();
  }
}
