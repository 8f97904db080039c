// What the chart view remembers per store: the x axis, smoothing, log y,
// "ignore outliers" and the cards' arrangement (pinned and moved cards), in
// localStorage under a key holding the store's path. Bad or missing entries
// read as the defaults; nothing here throws.

import type { CardOrder } from './cards';

/** The x axes a card can use: the training step, epoch, the snapshot number or seconds since the start. */
export type AxisChoice = 'step' | 'epoch' | 'snapshot' | 'time';

export const AXES: readonly AxisChoice[] = ['step', 'epoch', 'snapshot', 'time'];

export interface ViewSettings {
  /** null: the default (the training step where the series has one, else epoch). */
  axis: AxisChoice | null;
  /** TensorBoard's default EMA weight. */
  smoothing: number;
  logY: boolean;
  ignoreOutliers: boolean;
  cards: CardOrder;
}

export const DEFAULT_SETTINGS: ViewSettings = {
  axis: null,
  smoothing: 0.6,
  logY: false,
  ignoreOutliers: false,
  cards: { pinned: [], order: [] },
};

const PREFIX = 'snapline.view:';

export function settingsKey(storePath: string): string {
  return `${PREFIX}${storePath}`;
}

function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}

/** Settings from their stored JSON: each field checked, a bad one replaced by its default. */
export function parseSettings(text: string | null): ViewSettings {
  let raw: Record<string, unknown> = {};
  try {
    const v: unknown = text ? JSON.parse(text) : {};
    if (v && typeof v === 'object' && !Array.isArray(v)) raw = v as Record<string, unknown>;
  } catch {
    raw = {};
  }
  const d = DEFAULT_SETTINGS;
  const axis = typeof raw.axis === 'string' && (AXES as readonly string[]).includes(raw.axis) ? (raw.axis as AxisChoice) : null;
  const smoothing = typeof raw.smoothing === 'number' && raw.smoothing >= 0 && raw.smoothing < 1 ? raw.smoothing : d.smoothing;
  const cards = raw.cards && typeof raw.cards === 'object' ? (raw.cards as Record<string, unknown>) : {};
  return {
    axis,
    smoothing,
    logY: typeof raw.logY === 'boolean' ? raw.logY : d.logY,
    ignoreOutliers: typeof raw.ignoreOutliers === 'boolean' ? raw.ignoreOutliers : d.ignoreOutliers,
    cards: { pinned: stringList(cards.pinned), order: stringList(cards.order) },
  };
}

/** The settings saved for a store (the defaults when none, or when storage is unavailable). */
export function loadSettings(storePath: string, storage: Pick<Storage, 'getItem'> | null = safeStorage()): ViewSettings {
  if (!storage) return parseSettings(null);
  try {
    return parseSettings(storage.getItem(settingsKey(storePath)));
  } catch {
    return parseSettings(null);
  }
}

/** Saves a store's settings (silently does nothing where storage is unavailable or full). */
export function saveSettings(storePath: string, s: ViewSettings, storage: Pick<Storage, 'setItem'> | null = safeStorage()): void {
  if (!storage) return;
  try {
    storage.setItem(settingsKey(storePath), JSON.stringify(s));
  } catch {
    // Full or denied: the view still works, it just forgets.
  }
}

function safeStorage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}
