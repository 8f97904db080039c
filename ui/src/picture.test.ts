import { describe, expect, it } from 'vitest';
import { cellColour, histogramBars } from './picture';

describe('histogramBars', () => {
  it('splits the width evenly and scales heights to the tallest bin', () => {
    const bars = histogramBars({ min: 0, max: 4, counts: [1, 4, 2, 0], nonfinite: 0 }, 100, 40);
    expect(bars.map((b) => b.w)).toEqual([25, 25, 25, 25]);
    expect(bars.map((b) => b.h)).toEqual([10, 40, 20, 0]);
    expect(bars[1].y).toBe(0);
    expect([bars[2].from, bars[2].to]).toEqual([2, 3]);
  });
  it('draws nothing for no bins or no room', () => {
    expect(histogramBars({ min: 0, max: 0, counts: [], nonfinite: 3 }, 100, 40)).toEqual([]);
    expect(histogramBars({ min: 0, max: 1, counts: [1], nonfinite: 0 }, 0, 40)).toEqual([]);
  });
});

describe('cellColour', () => {
  it('is diverging around zero', () => {
    expect(cellColour(0, -2, 2)).toBe('rgb(255,255,255)');
    expect(cellColour(-2, -2, 2)).toBe('rgb(0,0,255)');
    expect(cellColour(2, -2, 2)).toBe('rgb(255,0,0)');
  });
  it('is sequential for one-signed values and grey without a value', () => {
    expect(cellColour(1, 1, 3)).not.toBe(cellColour(3, 1, 3));
    expect(cellColour(null, 0, 1)).toBe('rgb(150,150,150)');
  });
});
