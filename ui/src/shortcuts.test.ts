import { describe, expect, it } from 'vitest';
import { SHORTCUTS, shortcutFor } from './shortcuts';

const key = (k: string, mods: Partial<Record<'ctrlKey' | 'metaKey' | 'altKey', boolean>> = {}) => ({ key: k, ctrlKey: false, metaKey: false, altKey: false, ...mods });

describe('shortcuts', () => {
  it('maps each panel to one key', () => {
    expect(shortcutFor(key('n'))).toBe('nan');
    expect(shortcutFor(key('D'))).toBe('diff');
    expect(shortcutFor(key('r'))).toBe('restore');
    expect(shortcutFor(key('c'))).toBe('console');
    expect(shortcutFor(key('t'))).toBe('runs');
    expect(shortcutFor(key('?'))).toBe('help');
    expect(shortcutFor(key('Escape'))).toBe('close');
    const keys = SHORTCUTS.map((s) => s.key);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('leaves keys with modifiers and unknown keys alone', () => {
    expect(shortcutFor(key('r', { ctrlKey: true }))).toBeNull();
    expect(shortcutFor(key('c', { metaKey: true }))).toBeNull();
    expect(shortcutFor(key('ArrowLeft'))).toBeNull();
    expect(shortcutFor(key('x'))).toBeNull();
  });
});
