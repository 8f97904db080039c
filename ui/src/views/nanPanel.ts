// The First NaN panel: where NaN or Inf first appeared in the run, what
// followed, the metrics and hook events, and the last clean snapshot.

import type { BadObject } from '../bindings/BadObject';
import type { NanReport } from '../bindings/NanReport';
import { formatCount, formatNumber, formatShape, wireFloat } from '../format';
import { h } from './dom';
import { openModal } from './modal';

export interface NanHandlers {
  goto(seq: number): void;
  restore(seq: number): void;
}

function gotoButton(seq: number, handlers: NanHandlers, close: () => void, text = `Go to #${seq}`): HTMLButtonElement {
  const b = h('button', { type: 'button', class: 'small', 'data-goto': seq }, text);
  b.addEventListener('click', () => {
    handlers.goto(seq);
    close();
  });
  return b;
}

function objectsTable(objs: readonly BadObject[], handlers: NanHandlers, close: () => void, withSeq: boolean): HTMLElement {
  const table = h('table', { class: 'grid' });
  table.append(h('tr', {},
    h('th', { text: 'path' }), h('th', { text: 'type' }), h('th', { text: 'shape' }),
    h('th', { class: 'num', text: 'NaN' }), h('th', { class: 'num', text: '+Inf' }), h('th', { class: 'num', text: '-Inf' }),
    h('th', { text: 'as' }), withSeq ? h('th', { text: 'at' }) : null,
  ));
  for (const o of objs) {
    table.append(h('tr', {},
      h('td', { class: 'mono', text: o.path }),
      h('td', { text: o.type }),
      h('td', { class: 'num', text: o.scalar ? 'scalar' : formatShape(o.shape) }),
      h('td', { class: 'num', text: formatCount(o.nan) }),
      h('td', { class: 'num', text: formatCount(o.posinf) }),
      h('td', { class: 'num', text: formatCount(o.neginf) }),
      h('td', { text: o.began_as }),
      withSeq ? h('td', {}, gotoButton(o.seq, handlers, close, `#${o.seq}`)) : null,
    ));
  }
  return table;
}

/**
 * A `--nan-hooks` event's detail as one line: its message when it has one,
 * else module (class), phase, step and source line (docs/store-format.md).
 */
export function hookText(detail: unknown): string {
  if (detail == null || typeof detail !== 'object') return String(detail ?? '');
  const d = detail as Record<string, unknown>;
  const str = (k: string) => (d[k] == null ? null : String(d[k]));
  const parts: string[] = [];
  const module = str('module') ?? str('root');
  if (module) parts.push(module + (str('class') ? ` (${str('class')})` : ''));
  const phase = str('phase');
  if (phase) parts.push(phase + (str('what') ? ` ${str('what')}` : ''));
  if (str('step') != null) parts.push(`step ${str('step')}`);
  const file = str('file');
  if (file) parts.push(`${file.split(/[\\/]/).pop()}${str('line') ? `:${str('line')}` : ''}`);
  const message = str('message');
  if (message) return parts.length > 0 ? `${message} — ${parts.join(' · ')}` : message;
  return parts.length > 0 ? parts.join(' · ') : JSON.stringify(detail);
}

