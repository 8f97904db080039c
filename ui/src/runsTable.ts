// The runs table (MLflow's runs view): a row per run, columns from each
// run's arguments/config and its final metrics (as `runs_table` answers
// them, the filter already applied by query), sorted by a clicked column.
// No DOM here.

import type { Cell } from './bindings/Cell';
import type { RunRow } from './bindings/RunRow';

/** A cell as query sends it: numbers (NaN/±Inf as strings), text, booleans, None. */
export type TableCell = Cell;

/** A row as `run_table` sends it; a column the run lacks is absent from `values`. */
export type TableRow = Pick<RunRow, 'id' | 'started_at'> & { values: Partial<Record<string, Cell>> };

export interface SortKey {
  column: string;
  descending: boolean;
}

const WIRE_FLOATS: Record<string, number> = { nan: Number.NaN, inf: Number.POSITIVE_INFINITY, '-inf': Number.NEGATIVE_INFINITY };

/** A cell's number (wire NaN/±Inf included), or null when it is not one. */
export function cellNumber(c: TableCell | undefined): number | null {
  if (typeof c === 'number') return c;
  if (typeof c === 'string' && c in WIRE_FLOATS) return WIRE_FLOATS[c];
  return null;
}

/** A cell as the table shows it (4 significant digits, Python's True/False/None). */
export function cellText(c: TableCell | undefined): string {
  if (c === undefined) return '';
  if (c === null) return 'None';
  if (typeof c === 'boolean') return c ? 'True' : 'False';
  const n = cellNumber(c);
  if (n == null) return String(c);
  if (!Number.isFinite(n)) return String(c);
  if (Number.isInteger(n) && Math.abs(n) < 1e15) return String(n);
  return Number(n.toPrecision(4)).toString();
}

/**
 * Rows sorted by a column: numbers by value (NaN after every number),
 * then text, booleans and None; a run lacking the column last either way.
 * Ties keep the given order.
 */
export function sortRows(rows: readonly TableRow[], key: SortKey | null): TableRow[] {
  if (!key) return [...rows];
  const rank = (c: TableCell | undefined): number => {
    if (c === undefined) return 9;
    const n = cellNumber(c);
    if (n != null) return Number.isNaN(n) ? 1 : 0;
    if (typeof c === 'string') return 2;
    if (typeof c === 'boolean') return 3;
    return 4;
  };
  const sign = key.descending ? -1 : 1;
  return rows
    .map((row, i) => ({ row, i }))
    .sort((p, q) => {
      const a = p.row.values[key.column];
      const b = q.row.values[key.column];
      const ra = rank(a);
      const rb = rank(b);
      if (ra === 9 || rb === 9) return ra - rb || p.i - q.i;
      let d = ra - rb;
      if (d === 0 && ra === 0) d = (cellNumber(a) as number) - (cellNumber(b) as number);
      else if (d === 0 && ra === 2) d = String(a).localeCompare(String(b));
      else if (d === 0 && ra === 3) d = Number(a) - Number(b);
      return d * sign || p.i - q.i;
    })
    .map((e) => e.row);
}

/** A click on a header: that column ascending, or flipped when it was already the key. */
export function nextSort(current: SortKey | null, column: string): SortKey {
  return current?.column === column ? { column, descending: !current.descending } : { column, descending: false };
}
