// The application: the open run, the cursor, and the wiring between the
// sidebar, the timeline, the chart, the variables and the dialogs. All data
// comes through ./api; every failure lands in the error banner.

import * as api from './api';
import type { RunSummary } from './bindings/RunSummary';
import type { RunView } from './bindings/RunView';
import type { SeriesInfo } from './bindings/SeriesInfo';
import type { SeriesView } from './bindings/SeriesView';
import type { SnapshotMeta } from './bindings/SnapshotMeta';
import type { XAxis } from './bindings/XAxis';
import { snapshotX, type Range } from './chart';
import { compareCandidates, compareDash, compareFetchList, compareLabel, lighter, missingNote, type CompareFetch } from './compare';
import { followIndex, resumedRun, waitForResumedRun } from './follow';
import { formatCount, formatDuration, formatNumber, formatTime } from './format';
import { describeSnapshot, indexOfSeq, stepIndex } from './timeline';
import { progressText, showExportDialog, showRestoreDialog } from './views/actions';
import { Banner } from './views/banner';
import { showConsole } from './views/consolePanel';
import { ChartView, type ChartSeries } from './views/chartView';
import { ComparePicker } from './views/comparePicker';
import { showDiffPanel } from './views/diffPanel';
import { byId, clear, cssVar, debounce, h } from './views/dom';
import { modalOpen } from './views/modal';
import { showNanPanel } from './views/nanPanel';
import { Sidebar, scriptName } from './views/sidebar';
import { TimelineView } from './views/timelineView';
import { VariablesView } from './views/variablesView';
import { showWarningsPanel, warningCountText } from './views/warningsPanel';

/** The last component of a series name: `loss` of `train:loss`, `epoch_loss` of `stats["epoch_loss"]`. */
export function seriesLeaf(name: string): string {
  const m = /(?:^|[:.])([^:.[\]]+)$/.exec(name) ?? /\[\s*["']?([^"'\]]*)["']?\s*\]$/.exec(name);
  return (m ? m[1] : name).toLowerCase();
}

/**
 * Series shown by default: those whose own name says loss (`train:loss`,
 * `val_loss`, not `loss_fn.ignore_index`), preferring ones with more than one
 * point; else the first three that change; else the first three.
 */
export function defaultSeries(series: readonly SeriesInfo[]): string[] {
  const isLoss = (s: SeriesInfo) => seriesLeaf(s.name).includes('loss');
  const moving = (s: SeriesInfo) => s.points > 1;
  const losses = series.filter(isLoss);
  const pick = losses.some(moving) ? losses.filter(moving) : losses.length > 0 ? losses : series.some(moving) ? series.filter(moving).slice(0, 3) : series.slice(0, 3);
  return pick.map((s) => s.name);
}

/** A small LRU map (series views by run, name, range and width). */
export class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly limit: number) {}
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, v: V): void {
    this.map.delete(key);
    this.map.set(key, v);
    while (this.map.size > this.limit) {
      const oldest = this.map.keys().next().value;
      if (oldest === undefined) break;
      this.map.delete(oldest);
    }
  }
  /** Drops every key starting with `prefix`. */
  dropPrefix(prefix: string): void {
    for (const k of [...this.map.keys()]) if (k.startsWith(prefix)) this.map.delete(k);
  }
  get size(): number {
    return this.map.size;
  }
}

const PALETTE = 8;

