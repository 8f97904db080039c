// The run list: one row per run of the store, newest first.

import type { RunSummary } from '../bindings/RunSummary';
import { formatCount, formatDuration, formatNumber, formatTime } from '../format';
import { clear, h } from './dom';

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
  private lastLoss = new Map<string, number>();

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
    this.runs = [...runs].sort((a, b) => b.started_at - a.started_at);
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

  /** The last value of the run's loss series, shown under it when known. */
  setLastLoss(runId: string, value: number | null): void {
    if (value == null || !Number.isFinite(value)) this.lastLoss.delete(runId);
    else this.lastLoss.set(runId, value);
    this.render();
  }

  private render(): void {
    clear(this.list);
    if (this.runs.length === 0) {
      this.list.append(h('li', { class: 'empty' }, 'No runs in this store yet. Capture one with `snapline run train.py`, or import a bundle.'));
      return;
    }
    for (const r of this.runs) {
      const loss = this.lastLoss.get(r.id);
      const li = h(
        'li',
        {
          class: `run-item${r.id === this.selected ? ' selected' : ''}`,
          'data-run-id': r.id,
          'data-status': r.status,
          tabindex: 0,
          role: 'option',
          'aria-selected': String(r.id === this.selected),
          title: `${r.script}\n${r.id}${r.parent ? `\nresumed from ${r.parent}` : ''}`,
        },
        h('div', { class: 'run-line' },
          h('span', { class: 'run-script', text: scriptName(r.script) }),
          h('span', { class: `badge status-${r.status}`, text: r.status }),
        ),
        h('div', { class: 'run-meta' },
          h('span', { text: formatTime(r.started_at) }),
          h('span', { text: formatDuration(r.duration) }),
        ),
        h('div', { class: 'run-meta' },
          h('span', { class: 'mono', text: r.id.slice(0, 8) }),
          h('span', { text: `${formatCount(r.snapshots)} snap${r.snapshots === 1 ? '' : 's'}` }),
          loss != null ? h('span', { text: `loss ${formatNumber(loss)}` }) : null,
        ),
      );
      this.list.append(li);
    }
  }
}
