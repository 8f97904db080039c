// The run list: one row per run of the store, newest first, each run
// resumed from another listed right under its parent (indented), with its
// main metrics' last values.

import type { LastMetric } from '../bindings/LastMetric';
import type { RunSummary } from '../bindings/RunSummary';
import { formatCount, formatDuration, formatNumber, formatTime, wireFloat } from '../format';
import { clear, h } from './dom';
import { warningCountText } from './warningsPanel';

/** The short form of a metric name in a run row: `loss` of `train:loss`, `acc` of `stats["acc"]`. */
export function metricLabel(name: string): string {
  const m = /\[\s*["']?([^"'\]]*)["']?\s*\]$/.exec(name) ?? /(?:^|[:.])([^:.[\]]+)$/.exec(name);
  return m ? m[1] : name;
}

/** One last metric as a run row shows it: text, and whether it is NaN/Inf. */
export function formatLastMetric(m: LastMetric): { text: string; bad: boolean; title: string } {
  const n = wireFloat(m.value);
  const bad = !Number.isFinite(n);
  return { text: `${metricLabel(m.name)} ${formatNumber(m.value, 3)}`, bad, title: `${m.name} = ${formatNumber(m.value, 6)} at step ${formatCount(m.step)}` };
}

/** `loss 0.231 · acc 0.94`: the plain-text line of a run's last metrics. */
export function lastMetricsText(metrics: readonly LastMetric[]): string {
  return metrics.map((m) => formatLastMetric(m).text).join(' · ');
}

/** `↳ from 3f2a9c1b@12`: the branch line of a resumed run (empty when not resumed). */
export function branchText(r: Pick<RunSummary, 'parent' | 'parent_run' | 'parent_seq'>): string {
  if (!r.parent) return '';
  if (r.parent_run != null) return `↳ from ${r.parent_run.slice(0, 8)}@${r.parent_seq ?? '?'}`;
  const [run, seq] = r.parent.split('@');
  return `↳ from ${run.slice(0, 8)}${seq != null ? `@${seq}` : ''}`;
}

/**
 * The list's order: newest first, except that a run resumed from a listed
 * run comes right after it (its branches newest first, nested), one level
 * deeper. Runs whose parent is not listed stay top-level.
 */
export function orderRuns(runs: readonly RunSummary[]): { run: RunSummary; depth: number }[] {
  const sorted = [...runs].sort((a, b) => b.started_at - a.started_at);
  const ids = new Set(sorted.map((r) => r.id));
  const children = new Map<string, RunSummary[]>();
  const roots: RunSummary[] = [];
  for (const r of sorted) {
    const p = r.parent_run;
    if (p != null && p !== r.id && ids.has(p)) {
      const list = children.get(p) ?? [];
      list.push(r);
      children.set(p, list);
    } else roots.push(r);
  }
  const out: { run: RunSummary; depth: number }[] = [];
  const seen = new Set<string>();
  const visit = (r: RunSummary, depth: number) => {
    if (seen.has(r.id)) return;
    seen.add(r.id);
    out.push({ run: r, depth });
    for (const c of children.get(r.id) ?? []) visit(c, depth + 1);
  };
  for (const r of roots) visit(r, 0);
  // A parent cycle (never written by the store): whatever is left, top-level.
  for (const r of sorted) visit(r, 0);
  return out;
}

export interface SidebarHandlers {
  open(runId: string): void;
}

/** The file name of a script path. */
export function scriptName(script: string): string {
  return script.split(/[\\/]/).pop() || script;
}

export class Sidebar {
  private readonly list: HTMLElement;
  private readonly handlers: SidebarHandlers;
  private runs: RunSummary[] = [];
  private selected: string | null = null;

  constructor(list: HTMLElement, handlers: SidebarHandlers) {
    this.list = list;
    this.handlers = handlers;
    this.list.addEventListener('click', (e) => {
      const item = (e.target as Element).closest<HTMLElement>('[data-run-id]');
      if (item?.dataset.runId) this.handlers.open(item.dataset.runId);
    });
    this.list.addEventListener('keydown', (e) => {
      const item = (e.target as Element).closest<HTMLElement>('[data-run-id]');
      if (item?.dataset.runId && (e.key === 'Enter' || e.key === ' ')) {
        e.preventDefault();
        this.handlers.open(item.dataset.runId);
      }
    });
  }

  setRuns(runs: RunSummary[]): void {
    this.runs = [...runs];
    this.render();
  }

  setSelected(runId: string | null): void {
    this.selected = runId;
    for (const li of this.list.querySelectorAll<HTMLElement>('[data-run-id]')) {
      const on = li.dataset.runId === runId;
      li.classList.toggle('selected', on);
      li.setAttribute('aria-selected', String(on));
    }
  }

  private render(): void {
    clear(this.list);
    if (this.runs.length === 0) {
      this.list.append(h('li', { class: 'empty' }, 'No runs in this store yet. Capture one with `snapline run train.py`, or import a bundle.'));
      return;
    }
    for (const { run: r, depth } of orderRuns(this.runs)) {
      const metrics = r.last_metrics ?? [];
      const branch = branchText(r);
      const li = h(
        'li',
        {
          class: `run-item${r.id === this.selected ? ' selected' : ''}${depth > 0 ? ' run-child' : ''}`,
          style: depth > 0 ? `padding-left:calc(var(--s3) + ${Math.min(depth, 4) * 14}px)` : undefined,
          'data-run-id': r.id,
          'data-status': r.status,
          'data-depth': depth,
          tabindex: 0,
          role: 'option',
          'aria-selected': String(r.id === this.selected),
          title: `${r.script}\n${r.id}${r.parent ? `\nresumed from ${r.parent}` : ''}`,
        },
        h('div', { class: 'run-line' },
          h('span', { class: 'run-script', text: scriptName(r.script) }),
          h('span', { class: `badge status-${r.status}`, text: r.status }),
          r.warnings > 0 ? h('span', { class: 'badge warnings', title: `${warningCountText(r.warnings)}: what the capture agent could not do (open the run to see them)`, text: `⚠ ${r.warnings}` }) : null,
        ),
        branch ? h('div', { class: 'run-branch mono', text: branch, title: `resumed from ${r.parent}` }) : null,
        h('div', { class: 'run-meta' },
          h('span', { text: formatTime(r.started_at) }),
          h('span', { text: formatDuration(r.duration) }),
        ),
        h('div', { class: 'run-meta' },
          h('span', { class: 'mono', text: r.id.slice(0, 8) }),
          h('span', { text: `${formatCount(r.snapshots)} snap${r.snapshots === 1 ? '' : 's'}` }),
        ),
        metrics.length > 0
          ? h('div', { class: 'run-metrics', title: metrics.map((m) => formatLastMetric(m).title).join('\n') },
            ...metrics.flatMap((m, i) => {
              const f = formatLastMetric(m);
              const item = h('span', { class: `run-metric${f.bad ? ' bad' : ''}`, 'data-metric': m.name, text: f.text });
              return i === 0 ? [item] : [h('span', { class: 'sep', text: ' · ' }), item];
            }))
          : null,
      );
      this.list.append(li);
    }
  }
}