export class App {
  private readonly banner: Banner;
  private readonly sidebar: Sidebar;
  private readonly timeline: TimelineView;
  private readonly chart: ChartView;
  private readonly variables: VariablesView;
  private readonly comparePicker: ComparePicker;
  /** The store's runs (as last listed), and the runs drawn with the open one (picked order; reset when another run opens). */
  private runs: RunSummary[] = [];
  private compared: string[] = [];
  /** The compared runs' series last drawn (for the legend). */
  private comparedShown: ChartSeries[] = [];
  private storeText = '';
  private view: RunView | null = null;
  private cursor = -1;
  private selectedSeries = new Map<string, Set<string>>();
  private axis: XAxis = 'step';
  private smoothing = 0;
  private logY = false;
  private readonly seriesCache = new Lru<SeriesView>(300);
  private seriesGen = 0;
  private objectsToken = 0;
  private openToken = 0;
  private busy = new Set<string>();
  private readonly fetchObjectsSoon: ((seq: number) => void) & { cancel(): void };
  private readonly fetchSeriesSoon: (() => void) & { cancel(): void };
  /** Ends the listeners on document and window (dispose). */
  private readonly lifetime = new AbortController();
  private unlistenStore: (() => void) | null = null;
  private unlistenProgress: (() => void) | null = null;
  private refreshing = false;
  private pendingRuns: string[] | null = null;
  /** The latest progress line of a long task (export, import), while it runs. */
  private progress = '';
  /** The run resumed from here: while it is open, the cursor stays at its end as it grows (unless moved). */
  private following: string | null = null;
  /** Bumped by each Resume: an older one stops waiting for its run. */
  private resumeToken = 0;

  constructor() {
    this.banner = new Banner(byId('error-banner'));
    this.sidebar = new Sidebar(byId('runs'), { open: (id) => void this.openRun(id) });
    const tip = byId('tooltip');
    this.timeline = new TimelineView(byId<HTMLCanvasElement>('timeline'), tip, { select: (i) => this.setCursor(i) });
    this.chart = new ChartView(byId<HTMLCanvasElement>('chart'), tip, {
      requestRange: () => void this.fetchSeries(),
      selectSnapshot: (i) => this.setCursor(i),
    });
    this.variables = new VariablesView(
      byId('variables'),
      byId('variable-detail'),
      byId<HTMLInputElement>('variables-filter'),
      byId<HTMLSelectElement>('variables-sort'),
      byId('variables-count'),
      { error: (m) => this.error(m) },
    );
    this.fetchObjectsSoon = debounce((seq: number) => void this.fetchObjects(seq), 60);
    this.fetchSeriesSoon = debounce(() => void this.fetchSeries(), 150);
    this.chart.setSeries([], 'Open a run from the list on the left');
    this.comparePicker = new ComparePicker(byId<HTMLDetailsElement>('compare-picker'), byId('compare-list'), byId('compare-count'), byId('compare-note'), {
      change: (ids) => {
        this.compared = ids;
        void this.fetchSeries();
      },
    });
    this.wire();
    // The compare picker is a popup too: a click elsewhere closes it.
    document.addEventListener('mousedown', (e) => {
      if (!this.comparePicker.contains(e.target as Node)) this.comparePicker.close();
    }, { signal: this.lifetime.signal });
  }

  /**
   * Starts listening for store changes and progress, asks the shell what to
   * show first (a bundle the app was opened with is imported by then), and
   * loads the store's runs.
   */
  async start(): Promise<void> {
    this.setStatus();
    if (!api.inShell()) {
      // A plain browser on a production build: say so once, instead of one failure per command.
      this.error(api.NO_SHELL);
      return;
    }
    try {
      this.unlistenStore = await api.onStoreChanged((runs) => void this.onStoreChanged(runs));
      this.unlistenProgress = await api.onProgress((p) => {
        this.progress = p.total > 0 && p.done >= p.total ? '' : progressText(p);
        this.setStatus();
      });
    } catch (e) {
      this.error(`Live updates are off: ${api.errorMessage(e)}`);
    }
    let openFirst: string | null = null;
    try {
      const first = await api.startup();
      if (first.error) this.error(first.error);
      openFirst = first.open_run;
    } catch (e) {
      this.error(api.errorMessage(e));
    }
    await this.loadRuns();
    if (openFirst) await this.openRun(openFirst);
  }

  /** Stops listening (document keys, theme changes, store events) and cancels pending fetches. */
  dispose(): void {
    this.lifetime.abort();
    this.unlistenStore?.();
    this.unlistenProgress?.();
    this.fetchObjectsSoon.cancel();
    this.fetchSeriesSoon.cancel();
  }

  error(message: string): void {
    this.banner.show(message);
  }

