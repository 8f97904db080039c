// The runs table (#runs-table-section): a row per run with its
// config/argument columns and final metrics, sorted by a clicked header, a
// filter box (#runs-filter) in the language of `snapline runs --where`
// (query evaluates it; a bad expression shows its one-line error in
// #runs-filter-error and keeps the last good rows), and checkboxes to pick
// runs to overlay in the cards (#runs-compare).

import * as api from '../api';
import { formatTime } from '../format';
import { cellText, nextSort, sortRows, type SortKey, type TableRow } from '../runsTable';
import { clear, debounce, h } from './dom';

export interface RunsTableHandlers {
  /** Overlay these runs (the first is opened, the others compared with it). */
  compare(ids: string[]): void;
  /** Open one run (a click on its id). */
  open(id: string): void;
}

export interface RunsTableElements {
  section: HTMLElement;
  filter: HTMLInputElement;
  error: HTMLElement;
  table: HTMLTableElement;
  count: HTMLElement;
  compare: HTMLButtonElement;
}

export class RunsTableView {
  private readonly el: RunsTableElements;
  private readonly handlers: RunsTableHandlers;
  private columns: string[] = [];
  private rows: TableRow[] = [];
  private total = 0;
  private sort: SortKey | null = null;
  private checked = new Set<string>();
  private token = 0;
  readonly refilterSoon: (() => void) & { cancel(): void };

  constructor(el: RunsTableElements, handlers: RunsTableHandlers) {
    this.el = el;
    this.handlers = handlers;
    this.refilterSoon = debounce(() => void this.load(), 250);
    el.filter.addEventListener('input', () => this.refilterSoon());
    el.filter.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        this.refilterSoon.cancel();
        void this.load();
      }
    });
    el.compare.addEventListener('click', () => {
      const ids = this.checkedRuns;
      if (ids.length > 0) handlers.compare(ids);
    });
  }

  get shown(): boolean {
    return !this.el.section.hidden;
  }

  /** Runs ticked for overlaying, in the order the table shows them. */
  get checkedRuns(): string[] {
    return sortRows(this.rows, this.sort).map((r) => r.id).filter((id) => this.checked.has(id));
  }

  show(on: boolean): void {
    this.el.section.hidden = !on;
    document.body.classList.toggle('runs-table-open', on);
    if (on) {
      void this.load();
      this.el.filter.focus();
    }
  }

  /** Asks query for the table with the filter as typed; a bad filter's error shows inline. */
  async load(): Promise<void> {
    const mine = ++this.token;
    const where = this.el.filter.value.trim();
    try {
      const table = await api.runsTable(where || null);
      if (mine !== this.token) return;
      this.columns = table.columns.map((c) => c.name);
      this.rows = table.rows;
      this.total = table.total_runs;
      this.el.error.hidden = true;
      this.el.error.textContent = '';
      this.el.filter.removeAttribute('aria-invalid');
      this.render();
    } catch (e) {
      if (mine !== this.token) return;
      this.el.error.textContent = api.errorMessage(e);
      this.el.error.hidden = false;
      this.el.filter.setAttribute('aria-invalid', 'true');
    }
  }

  private render(): void {
    const t = this.el.table;
    clear(t);
    const head = h('tr', {}, h('th', { class: 'check' }), h('th', { 'data-column': 'run' }, 'run'), h('th', { 'data-column': 'started' }, 'started'));
    for (const c of this.columns) {
      const sorted = this.sort?.column === c;
      const th = h('th', { 'data-column': c, class: sorted ? 'sorted' : '', title: `Sort by ${c}`, 'aria-sort': sorted ? (this.sort?.descending ? 'descending' : 'ascending') : 'none' },
        c, sorted ? (this.sort?.descending ? ' ▼' : ' ▲') : '');
      th.addEventListener('click', () => {
        this.sort = nextSort(this.sort, c);
        this.render();
      });
      head.append(th);
    }
    const body = h('tbody');
    for (const r of sortRows(this.rows, this.sort)) {
      const box = h('input', { type: 'checkbox', 'data-check': r.id, checked: this.checked.has(r.id), 'aria-label': `Overlay ${r.id}` });
      box.addEventListener('change', () => {
        if (box.checked) this.checked.add(r.id);
        else this.checked.delete(r.id);
        this.updateCount();
      });
      const link = h('button', { type: 'button', class: 'link mono', text: r.id.slice(0, 8), title: `Open ${r.id}` });
      link.addEventListener('click', () => this.handlers.open(r.id));
      const tr = h('tr', { 'data-run-id': r.id }, h('td', { class: 'check' }, box), h('td', {}, link), h('td', { class: 'num', text: formatTime(r.started_at) }));
      for (const c of this.columns) {
        const v = r.values[c];
        tr.append(h('td', { class: typeof v === 'number' ? 'num' : '', text: cellText(v), title: `${c} = ${cellText(v)}` }));
      }
      body.append(tr);
    }
    t.append(h('thead', {}, head), body);
    this.updateCount();
  }

  private updateCount(): void {
    const ids = new Set(this.rows.map((r) => r.id));
    for (const id of [...this.checked]) if (!ids.has(id)) this.checked.delete(id);
    this.el.count.textContent = `${this.rows.length} of ${this.total} runs${this.checked.size > 0 ? ` · ${this.checked.size} ticked` : ''}`;
    this.el.compare.disabled = this.checked.size === 0;
  }
}
