// Variables at the current snapshot: a tree by path (name, type, shape,
// dtype, stats or preview; changed rows marked), and the selected object's
// detail with its stats over the whole run. While scrubbing, rows are
// updated in place when the paths stay the same, so the tree keeps its
// scroll position and nothing jumps.

import * as api from '../api';
import type { ArrayPicture } from '../bindings/ArrayPicture';
import type { ObjectView } from '../bindings/ObjectView';
import type { Stats } from '../bindings/Stats';
import type { StatsPoint } from '../bindings/StatsPoint';
import { extent, makeScale, paddedDomain } from '../chart';
import { formatBytes, formatCount, formatNumber, formatShape, truncate } from '../format';
import { cellColour, histogramBars } from '../picture';
import { modelBlock } from './modelView';
import { buildTree, filterRows, isModuleType, sortTree, subtreeElements, visibleRows, type SortMode, type TreeNode } from '../tree';
import { clear, cssVar, fitCanvas, h } from './dom';

export interface VariablesHandlers {
  error(message: string): void;
}

/** The stats column: min/max/mean and non-finite counts, or the preview. */
export function statsText(o: Pick<ObjectView, 'stats' | 'preview'>): string {
  const s = o.stats;
  if (!s) return truncate(o.preview.replace(/\s+/g, ' '), 80);
  const parts: string[] = [];
  // Non-finite counts first: they are what matters when present, and must not be cut off.
  if (s.nan > 0) parts.push(`NaN ${formatCount(s.nan)}`);
  if (s.posinf + s.neginf > 0) parts.push(`Inf ${formatCount(s.posinf + s.neginf)}`);
  if (s.count === 1) {
    // A scalar: its value.
    if (parts.length === 0) parts.push(formatNumber(s.min ?? s.mean, 6));
  } else if (s.min != null) {
    parts.push(`min ${formatNumber(s.min)}`, `max ${formatNumber(s.max)}`, `mean ${formatNumber(s.mean)}`);
  } else if (parts.length === 0) {
    parts.push(`${formatCount(s.count)} elements`);
  }
  return parts.join('  ');
}