  get currentSnapshot(): SnapshotMeta | null {
    return this.view?.snapshots[this.cursor] ?? null;
  }

  private wire(): void {
    byId('import-button').addEventListener('click', () => void this.importBundle());
    byId('refresh-button').addEventListener('click', () => void this.loadRuns());
    byId('nan-button').addEventListener('click', () => void this.showNan());
    byId('warnings-button').addEventListener('click', () => void this.showWarnings());
    byId('diff-button').addEventListener('click', () => this.showDiff());
    byId('restore-button').addEventListener('click', () => {
      const s = this.currentSnapshot;
      if (this.view && s) this.showRestore(s.seq);
    });
    byId('export-button').addEventListener('click', () => {
      if (!this.view) return;
      showExportDialog({ run: this.view.run.id, seq: this.currentSnapshot?.seq ?? null, script: this.view.run.script }, { error: (m) => this.error(m) });
    });
    const smoothing = byId<HTMLInputElement>('smoothing');
    smoothing.addEventListener('input', () => {
      this.smoothing = Math.min(0.99, Math.max(0, Number(smoothing.value) || 0));
      byId('smoothing-value').textContent = this.smoothing.toFixed(2);
      this.fetchSeriesSoon();
    });
    byId<HTMLInputElement>('log-y').addEventListener('change', (e) => {
      this.logY = (e.target as HTMLInputElement).checked;
      this.updateChartContext();
      void this.fetchSeries();
    });
    byId<HTMLSelectElement>('x-axis').addEventListener('change', (e) => {
      this.axis = (e.target as HTMLSelectElement).value as XAxis;
      this.updateChartContext();
      void this.fetchSeries();
    });
    byId('series-list').addEventListener('change', (e) => {
      const box = e.target as HTMLInputElement;
      const name = box.dataset.series;
      if (!this.view || name == null) return;
      const set = this.selectedFor(this.view);
      if (box.checked) set.add(name);
      else set.delete(name);
      this.renderLegend();
      void this.fetchSeries();
    });
    const signal = this.lifetime.signal;
    document.addEventListener('keydown', (e) => this.onKey(e), { signal });
    // The series picker is a popup: a click elsewhere closes it.
    const picker = byId<HTMLDetailsElement>('series-picker');
    document.addEventListener(
      'mousedown',
      (e) => {
        if (picker.open && !picker.contains(e.target as Node)) picker.open = false;
      },
      { signal },
    );
    window.matchMedia?.('(prefers-color-scheme: dark)').addEventListener?.(
      'change',
      () => {
        // Colours come from CSS variables: redraw with the new theme's.
        this.timeline.invalidate();
        this.renderSeriesPicker();
        void this.fetchSeries();
      },
      { signal },
    );
  }

