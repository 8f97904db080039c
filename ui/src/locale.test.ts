import { describe, expect, it } from 'vitest';
import { validLocale } from './locale';

describe('locale', () => {
  it('tells the tags Intl accepts from LANG=C’s', () => {
    expect(validLocale('en-US')).toBe(true);
    expect(validLocale('C')).toBe(false);
    expect(validLocale(undefined)).toBe(false);
  });
});
