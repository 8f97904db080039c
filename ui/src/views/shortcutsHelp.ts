// The `?` overlay (#shortcuts-help): every keyboard shortcut, from the one
// map the key handler reads (shortcuts.ts).

import { SHORTCUTS, TIMELINE_KEYS } from '../shortcuts';
import { h } from './dom';
import { openModal } from './modal';

export function showShortcutsHelp(): void {
  const modal = openModal('shortcuts-help', 'Keyboard shortcuts');
  const list = h('dl', { class: 'shortcuts' });
  const row = (key: string, label: string) => list.append(h('dt', {}, h('kbd', { text: key })), h('dd', { text: label }));
  for (const s of SHORTCUTS) row(s.key, s.label);
  for (const [key, label] of TIMELINE_KEYS) row(key, label);
  modal.body.append(list);
}
