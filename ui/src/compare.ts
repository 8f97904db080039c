// Several runs on one chart: which runs can be compared with the open one
// (branches resumed from it first), what to fetch for them, how their curves
// are labelled and drawn, and the note for series a compared run lacks.

import type { RunSummary } from './bindings/RunSummary';
import { formatTime } from './format';

/** The short id runs are shown by (first 8 characters). */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

export interface CompareCandidate {
  id: string;
  label: string;
  /** Resumed from the open run. */
  branch: boolean;
}

function scriptFile(script: string): string {
  return script.split(/[\\/]/).pop() || script;
}

/**
 * The runs the open one can be compared with: every other run of the store,
 * branches of the open run (parent_run === current) first, labelled
 * `branch at @SEQ`; the rest `script · short id · start time`, in the order given.
 */
export function compareCandidates(runs: readonly RunSummary[], current: string | null): CompareCandidate[] {
  const others = runs.filter((r) => r.id !== current);
  const label = (r: RunSummary) => `${scriptFile(r.script)} · ${shortId(r.id)} · ${formatTime(r.started_at)}`;
  const branches = others
    .filter((r) => current != null && r.parent_run === current)
    .map((r) => ({ id: r.id, branch: true, label: `branch at @${r.parent_seq ?? '?'} · ${shortId(r.id)} · ${formatTime(r.started_at)}` }));
  const rest = others.filter((r) => !(current != null && r.parent_run === current)).map((r) => ({ id: r.id, branch: false, label: label(r) }));
  return [...branches, ...rest];
}

/** One series_view call for a compared run. */
export interface CompareFetch {
  run: string;
  name: string;
}

/**
 * The series_view calls for the compared runs: each selected name for each
 * compared run still in the store (not the open one), runs in the order
 * they were picked, names in the open run's order.
 */
export function compareFetchList(compared: readonly string[], names: readonly string[], current: string, known: readonly string[]): CompareFetch[] {
  const out: CompareFetch[] = [];
  const seen = new Set<string>();
  for (const run of compared) {
    if (run === current || seen.has(run) || !known.includes(run)) continue;
    seen.add(run);
    for (const name of names) out.push({ run, name });
  }
  return out;
}

/** The legend label of a compared run's series: `name (short id)`. */
export function compareLabel(name: string, run: string): string {
  return `${name} (${shortId(run)})`;
}

/** Dash patterns of compared runs, by their position among the compared (the open run is solid). */
const DASHES: number[][] = [
  [6, 4],
  [2, 3],
  [10, 3, 2, 3],
  [4, 2, 1, 2],
];

export function compareDash(index: number): number[] {
  return DASHES[index % DASHES.length];
}

/** The series' colour made lighter (mixed with white), for compared runs' bands and lines. */
export function lighter(color: string, amount = 0.35): string {
  const m = /^#([0-9a-f]{6})$/i.exec(color.trim());
  if (!m) return color;
  const n = parseInt(m[1], 16);
  const mix = (c: number) => Math.round(c + (255 - c) * amount);
  const r = mix((n >> 16) & 255);
  const g = mix((n >> 8) & 255);
  const b = mix(n & 255);
  return `#${((r << 16) | (g << 8) | b).toString(16).padStart(6, '0')}`;
}

/** The note for compared runs lacking selected series: `val_loss not in 9c8b7a6f` (grouped per run). */
export function missingNote(missing: readonly CompareFetch[]): string {
  if (missing.length === 0) return '';
  const byRun = new Map<string, string[]>();
  for (const m of missing) {
    const list = byRun.get(m.run) ?? [];
    if (!list.includes(m.name)) list.push(m.name);
    byRun.set(m.run, list);
  }
  return [...byRun].map(([run, names]) => `${names.join(', ')} not in ${shortId(run)}`).join(' · ');
}
