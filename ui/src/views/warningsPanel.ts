// The Agent warnings panel: what the capture agent could not do in the run
// (a snapshot that failed, a value it could not record, a writer that
// stopped), oldest first; each its first line, the whole message
// (traceback) when opened. What `snapline warnings RUN` prints.

import type { AgentWarning } from '../bindings/AgentWarning';
import { formatDuration, formatTime } from '../format';
import { h } from './dom';
import { openModal } from './modal';

/** "1 agent warning" / "3 agent warnings". */
export function warningCountText(n: number): string {
  return `${n} agent warning${n === 1 ? '' : 's'}`;
}

/** One warning: when (since the run started, and the clock time), its first line, the rest expandable. */
function warningItem(w: AgentWarning): HTMLElement {
  const when = h('div', { class: 'warning-when small' },
    h('span', { class: 'num', text: `+${formatDuration(w.offset)}` }),
    ' ',
    h('span', { class: 'muted num', text: formatTime(w.time, true) }),
  );
  const message = w.message.trimEnd();
  const summary = w.summary || message;
  const body = message.includes('\n')
    ? h('details', { class: 'warning-detail' },
      h('summary', { class: 'mono', text: summary }),
      h('pre', { class: 'warning-message', text: message }))
    : h('div', { class: 'mono', text: summary });
  return h('li', { class: 'warning-item', 'data-offset': w.offset }, when, body);
}

export function showWarningsPanel(runId: string, warnings: readonly AgentWarning[]): void {
  const modal = openModal('warnings-panel', 'Agent warnings', undefined, true, { dock: true });
  const body = modal.body;
  modal.el.dataset.count = String(warnings.length);
  if (warnings.length === 0) {
    body.append(h('p', { class: 'ok' }, 'No agent warnings: the capture agent recorded no error in this run.'));
    return;
  }
  body.append(h('p', { class: 'muted' },
    `${warningCountText(warnings.length)}: what the capture agent could not do in this run, recorded instead of changing your program. A snapshot that failed is a gap in the timeline. The same list: `,
    h('code', { text: `snapline warnings ${runId.slice(0, 8)}` }), '.'));
  body.append(h('ol', { class: 'warning-list' }, ...warnings.map(warningItem)));
}
