import { defineConfig } from 'vitest/config';

// Tauri serves the built files from disk (relative base) and expects the dev
// server on a fixed port (src-tauri/tauri.conf.json: devUrl / frontendDist).
export default defineConfig({
  base: './',
  clearScreen: false,
  server: {
    port: 1420,
    strictPort: true,
  },
  build: {
    target: 'es2021',
    outDir: 'dist',
    emptyOutDir: true,
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
    // jsdom lacks matchMedia, which uPlot reads when it is imported.
    setupFiles: ['src/testSetup.ts'],
  },
});