  private onKey(e: KeyboardEvent): void {
    if (!this.view || modalOpen() || e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
    const t = e.target as HTMLElement | null;
    if (t && t.closest('input, select, textarea, [contenteditable="true"]')) return;
    const next = stepIndex(this.cursor, this.view.snapshots.length, e.key, e.shiftKey);
    if (next == null) return;
    e.preventDefault();
    this.setCursor(next);
  }

  private busyOn(what: string, on: boolean): void {
    if (on) this.busy.add(what);
    else this.busy.delete(what);
    this.setStatus();
  }

  private setStatus(): void {
    const parts: string[] = [];
    if (this.storeText) parts.push(this.storeText);
    const v = this.view;
    const s = this.currentSnapshot;
    if (v && s) parts.push(`${scriptName(v.run.script)} · snapshot ${formatCount(this.cursor + 1)} of ${formatCount(v.snapshots.length)} (seq ${s.seq})`);
    if (this.progress) parts.push(this.progress);
    if (this.busy.size > 0) parts.push(`loading ${[...this.busy].join(', ')}…`);
    byId('status').textContent = parts.join('  ·  ') || 'Ready';
  }

  async loadRuns(): Promise<void> {
    this.busyOn('runs', true);
    try {
      const [runs, info] = await Promise.all([api.listRuns(), api.storeInfo().catch(() => null)]);
      this.sidebar.setRuns(runs);
      this.sidebar.setSelected(this.view?.run.id ?? null);
      this.runs = runs;
      this.renderCompare();
      if (info) {
        this.storeText = `${formatCount(info.runs)} run${info.runs === 1 ? '' : 's'} in ${info.path}`;
        const el = byId('store-path');
        el.textContent = info.path;
        el.title = info.path;
      }
    } catch (e) {
      this.error(api.errorMessage(e));
    } finally {
      this.busyOn('runs', false);
    }
  }

  /**
   * Opens a run (or re-reads the open one, keeping the cursor's seq when
   * `keep`; with `follow`, a cursor at the end stays at the new end).
   */
  async openRun(id: string, keep = false, follow = false): Promise<void> {
    const token = ++this.openToken;
    const keepSeq = keep ? this.currentSnapshot?.seq ?? null : null;
    const oldCursor = this.cursor;
    const oldLength = this.view?.snapshots.length ?? 0;
    this.busyOn('run', true);
    let view: RunView;
    try {
      view = await api.openRun(id);
    } catch (e) {
      if (token === this.openToken) this.error(api.errorMessage(e));
      return;
    } finally {
      this.busyOn('run', false);
    }
    if (token !== this.openToken) return;
    const same = this.view?.run.id === view.run.id;
    this.view = view;
    if (!same) {
      this.variables.reset();
      this.chart.resetRange();
      this.compared = [];
      this.comparedShown = [];
    }
    this.sidebar.setSelected(view.run.id);
    this.renderHeader();
    this.renderSeriesPicker();
    this.renderCompare();
    this.timeline.setData(view.snapshots, view.nan?.first?.seq ?? null);
    this.updateChartContext();
    const seqs = view.snapshots.map((s) => s.seq);
    const index = follow && same
      ? followIndex(oldCursor, oldLength, view.snapshots.length)
      : keepSeq != null && same ? indexOfSeq(seqs, keepSeq) : view.snapshots.length - 1;
    // Re-reading the open run at the same snapshot: its variables have not changed, no need to fetch them.
    const unchanged = same && keepSeq != null && seqs[index] === keepSeq;
    this.cursor = -1;
    this.setCursor(index, true, !unchanged);
    await this.fetchSeries();
  }

  private renderHeader(): void {
    const v = this.view;
    const status = byId('run-status');
    const enabled = v != null;
    for (const id of ['nan-button', 'diff-button', 'restore-button', 'export-button']) {
      (byId<HTMLButtonElement>(id)).disabled = !enabled || (id !== 'export-button' && id !== 'nan-button' && (v?.snapshots.length ?? 0) === 0);
    }
    const warnings = byId<HTMLButtonElement>('warnings-button');
    if (!v) {
      byId('run-script').textContent = 'No run open';
      status.hidden = true;
      warnings.hidden = true;
      byId('run-id').textContent = '';
      byId('run-count').textContent = '';
      return;
    }
    const r = v.run;
    byId('run-script').textContent = scriptName(r.script);
    byId('run-script').title = r.script;
    status.hidden = false;
    status.textContent = r.status;
    status.className = `badge status-${r.status}`;
    byId('run-id').textContent = r.id;
    byId('run-count').textContent = `${formatCount(v.snapshots.length)} snapshots · ${formatDuration(r.duration)} · started ${formatTime(r.started_at)}${r.parent ? ` · resumed from ${r.parent}` : ''}`;
    const nan = byId('nan-button');
    nan.classList.toggle('alert', v.nan?.first != null);
    nan.title = v.nan?.first ? `NaN or Inf first at snapshot #${v.nan.first.seq}` : 'Where NaN or Inf first appeared';
    // What the capture agent could not do (a snapshot that failed): never silent.
    const count = v.warnings.length;
    warnings.hidden = count === 0;
    warnings.textContent = `⚠ ${warningCountText(count)}`;
    warnings.title = count > 0 ? `Last: ${v.warnings[count - 1].summary}` : '';
  }

  /** Moves the cursor to the snapshot at `index` (drawing at once, fetching the variables shortly). */
  setCursor(index: number, immediate = false, fetch = true): void {
    const v = this.view;
    if (!v || v.snapshots.length === 0) {
      this.cursor = -1;
      this.timeline.setCursor(-1);
      this.chart.setCursorX(null);
      byId('cursor-info').textContent = '';
      this.setStatus();
      return;
    }
    const i = Math.min(v.snapshots.length - 1, Math.max(0, index));
    if (i === this.cursor) return;
    this.cursor = i;
    const s = v.snapshots[i];
    this.timeline.setCursor(i);
    this.chart.setCursorX(snapshotX(s, this.axis, v.run.started_at));
    byId('cursor-info').textContent = `${describeSnapshot(s)} · ${formatTime(s.time, true)} · ${formatNumber(s.capture_ms, 3)} ms capture`;
    this.setStatus();
    if (!fetch) return;
    if (immediate) {
      this.fetchObjectsSoon.cancel();
      void this.fetchObjects(s.seq);
    } else {
      this.fetchObjectsSoon(s.seq);
    }
  }

  private async fetchObjects(seq: number): Promise<void> {
    const v = this.view;
    if (!v) return;
    const run = v.run.id;
    const token = ++this.objectsToken;
    this.variables.setLoading(true);
    this.busyOn('variables', true);
    try {
      const objs = await api.snapshotObjects(run, seq);
      // Stale: the cursor or the run moved on while this was in flight.
      if (token !== this.objectsToken || this.view?.run.id !== run) return;
      this.variables.setSnapshot(run, seq, objs.objects, objs.changed);
    } catch (e) {
      if (token === this.objectsToken) this.error(api.errorMessage(e));
    } finally {
      if (token === this.objectsToken) {
        this.variables.setLoading(false);
        this.busyOn('variables', false);
      }
    }
  }

  private selectedFor(v: RunView): Set<string> {
    let set = this.selectedSeries.get(v.run.id);
    if (!set) {
      set = new Set(defaultSeries(v.series));
      this.selectedSeries.set(v.run.id, set);
    }
    return set;
  }

  private colourOf(name: string): string {
    const names = this.view?.series.map((s) => s.name) ?? [];
    const i = Math.max(0, names.indexOf(name));
    return cssVar(`--series-${i % PALETTE}`, '#4e79a7');
  }

  private renderSeriesPicker(): void {
    const list = byId('series-list');
    clear(list);
    const v = this.view;
    if (!v) return;
    const selected = this.selectedFor(v);
    if (v.series.length === 0) list.append(h('div', { class: 'muted small' }, 'This run has no metric series.'));
    for (const s of v.series) {
      const box = h('input', { type: 'checkbox', 'data-series': s.name, checked: selected.has(s.name) });
      list.append(h('label', { class: 'series-option', title: `${s.name}: ${formatCount(s.points)} points` },
        box, h('span', { class: 'swatch', style: `background:${this.colourOf(s.name)}` }), ` ${s.name} `, h('span', { class: 'muted small num', text: formatCount(s.points) })));
    }
    byId('series-count').textContent = `(${selected.size}/${v.series.length})`;
    this.renderLegend();
  }

  private renderLegend(): void {
    const legend = byId('legend');
    clear(legend);
    const v = this.view;
    if (!v) return;
    const selected = this.selectedFor(v);
    byId('series-count').textContent = `(${selected.size}/${v.series.length})`;
    for (const s of v.series) {
      if (!selected.has(s.name)) continue;
      legend.append(h('span', { class: 'legend-item' }, h('span', { class: 'swatch', style: `background:${this.colourOf(s.name)}` }), s.name));
    }
    for (const c of this.comparedShown) {
      if (!selected.has(c.view.name)) continue;
      legend.append(h('span', { class: 'legend-item compared', 'data-compare': c.view.run, title: c.label }, h('span', { class: 'swatch dashed', style: `border-color:${c.color}` }), c.label));
    }
  }

  /** The compare picker: the store's other runs (branches of the open run first). */
  private renderCompare(): void {
    const current = this.view?.run.id ?? null;
    this.comparePicker.set(current ? compareCandidates(this.runs, current) : [], this.compared, current != null);
    this.compared = this.comparePicker.selected;
  }

  private updateChartContext(): void {
    const v = this.view;
    this.chart.setContext({ axis: this.axis, logY: this.logY, snapshots: v?.snapshots ?? [], startedAt: v?.run.started_at ?? 0 });
    const s = this.currentSnapshot;
    this.chart.setCursorX(v && s ? snapshotX(s, this.axis, v.run.started_at) : null);
  }

  /** Fetches the selected series for the chart's range and width (cached), dropping stale answers. */
  async fetchSeries(): Promise<void> {
    const v = this.view;
    if (!v) return;
    const gen = ++this.seriesGen;
    const run = v.run.id;
    const names = v.series.map((s) => s.name).filter((n) => this.selectedFor(v).has(n));
    const range: Range | null = this.chart.visibleRange;
    const width = this.chart.plotWidth;
    const q: api.SeriesQuery = {
      x: this.axis,
      from: range ? range[0] : null,
      to: range ? range[1] : null,
      width,
      smooth: this.smoothing > 0 ? this.smoothing : null,
      logY: this.logY,
    };
    if (names.length === 0) {
      this.chart.setSeries([], v.series.length === 0 ? 'This run has no metric series' : 'No series selected');
      this.comparedShown = [];
      this.comparePicker.setNote('');
      this.renderLegend();
      return;
    }
    const cached = async (r: string, name: string): Promise<SeriesView> => {
      const key = `${r}|${name}|${q.x}|${q.from}|${q.to}|${q.width}|${q.smooth}|${q.logY}`;
      const hit = this.seriesCache.get(key);
      if (hit) return hit;
      const sv = await api.seriesView(r, name, q);
      this.seriesCache.set(key, sv);
      return sv;
    };
    // Compared runs: the same names, axis, range, width, smoothing and log-y; a series a run lacks is left out (and noted).
    const wanted = compareFetchList(this.compared, names, run, this.runs.map((r) => r.id));
    this.busyOn('series', true);
    try {
      const [views, others] = await Promise.all([
        Promise.all(names.map((name) => cached(run, name))),
        Promise.allSettled(wanted.map((f) => cached(f.run, f.name))),
      ]);
      if (gen !== this.seriesGen || this.view?.run.id !== run) return;
      const series: ChartSeries[] = views.map((sv, i) => ({ key: `${run}|${names[i]}`, label: names[i], color: this.colourOf(names[i]), view: sv }));
      const missing: CompareFetch[] = [];
      const shown: ChartSeries[] = [];
      others.forEach((o, i) => {
        const f = wanted[i];
        if (o.status === 'rejected') {
          missing.push(f);
          return;
        }
        const order = this.compared.indexOf(f.run);
        shown.push({ key: `${f.run}|${f.name}`, label: compareLabel(f.name, f.run), color: lighter(this.colourOf(f.name)), dash: compareDash(order), view: { ...o.value, name: f.name } });
      });
      this.comparedShown = shown;
      this.comparePicker.setNote(missingNote(missing));
      this.renderLegend();
      this.chart.setSeries([...series, ...shown]);
    } catch (e) {
      if (gen === this.seriesGen) {
        this.error(api.errorMessage(e));
        this.chart.setSeries([], 'Could not load the series');
      }
    } finally {
      if (gen === this.seriesGen) this.busyOn('series', false);
    }
  }

  /**
   * A run got snapshots: re-read the list, and the open run when it is one
   * of them. Events arriving while a refresh runs (a live run sends one per
   * snapshot) are folded into one more refresh after it.
   */
  private async onStoreChanged(runs: string[]): Promise<void> {
    if (this.refreshing) {
      // Folded: an empty list means every run, and stays so.
      const all = runs.length === 0 || this.pendingRuns?.length === 0;
      this.pendingRuns = all ? [] : [...(this.pendingRuns ?? []), ...runs];
      return;
    }
    this.refreshing = true;
    try {
      await this.loadRuns();
      const v = this.view;
      // Compared runs that grew: their cached series are stale too.
      const grown = this.compared.filter((id) => runs.length === 0 || runs.includes(id));
      for (const id of grown) this.seriesCache.dropPrefix(`${id}|`);
      if (v && (runs.length === 0 || runs.includes(v.run.id))) {
        this.seriesCache.dropPrefix(`${v.run.id}|`);
        this.variables.invalidateHistory();
        await this.openRun(v.run.id, true, this.following === v.run.id);
      } else if (v && grown.length > 0) {
        await this.fetchSeries();
      }
    } finally {
      this.refreshing = false;
    }
    const next = this.pendingRuns;
    this.pendingRuns = null;
    if (next != null) await this.onStoreChanged(next);
  }

  private async importBundle(): Promise<void> {
    let path: string | null;
    try {
      path = await api.pickBundle();
    } catch (e) {
      this.error(api.errorMessage(e));
      return;
    }
    if (!path) return;
    this.busyOn('import', true);
    try {
      const id = await api.importBundle(path);
      await this.loadRuns();
      await this.openRun(id);
    } catch (e) {
      this.error(api.errorMessage(e));
    } finally {
      this.busyOn('import', false);
    }
  }

  private gotoSeq(seq: number): void {
    const v = this.view;
    if (!v) return;
    this.setCursor(indexOfSeq(v.snapshots.map((s) => s.seq), seq), true);
  }

  private showRestore(seq: number): void {
    if (!this.view) return;
    showRestoreDialog(api.snapshotRef(this.view.run.id, seq), {
      error: (m) => this.error(m),
      resume: (snapshot) => void this.resume(snapshot),
      console: (snapshot) => showConsole(snapshot, { error: (m) => this.error(m) }),
    });
  }

  /**
   * Resume here: starts `snapline restore SNAPSHOT --resume`, waits for the
   * run it captures (polling the process every 500 ms), then opens it and
   * follows it live. A process that fails first: the end of its log goes to
   * the banner.
   */
  async resume(snapshot: string, interval = 500): Promise<void> {
    const token = ++this.resumeToken;
    // Runs resumed from the same snapshot before this one are not it.
    const after = Date.now() / 1000 - 5;
    this.busyOn('resumed run', true);
    try {
      const started = await api.restoreResume(snapshot);
      const outcome = await waitForResumedRun(snapshot, {
        status: () => api.resumeStatus(started.pid),
        findRun: async () => resumedRun(await api.listRuns(), snapshot, after)?.id ?? null,
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
        cancelled: () => token !== this.resumeToken || this.lifetime.signal.aborted,
      }, interval);
      if ('error' in outcome) {
        this.error(outcome.error);
      } else if ('run' in outcome) {
        this.following = outcome.run;
        await this.loadRuns();
        await this.openRun(outcome.run);
      }
    } catch (e) {
      this.error(api.errorMessage(e));
    } finally {
      this.busyOn('resumed run', false);
    }
  }

  private async showNan(): Promise<void> {
    const v = this.view;
    if (!v) return;
    let report = v.nan;
    try {
      report = await api.firstNan(v.run.id);
    } catch (e) {
      if (!report) {
        this.error(api.errorMessage(e));
        return;
      }
    }
    if (this.view !== v || !report) return;
    showNanPanel(report, { goto: (seq) => this.gotoSeq(seq), restore: (seq) => this.showRestore(seq) });
  }

  private async showWarnings(): Promise<void> {
    const v = this.view;
    if (!v) return;
    let list = v.warnings;
    try {
      list = await api.agentWarnings(v.run.id);
    } catch (e) {
      this.error(api.errorMessage(e));
    }
    if (this.view !== v) return;
    showWarningsPanel(v.run.id, list);
  }

  private showDiff(): void {
    const v = this.view;
    const s = this.currentSnapshot;
    if (!v || !s) return;
    const prev = v.snapshots[Math.max(0, this.cursor - 1)];
    showDiffPanel(api.snapshotRef(v.run.id, prev.seq), api.snapshotRef(v.run.id, s.seq), { error: (m) => this.error(m) });
  }
}