export function showNanPanel(report: NanReport, handlers: NanHandlers): void {
  const modal = openModal('nan-panel', 'First NaN', undefined, true, { dock: true });
  const close = () => modal.close();
  const body = modal.body;
  const first = report.first;
  modal.el.dataset.firstSeq = first ? String(first.seq) : '';
  if (!first) {
    body.append(h('p', { class: 'ok' }, `Every one of the ${formatCount(report.snapshots)} snapshots is finite: no NaN or Inf in your program's arrays or scalars.`));
  } else {
    const where = [
      `#${first.seq}`,
      first.trigger,
      first.file ? `${first.file.split(/[\\/]/).pop()}${first.line != null ? `:${first.line}` : ''}` : null,
      first.loops.length ? `epoch ${first.loops[0]}` : null,
      first.label ? `“${first.label}”` : null,
    ].filter(Boolean).join(' · ');
    const summary = h('div', { class: 'nan-summary' },
      h('div', {}, h('strong', { text: 'First non-finite snapshot: ' }), h('span', { class: 'mono', text: where }), ' ', gotoButton(first.seq, handlers, close)),
    );
    if (report.last_clean != null) {
      const restore = h('button', { type: 'button', class: 'primary small', id: 'nan-restore' }, 'Restore from here');
      const seq = report.last_clean;
      restore.addEventListener('click', () => {
        close();
        handlers.restore(seq);
      });
      summary.append(h('div', {}, h('strong', { text: 'Last clean snapshot: ' }), h('span', { class: 'mono', text: `#${seq}` }), ' ', gotoButton(seq, handlers, close), ' ', restore));
    } else {
      summary.append(h('div', { class: 'muted' }, 'No clean snapshot before it (the first snapshot already held NaN or Inf).'));
    }
    body.append(summary);
    body.append(h('h3', { text: `Where it began (${report.began.length})` }));
    body.append(report.began.length ? objectsTable(report.began, handlers, close, false) : h('p', { class: 'muted' }, 'No object: only metric values went non-finite.'));
    body.append(h('h3', { text: `What followed (${report.followed.length})` }));
    body.append(report.followed.length
      ? objectsTable(report.followed, handlers, close, true)
      : h('p', { class: 'muted' }, `Nothing else went non-finite in the ${formatCount(report.searched)} snapshots searched.`));
  }
  if (report.metrics.length) {
    body.append(h('h3', { text: 'Metric series' }));
    const table = h('table', { class: 'grid' }, h('tr', {}, h('th', { text: 'series' }), h('th', { class: 'num', text: 'step' }), h('th', { class: 'num', text: 'epoch' }), h('th', { class: 'num', text: 'value' }), h('th', { text: 'snapshot' })));
    for (const m of report.metrics) {
      table.append(h('tr', {},
        h('td', { class: 'mono', text: m.name }),
        h('td', { class: 'num', text: formatNumber(m.step) }),
        h('td', { class: 'num', text: m.epoch == null ? '—' : String(m.epoch) }),
        h('td', { class: 'num bad', text: formatNumber(wireFloat(m.value as number | string)) }),
        h('td', {}, m.seq != null ? gotoButton(m.seq, handlers, close, `#${m.seq}`) : '—'),
      ));
    }
    body.append(table);
  }
  if (report.sentinels.length || report.library.length) {
    body.append(h('h3', { text: 'Not counted (non-finite by design)' }));
    const ul = h('ul', { class: 'apart' });
    for (const s of report.sentinels) {
      const until = s.finite_from != null ? `until #${s.finite_from}` : 'throughout';
      ul.append(h('li', {}, h('span', { class: 'mono', text: `${s.name} = ${formatNumber(wireFloat(s.value as number | string))}` }), ` sentinel, ${until}`));
    }
    for (const l of report.library) {
      ul.append(h('li', {}, h('span', { class: 'mono', text: l.holder }), ` (${l.type}) holds NaN/Inf in ${formatCount(l.objects)} object${l.objects === 1 ? '' : 's'} (#${l.seq})`));
    }
    body.append(ul);
  }
  if (report.hooks.length) {
    body.append(h('h3', { text: 'Hook events (--nan-hooks)' }));
    const ul = h('ul', { class: 'hooks' });
    for (const ev of report.hooks) {
      ul.append(h('li', {}, h('span', { class: 'mono', text: hookText(ev.detail) }), ev.after_seq != null ? ' after ' : '', ev.after_seq != null ? gotoButton(ev.after_seq, handlers, close, `#${ev.after_seq}`) : null));
    }
    body.append(ul);
  } else if (first) {
    body.append(h('p', { class: 'muted small' }, 'No hook events: capture with `snapline run --nan-hooks` to record the first module whose output or gradient went non-finite.'));
  }
}
