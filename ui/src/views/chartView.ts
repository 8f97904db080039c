// The metrics chart: a list of labelled series (the open run's, solid, and
// those of compared runs, dashed and lighter),
// each a decimated SeriesView drawn as per-column min/max bands plus its
// line (the smoothed line over a faint raw one), NaN/±Inf markers, the
// snapshot positions and the current-snapshot cursor. Wheel zooms x around
// the pointer, drag pans, double-click resets; the owner re-fetches the
// series for the visible range when asked (requestRange).

import type { SeriesView } from '../bindings/SeriesView';
import type { SnapshotMeta } from '../bindings/SnapshotMeta';
import type { XAxis } from '../bindings/XAxis';
import {
  columnBands,
  extent,
  formatTick,
  linearTicks,
  logTicks,
  makeScale,
  nearestPoint,
  niceStep,
  paddedDomain,
  panRange,
  snapshotAtX,
  zoomRange,
  type Range,
  type Scale,
} from '../chart';
import { formatCount, formatNumber } from '../format';
import { cssVar, debounce, fitCanvas, layerCanvas, placeTooltip } from './dom';

export interface ChartSeries {
  /** Unique among the series drawn (run and name). */
  key: string;
  label: string;
  color: string;
  view: SeriesView;
  /** A compared run's series: drawn with this dash pattern, its snapshots not clickable (the cursor stays the open run's). */
  dash?: number[];
}

export interface ChartContext {
  axis: XAxis;
  logY: boolean;
  /** The snapshots of the run the cursor moves in, and its start (for the time axis). */
  snapshots: SnapshotMeta[];
  startedAt: number;
}

export interface ChartHandlers {
  /** The visible x range (null: everything) or the plot width changed: fetch and call setSeries. */
  requestRange(range: Range | null, width: number): void;
  /** A click near a snapshot position: the index of that snapshot. */
  selectSnapshot(index: number): void;
}

const M = { left: 60, right: 14, top: 16, bottom: 24 };

const AXIS_TITLES: Record<XAxis, string> = {
  step: 'step',
  epoch: 'epoch',
  time: 'seconds since the run started',
};

/** Points the chart leaves out, as one line: values ≤ 0 on a log axis, points without an epoch. */
export function chartNotes(views: readonly Pick<SeriesView, 'nonpositive' | 'no_x'>[], logY: boolean): string {
  const nonpositive = views.reduce((n, v) => n + v.nonpositive, 0);
  const noX = views.reduce((n, v) => n + v.no_x, 0);
  const parts: string[] = [];
  if (logY && nonpositive > 0) parts.push(`${formatCount(nonpositive)} value${nonpositive === 1 ? '' : 's'} ≤ 0 not drawn on the log axis`);
  if (noX > 0) parts.push(`${formatCount(noX)} point${noX === 1 ? '' : 's'} outside any loop (no epoch)`);
  return parts.join(' · ');
}

export class ChartView {
  private readonly canvas: HTMLCanvasElement;
  private readonly tip: HTMLElement;
  private readonly handlers: ChartHandlers;
  private series: ChartSeries[] = [];
  private ctx: ChartContext = { axis: 'step', logY: false, snapshots: [], startedAt: 0 };
  private range: [number, number] | null = null;
  private bounds: [number, number] | null = null;
  private cursorX: number | null = null;
  private hoverPx: number | null = null;
  private layer: HTMLCanvasElement | null = null;
  private x: Scale = makeScale([0, 1], [0, 1]);
  private y: Scale = makeScale([0, 1], [0, 1]);
  private size = { width: 1, height: 1 };
  private drag: { startPx: number; startRange: [number, number]; moved: boolean } | null = null;
  private message = '';
  private readonly request: (() => void) & { cancel(): void };

  constructor(canvas: HTMLCanvasElement, tip: HTMLElement, handlers: ChartHandlers) {
    this.canvas = canvas;
    this.tip = tip;
    this.handlers = handlers;
    this.request = debounce(() => this.handlers.requestRange(this.range, this.plotWidth), 120);
    canvas.addEventListener('wheel', (e) => this.onWheel(e), { passive: false });
    canvas.addEventListener('pointerdown', (e) => this.onDown(e));
    canvas.addEventListener('pointermove', (e) => this.onMove(e));
    canvas.addEventListener('pointerup', (e) => this.onUp(e));
    canvas.addEventListener('pointercancel', () => {
      this.drag = null;
    });
    canvas.addEventListener('pointerleave', () => {
      this.hoverPx = null;
      this.tip.hidden = true;
      this.draw();
    });
    canvas.addEventListener('dblclick', () => this.resetZoom());
    let lastWidth = 0;
    new ResizeObserver(() => {
      this.invalidate();
      if (this.plotWidth !== lastWidth) {
        lastWidth = this.plotWidth;
        this.request();
      }
    }).observe(canvas);
  }

