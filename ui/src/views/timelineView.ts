// The timeline canvas: a tick per snapshot, epoch groups, trigger marks, the
// first NaN, and the cursor. The ticks are drawn once into a layer (from
// arrays, never a DOM node per snapshot); moving the cursor only copies the
// layer and draws the cursor on it.

import type { SnapshotMeta } from '../bindings/SnapshotMeta';
import {
  describeSnapshot,
  epochGroups,
  hitTest,
  indexAtX,
  labelledGroups,
  makeLayout,
  tickClass,
  xOfIndex,
  type EpochGroup,
  type TickClass,
  type TimelineLayout,
} from '../timeline';
import { cssVar, fitCanvas, layerCanvas, placeTooltip } from './dom';

export interface TimelineHandlers {
  /** The user moved the cursor to the snapshot at `index`. */
  select(index: number): void;
  /** A click (shift: Shift+click) on the snapshot at `index`: the Diff panel's A and B. */
  clicked?(index: number, shift: boolean): void;
}

const LABEL_H = 16;

export class TimelineView {
  private readonly canvas: HTMLCanvasElement;
  private readonly tip: HTMLElement;
  private readonly handlers: TimelineHandlers;
  private snapshots: SnapshotMeta[] = [];
  private classes: TickClass[] = [];
  private groups: EpochGroup[] = [];
  private nanIndex = -1;
  private cursor = -1;
  private layer: HTMLCanvasElement | null = null;
  private layout: TimelineLayout = makeLayout(0, 1);
  private height = 1;
  private dragging = false;
  private emptyText = 'Open a run to see its snapshots';

  constructor(canvas: HTMLCanvasElement, tip: HTMLElement, handlers: TimelineHandlers) {
    this.canvas = canvas;
    this.tip = tip;
    this.handlers = handlers;
    canvas.addEventListener('pointerdown', (e) => {
      if (this.snapshots.length === 0) return;
      if (e.shiftKey) {
        // Shift+click marks a snapshot (diff B) without moving the cursor.
        const i = indexAtX(this.layout, e.offsetX);
        if (i >= 0) this.handlers.clicked?.(i, true);
        return;
      }
      this.dragging = true;
      canvas.setPointerCapture(e.pointerId);
      canvas.focus();
      this.pick(e.offsetX);
      const i = indexAtX(this.layout, e.offsetX);
      if (i >= 0) this.handlers.clicked?.(i, false);
    });
    canvas.addEventListener('pointermove', (e) => {
      if (this.dragging) this.pick(e.offsetX);
      this.hover(e);
    });
    const stop = (e: PointerEvent) => {
      this.dragging = false;
      if (canvas.hasPointerCapture(e.pointerId)) canvas.releasePointerCapture(e.pointerId);
    };
    canvas.addEventListener('pointerup', stop);
    canvas.addEventListener('pointercancel', stop);
    canvas.addEventListener('pointerleave', () => {
      this.tip.hidden = true;
    });
    new ResizeObserver(() => this.invalidate()).observe(canvas);
  }

  /** New snapshots (a run opened, or more arrived); `nanSeq`: the first non-finite snapshot. */
  setData(snapshots: SnapshotMeta[], nanSeq: number | null): void {
    this.snapshots = snapshots;
    this.emptyText = 'This run has no snapshots yet';
    this.classes = snapshots.map((s) => tickClass(s.trigger, s.label));
    this.groups = epochGroups(snapshots);
    this.nanIndex = nanSeq == null ? -1 : snapshots.findIndex((s) => s.seq === nanSeq);
    this.invalidate();
  }

  setCursor(index: number): void {
    this.cursor = index;
    const s = this.snapshots[index];
    this.canvas.dataset.seq = s ? String(s.seq) : '';
    this.canvas.setAttribute('aria-valuemin', String(this.snapshots[0]?.seq ?? 0));
    this.canvas.setAttribute('aria-valuemax', String(this.snapshots[this.snapshots.length - 1]?.seq ?? 0));
    this.canvas.setAttribute('aria-valuenow', s ? String(s.seq) : '');
    this.canvas.setAttribute('aria-valuetext', s ? describeSnapshot(s) : 'no snapshot');
    this.draw();
  }

  /** Redraws the tick layer (size, theme or data changed). */
  invalidate(): void {
    this.layer = null;
    this.draw();
  }

  private pick(x: number): void {
    const i = indexAtX(this.layout, x);
    if (i >= 0 && i !== this.cursor) this.handlers.select(i);
  }

  private hover(e: PointerEvent): void {
    const i = hitTest(this.layout, e.offsetX, Math.max(4, this.layout.width / Math.max(1, this.snapshots.length)));
    const s = this.snapshots[i];
    if (!s) {
      this.tip.hidden = true;
      return;
    }
    this.tip.textContent = describeSnapshot(s);
    placeTooltip(this.tip, e.clientX, e.clientY);
  }

