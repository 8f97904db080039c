// The Diff panel: two snapshot references (RUN@SEQ), and what changed
// between them grouped by kind: added, removed, changed, moved.

import * as api from '../api';
import type { Change } from '../bindings/Change';
import type { SnapshotDiff } from '../bindings/SnapshotDiff';
import { formatCount, formatNumber, formatShape, truncate, wireFloat } from '../format';
import { clear, h } from './dom';
import { openModal } from './modal';

export interface DiffHandlers {
  error(message: string): void;
}

const KINDS = ['changed', 'added', 'removed', 'moved'] as const;

/** A reference the commands accept: RUN@SEQ, RUN@first/last, or a bare RUN. */
export function validRef(text: string): boolean {
  return /^[^\s@]+(@(\d+|first|last))?$/.test(text.trim());
}

/** Changes by kind, in the order the panel lists them. */
export function groupChanges(changes: readonly Change[]): Map<string, Change[]> {
  const out = new Map<string, Change[]>(KINDS.map((k) => [k, []]));
  for (const c of changes) out.get(c.change)?.push(c);
  return out;
}

function detailNode(c: Change): HTMLElement | null {
  const d = c.detail;
  if (d == null) return null;
  switch (d.kind) {
    case 'array': {
      const lines: (HTMLElement | string)[] = [];
      const shape =
        formatShape(d.old_shape) !== formatShape(d.new_shape) || d.old_dtype !== d.new_dtype
          ? `${formatShape(d.old_shape)} ${d.old_dtype ?? ''} → ${formatShape(d.new_shape)} ${d.new_dtype ?? ''}`
          : `${formatShape(d.new_shape)} ${d.new_dtype ?? ''}`;
      if (!d.compared) {
        lines.push(h('div', {}, `${shape}: not compared element-wise${d.not_compared ? ` (${d.not_compared})` : ''}`));
      } else {
        lines.push(h('div', { class: 'num' },
          `${shape}: ${formatCount(d.changed)} of ${formatCount(d.elements)} elements changed`,
          d.max_abs_diff != null ? ` · max |Δ| ${formatNumber(d.max_abs_diff)}` : '',
          d.mean_abs_diff != null ? ` · mean |Δ| ${formatNumber(d.mean_abs_diff)}` : '',
          d.became_nonfinite > 0 ? h('span', { class: 'bad' }, ` · ${formatCount(d.became_nonfinite)} became NaN/Inf`) : '',
        ));
      }
      if (d.first_changes.length > 0) {
        // The first changed elements, flowing in columns: [i, j] old → new.
        const grid = h('div', { class: 'elements', title: 'the first changed elements, in storage order' });
        for (const e of d.first_changes) {
          const old = wireFloat(e.old as number | string);
          const now = wireFloat(e.new as number | string);
          grid.append(h('span', { class: 'element num' },
            h('span', { class: 'mono muted', text: `[${e.index.join(', ')}] ` }),
            h('span', { class: 'old', text: formatNumber(old, 6) }),
            ' → ',
            h('span', { class: Number.isFinite(now) ? 'new' : 'bad', text: formatNumber(now, 6) }),
          ));
        }
        lines.push(grid);
      }
      return h('div', { class: 'change-detail' }, ...lines);
    }
    case 'value':
      return h('div', { class: 'change-detail' },
        h('span', { class: 'mono old', text: truncate(d.old, 300) }), ' → ', h('span', { class: 'mono new', text: truncate(d.new, 300) }),
        d.items_changed != null ? h('span', { class: 'muted' }, ` (${d.items_changed} items changed${d.old_len != null && d.new_len != null ? `, length ${d.old_len} → ${d.new_len}` : ''})`) : '',
      );
    case 'structure': {
      const parts: (HTMLElement | string)[] = [];
      if (d.added.length) parts.push(h('div', {}, `keys added: ${d.added.join(', ')}`));
      if (d.removed.length) parts.push(h('div', {}, `keys removed: ${d.removed.join(', ')}`));
      for (const v of d.values) parts.push(h('div', {}, h('span', { class: 'mono', text: v.path }), ': ', h('span', { class: 'mono old', text: truncate(v.old, 120) }), ' → ', h('span', { class: 'mono new', text: truncate(v.new, 120) })));
      if (d.objects.length) parts.push(h('div', { class: 'muted' }, `changed inside: ${d.objects.join(', ')}`));
      return parts.length ? h('div', { class: 'change-detail' }, ...parts) : null;
    }
    case 'frame': {
      const parts: (HTMLElement | string)[] = [];
      if (formatShape(d.old_shape) !== formatShape(d.new_shape)) parts.push(h('div', {}, `shape ${formatShape(d.old_shape)} → ${formatShape(d.new_shape)}`));
      if (d.columns_added.length) parts.push(h('div', {}, `columns added: ${d.columns_added.join(', ')}`));
      if (d.columns_removed.length) parts.push(h('div', {}, `columns removed: ${d.columns_removed.join(', ')}`));
      for (const t of d.dtype_changes) parts.push(h('div', {}, `${t.column}: ${t.old} → ${t.new}`));
      if (d.index_changed) parts.push(h('div', {}, 'index changed'));
      if (d.cells.length) {
        const table = h('table', { class: 'grid compact' }, h('tr', {}, h('th', { text: 'column' }), h('th', { class: 'num', text: 'changed cells' })));
        for (const c2 of d.cells) table.append(h('tr', {}, h('td', { class: 'mono', text: c2.column }), h('td', { class: 'num', text: c2.changed == null ? 'rows changed' : formatCount(c2.changed) })));
        parts.push(table);
      }
      return parts.length ? h('div', { class: 'change-detail' }, ...parts) : null;
    }
    case 'opaque':
      return h('div', { class: 'change-detail muted', text: d.note });
  }
  return null;
}

