// An array as a picture: geometry of the histogram's bars and the colour of
// a heatmap cell. Pure functions (drawn by views/variablesView.ts).

import type { Histogram } from './bindings/Histogram';

export interface Bar {
  x: number;
  y: number;
  w: number;
  h: number;
  count: number;
  from: number;
  to: number;
}

/** Bars of a histogram in a `width` x `height` box: equal widths, heights by count (tallest = full). */
export function histogramBars(hist: Histogram, width: number, height: number): Bar[] {
  const n = hist.counts.length;
  if (n === 0 || width <= 0 || height <= 0) return [];
  const top = Math.max(...hist.counts);
  const w = width / n;
  const step = (hist.max - hist.min) / n;
  return hist.counts.map((count, i) => {
    const h = top > 0 ? (count / top) * height : 0;
    return { x: i * w, y: height - h, w, h, count, from: hist.min + i * step, to: hist.min + (i + 1) * step };
  });
}

/**
 * A cell's colour on a diverging scale when the values straddle 0 (blue
 * below, red above, white at 0), else a sequential one (light to dark);
 * null (no finite value) is drawn grey.
 */
export function cellColour(v: number | null, min: number | null, max: number | null): string {
  if (v == null || min == null || max == null) return 'rgb(150,150,150)';
  if (min < 0 && max > 0) {
    const m = Math.max(-min, max);
    const t = Math.min(1, Math.abs(v) / m);
    const c = Math.round(255 * (1 - t));
    return v < 0 ? `rgb(${c},${c},255)` : `rgb(255,${c},${c})`;
  }
  const t = max > min ? (v - min) / (max - min) : 0.5;
  const c = Math.round(235 - 200 * Math.min(1, Math.max(0, t)));
  return `rgb(${c},${Math.round(c * 0.9 + 20)},${255 - Math.round(t * 80)})`;
}
