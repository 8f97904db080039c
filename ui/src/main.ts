// Entry point: styles, the app, and a last-resort handler so that an
// unexpected error shows in the banner instead of a blank window.

// First: a language Intl accepts (LANG=C gives "C"), before uPlot reads it.
import './locale';
import './styles.css';
import { App } from './app';
import { errorMessage } from './api';

async function main(): Promise<void> {
  // `npm run dev` in a plain browser: answer the commands from a synthetic
  // run. Dead code in production builds (import.meta.env.DEV is false there).
  if (import.meta.env.DEV && !('__TAURI_INTERNALS__' in window)) {
    const { installMockShell } = await import('./dev/mockShell');
    installMockShell();
  }
  let app: App;
  try {
    app = new App();
  } catch (e) {
    // No app to hold the banner: write it directly, never a blank window.
    const banner = document.getElementById('error-banner');
    if (banner) {
      banner.textContent = `The window could not start: ${errorMessage(e)}`;
      banner.hidden = false;
    }
    return;
  }
  window.addEventListener('error', (e) => app.error(errorMessage(e.error ?? e.message)));
  window.addEventListener('unhandledrejection', (e) => app.error(errorMessage(e.reason)));
  await app.start();
}

void main();
