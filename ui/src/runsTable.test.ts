import { describe, expect, it } from 'vitest';
import { cellNumber, cellText, nextSort, sortRows, type TableRow } from './runsTable';

const row = (id: string, values: TableRow['values']): TableRow => ({ id, started_at: 0, values });

describe('runs table', () => {
  const rows = [
    row('a', { lr: 0.01, 'final:val_acc': 0.91, optimizer: 'adam' }),
    row('b', { lr: 0.001, 'final:val_acc': 'nan', optimizer: 'sgd' }),
    row('c', { optimizer: 'adam' }),
    row('d', { lr: 0.1, 'final:val_acc': 0.95 }),
  ];

  it('sorts numbers by value, NaN after them, runs lacking the column last either way', () => {
    expect(sortRows(rows, { column: 'lr', descending: false }).map((r) => r.id)).toEqual(['b', 'a', 'd', 'c']);
    expect(sortRows(rows, { column: 'lr', descending: true }).map((r) => r.id)).toEqual(['d', 'a', 'b', 'c']);
    expect(sortRows(rows, { column: 'final:val_acc', descending: false }).map((r) => r.id)).toEqual(['a', 'd', 'b', 'c']);
    expect(sortRows(rows, { column: 'optimizer', descending: false }).map((r) => r.id)).toEqual(['a', 'c', 'b', 'd']);
    expect(sortRows(rows, null).map((r) => r.id)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('flips the order on a second click of the same header', () => {
    const first = nextSort(null, 'lr');
    expect(first).toEqual({ column: 'lr', descending: false });
    expect(nextSort(first, 'lr')).toEqual({ column: 'lr', descending: true });
    expect(nextSort({ column: 'lr', descending: true }, 'acc')).toEqual({ column: 'acc', descending: false });
  });

  it('shows cells as Python would, numbers to 4 significant digits', () => {
    expect(cellText(0.123456)).toBe('0.1235');
    expect(cellText(32)).toBe('32');
    expect(cellText(true)).toBe('True');
    expect(cellText(null)).toBe('None');
    expect(cellText('nan')).toBe('nan');
    expect(cellText(undefined)).toBe('');
    expect(cellNumber('-inf')).toBe(Number.NEGATIVE_INFINITY);
    expect(cellNumber('adam')).toBeNull();
  });
});
