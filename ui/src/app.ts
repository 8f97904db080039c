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
import { cardLayout, isMetric, moveCard, orderCards, togglePin, type CardSeries } from './cards';
import type { Range } from './chart';
import { compareCandidates, compareDash, compareFetchList, compareLabel, lighter, missingNote, type CompareFetch } from './compare';
import { followIndex, resumedRun, waitForResumedRun } from './follow';
import { formatCount, formatDuration, formatNumber, formatTime } from './format';
import { shortcutFor, type ShortcutAction } from './shortcuts';
import { describeSnapshot, indexOfSeq, stepIndex } from './timeline';
import { DEFAULT_SETTINGS, loadSettings, saveSettings, type AxisChoice, type ViewSettings } from './viewSettings';
import { progressText, showExportDialog, showRestoreDialog } from './views/actions';
import { Banner } from './views/banner';
import { CardsView, type ChartSeries } from './views/cardsView';
import { showConsole } from './views/consolePanel';
import { ComparePicker } from './views/comparePicker';
import { showDiffPanel, type DiffPanel, type DiffSide } from './views/diffPanel';
import { byId, clear, cssVar, debounce, h } from './views/dom';
import { closeNewestPanel, modalOpen } from './views/modal';
import { showNanPanel } from './views/nanPanel';
import { RunsTableView } from './views/runsTableView';
import { showShortcutsHelp } from './views/shortcutsHelp';
import { Sidebar, scriptName } from './views/sidebar';
import { TimelineView } from './views/timelineView';
import { VariablesView } from './views/variablesView';
import { showWarningsPanel, warningCountText } from './views/warningsPanel';

/** The last component of a series name: `loss` of `train:loss`, `epoch_loss` of `stats["epoch_loss"]`. */
export function seriesLeaf(name: string): string {
  const m = /(?:^|[:.])([^:.[\]]+)$/.exec(name) ?? /\[\s*["']?([^"'\]]*)["']?\s*\]$/.exec(name);
  return (m ? m[1] : name).toLowerCase();
}

/** How many metrics get a card when a run opens (more are a tick away in the Metrics picker). */
export const DEFAULT_CARDS = 12;

/** A run's series as the cards see them (query leaves out series whose values never change; those found constant when fetched are dropped later). */
export function cardSeries(series: readonly Pick<SeriesInfo, 'name' | 'points'>[]): CardSeries[] {
  return series.map((s) => ({ name: s.name, points: s.points }));
}

/**
 * Metrics shown by default: every metric (series with more than one point
 * whose values change), losses first, at most DEFAULT_CARDS.
 */
export function defaultSeries(series: readonly Pick<SeriesInfo, 'name' | 'points'>[]): string[] {
  return lossesFirst(cardSeries(series).filter(isMetric)).map((s) => s.name).slice(0, DEFAULT_CARDS);
}

/** Series named like a loss first (`loss`, `val_loss`, `train/loss`), the others after, each in the given order. */
export function lossesFirst<T extends { name: string }>(series: readonly T[]): T[] {
  const isLoss = (s: T) => seriesLeaf(s.name).includes('loss');
  return [...series.filter(isLoss), ...series.filter((s) => !isLoss(s))];
}

/**
 * The x axis a run's cards use unless the user picked one: the default axis
 * query gives most of its metrics (the training step where they have one,
 * else epoch); `step` when query says nothing.
 */
export function defaultAxis(series: readonly Pick<SeriesInfo, 'points' | 'default_axis'>[]): AxisChoice {
  const votes = new Map<AxisChoice, number>();
  for (const s of series) {
    if (s.points > 1 && s.default_axis) votes.set(s.default_axis, (votes.get(s.default_axis) ?? 0) + 1);
  }
  let best: AxisChoice = 'step';
  let most = 0;
  for (const axis of ['step', 'epoch', 'snapshot', 'time'] as const) {
    const n = votes.get(axis) ?? 0;
    if (n > most) {
      best = axis;
      most = n;
    }
  }
  return best;
}

/** Whether a fetched series never changes (every finite value the same, no NaN/Inf): not a metric. */
export function constantView(v: Pick<SeriesView, 'points' | 'markers' | 'raw_points'>): boolean {
  if (v.markers.length > 0 || v.raw_points < 2 || v.points.length < 2) return false;
  const y0 = v.points[0][1];
  return v.points.every((p) => p[1] === y0);
}

