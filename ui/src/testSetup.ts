// Test setup (vitest setupFiles): what jsdom lacks and the app's libraries
// read at import time. uPlot watches the device pixel ratio through
// matchMedia; jsdom has no matchMedia.

if (typeof window !== 'undefined' && typeof window.matchMedia !== 'function') {
  window.matchMedia = (query: string) =>
    ({
      matches: false,
      media: query,
      onchange: null,
      addEventListener() {},
      removeEventListener() {},
      addListener() {},
      removeListener() {},
      dispatchEvent: () => false,
    }) as MediaQueryList;
}

// uPlot builds its lines as Path2D objects; jsdom has none. A path that
// accepts every call is enough for the recording 2D contexts of the tests.
if (typeof window !== 'undefined' && typeof (globalThis as { Path2D?: unknown }).Path2D === 'undefined') {
  class FakePath2D {
    addPath(): void {}
    arc(): void {}
    arcTo(): void {}
    bezierCurveTo(): void {}
    closePath(): void {}
    ellipse(): void {}
    lineTo(): void {}
    moveTo(): void {}
    quadraticCurveTo(): void {}
    rect(): void {}
    roundRect(): void {}
  }
  (globalThis as { Path2D?: unknown }).Path2D = FakePath2D;
}

// jsdom has no 2D canvas: a context that accepts every call and draws
// nothing (tests that look at the drawing install a recording one).
if (typeof window !== 'undefined') {
  const noop = () => undefined;
  const context = () =>
    new Proxy({} as Record<string | symbol, unknown>, {
      get(target, prop) {
        if (prop in target) return target[prop];
        if (prop === 'measureText') return (t: string) => ({ width: t.length * 6 });
        return noop;
      },
      set(target, prop, value) {
        target[prop] = value;
        return true;
      },
    });
  HTMLCanvasElement.prototype.getContext = context as unknown as HTMLCanvasElement['getContext'];
}