  /** Pixel columns of the plot area: the width series are fetched at. */
  get plotWidth(): number {
    const w = Math.round(this.canvas.getBoundingClientRect().width) - M.left - M.right;
    return Math.max(16, w);
  }

  get visibleRange(): [number, number] | null {
    return this.range;
  }

  setContext(ctx: ChartContext): void {
    const axisChanged = ctx.axis !== this.ctx.axis;
    this.ctx = ctx;
    if (axisChanged) {
      this.range = null;
      this.bounds = null;
    }
    this.invalidate();
  }

  /** The series to draw (fetched for the current range), or a message when there is nothing. */
  setSeries(series: ChartSeries[], message = ''): void {
    this.series = series;
    this.message = message;
    if (this.range == null) this.bounds = this.dataExtent();
    this.invalidate();
  }

  /** x of the current snapshot on this axis (null: not on it). */
  setCursorX(x: number | null): void {
    this.cursorX = x;
    this.draw();
  }

  resetZoom(): void {
    if (this.range == null) return;
    this.range = null;
    this.invalidate();
    this.handlers.requestRange(null, this.plotWidth);
  }

  /** Forget the zoom (another run, another axis). */
  resetRange(): void {
    this.range = null;
    this.bounds = null;
  }

  invalidate(): void {
    this.layer = null;
    this.draw();
  }

  private dataExtent(): [number, number] | null {
    const xs: number[] = [];
    for (const s of this.series) {
      const v = s.view;
      if (v.points.length > 0) xs.push(v.points[0][0], v.points[v.points.length - 1][0]);
      for (const m of v.markers) xs.push(m.x);
      // The run's snapshots too, so the cursor stays on the chart past the series' last point.
      if (!s.dash && v.snapshots.length > 0) xs.push(v.snapshots[0], v.snapshots[v.snapshots.length - 1]);
    }
    const e = extent(xs);
    if (!e) return null;
    if (e[0] === e[1]) return [e[0] - 0.5, e[1] + 0.5];
    return e;
  }

  private xDomain(): [number, number] {
    return this.range ?? this.bounds ?? this.dataExtent() ?? [0, 1];
  }

  private onWheel(e: WheelEvent): void {
    if (this.series.length === 0) return;
    e.preventDefault();
    const domain = this.xDomain();
    const anchor = this.x.fromPx(e.offsetX);
    const factor = Math.exp(e.deltaY * 0.0015);
    const bounds = this.bounds ?? domain;
    const minSpan = Math.max(1e-9, (bounds[1] - bounds[0]) * 1e-6);
    const next = zoomRange(domain, anchor, factor, bounds, minSpan);
    this.range = next[0] <= bounds[0] && next[1] >= bounds[1] ? null : next;
    this.invalidate();
    this.request();
  }

  private onDown(e: PointerEvent): void {
    if (e.button !== 0) return;
    this.canvas.setPointerCapture(e.pointerId);
    this.drag = { startPx: e.offsetX, startRange: this.xDomain(), moved: false };
  }

  private onMove(e: PointerEvent): void {
    this.hoverPx = e.offsetX;
    if (this.drag) {
      const dx = e.offsetX - this.drag.startPx;
      if (Math.abs(dx) > 3) this.drag.moved = true;
      if (this.drag.moved && this.series.length > 0) {
        const [a, b] = this.drag.startRange;
        const delta = (-dx * (b - a)) / this.plotWidth;
        const bounds = this.bounds ?? this.drag.startRange;
        this.range = panRange(this.drag.startRange, delta, bounds);
        this.invalidate();
        this.tip.hidden = true;
        return;
      }
    }
    this.draw();
    this.showTip(e);
  }

  private onUp(e: PointerEvent): void {
    const drag = this.drag;
    this.drag = null;
    if (this.canvas.hasPointerCapture(e.pointerId)) this.canvas.releasePointerCapture(e.pointerId);
    if (!drag) return;
    if (drag.moved) {
      this.request();
      return;
    }
    // A click: the nearest snapshot position within 8 px.
    const dataX = this.x.fromPx(e.offsetX);
    const positions = this.snapshotPositions();
    const [a, b] = this.xDomain();
    const tolerance = (8 * (b - a)) / this.plotWidth;
    const i = snapshotAtX(this.ctx.snapshots, positions, this.ctx.axis, this.ctx.startedAt, dataX, tolerance);
    if (i >= 0) this.handlers.selectSnapshot(i);
  }

  private snapshotPositions(): number[] {
    const set = new Set<number>();
    // Only the open run's: a click on a compared run's curve does not move the cursor.
    for (const s of this.series) if (!s.dash) for (const p of s.view.snapshots) set.add(p);
    return [...set].sort((p, q) => p - q);
  }