const AXIS_TITLES: Record<string, string> = {
  step: 'step',
  epoch: 'epoch',
  snapshot: 'snapshot',
  time: 'seconds since the start',
};

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
  private readonly cards: CardsView;
  private readonly variables: VariablesView;
  private readonly runsTable: RunsTableView;
  private readonly comparePicker: ComparePicker;
  /** The store's runs (as last listed), and the runs drawn with the open one (picked order; reset when another run opens). */
  private runs: RunSummary[] = [];
  private compared: string[] = [];
  private storeText = '';
  private view: RunView | null = null;
  private cursor = -1;
  private selectedSeries = new Map<string, Set<string>>();
  /** Series found constant when fetched (not metrics), by run. */
  private constants = new Map<string, Set<string>>();
  /** The store's path (what the view settings are kept under) and the settings. */
  private storePath = '';
  private settings: ViewSettings = { ...DEFAULT_SETTINGS };
  /** The Diff panel while it is open (timeline clicks set its A and B). */
  private diffPanel: DiffPanel | null = null;
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
    this.timeline = new TimelineView(byId<HTMLCanvasElement>('timeline'), tip, {
      select: (i) => this.setCursor(i),
      clicked: (i, shift) => this.timelineClicked(i, shift),
    });
    this.cards = new CardsView(byId('chart'), {
      requestRange: () => void this.fetchSeries(),
      selectSeq: (seq) => this.gotoSeq(seq),
      togglePin: (name) => this.arrangeCards(togglePin(this.settings.cards, name)),
      move: (name, delta, before) => this.arrangeCards(moveCard(this.settings.cards, this.cards.cardNames, name, delta, before)),
    });
    this.runsTable = new RunsTableView({
      section: byId('runs-table-section'),
      filter: byId<HTMLInputElement>('runs-filter'),
      error: byId('runs-filter-error'),
      table: byId<HTMLTableElement>('runs-table'),
      count: byId('runs-table-count'),
      compare: byId<HTMLButtonElement>('runs-compare'),
    }, {
      open: (id) => {
        this.runsTable.show(false);
        void this.openRun(id);
      },
      compare: (ids) => void this.overlay(ids),
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
    this.cards.setMessage('Open a run from the list on the left');
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
    this.runsTable.refilterSoon.cancel();
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
    byId('help-button').addEventListener('click', () => showShortcutsHelp());
    byId('runs-table-button').addEventListener('click', () => this.runsTable.show(!this.runsTable.shown));
    byId('runs-table-close').addEventListener('click', () => this.runsTable.show(false));
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
      this.settings.smoothing = Math.min(0.99, Math.max(0, Number(smoothing.value) || 0));
      byId('smoothing-value').textContent = this.settings.smoothing.toFixed(2);
      this.saveSettings();
      this.fetchSeriesSoon();
    });
    byId<HTMLInputElement>('log-y').addEventListener('change', (e) => {
      this.settings.logY = (e.target as HTMLInputElement).checked;
      this.saveSettings();
      this.updateChartContext();
      void this.fetchSeries();
    });
    byId<HTMLInputElement>('ignore-outliers').addEventListener('change', (e) => {
      this.settings.ignoreOutliers = (e.target as HTMLInputElement).checked;
      this.saveSettings();
      this.updateChartContext();
      void this.fetchSeries();
    });
    byId<HTMLSelectElement>('x-axis').addEventListener('change', (e) => {
      this.settings.axis = (e.target as HTMLSelectElement).value as AxisChoice;
      this.saveSettings();
      this.cards.resetRange();
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
      this.renderSeriesCount();
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
    if (modalOpen() || e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
    const t = e.target as HTMLElement | null;
    if (t && t.closest('input, select, textarea, [contenteditable="true"], .xterm')) {
      if (e.key === 'Escape' && this.runsTable.shown && t.closest('#runs-table-section')) this.runsTable.show(false);
      return;
    }
    const action = shortcutFor(e);
    if (action) {
      e.preventDefault();
      this.runShortcut(action);
      return;
    }
    if (!this.view) return;
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
        if (info.path !== this.storePath) {
          // The view remembers its axis, smoothing, log y, outliers and cards per store.
          this.storePath = info.path;
          this.settings = loadSettings(info.path);
          this.showSettings();
          if (this.view) {
            this.updateChartContext();
            void this.fetchSeries();
          }
        }
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
      this.cards.resetRange();
      this.compared = [];
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
      this.cards.setCursorSeq(null);
      byId('cursor-info').textContent = '';
      this.setStatus();
      return;
    }
    const i = Math.min(v.snapshots.length - 1, Math.max(0, index));
    if (i === this.cursor) return;
    this.cursor = i;
    const s = v.snapshots[i];
    this.timeline.setCursor(i);
    this.cards.setCursorSeq(s.seq);
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

  /** The Metrics picker: the run's metrics (constants are listed apart, not offered as cards). */
  private renderSeriesPicker(): void {
    const list = byId('series-list');
    clear(list);
    const v = this.view;
    if (!v) return;
    const selected = this.selectedFor(v);
    const found = this.constants.get(v.run.id) ?? new Set<string>();
    const all = cardSeries(v.series);
    const metrics = all.filter((s) => isMetric(s) && !found.has(s.name));
    const constants = all.filter((s) => !isMetric(s) || found.has(s.name));
    if (metrics.length === 0) list.append(h('div', { class: 'muted small' }, 'This run has no metrics (series whose values change).'));
    for (const s of metrics) {
      const box = h('input', { type: 'checkbox', 'data-series': s.name, checked: selected.has(s.name) });
      list.append(h('label', { class: 'series-option', title: `${s.name}: ${formatCount(s.points)} points` },
        box, h('span', { class: 'swatch', style: `background:${this.colourOf(s.name)}` }), ` ${s.name} `, h('span', { class: 'muted small num', text: formatCount(s.points) })));
    }
    if (constants.length > 0) {
      list.append(h('div', { class: 'muted small constants', title: constants.map((s) => s.name).join(', ') },
        `Not metrics (one point, or never changes): ${constants.map((s) => s.name).join(', ')}`));
    }
    this.renderSeriesCount();
  }

  private renderSeriesCount(): void {
    const v = this.view;
    if (!v) return;
    const found = this.constants.get(v.run.id) ?? new Set<string>();
    const metrics = cardSeries(v.series).filter((s) => isMetric(s) && !found.has(s.name));
    const selected = this.selectedFor(v);
    byId('series-count').textContent = `(${metrics.filter((s) => selected.has(s.name)).length}/${metrics.length})`;
  }

  /** The compare picker: the store's other runs (branches of the open run first). */
  private renderCompare(): void {
    const current = this.view?.run.id ?? null;
    this.comparePicker.set(current ? compareCandidates(this.runs, current) : [], this.compared, current != null);
    this.compared = this.comparePicker.selected;
  }

  /** The axis asked for: the user's choice, else the open run's (the training step where its metrics have one, else epoch). */
  private get axis(): AxisChoice {
    return this.settings.axis ?? (this.view ? defaultAxis(this.view.series) : 'step');
  }

  private updateChartContext(): void {
    byId<HTMLSelectElement>('x-axis').value = this.axis;
    this.cards.setContext({ axisTitle: AXIS_TITLES[this.axis] ?? this.axis, logY: this.settings.logY, ignoreOutliers: this.settings.ignoreOutliers });
    const s = this.currentSnapshot;
    this.cards.setCursorSeq(s ? s.seq : null);
  }

  /** The controls show the settings (after they were loaded for a store). */
  private showSettings(): void {
    const s = this.settings;
    byId<HTMLInputElement>('smoothing').value = String(s.smoothing);
    byId('smoothing-value').textContent = s.smoothing.toFixed(2);
    byId<HTMLInputElement>('log-y').checked = s.logY;
    byId<HTMLInputElement>('ignore-outliers').checked = s.ignoreOutliers;
    byId<HTMLSelectElement>('x-axis').value = this.axis;
  }

  private saveSettings(): void {
    if (this.storePath) saveSettings(this.storePath, this.settings);
  }

  /** Pinned or moved cards: remembered for the store, drawn at once. */
  private arrangeCards(order: ViewSettings['cards']): void {
    this.settings.cards = order;
    this.saveSettings();
    void this.fetchSeries();
  }

  /** The metrics that get a card, in card order (pinned, moved, then losses first and the run's order). */
  private cardNames(v: RunView): string[] {
    const selected = this.selectedFor(v);
    const found = this.constants.get(v.run.id) ?? new Set<string>();
    return orderCards(lossesFirst(cardSeries(v.series)), this.settings.cards).filter((n) => selected.has(n) && !found.has(n));
  }

  /** Fetches every card's series for the shared range and width (cached), dropping stale answers. */
  async fetchSeries(): Promise<void> {
    const v = this.view;
    if (!v) return;
    const gen = ++this.seriesGen;
    const run = v.run.id;
    const names = this.cardNames(v);
    const range: Range | null = this.cards.visibleRange;
    const q: api.SeriesQuery = {
      x: this.axis as XAxis,
      from: range ? range[0] : null,
      to: range ? range[1] : null,
      width: this.cards.plotWidth,
      smooth: this.settings.smoothing > 0 ? this.settings.smoothing : null,
      logY: this.settings.logY,
    };
    if (names.length === 0) {
      this.cards.setMessage(cardSeries(v.series).some(isMetric) ? 'No metric selected (Metrics picker)' : 'This run has no metrics (series whose values change)');
      this.comparePicker.setNote('');
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
      const perCard = new Map<string, ChartSeries[]>();
      const found = this.constants.get(run) ?? new Set<string>();
      const knownConstants = found.size;
      views.forEach((sv, i) => {
        // A series that never changes is no metric: no card (the picker lists it apart).
        if (range == null && constantView(sv)) {
          found.add(names[i]);
          return;
        }
        perCard.set(names[i], [{ key: `${run}|${names[i]}`, label: names[i], color: this.colourOf(names[i]), view: sv }]);
      });
      this.constants.set(run, found);
      const missing: CompareFetch[] = [];
      const shown: ChartSeries[] = [];
      others.forEach((o, i) => {
        const f = wanted[i];
        if (o.status === 'rejected') {
          missing.push(f);
          return;
        }
        const order = this.compared.indexOf(f.run);
        const s: ChartSeries = { key: `${f.run}|${f.name}`, label: compareLabel(f.name, f.run), color: lighter(this.colourOf(f.name)), dash: compareDash(order), view: { ...o.value, name: f.name } };
        shown.push(s);
        perCard.get(f.name)?.push(s);
      });
      this.comparePicker.setNote(missingNote(missing));
      const shownNames = names.filter((n) => perCard.has(n));
      if (found.size > knownConstants) this.renderSeriesPicker();
      if (shownNames.length === 0) {
        this.cards.setMessage('This run has no metrics (series whose values change)');
        return;
      }
      const axis = views.find((sv) => perCard.has(sv.name))?.x_axis ?? this.axis;
      this.cards.setContext({ axisTitle: AXIS_TITLES[axis] ?? axis, logY: this.settings.logY, ignoreOutliers: this.settings.ignoreOutliers });
      this.cards.setCards(cardLayout(shownNames, this.settings.cards.pinned), new Set(this.settings.cards.pinned), perCard);
      const s = this.currentSnapshot;
      this.cards.setCursorSeq(s ? s.seq : null);
    } catch (e) {
      if (gen === this.seriesGen) {
        this.error(api.errorMessage(e));
        this.cards.setMessage('Could not load the series');
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

  /** Opens the Diff panel: A and B given, else the previous snapshot and the cursor's. */
  private showDiff(a?: DiffSide, b?: DiffSide): void {
    const v = this.view;
    const s = this.currentSnapshot;
    if (!v || !s) return;
    const prev = v.snapshots[Math.max(0, this.cursor - 1)];
    const runs = this.runs.map((r) => ({ id: r.id, label: `${scriptName(r.script)} · ${r.id.slice(0, 8)}` }));
    this.diffPanel = showDiffPanel(a ?? { run: v.run.id, seq: prev.seq }, b ?? { run: v.run.id, seq: s.seq }, runs, { error: (m) => this.error(m) });
  }

  /**
   * A click on the timeline sets the Diff panel's A (when it is open);
   * Shift+click sets B, opening the panel with A at the cursor when it is not.
   */
  private timelineClicked(index: number, shift: boolean): void {
    const v = this.view;
    const s = v?.snapshots[index];
    if (!v || !s) return;
    const side = { run: v.run.id, seq: s.seq };
    const open = this.diffPanel?.open ? this.diffPanel : null;
    if (!shift) {
      open?.setA(side);
      return;
    }
    if (open) open.setB(side);
    else {
      const cur = this.currentSnapshot;
      this.showDiff(cur ? { run: v.run.id, seq: cur.seq } : side, side);
    }
  }

  /** The runs table's ticked runs on the cards: the first opened, the others compared with it. */
  private async overlay(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const [first, ...rest] = ids;
    this.runsTable.show(false);
    if (this.view?.run.id !== first) await this.openRun(first);
    this.compared = rest;
    this.renderCompare();
    await this.fetchSeries();
  }

  /** What a shortcut key does (shortcuts.ts lists them; `?` shows the list). */
  private runShortcut(action: ShortcutAction): void {
    const s = this.currentSnapshot;
    switch (action) {
      case 'help':
        showShortcutsHelp();
        return;
      case 'runs':
        this.runsTable.show(!this.runsTable.shown);
        return;
      case 'close':
        if (this.runsTable.shown) this.runsTable.show(false);
        else if (!closeNewestPanel()) this.variables.deselect();
        return;
      case 'nan':
        void this.showNan();
        return;
      case 'diff':
        this.showDiff();
        return;
      case 'warnings':
        void this.showWarnings();
        return;
      case 'restore':
        if (this.view && s) this.showRestore(s.seq);
        return;
      case 'console':
        if (this.view && s) showConsole(api.snapshotRef(this.view.run.id, s.seq), { error: (m) => this.error(m) });
        return;
    }
  }
}
