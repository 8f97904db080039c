// Keyboard shortcuts: one map from key to what it does, read both by the
// key handler and by the `?` overlay that lists them. No DOM here.

export type ShortcutAction = 'nan' | 'diff' | 'restore' | 'console' | 'runs' | 'warnings' | 'help' | 'close';

export interface Shortcut {
  /** KeyboardEvent.key as typed (letters lower case). */
  key: string;
  action: ShortcutAction;
  /** What the overlay says it does. */
  label: string;
}

export const SHORTCUTS: readonly Shortcut[] = [
  { key: 'n', action: 'nan', label: 'First NaN panel' },
  { key: 'd', action: 'diff', label: 'Diff panel (A = previous snapshot, B = cursor)' },
  { key: 'r', action: 'restore', label: 'Restore panel for the cursor’s snapshot' },
  { key: 'c', action: 'console', label: 'Python console at the cursor’s snapshot' },
  { key: 't', action: 'runs', label: 'Runs table' },
  { key: 'w', action: 'warnings', label: 'Agent warnings' },
  { key: '?', action: 'help', label: 'This list' },
  { key: 'Escape', action: 'close', label: 'Close the newest panel' },
];

/** Timeline keys handled elsewhere (timeline.ts `stepIndex`), listed in the overlay too. */
export const TIMELINE_KEYS: readonly [string, string][] = [
  ['← →', 'previous / next snapshot'],
  ['Shift + ← →', 'ten snapshots back / on'],
  ['Home End', 'first / last snapshot'],
  ['click, Shift+click on the timeline', 'diff A (cursor), B'],
];

/** The action a key press means; null for keys with modifiers (other than Shift for `?`) or unknown keys. */
export function shortcutFor(e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey'>): ShortcutAction | null {
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  return SHORTCUTS.find((s) => s.key === key)?.action ?? null;
}