  private showTip(e: PointerEvent): void {
    const px = e.offsetX;
    if (this.series.length === 0 || px < M.left || px > this.size.width - M.right) {
      this.tip.hidden = true;
      return;
    }
    const dataX = this.x.fromPx(px);
    const lines: string[] = [`${this.ctx.axis} ${formatNumber(dataX)}`];
    for (const s of this.series) {
      const pts = s.view.smoothed ?? s.view.points;
      const i = nearestPoint(pts, dataX);
      if (i < 0) continue;
      const [px0, py] = pts[i];
      // A series with no point near the pointer says nothing there.
      if (Math.abs(this.x.toPx(px0) - px) > 40) continue;
      const raw = s.view.smoothed ? s.view.points[nearestPoint(s.view.points, dataX)] : null;
      let text = `${s.label}: ${formatNumber(py)} @ ${formatNumber(px0)}`;
      if (raw) text += ` (raw ${formatNumber(raw[1])})`;
      lines.push(text);
      const marker = s.view.markers.find((m) => Math.abs(this.x.toPx(m.x) - px) <= 4);
      if (marker) lines.push(`${s.label}: ${marker.kind} ×${marker.count} @ ${formatNumber(marker.x)}`);
    }
    this.tip.textContent = lines.join('\n');
    placeTooltip(this.tip, e.clientX, e.clientY);
  }

  private buildLayer(width: number, height: number): HTMLCanvasElement {
    const { canvas, ctx } = layerCanvas(width, height);
    if (!ctx) return canvas;
    const plot = { x0: M.left, x1: width - M.right, y0: M.top, y1: height - M.bottom };
    const font = cssVar('--font-ui', 'system-ui');
    const muted = cssVar('--fg-muted');
    const grid = cssVar('--grid');
    ctx.font = `11px ${font}`;
    const [xa, xb] = this.xDomain();
    this.x = makeScale([xa, xb], [plot.x0, plot.x1]);
    const log = this.ctx.logY;
    const ys: number[] = [];
    for (const s of this.series) {
      for (const [px, py] of s.view.points) if (px >= xa && px <= xb) ys.push(py);
      for (const [px, py] of s.view.smoothed ?? []) if (px >= xa && px <= xb) ys.push(py);
    }
    const yDomain = paddedDomain(extent(ys, log), log);
    this.y = makeScale(yDomain, [plot.y1, plot.y0], log);

    if (this.series.length === 0) {
      ctx.fillStyle = muted;
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText(this.message || 'No series selected', width / 2, height / 2);
      return canvas;
    }

    // Grid and ticks.
    ctx.strokeStyle = grid;
    ctx.fillStyle = muted;
    ctx.lineWidth = 1;
    const yTicks = log ? logTicks(yDomain[0], yDomain[1]) : linearTicks(yDomain[0], yDomain[1], 5);
    const yStep = log ? 0 : niceStep(yDomain[1] - yDomain[0], 5);
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    ctx.beginPath();
    for (const t of yTicks) {
      const py = Math.round(this.y.toPx(t)) + 0.5;
      ctx.moveTo(plot.x0, py);
      ctx.lineTo(plot.x1, py);
      ctx.fillText(log ? formatNumber(t, 2) : formatTick(t, yStep), plot.x0 - 6, py);
    }
    ctx.stroke();
    const xTicks = linearTicks(xa, xb, Math.max(2, Math.floor((plot.x1 - plot.x0) / 90)));
    const xStep = niceStep(xb - xa, Math.max(2, Math.floor((plot.x1 - plot.x0) / 90)));
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    ctx.beginPath();
    for (const t of xTicks) {
      const px = Math.round(this.x.toPx(t)) + 0.5;
      ctx.moveTo(px, plot.y0);
      ctx.lineTo(px, plot.y1);
      ctx.fillText(formatTick(t, xStep), px, plot.y1 + 6);
    }
    ctx.stroke();
    ctx.strokeStyle = cssVar('--border');
    ctx.strokeRect(plot.x0 + 0.5, plot.y0 + 0.5, plot.x1 - plot.x0 - 1, plot.y1 - plot.y0 - 1);

    ctx.save();
    ctx.beginPath();
    ctx.rect(plot.x0, plot.y0 - 1, plot.x1 - plot.x0, plot.y1 - plot.y0 + 2);
    ctx.clip();

    // Snapshot positions: short faint ticks along the bottom (what a click can jump to).
    ctx.strokeStyle = cssVar('--tick');
    ctx.globalAlpha = 0.5;
    ctx.beginPath();
    for (const p of this.snapshotPositions()) {
      if (p < xa || p > xb) continue;
      const px = Math.round(this.x.toPx(p)) + 0.5;
      ctx.moveTo(px, plot.y1);
      ctx.lineTo(px, plot.y1 - 3);
    }
    ctx.stroke();
    ctx.globalAlpha = 1;

    for (const s of this.series) this.drawSeries(ctx, s, plot);
    ctx.restore();

    // What the axis is, and what could not be drawn on it.
    ctx.fillStyle = muted;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'top';
    ctx.fillText(AXIS_TITLES[this.ctx.axis], plot.x1, 2 - M.top + plot.y0);
    const notes = chartNotes(this.series.map((s) => s.view), log);
    if (notes) {
      ctx.textAlign = 'left';
      ctx.fillText(notes, plot.x0 + 6, plot.y0 + 4);
    }
    return canvas;
  }