function renderDiff(out: HTMLElement, diff: SnapshotDiff): void {
  clear(out);
  const a = `${diff.a.run.slice(0, 12)}@${diff.a.seq}`;
  const b = `${diff.b.run.slice(0, 12)}@${diff.b.seq}`;
  out.append(h('div', { class: 'diff-summary' },
    h('span', { class: 'mono', text: `${a} → ${b}` }), ': ',
    diff.identical ? 'identical' : `${diff.changed} changed, ${diff.added} added, ${diff.removed} removed, ${diff.moved} moved, ${diff.unchanged} unchanged`,
    diff.disjoint ? ' (nothing in common)' : '',
  ));
  const groups = groupChanges(diff.changes);
  for (const kind of KINDS) {
    const list = groups.get(kind) ?? [];
    if (list.length === 0) continue;
    const section = h('details', { class: `diff-group kind-${kind}`, open: true, 'data-kind': kind },
      h('summary', {}, `${kind} (${list.length})`));
    for (const c of list) {
      const head = h('div', { class: 'change-head' },
        h('span', { class: 'mono path', text: c.path }),
        c.from ? h('span', { class: 'muted' }, ` ← ${c.from}`) : '',
        c.alias_of ? h('span', { class: 'muted' }, ` (another name of ${c.alias_of})`) : '',
        ' ', h('span', { class: 'type', text: c.old_type ? `${c.old_type} → ${c.type}` : c.type }),
        c.nested > 0 ? h('span', { class: 'muted' }, ` +${c.nested} inside`) : '',
      );
      const item = h('div', { class: 'change', 'data-path': c.path }, head);
      const det = detailNode(c);
      if (det) item.append(det);
      else if (c.preview && kind !== 'changed') item.append(h('div', { class: 'change-detail mono muted', text: truncate(c.preview, 200) }));
      section.append(item);
    }
    out.append(section);
  }
}

/** One side of a diff: a run and a snapshot seq in it. */
export interface DiffSide {
  run: string;
  seq: number;
}

/** A run the picker offers (label: script and short id). */
export interface DiffRunChoice {
  id: string;
  label: string;
}

/** The open Diff panel: the timeline sets its A (click) and B (shift-click). */
export interface DiffPanel {
  setA(side: DiffSide): void;
  setB(side: DiffSide): void;
  readonly open: boolean;
}

/**
 * Opens (docked) the Diff panel comparing A and B at once. Each side is a
 * run picked from a list (not a typed id) and a snapshot seq; a click on the
 * timeline sets A, a shift-click sets B, and each change compares again.
 */
export function showDiffPanel(a: DiffSide, b: DiffSide, runs: readonly DiffRunChoice[], handlers: DiffHandlers): DiffPanel {
  let isOpen = true;
  const modal = openModal('diff-panel', 'Diff snapshots', () => {
    isOpen = false;
  }, true, { dock: true });
  const side = (id: string, label: string, initial: DiffSide) => {
    const choices = runs.some((r) => r.id === initial.run) ? runs : [{ id: initial.run, label: initial.run }, ...runs];
    const run = h('select', { id: `${id}-run`, 'aria-label': `${label}: run` },
      ...choices.map((r) => h('option', { value: r.id, text: r.label, selected: r.id === initial.run })));
    const seq = h('input', { type: 'number', id: `${id}-seq`, min: '0', step: '1', value: String(initial.seq), 'aria-label': `${label}: snapshot seq`, class: 'seq-input' });
    const box = h('span', { class: 'diff-side', id, 'data-ref': api.snapshotRef(initial.run, initial.seq) }, h('strong', { text: label.charAt(0) }), ' ', run, ' @', seq);
    const ref = () => `${run.value}@${seq.value.trim()}`;
    const set = (s: DiffSide) => {
      if (![...run.options].some((o) => o.value === s.run)) run.append(h('option', { value: s.run, text: s.run }));
      run.value = s.run;
      seq.value = String(s.seq);
      box.dataset.ref = ref();
    };
    return { box, run, seq, ref, set };
  };
  const sa = side('diff-a', 'A (before)', a);
  const sb = side('diff-b', 'B (after)', b);
  const go = h('button', { type: 'submit', class: 'primary', id: 'diff-go' }, 'Compare');
  const out = h('div', { class: 'diff-out', id: 'diff-result' });
  const hint = h('p', { class: 'muted small', text: 'Click the timeline to set A, Shift+click to set B.' });
  const form = h('form', { class: 'row gap wrap' }, sa.box, sb.box, go);
  modal.body.append(form, hint, out);
  let token = 0;
  const run = async () => {
    const ra = sa.ref();
    const rb = sb.ref();
    sa.box.dataset.ref = ra;
    sb.box.dataset.ref = rb;
    if (!validRef(ra) || !validRef(rb)) {
      clear(out);
      out.append(h('p', { class: 'bad' }, 'Pick a run and a snapshot seq (a whole number) for A and B.'));
      return;
    }
    const mine = ++token;
    go.disabled = true;
    clear(out);
    out.append(h('p', { class: 'muted' }, 'Comparing…'));
    try {
      const diff = await api.diffSnapshots(ra, rb);
      if (mine === token) renderDiff(out, diff);
    } catch (e) {
      if (mine === token) {
        clear(out);
        handlers.error(api.errorMessage(e));
      }
    } finally {
      if (mine === token) go.disabled = false;
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void run();
  });
  for (const el of [sa.run, sb.run]) el.addEventListener('change', () => void run());
  void run();
  return {
    setA(s) {
      sa.set(s);
      void run();
    },
    setB(s) {
      sb.set(s);
      void run();
    },
    get open() {
      return isOpen;
    },
  };
}
