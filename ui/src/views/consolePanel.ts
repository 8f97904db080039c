// The in-app Python console (`#console-panel`): xterm.js in `#console-term`
// on a pseudo-terminal in the shell that runs `snapline restore RUN@SEQ` (a
// Python prompt holding the snapshot's state). Typing goes to
// console_input, the panel's size to console_resize; closing the panel
// closes (kills) the console.

import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';

import * as api from '../api';
import type { ConsoleExit } from '../bindings/ConsoleExit';
import type { ConsoleOutput } from '../bindings/ConsoleOutput';
import { cssVar, h } from './dom';
import { openModal } from './modal';

export interface ConsoleSink {
  write(data: string): void;
  exit(code: number | null): void;
}

type ConsoleEvent = { kind: 'output'; e: ConsoleOutput } | { kind: 'exit'; e: ConsoleExit };

/**
 * Routes the shell's console events to one console. The shell may send
 * output before `console_open` has answered the id: those events are kept
 * and replayed by `attach`; other consoles' events are dropped.
 */
export class ConsoleRouter {
  private id: number | null = null;
  private early: ConsoleEvent[] = [];

  constructor(private readonly sink: ConsoleSink) {}

  output(e: ConsoleOutput): void {
    this.route({ kind: 'output', e });
  }

  exit(e: ConsoleExit): void {
    this.route({ kind: 'exit', e });
  }

  attach(id: number): void {
    this.id = id;
    const early = this.early;
    this.early = [];
    for (const ev of early) this.route(ev);
  }

  private route(ev: ConsoleEvent): void {
    if (this.id == null) {
      this.early.push(ev);
      return;
    }
    if (ev.e.id !== this.id) return;
    if (ev.kind === 'output') this.sink.write(ev.e.data);
    else this.sink.exit(ev.e.code);
  }
}

export interface ConsoleHandlers {
  error(message: string): void;
}

/** Opens the console panel on `snapshot` (RUN@SEQ). */
export function showConsole(snapshot: string, handlers: ConsoleHandlers): void {
  let id: number | null = null;
  let closed = false;
  let ended = false;
  const unlisteners: (() => void)[] = [];
  const status = h('div', { id: 'console-status', class: 'muted small' }, `Starting a Python prompt holding ${snapshot}…`);
  const termEl = h('div', { id: 'console-term', class: 'console-term' });
  const term = new Terminal({
    cursorBlink: true,
    fontFamily: cssVar('--font-mono', 'monospace'),
    fontSize: 13,
    scrollback: 5000,
    theme: { background: cssVar('--bg-sunken', '#121417'), foreground: cssVar('--fg', '#e3e5e8'), cursor: cssVar('--fg', '#e3e5e8') },
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  const refit = () => {
    try {
      fit.fit();
    } catch {
      // Not laid out (hidden or zero-sized): the next resize fits it.
    }
  };
  const observer = typeof ResizeObserver === 'undefined' ? null : new ResizeObserver(refit);
  const keep = (unlisten: () => void) => {
    if (closed) unlisten();
    else unlisteners.push(unlisten);
  };
  const modal = openModal(
    'console-panel',
    `Python console · ${snapshot}`,
    () => {
      closed = true;
      observer?.disconnect();
      for (const u of unlisteners.splice(0)) u();
      if (id != null) api.consoleClose(id).catch(() => {});
      term.dispose();
    },
    true,
    // Escape and stray clicks belong to the terminal.
    { escape: false, backdrop: false, dock: true },
  );
  modal.el.classList.add('console-modal');
  modal.body.append(status, termEl);
  term.open(termEl);
  refit();
  observer?.observe(termEl);

  const router = new ConsoleRouter({
    write: (data) => term.write(data),
    exit: (code) => {
      ended = true;
      status.textContent = `The console ended${code != null ? ` (exit code ${code})` : ''}: close this panel, or open another from Restore.`;
      term.write('\r\n\x1b[2m[the console ended]\x1b[0m\r\n');
    },
  });
  term.onData((data) => {
    if (id == null || ended) return;
    api.consoleInput(id, data).catch((e: unknown) => {
      if (!ended) handlers.error(api.errorMessage(e));
    });
  });
  term.onResize(({ cols, rows }) => {
    if (id != null && !ended) api.consoleResize(id, cols, rows).catch(() => {});
  });

  void (async () => {
    try {
      keep(await api.onConsoleOutput((e) => router.output(e)));
      keep(await api.onConsoleExit((e) => router.exit(e)));
      if (closed) return;
      const opened = await api.consoleOpen(snapshot, term.cols, term.rows);
      if (closed) {
        api.consoleClose(opened).catch(() => {});
        return;
      }
      id = opened;
      modal.el.dataset.console = String(opened);
      router.attach(opened);
      if (!ended) status.textContent = `A Python prompt holding ${snapshot} (what was restored is listed first). Closing this panel ends it.`;
      term.focus();
    } catch (e) {
      const message = api.errorMessage(e);
      status.textContent = `The console did not start: ${message}`;
      handlers.error(message);
    }
  })();
}
