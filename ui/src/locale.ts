// The page's language as Intl accepts it. Under LANG=C (CI, containers,
// minimal desktops) WebKit reports navigator.language as "C", which
// Intl.NumberFormat rejects; uPlot builds its number format from it when it
// is imported, so an invalid tag would stop the whole window. Imported
// first by main.ts, before anything that loads uPlot.

/** Whether Intl accepts `tag` as a locale. */
export function validLocale(tag: string | undefined): boolean {
  if (!tag) return false;
  try {
    new Intl.NumberFormat(tag);
    return true;
  } catch {
    return false;
  }
}

if (typeof navigator !== 'undefined' && !validLocale(navigator.language)) {
  try {
    Object.defineProperty(navigator, 'language', { configurable: true, get: () => 'en-US' });
  } catch {
    // A navigator that cannot be patched: uPlot's import fails and main.ts says so.
  }
}