  private drawSeries(
    ctx: CanvasRenderingContext2D,
    s: ChartSeries,
    plot: { x0: number; x1: number; y0: number; y1: number },
  ): void {
    const v = s.view;
    const smoothed = v.smoothed != null && v.smoothed.length > 0;
    // The band: per pixel column, the smallest and largest value kept there.
    if (v.decimated) {
      ctx.fillStyle = s.color;
      ctx.globalAlpha = s.dash ? 0.1 : 0.18;
      for (const b of columnBands(v.points, this.x)) {
        const y0 = this.y.toPx(b.max);
        const y1 = this.y.toPx(b.min);
        ctx.fillRect(b.px, y0, 1, Math.max(1, y1 - y0));
      }
      ctx.globalAlpha = 1;
    }
    const line = (pts: readonly (readonly [number, number])[], alpha: number, width: number) => {
      ctx.strokeStyle = s.color;
      ctx.setLineDash(s.dash ?? []);
      ctx.globalAlpha = alpha;
      ctx.lineWidth = width;
      ctx.lineJoin = 'round';
      ctx.beginPath();
      let started = false;
      for (const [px, py] of pts) {
        const X = this.x.toPx(px);
        const Y = this.y.toPx(py);
        if (!started) {
          ctx.moveTo(X, Y);
          started = true;
        } else ctx.lineTo(X, Y);
      }
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.globalAlpha = 1;
    };
    line(v.points, smoothed ? 0.3 : 1, smoothed ? 1 : 1.5);
    if (smoothed && v.smoothed) line(v.smoothed, 1, 2);
    // NaN: a red × at the top; +Inf: ▲ at the top; -Inf: ▼ at the bottom.
    const danger = cssVar('--danger');
    ctx.strokeStyle = danger;
    ctx.fillStyle = danger;
    ctx.lineWidth = 2;
    for (const m of v.markers) {
      const X = this.x.toPx(m.x);
      if (m.kind === 'nan') {
        const Y = plot.y0 + 7;
        ctx.beginPath();
        ctx.moveTo(X - 4, Y - 4);
        ctx.lineTo(X + 4, Y + 4);
        ctx.moveTo(X + 4, Y - 4);
        ctx.lineTo(X - 4, Y + 4);
        ctx.stroke();
      } else {
        const up = m.kind === 'inf';
        const Y = up ? plot.y0 + 3 : plot.y1 - 3;
        ctx.beginPath();
        ctx.moveTo(X, Y);
        ctx.lineTo(X - 5, Y + (up ? 8 : -8));
        ctx.lineTo(X + 5, Y + (up ? 8 : -8));
        ctx.closePath();
        ctx.fill();
      }
    }
  }

  private draw(): void {
    const { ctx, width, height } = fitCanvas(this.canvas);
    if (!ctx) return;
    if (!this.layer || this.size.width !== width || this.size.height !== height) {
      this.size = { width, height };
      this.layer = this.buildLayer(width, height);
    }
    ctx.clearRect(0, 0, width, height);
    ctx.drawImage(this.layer, 0, 0, width, height);
    const y0 = M.top;
    const y1 = height - M.bottom;
    if (this.cursorX != null && this.series.length > 0) {
      const px = this.x.toPx(this.cursorX);
      if (px >= M.left && px <= width - M.right) {
        ctx.strokeStyle = cssVar('--accent');
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.moveTo(Math.round(px) + 0.5, y0);
        ctx.lineTo(Math.round(px) + 0.5, y1);
        ctx.stroke();
      }
    }
    if (this.hoverPx != null && !this.drag && this.series.length > 0 && this.hoverPx >= M.left && this.hoverPx <= width - M.right) {
      ctx.strokeStyle = cssVar('--fg-muted');
      ctx.setLineDash([3, 3]);
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(Math.round(this.hoverPx) + 0.5, y0);
      ctx.lineTo(Math.round(this.hoverPx) + 0.5, y1);
      ctx.stroke();
      ctx.setLineDash([]);
    }
  }
}
