import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, formatDuration, formatNumber, formatShape, formatTime, truncate, wireFloat, zoneName } from './format';

describe('wireFloat', () => {
  it('reads the store’s non-finite strings', () => {
    expect(wireFloat('nan')).toBeNaN();
    expect(wireFloat('inf')).toBe(Number.POSITIVE_INFINITY);
    expect(wireFloat('-inf')).toBe(Number.NEGATIVE_INFINITY);
    expect(wireFloat(1.5)).toBe(1.5);
    expect(wireFloat('2.5')).toBe(2.5);
    expect(wireFloat(null)).toBeNaN();
  });
});

describe('formatNumber', () => {
  it('shows integers whole, with grouping', () => {
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(42)).toBe('42');
    expect(formatNumber(1234567)).toBe('1,234,567');
    expect(formatNumber(-1000)).toBe('-1,000');
  });
  it('keeps four significant digits and drops trailing zeros', () => {
    expect(formatNumber(0.123456)).toBe('0.1235');
    expect(formatNumber(2.5)).toBe('2.5');
    expect(formatNumber(3.14159, 3)).toBe('3.14');
    expect(formatNumber(-0.5)).toBe('-0.5');
  });
  it('switches to exponents for tiny and huge magnitudes', () => {
    expect(formatNumber(1.5e-7)).toBe('1.5e-7');
    expect(formatNumber(2.25e9 + 0.5)).toBe('2.25e+9');
    expect(formatNumber(0.0001)).toBe('1e-4');
  });
  it('names non-finite and missing values', () => {
    expect(formatNumber(Number.NaN)).toBe('NaN');
    expect(formatNumber('inf')).toBe('+Inf');
    expect(formatNumber(Number.NEGATIVE_INFINITY)).toBe('-Inf');
    expect(formatNumber(null)).toBe('—');
    expect(formatNumber(undefined)).toBe('—');
  });
});

describe('formatCount', () => {
  it('groups thousands', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(10000)).toBe('10,000');
  });
});

describe('formatBytes', () => {
  it('uses binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(5 * 1024 * 1024)).toBe('5.0 MiB');
    expect(formatBytes(300 * 1024 ** 3)).toBe('300 GiB');
    expect(formatBytes(null)).toBe('—');
  });
});

describe('formatDuration', () => {
  it('picks the unit by magnitude', () => {
    expect(formatDuration(0.25)).toBe('250 ms');
    expect(formatDuration(3.25)).toBe('3.3 s');
    expect(formatDuration(42)).toBe('42 s');
    expect(formatDuration(245)).toBe('4m 05s');
    expect(formatDuration(2 * 3600 + 3 * 60 + 9)).toBe('2h 03m');
    expect(formatDuration(3 * 86400 + 4 * 3600)).toBe('3d 04h');
    expect(formatDuration(-5)).toBe('0 ms');
    expect(formatDuration(Number.NaN)).toBe('—');
  });
});

describe('formatTime', () => {
  it('formats local time', () => {
    const t = new Date(2024, 0, 2, 3, 4, 5).getTime() / 1000;
    const zone = zoneName(new Date(t * 1000));
    expect(zone).not.toBe('');
    expect(formatTime(t)).toBe(`2024-01-02 03:04 ${zone}`);
    expect(formatTime(t, true)).toBe(`2024-01-02 03:04:05 ${zone}`);
    expect(formatTime(t, false, false)).toBe('2024-01-02 03:04');
    expect(formatTime(null)).toBe('—');
  });
});

describe('formatShape and truncate', () => {
  it('formats shapes', () => {
    expect(formatShape([3, 4, 5])).toBe('3×4×5');
    expect(formatShape([])).toBe('()');
    expect(formatShape(null)).toBe('');
  });
  it('cuts long text with an ellipsis', () => {
    expect(truncate('abcdef', 10)).toBe('abcdef');
    expect(truncate('abcdef', 4)).toBe('abc…');
  });
});
