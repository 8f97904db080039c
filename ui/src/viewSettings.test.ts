import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, loadSettings, parseSettings, saveSettings, settingsKey } from './viewSettings';

/** An in-memory Storage. */
function memory(): Pick<Storage, 'getItem' | 'setItem'> & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v) };
}

describe('view settings', () => {
  it('defaults to TensorBoard’s smoothing and the query’s axis', () => {
    expect(DEFAULT_SETTINGS.smoothing).toBe(0.6);
    expect(parseSettings(null)).toEqual(DEFAULT_SETTINGS);
  });

  it('remembers each store’s settings apart', () => {
    const s = memory();
    saveSettings('/a/.snapline', { ...DEFAULT_SETTINGS, axis: 'snapshot', smoothing: 0.9, logY: true, ignoreOutliers: true, cards: { pinned: ['lr'], order: ['acc'] } }, s);
    expect(loadSettings('/a/.snapline', s)).toEqual({ axis: 'snapshot', smoothing: 0.9, logY: true, ignoreOutliers: true, cards: { pinned: ['lr'], order: ['acc'] } });
    expect(loadSettings('/b/.snapline', s)).toEqual(DEFAULT_SETTINGS);
    expect([...s.data.keys()]).toEqual([settingsKey('/a/.snapline')]);
  });

  it('reads bad entries as the defaults, field by field', () => {
    expect(parseSettings('not json')).toEqual(DEFAULT_SETTINGS);
    expect(parseSettings('[1,2]')).toEqual(DEFAULT_SETTINGS);
    const odd = parseSettings(JSON.stringify({ axis: 'sideways', smoothing: 3, logY: 'yes', ignoreOutliers: true, cards: { pinned: ['lr', 4], order: 'x' } }));
    expect(odd).toEqual({ ...DEFAULT_SETTINGS, ignoreOutliers: true, cards: { pinned: ['lr'], order: [] } });
  });

  it('keeps working when storage throws', () => {
    const broken = { getItem: () => { throw new Error('denied'); }, setItem: () => { throw new Error('full'); } };
    expect(loadSettings('/a', broken)).toEqual(DEFAULT_SETTINGS);
    expect(() => saveSettings('/a', DEFAULT_SETTINGS, broken)).not.toThrow();
  });
});
