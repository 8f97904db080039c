// Metric cards: which series get a card (series that never change are not
// metrics), the group each card sits in (its name's prefix: `train/`,
// `val_`, `eval:`), and the order the user gave them (pinned first, then
// moved). No DOM here.

/** A series as the card list sees it: its name and whether its values ever change. */
export interface CardSeries {
  name: string;
  points: number;
  /** True when every value of the series is the same (a constant is not a metric). */
  constant?: boolean;
}

export interface CardGroup {
  /** The shared prefix (`train/`, `val_`), '' for names without one, `pinned` for the pinned cards. */
  prefix: string;
  /** The group's heading (`train`, `val`, `Pinned`); '' for none. */
  title: string;
  cards: string[];
}

/** The user's arrangement: pinned cards (shown first, in this order) and the order of the rest. */
export interface CardOrder {
  pinned: string[];
  order: string[];
}

const SEPARATORS = /^(.+?[/:.]|[A-Za-z]+_)(?=[A-Za-z0-9])/;

/**
 * The group a metric belongs to: the first component of its name up to a
 * `/`, `:` or `.` (`train/loss` → `train/`), or a word followed by `_`
 * (`val_acc` → `val_`); '' when the name has neither (`loss`).
 */
export function metricPrefix(name: string): string {
  const m = SEPARATORS.exec(name);
  return m ? m[1] : '';
}

/** Whether a series is a metric worth a card: more than one point and values that change. */
export function isMetric(s: CardSeries): boolean {
  return s.points > 1 && s.constant !== true;
}

/**
 * Cards grouped by prefix: groups in the order their first card comes,
 * cards in the given order. A prefix only one series has is no group (the
 * series joins the '' group), so `val_loss` alone is not a group of one.
 */
export function groupCards(names: readonly string[]): CardGroup[] {
  const count = new Map<string, number>();
  for (const n of names) {
    const p = metricPrefix(n);
    count.set(p, (count.get(p) ?? 0) + 1);
  }
  const groups = new Map<string, string[]>();
  for (const n of names) {
    const p = metricPrefix(n);
    const key = (count.get(p) ?? 0) > 1 ? p : '';
    let list = groups.get(key);
    if (!list) {
      list = [];
      groups.set(key, list);
    }
    list.push(n);
  }
  return [...groups].map(([prefix, cards]) => ({ prefix, title: prefix.replace(/[/:._]$/, ''), cards }));
}

/** The cards as shown: the pinned ones first in a group of their own, then the rest grouped by prefix. */
export function cardLayout(order: readonly string[], pinned: readonly string[]): CardGroup[] {
  const pins = new Set(pinned);
  const first = order.filter((n) => pins.has(n));
  const rest = groupCards(order.filter((n) => !pins.has(n)));
  return first.length > 0 ? [{ prefix: 'pinned', title: 'Pinned', cards: first }, ...rest] : rest;
}

/**
 * The metrics of a run in card order: the pinned ones first (as pinned),
 * then those the user moved (as ordered), then the rest as the run lists
 * them; names the run lacks are left out.
 */
export function orderCards(series: readonly CardSeries[], arrangement: CardOrder): string[] {
  const metrics = series.filter(isMetric).map((s) => s.name);
  const have = new Set(metrics);
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (n: string) => {
    if (have.has(n) && !seen.has(n)) {
      seen.add(n);
      out.push(n);
    }
  };
  arrangement.pinned.forEach(add);
  arrangement.order.forEach(add);
  metrics.forEach(add);
  return out;
}

/** Pins or unpins a card (a pinned card goes to the end of the pinned ones). */
export function togglePin(arrangement: CardOrder, name: string): CardOrder {
  const pinned = arrangement.pinned.includes(name)
    ? arrangement.pinned.filter((n) => n !== name)
    : [...arrangement.pinned, name];
  return { pinned, order: arrangement.order };
}

/**
 * Moves `name` by `delta` places among the cards shown (`current`, in
 * display order), or before `before` when dropped on another card. A
 * pinned card moves among the pinned ones only, the others below them.
 */
export function moveCard(arrangement: CardOrder, current: readonly string[], name: string, delta: number, before?: string): CardOrder {
  const pinnedSet = new Set(arrangement.pinned);
  const isPinned = pinnedSet.has(name);
  const section = current.filter((n) => pinnedSet.has(n) === isPinned);
  const from = section.indexOf(name);
  if (from < 0) return arrangement;
  const rest = section.filter((n) => n !== name);
  let to: number;
  if (before !== undefined) {
    const at = rest.indexOf(before);
    to = at < 0 ? rest.length : at;
  } else {
    to = Math.min(rest.length, Math.max(0, from + delta));
  }
  rest.splice(to, 0, name);
  return isPinned
    ? { pinned: rest, order: arrangement.order }
    : { pinned: arrangement.pinned, order: rest };
}