  private buildLayer(width: number, height: number): HTMLCanvasElement {
    const { canvas, ctx } = layerCanvas(width, height);
    if (!ctx) return canvas;
    const n = this.snapshots.length;
    const layout = this.layout;
    const muted = cssVar('--fg-muted');
    const bandA = cssVar('--tl-band-a');
    const bandB = cssVar('--tl-band-b');
    ctx.font = `11px ${cssVar('--font-ui', 'system-ui')}`;
    ctx.textBaseline = 'middle';
    // Epoch bands, alternating.
    const step = n > 1 ? (layout.width - layout.padLeft - layout.padRight) / (n - 1) : 0;
    this.groups.forEach((g, k) => {
      if (g.epoch == null) return;
      const x0 = xOfIndex(layout, g.start) - step / 2;
      const x1 = xOfIndex(layout, g.end) + step / 2;
      ctx.fillStyle = k % 2 === 0 ? bandA : bandB;
      ctx.fillRect(x0, 0, Math.max(1, x1 - x0), height);
    });
    ctx.fillStyle = muted;
    // Labels need room for the widest one; "e12" when even that is crowded.
    const maxEpoch = this.groups.reduce((m, g) => Math.max(m, g.epoch ?? 0), 0);
    const longGap = ctx.measureText(`epoch ${maxEpoch}`).width + 12;
    const shortGap = ctx.measureText(`e${maxEpoch}`).width + 10;
    const named = this.groups.filter((g) => g.epoch != null).length;
    const short = named * longGap > width * 1.5;
    for (const g of labelledGroups(layout, this.groups, short ? shortGap : longGap)) {
      ctx.fillText(short ? `e${g.epoch}` : `epoch ${g.epoch}`, Math.max(2, xOfIndex(layout, g.start) - step / 2 + 3), LABEL_H / 2 + 1);
    }
    // Everything after the first NaN: a faint red wash.
    if (this.nanIndex >= 0) {
      const x = xOfIndex(layout, this.nanIndex);
      ctx.fillStyle = cssVar('--nan-wash');
      ctx.fillRect(x, LABEL_H, width - x, height - LABEL_H);
    }
    // Ticks, one path per class (plain ones first, marked ones on top).
    const base = height - 6;
    const heights: Record<TickClass, number> = { plain: 14, exit: 22, explicit: 26, error: 30 };
    const colours: Record<TickClass, string> = {
      plain: cssVar('--tick'),
      exit: muted,
      explicit: cssVar('--accent-2'),
      error: cssVar('--danger'),
    };
    const order: TickClass[] = ['plain', 'exit', 'explicit', 'error'];
    for (const cls of order) {
      ctx.beginPath();
      let any = false;
      for (let i = 0; i < n; i++) {
        if (this.classes[i] !== cls) continue;
        const x = Math.round(xOfIndex(layout, i)) + 0.5;
        ctx.moveTo(x, base);
        ctx.lineTo(x, base - heights[cls]);
        any = true;
      }
      if (!any) continue;
      ctx.strokeStyle = colours[cls];
      ctx.lineWidth = cls === 'plain' ? 1 : 2;
      // Dense plain ticks merge into a band: lighter, so marked ones stand out.
      ctx.globalAlpha = cls === 'plain' && n > width / 3 ? 0.45 : 1;
      ctx.stroke();
      ctx.globalAlpha = 1;
      if (cls === 'explicit' || cls === 'error') {
        // A head on marked ticks: a dot for explicit, a square for errors.
        ctx.fillStyle = colours[cls];
        for (let i = 0; i < n; i++) {
          if (this.classes[i] !== cls) continue;
          const x = xOfIndex(layout, i);
          const y = base - heights[cls];
          if (cls === 'error') ctx.fillRect(x - 3, y - 3, 6, 6);
          else {
            ctx.beginPath();
            ctx.arc(x, y, 3, 0, Math.PI * 2);
            ctx.fill();
          }
        }
      }
    }
    if (this.nanIndex >= 0) {
      const x = xOfIndex(layout, this.nanIndex);
      ctx.fillStyle = cssVar('--danger');
      ctx.beginPath();
      ctx.moveTo(x - 6, LABEL_H);
      ctx.lineTo(x + 6, LABEL_H);
      ctx.lineTo(x, LABEL_H + 9);
      ctx.closePath();
      ctx.fill();
      ctx.fillText('NaN', Math.min(width - 26, x + 8), LABEL_H + 5);
    }
    // Baseline.
    ctx.fillStyle = cssVar('--border');
    ctx.fillRect(0, base, width, 1);
    return canvas;
  }

  private draw(): void {
    const { ctx, width, height } = fitCanvas(this.canvas);
    if (!ctx) return;
    if (!this.layer || this.layout.width !== width || this.height !== height || this.layout.count !== this.snapshots.length) {
      this.layout = makeLayout(this.snapshots.length, width, 10);
      this.height = height;
      this.layer = this.buildLayer(width, height);
    }
    ctx.clearRect(0, 0, width, height);
    ctx.drawImage(this.layer, 0, 0, width, height);
    if (this.snapshots.length === 0) {
      ctx.fillStyle = cssVar('--fg-muted');
      ctx.font = `12px ${cssVar('--font-ui', 'system-ui')}`;
      ctx.textBaseline = 'middle';
      ctx.fillText(this.emptyText, 10, height / 2);
      return;
    }
    const s = this.snapshots[this.cursor];
    if (!s) return;
    const x = Math.round(xOfIndex(this.layout, this.cursor)) + 0.5;
    const accent = cssVar('--accent');
    ctx.strokeStyle = accent;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(x, LABEL_H);
    ctx.lineTo(x, height);
    ctx.stroke();
    // The seq in a little flag at the top, kept inside the canvas.
    const text = `#${s.seq}`;
    ctx.font = `600 11px ${cssVar('--font-ui', 'system-ui')}`;
    const w = ctx.measureText(text).width + 8;
    const fx = Math.min(width - w, Math.max(0, x - w / 2));
    ctx.fillStyle = accent;
    ctx.fillRect(fx, 0, w, LABEL_H);
    ctx.fillStyle = cssVar('--on-accent', '#fff');
    ctx.textBaseline = 'middle';
    ctx.fillText(text, fx + 4, LABEL_H / 2 + 1);
  }
}