/** A type without its module path (`Parameter` for `torch.nn.Parameter`); the full name is in the row's title. */
export function shortType(type: string): string {
  if (/[<[(]/.test(type)) return type;
  const i = type.lastIndexOf('.');
  return i >= 0 && i < type.length - 1 ? type.slice(i + 1) : type;
}

function nonfinite(s: Stats | null | undefined): boolean {
  return s != null && s.nan + s.posinf + s.neginf > 0;
}

const COLLAPSE_OVER = 300;

export class VariablesView {
  private readonly treeEl: HTMLElement;
  private readonly detailEl: HTMLElement;
  private readonly filterEl: HTMLInputElement;
  private readonly sortEl: HTMLSelectElement;
  private readonly countEl: HTMLElement;
  private readonly handlers: VariablesHandlers;
  private run: string | null = null;
  private seq: number | null = null;
  private objects: ObjectView[] = [];
  private changed = new Set<string>();
  private roots: TreeNode<ObjectView>[] = [];
  private expanded = new Set<string>();
  private userToggled = false;
  private selected: string | null = null;
  private renderedPaths: string[] | null = null;
  private history = new Map<string, StatsPoint[]>();
  private detailToken = 0;
  private historyCanvas: HTMLCanvasElement | null = null;
  /** Pictures of arrays (histogram, heatmap) by `run|seq|path`. */
  private pictures = new Map<string, ArrayPicture>();
  private pictureToken = 0;
  private historyData: StatsPoint[] = [];
  /** The path `historyData` is of (the chart shows nothing stale for another one). */
  private historyPath: string | null = null;

  constructor(
    treeEl: HTMLElement,
    detailEl: HTMLElement,
    filterEl: HTMLInputElement,
    sortEl: HTMLSelectElement,
    countEl: HTMLElement,
    handlers: VariablesHandlers,
  ) {
    this.treeEl = treeEl;
    this.detailEl = detailEl;
    this.filterEl = filterEl;
    this.sortEl = sortEl;
    this.countEl = countEl;
    this.handlers = handlers;
    treeEl.addEventListener('click', (e) => {
      const target = e.target as Element;
      const row = target.closest<HTMLElement>('[data-path]');
      if (!row?.dataset.path) return;
      if (target.closest('.toggle')) this.toggle(row.dataset.path);
      else this.select(row.dataset.path);
    });
    treeEl.addEventListener('keydown', (e) => this.onKey(e));
    filterEl.addEventListener('input', () => this.render());
    sortEl.addEventListener('change', () => this.rebuild());
    this.render();
    this.showEmptyDetail();
  }

  /** A new run: forget selection, expansion and history. */
  reset(): void {
    this.run = null;
    this.seq = null;
    this.objects = [];
    this.changed = new Set();
    this.expanded = new Set();
    this.userToggled = false;
    this.selected = null;
    this.history.clear();
    this.rebuild();
    this.showEmptyDetail();
  }

  /** Forget cached histories (the run got new snapshots). */
  invalidateHistory(): void {
    this.history.clear();
    if (this.selected && this.run != null && this.seq != null) void this.loadHistory(this.selected);
  }

  setLoading(on: boolean): void {
    this.treeEl.classList.toggle('loading', on);
  }

  setSnapshot(run: string, seq: number, objects: ObjectView[], changed: string[]): void {
    const sameSnapshot = run === this.run && seq === this.seq;
    this.run = run;
    this.seq = seq;
    this.objects = objects;
    this.changed = new Set(changed);
    this.rebuild();
    if (this.selected && !sameSnapshot) void this.loadDetail(this.selected, false);
    else if (this.historyCanvas) this.drawHistory();
  }

  private rebuild(): void {
    this.roots = buildTree(this.objects, (o) => o.path, this.changed);
    sortTree(this.roots, this.sortEl.value as SortMode, (o) => o.nbytes);
    if (!this.userToggled) {
      // Everything open when it fits, else the top level only.
      this.expanded = new Set();
      const all: string[] = [];
      const walk = (ns: TreeNode<ObjectView>[]) => {
        for (const n of ns) {
          if (n.children.length > 0) {
            all.push(n.path);
            walk(n.children);
          }
        }
      };
      walk(this.roots);
      if (this.objects.length <= COLLAPSE_OVER) this.expanded = new Set(all);
    }
    this.render();
  }

  private rows(): TreeNode<ObjectView>[] {
    const q = this.filterEl.value;
    return q.trim() ? filterRows(this.roots, q) : visibleRows(this.roots, this.expanded);
  }

  private render(): void {
    const rows = this.rows();
    this.countEl.textContent = this.objects.length
      ? `${formatCount(this.objects.length)} objects · ${formatCount(this.changed.size)} changed`
      : '';
    const paths = rows.map((r) => r.path);
    const prev = this.renderedPaths;
    const same = prev != null && paths.length === prev.length && paths.every((p, i) => p === prev[i]);
    if (same) {
      // Same rows: update the cells in place (scrubbing keeps the scroll and focus).
      const els = this.treeEl.querySelectorAll<HTMLElement>('.var-row');
      rows.forEach((n, i) => {
        const el = els[i];
        if (el) this.fillRow(el, n);
      });
      return;
    }
    const scroll = this.treeEl.scrollTop;
    clear(this.treeEl);
    if (rows.length === 0) {
      this.treeEl.append(h('div', { class: 'empty' }, this.run ? 'No variables at this snapshot' : 'Open a run to see its variables'));
    }
    const frag = document.createDocumentFragment();
    for (const n of rows) {
      const el = h('div', { class: 'var-row', role: 'treeitem', tabindex: -1, 'data-path': n.path },
        h('span', { class: 'c-name' }, h('span', { class: 'toggle' }), h('span', { class: 'name' })),
        h('span', { class: 'c-type' }),
        h('span', { class: 'c-shape num' }),
        h('span', { class: 'c-dtype' }),
        h('span', { class: 'c-stats num' }),
      );
      this.fillRow(el, n);
      frag.append(el);
    }
    this.treeEl.append(frag);
    this.treeEl.scrollTop = scroll;
    this.renderedPaths = paths;
  }

  private fillRow(el: HTMLElement, n: TreeNode<ObjectView>): void {
    const o = n.item;
    const hasKids = n.children.length > 0;
    const open = this.expanded.has(n.path) || this.filterEl.value.trim() !== '';
    el.style.setProperty('--depth', String(n.depth));
    el.classList.toggle('changed', n.changed);
    el.classList.toggle('changed-below', !n.changed && n.changedBelow);
    el.classList.toggle('selected', n.path === this.selected);
    el.classList.toggle('bad', nonfinite(o?.stats));
    el.setAttribute('aria-selected', String(n.path === this.selected));
    if (hasKids) el.setAttribute('aria-expanded', String(open));
    else el.removeAttribute('aria-expanded');
    el.dataset.changed = n.changed ? 'true' : 'false';
    const cells = el.children;
    const toggle = cells[0].children[0] as HTMLElement;
    toggle.textContent = hasKids ? (open ? '▾' : '▸') : '';
    (cells[0].children[1] as HTMLElement).textContent = n.name;
    el.title = n.path + (o ? `\n${o.type}` : '') + (o?.aliases.length ? `\nalso: ${o.aliases.join(', ')}` : '');
    cells[1].textContent = o ? shortType(o.type) : '';
    cells[2].textContent = o ? formatShape(o.shape) : '';
    cells[3].textContent = o?.dtype ?? '';
    // A module (or a prefix grouping arrays, as `model.fc1`): its parameter count.
    const params = hasKids && (!o || o.kind !== 'array') ? subtreeElements(n, (x) => (x.kind === 'array' ? x.shape : null)) : 0;
    const moduleLike = hasKids && params > 0 && (!o || isModuleType(o.type) || !statsText(o));
    cells[4].textContent = moduleLike ? `${formatCount(params)} params` : o ? statsText(o) : hasKids ? `${n.children.length} items` : '';
  }

  private toggle(path: string): void {
    this.userToggled = true;
    if (this.expanded.has(path)) this.expanded.delete(path);
    else this.expanded.add(path);
    this.render();
  }

  /**
   * Up/Down move the selection, Enter or Space opens or closes the selected
   * node. Left/Right are not the tree's: they scrub the timeline, so a
   * selected variable can be watched changing from snapshot to snapshot.
   */
  private onKey(e: KeyboardEvent): void {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const rows = this.rows();
    if (rows.length === 0) return;
    const at = rows.findIndex((r) => r.path === this.selected);
    let next: number;
    switch (e.key) {
      case 'ArrowDown':
        next = Math.min(rows.length - 1, at + 1);
        break;
      case 'ArrowUp':
        next = Math.max(0, at - 1);
        break;
      case 'Enter':
      case ' ': {
        const node = rows[at];
        if (node && node.children.length > 0) this.toggle(node.path);
        e.preventDefault();
        e.stopPropagation();
        return;
      }
      default:
        return;
    }
    e.preventDefault();
    e.stopPropagation();
    if (rows[next]) {
      this.select(rows[next].path);
      this.rowEl(rows[next].path)?.scrollIntoView?.({ block: 'nearest' });
    }
  }

  /** The row element of `path` (paths hold quotes and brackets: compared, not put in a selector). */
  private rowEl(path: string): HTMLElement | null {
    for (const el of this.treeEl.querySelectorAll<HTMLElement>('.var-row')) if (el.dataset.path === path) return el;
    return null;
  }

  select(path: string): void {
    this.selected = path;
    for (const el of this.treeEl.querySelectorAll<HTMLElement>('.var-row')) {
      const on = el.dataset.path === path;
      el.classList.toggle('selected', on);
      el.setAttribute('aria-selected', String(on));
    }
    this.rowEl(path)?.focus({ preventScroll: true });
    void this.loadDetail(path, true);
  }

  private showEmptyDetail(): void {
    clear(this.detailEl);
    delete this.detailEl.dataset.path;
    this.historyCanvas = null;
    // No empty pane: the detail appears when a variable is selected.
    this.detailEl.hidden = true;
  }

  /** Closes the detail pane (nothing selected). */
  deselect(): void {
    this.selected = null;
    this.detailToken += 1;
    for (const el of this.treeEl.querySelectorAll('.var-row.selected')) el.classList.remove('selected');
    this.showEmptyDetail();
  }

  private async loadDetail(path: string, withHistory: boolean): Promise<void> {
    const run = this.run;
    const seq = this.seq;
    if (run == null || seq == null) return;
    const token = ++this.detailToken;
    const item = this.objects.find((o) => o.path === path) ?? null;
    let detail: ObjectView | null = item;
    if (item || this.roots.length > 0) {
      try {
        detail = await api.objectDetail(run, seq, path);
      } catch (e) {
        // A grouping node (no object at that path) has no detail: not an error worth a banner.
        if (item) this.handlers.error(api.errorMessage(e));
      }
    }
    if (token !== this.detailToken) return;
    this.renderDetail(path, detail);
    if (withHistory || !this.history.has(`${run}|${path}`)) await this.loadHistory(path);
    else {
      this.historyData = this.history.get(`${run}|${path}`) ?? [];
      this.historyPath = path;
      this.drawHistory();
    }
  }

  private async loadHistory(path: string): Promise<void> {
    const run = this.run;
    if (run == null) return;
    const key = `${run}|${path}`;
    let data = this.history.get(key);
    if (!data) {
      try {
        data = await api.objectHistory(run, path);
        this.history.set(key, data);
      } catch {
        data = [];
      }
    }
    if (this.selected !== path || this.run !== run) return;
    this.historyData = data;
    this.historyPath = path;
    this.drawHistory();
  }

  private renderDetail(path: string, o: ObjectView | null): void {
    // The same object at another snapshot keeps the pane's scroll (no jump while scrubbing).
    const scroll = this.detailEl.dataset.path === path ? this.detailEl.scrollTop : 0;
    this.fillDetail(path, o);
    this.detailEl.dataset.path = path;
    this.detailEl.scrollTop = scroll;
  }

  private fillDetail(path: string, o: ObjectView | null): void {
    clear(this.detailEl);
    this.detailEl.hidden = false;
    const close = h('button', { type: 'button', class: 'icon detail-close', title: 'Close the detail', 'aria-label': 'Close the detail' }, '×');
    close.addEventListener('click', () => this.deselect());
    const head = h('div', { class: 'detail-head' }, h('span', { class: 'detail-path mono', text: path }), close);
    this.detailEl.append(head);
    if (!o) {
      const node = this.findNode(path);
      this.detailEl.append(h('div', { class: 'muted' }, node ? `${node.children.length} entries below` : 'Not present at this snapshot'));
      this.historyCanvas = null;
      return;
    }
    const facts: [string, string][] = [
      ['type', o.type],
      ['kind', o.kind],
    ];
    if (o.shape) facts.push(['shape', formatShape(o.shape)]);
    if (o.dtype) facts.push(['dtype', o.dtype]);
    facts.push(['size', formatBytes(o.nbytes)]);
    if (!o.restorable) facts.push(['restorable', `no${o.reason ? `: ${o.reason}` : ''}`]);
    if (o.aliases.length) facts.push(['aliases', o.aliases.join(', ')]);
    if (this.changed.has(path)) facts.push(['changed', 'since the previous snapshot']);
    const dl = h('dl', { class: 'facts' });
    for (const [k, v] of facts) dl.append(h('dt', { text: k }), h('dd', { text: v }));
    this.detailEl.append(dl);
    if (isModuleType(o.type) || o.type.startsWith('torch.optim.')) this.addModel(path);
    this.historyCanvas = h('canvas', { class: 'history', id: 'history-chart' });
    this.detailEl.append(h('div', { class: 'section-title', text: 'over the run: mean, min–max band; red: NaN/Inf' }), this.historyCanvas);
    if (o.stats) this.detailEl.append(statsBlock(o.stats));
    if (o.kind === 'array' && o.shape && o.shape.length > 0) this.addPicture(path);
    const text = o.value ?? o.preview;
    if (text) this.detailEl.append(h('pre', { class: 'preview', text: truncate(text, 4000) }));
    if (o.children && o.children.length > 0) {
      const ul = h('ul', { class: 'children' });
      for (const c of o.children.slice(0, 200)) {
        const li = h('li', {}, h('span', { class: 'mono', text: c.path }), ' ', h('span', { class: 'muted', text: c.summary }));
        ul.append(li);
      }
      this.detailEl.append(h('div', { class: 'section-title', text: `children (${o.children.length})` }), ul);
    }
    this.drawHistory();
  }

  /** The array's histogram (and heatmap for a matrix), read from its chunks by the shell. */
  /** A module's layer tree with parameter counts, or an optimizer's state by parameter (query's model_view). */
  private addModel(path: string): void {
    const run = this.run;
    const seq = this.seq;
    if (run == null || seq == null) return;
    const box = h('div', { class: 'model-box' });
    this.detailEl.append(box);
    api.modelView(run, seq, path).then(
      (view) => {
        if (box.isConnected) box.append(modelBlock(view, (p) => this.select(p)));
      },
      () => box.remove(),
    );
  }

  private addPicture(path: string): void {
    const run = this.run;
    const seq = this.seq;
    if (run == null || seq == null) return;
    const box = h('div', { class: 'picture', id: 'array-picture' });
    this.detailEl.append(h('div', { class: 'section-title', text: 'values' }), box);
    const key = `${run}|${seq}|${path}`;
    const token = ++this.pictureToken;
    const show = (p: ArrayPicture) => {
      if (token !== this.pictureToken || !box.isConnected) return;
      drawPicture(box, p);
    };
    const cached = this.pictures.get(key);
    if (cached) {
      show(cached);
      return;
    }
    box.append(h('div', { class: 'muted small', text: 'Reading…' }));
    api.arrayPicture(run, seq, path).then(
      (p) => {
        if (this.pictures.size > 64) this.pictures.clear();
        this.pictures.set(key, p);
        show(p);
      },
      (e) => {
        if (token === this.pictureToken && box.isConnected) {
          clear(box);
          box.append(h('div', { class: 'muted small', text: api.errorMessage(e) }));
        }
      },
    );
  }

  private findNode(path: string): TreeNode<ObjectView> | null {
    const walk = (ns: TreeNode<ObjectView>[]): TreeNode<ObjectView> | null => {
      for (const n of ns) {
        if (n.path === path) return n;
        const f = walk(n.children);
        if (f) return f;
      }
      return null;
    };
    return walk(this.roots);
  }

  /** The history chart: mean line with a min–max band, NaN snapshots in red, the cursor. */
  private drawHistory(): void {
    const canvas = this.historyCanvas;
    if (!canvas || !canvas.isConnected) return;
    const { ctx, width, height } = fitCanvas(canvas);
    if (!ctx) return;
    ctx.clearRect(0, 0, width, height);
    const current = this.historyPath === this.selected;
    const pts = current ? this.historyData : [];
    const muted = cssVar('--fg-muted');
    ctx.font = `11px ${cssVar('--font-ui', 'system-ui')}`;
    if (pts.length === 0) {
      ctx.fillStyle = muted;
      ctx.fillText(current ? 'No history' : 'Loading…', 6, height / 2);
      return;
    }
    const seqs = pts.map((p) => p.seq);
    const xs = extent(seqs) ?? [0, 1];
    const x = makeScale(xs[0] === xs[1] ? [xs[0] - 1, xs[1] + 1] : xs, [6, width - 6]);
    const vals: number[] = [];
    for (const p of pts) {
      if (p.stats?.min != null) vals.push(p.stats.min);
      if (p.stats?.max != null) vals.push(p.stats.max);
      if (p.stats?.mean != null) vals.push(p.stats.mean);
    }
    const y = makeScale(paddedDomain(extent(vals), false), [height - 14, 6]);
    const accent = cssVar('--accent-2');
    // Band, drawn as a polygon per stretch of consecutive points with stats.
    ctx.fillStyle = accent;
    ctx.globalAlpha = 0.2;
    let stretch: StatsPoint[] = [];
    const flush = () => {
      if (stretch.length > 0) {
        ctx.beginPath();
        stretch.forEach((p, i) => {
          const X = x.toPx(p.seq);
          const Y = y.toPx(p.stats?.max ?? 0);
          if (i === 0) ctx.moveTo(X, Y);
          else ctx.lineTo(X, Y);
        });
        for (let i = stretch.length - 1; i >= 0; i--) ctx.lineTo(x.toPx(stretch[i].seq), y.toPx(stretch[i].stats?.min ?? 0));
        ctx.closePath();
        ctx.fill();
      }
      stretch = [];
    };
    for (const p of pts) {
      if (p.stats?.min != null && p.stats.max != null) stretch.push(p);
      else flush();
    }
    flush();
    ctx.globalAlpha = 1;
    ctx.strokeStyle = accent;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    let pen = false;
    for (const p of pts) {
      const m = p.stats?.mean;
      if (m == null) {
        pen = false;
        continue;
      }
      if (pen) ctx.lineTo(x.toPx(p.seq), y.toPx(m));
      else ctx.moveTo(x.toPx(p.seq), y.toPx(m));
      pen = true;
    }
    ctx.stroke();
    ctx.fillStyle = cssVar('--danger');
    for (const p of pts) {
      if (nonfinite(p.stats)) ctx.fillRect(x.toPx(p.seq) - 1.5, 2, 3, 8);
    }
    if (this.seq != null) {
      ctx.strokeStyle = cssVar('--accent');
      ctx.beginPath();
      const X = Math.round(x.toPx(this.seq)) + 0.5;
      ctx.moveTo(X, 0);
      ctx.lineTo(X, height - 12);
      ctx.stroke();
    }
    ctx.fillStyle = muted;
    ctx.textBaseline = 'bottom';
    ctx.fillText(`#${xs[0]}`, 6, height);
    ctx.textAlign = 'right';
    ctx.fillText(`#${xs[1]}`, width - 6, height);
    ctx.textAlign = 'left';
    ctx.textBaseline = 'alphabetic';
  }
}

/** Stats as a small table plus two bars: where min, mean and max fall around zero, and finite vs NaN/Inf. */
export function statsBlock(s: Stats): HTMLElement {
  const table = h('table', { class: 'stats' });
  const row = (k: string, v: string) => table.append(h('tr', {}, h('th', { text: k }), h('td', { class: 'num', text: v })));
  row('count', formatCount(s.count));
  row('min', formatNumber(s.min, 6));
  row('max', formatNumber(s.max, 6));
  row('mean', formatNumber(s.mean, 6));
  row('L2', formatNumber(s.l2, 6));
  row('NaN', formatCount(s.nan));
  row('+Inf / -Inf', `${formatCount(s.posinf)} / ${formatCount(s.neginf)}`);
  const wrap = h('div', { class: 'stats-block' }, table);
  if (s.min != null && s.max != null) {
    const lo = Math.min(s.min, 0);
    const hi = Math.max(s.max, 0);
    const span = hi - lo || 1;
    const pct = (v: number) => `${(((v - lo) / span) * 100).toFixed(2)}%`;
    const range = h('div', { class: 'range-bar', title: 'min – max (with 0 and the mean)' },
      h('span', { class: 'range-fill', style: `left:${pct(s.min)};width:calc(${pct(s.max)} - ${pct(s.min)})` }),
      h('span', { class: 'range-zero', style: `left:${pct(0)}` }),
      s.mean != null ? h('span', { class: 'range-mean', style: `left:${pct(s.mean)}` }) : null,
    );
    wrap.append(range);
  }
  if (s.count > 0) {
    const bad = s.nan + s.posinf + s.neginf;
    const share = (n: number) => `${((n / s.count) * 100).toFixed(2)}%`;
    wrap.append(h('div', { class: 'finite-bar', title: `${formatCount(s.count - bad)} finite, ${formatCount(s.nan)} NaN, ${formatCount(s.posinf + s.neginf)} Inf` },
      h('span', { class: 'finite', style: `width:${share(s.count - bad)}` }),
      h('span', { class: 'nan', style: `width:${share(s.nan)}` }),
      h('span', { class: 'inf', style: `width:${share(s.posinf + s.neginf)}` }),
    ));
  }
  return wrap;
}

/** Draws an array's histogram and heatmap into `box` (replacing what was there). */
function drawPicture(box: HTMLElement, p: ArrayPicture): void {
  clear(box);
  const note = p.sampled ? `sampled: ${formatCount(p.elements_read)} elements read` : `${formatCount(p.elements_read)} elements`;
  if (p.histogram) {
    const hist = p.histogram;
    const canvas = h('canvas', { class: 'histogram', id: 'array-histogram' });
    box.append(canvas);
    const { ctx, width, height } = fitCanvas(canvas);
    if (ctx) {
      ctx.clearRect(0, 0, width, height);
      ctx.fillStyle = cssVar('--accent', '#3b82f6');
      for (const b of histogramBars(hist, width, height - 14)) ctx.fillRect(b.x + 0.5, b.y, Math.max(1, b.w - 1), b.h);
      ctx.fillStyle = cssVar('--fg-muted');
      ctx.font = `10px ${cssVar('--font-ui', 'system-ui')}`;
      ctx.fillText(formatNumber(hist.min), 0, height - 2);
      const right = formatNumber(hist.max);
      ctx.fillText(right, width - ctx.measureText(right).width, height - 2);
    }
    box.append(h('div', { class: 'muted small', text: `${note}${hist.nonfinite ? ` · ${formatCount(hist.nonfinite)} NaN/Inf not binned` : ''}` }));
  }
  if (p.heatmap) {
    const map = p.heatmap;
    const canvas = h('canvas', { class: 'heatmap', id: 'array-heatmap' });
    box.append(canvas);
    const { ctx, width, height } = fitCanvas(canvas);
    if (ctx) {
      const cw = width / map.cols;
      const ch = height / map.rows;
      for (let r = 0; r < map.rows; r++) {
        for (let c = 0; c < map.cols; c++) {
          ctx.fillStyle = cellColour(map.values[r * map.cols + c] ?? null, map.min, map.max);
          ctx.fillRect(c * cw, r * ch, Math.ceil(cw), Math.ceil(ch));
        }
      }
    }
    box.append(h('div', { class: 'muted small', text: `${formatCount(map.source_rows)} × ${formatCount(map.source_cols)} as ${map.rows} × ${map.cols} cells (means)` }));
  }
}
