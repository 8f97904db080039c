// The Restore and Export dialogs.

import * as api from '../api';
import type { ProgressEvent } from '../bindings/ProgressEvent';
import { formatBytes } from '../format';
import { clear, h } from './dom';
import { openModal } from './modal';

export interface ActionHandlers {
  error(message: string): void;
}

const MODES: { mode: api.RestoreMode; title: string; help: string }[] = [
  { mode: 'repl', title: 'Python prompt', help: 'The snapshot’s state in a Python prompt (IPython when installed).' },
  { mode: 'resume', title: 'Resume the script', help: 'The script goes on from this snapshot, captured as a new run.' },
  { mode: 'kernel', title: 'Jupyter kernel', help: 'A Jupyter kernel holding that state.' },
];

/** Copies text to the clipboard; false when the page may not. */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Webviews that refuse the async clipboard: the old selection-and-copy way.
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.append(area);
    area.select();
    let ok: boolean;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    area.remove();
    return ok;
  }
}

export interface RestoreHandlers extends ActionHandlers {
  /** Resume here: the script goes on from the snapshot as a new run, which the window follows. */
  resume(snapshot: string): void;
  /** The Python console panel on the snapshot. */
  console(snapshot: string): void;
}

/** A code line with a Copy button (disabled until the line is there). */
function copyLine(cmd: HTMLElement): HTMLElement {
  const copy = h('button', { type: 'button', class: 'small', disabled: !cmd.textContent || cmd.textContent === '…' }, 'Copy');
  copy.addEventListener('click', async () => {
    const ok = await copyText(cmd.textContent ?? '');
    copy.textContent = ok ? 'Copied' : 'Copy failed';
    setTimeout(() => {
      copy.textContent = 'Copy';
    }, 1500);
  });
  return h('div', { class: 'row gap' }, cmd, copy);
}

function option(title: string, help: string, ...rest: HTMLElement[]): HTMLElement {
  return h('div', { class: 'restore-option' },
    h('div', { class: 'option-title' }, h('strong', { text: title }), ' ', h('span', { class: 'muted', text: help })),
    ...rest,
  );
}

/** Starts a Jupyter kernel and shows its connection file and the command that connects to it. */
async function startKernel(snapshot: string, button: HTMLButtonElement, out: HTMLElement, handlers: ActionHandlers): Promise<void> {
  button.disabled = true;
  clear(out);
  out.append(h('span', { class: 'muted', text: 'Starting the kernel (up to 30 s)…' }));
  try {
    const k = await api.kernelStart(snapshot);
    clear(out);
    const file = h('code', { class: 'kernel-line', 'data-kernel': 'connection-file' }, k.connection_file);
    const command = h('code', { class: 'kernel-line', 'data-kernel': 'command' }, k.command);
    out.append(
      h('div', { class: 'muted small', text: `Kernel running (pid ${k.pid}). Its connection file:` }),
      copyLine(file),
      h('div', { class: 'muted small', text: 'Connect from a terminal (or give the file to your notebook or editor):' }),
      copyLine(command),
    );
  } catch (e) {
    clear(out);
    const message = api.errorMessage(e);
    out.append(h('span', { class: 'bad', text: message }));
    handlers.error(message);
  } finally {
    button.disabled = false;
  }
}

export function showRestoreDialog(snapshot: string, handlers: RestoreHandlers): void {
  const modal = openModal('restore-dialog', `Restore ${snapshot}`, undefined, false, { dock: true });
  modal.el.dataset.snapshot = snapshot;
  const resume = h('button', { type: 'button', class: 'primary', id: 'restore-resume' }, 'Resume here');
  const consoleBtn = h('button', { type: 'button', id: 'restore-console' }, 'Open Python console');
  const kernel = h('button', { type: 'button', id: 'restore-kernel' }, 'Start Jupyter kernel');
  const kernelOut = h('div', { id: 'kernel-result', class: 'result' });
  resume.addEventListener('click', () => {
    modal.close();
    handlers.resume(snapshot);
  });
  consoleBtn.addEventListener('click', () => handlers.console(snapshot));
  kernel.addEventListener('click', () => void startKernel(snapshot, kernel, kernelOut, handlers));
  modal.body.append(
    option('Resume here', 'The script goes on from this snapshot as a new run; the app opens it and follows it live.', h('div', { class: 'row gap' }, resume)),
    option('Python console', 'A Python prompt holding this snapshot’s state, in a terminal panel here.', h('div', { class: 'row gap' }, consoleBtn)),
    option('Jupyter kernel', 'A kernel holding that state, for jupyter console, a notebook or your editor.', h('div', { class: 'row gap' }, kernel), kernelOut),
    h('h3', { text: 'Copy command line' }),
    h('p', { class: 'muted', text: 'The same, to run in a terminal of your own.' }),
  );
  for (const m of MODES) {
    const cmd = h('code', { class: 'command', 'data-mode': m.mode }, '…');
    const line = copyLine(cmd);
    const copy = line.querySelector('button');
    modal.body.append(option(m.title, m.help, line));
    api.restoreCommand(snapshot, m.mode).then(
      (text) => {
        cmd.textContent = text;
        if (copy) copy.disabled = false;
      },
      (e: unknown) => {
        cmd.textContent = '(unavailable)';
        handlers.error(api.errorMessage(e));
      },
    );
  }
}

/** The progress line of an export or import: "export chunks: 42% (1.2 MiB / 2.9 MiB)" (done/total are bytes). */
export function progressText(p: ProgressEvent): string {
  const head = [p.task, p.phase].filter(Boolean).join(' ');
  if (p.total <= 1) return head;
  const pct = Math.min(100, Math.floor((p.done / p.total) * 100));
  return `${head}: ${pct}% (${formatBytes(p.done)} / ${formatBytes(p.total)})`;
}

export interface ExportTarget {
  run: string;
  seq: number | null;
  script: string;
}

export function showExportDialog(target: ExportTarget, handlers: ActionHandlers): void {
  const modal = openModal('export-dialog', 'Export');
  const scopeSnap = h('input', { type: 'radio', name: 'export-scope', value: 'snapshot', checked: target.seq != null, disabled: target.seq == null });
  const scopeRun = h('input', { type: 'radio', name: 'export-scope', value: 'run', checked: target.seq == null });
  const format = h('select', { id: 'export-format' },
    h('option', { value: 'snapline' }, 'Snapline bundle (.snapline)'),
    h('option', { value: 'safetensors' }, 'safetensors (arrays and tensors)'),
    h('option', { value: 'npz' }, 'NumPy .npz (arrays)'),
  );
  const go = h('button', { type: 'button', class: 'primary', id: 'export-go' }, 'Choose file and export…');
  const bar = h('progress', { id: 'export-progress', max: 1, value: 0 });
  const barText = h('span', { class: 'muted num' });
  const result = h('div', { id: 'export-result', class: 'result' });
  modal.body.append(
    h('div', { class: 'field' }, h('label', {}, scopeSnap, ` Snapshot #${target.seq ?? '—'}`), h('label', {}, scopeRun, ' Whole run')),
    h('div', { class: 'field' }, h('label', {}, 'Format ', format)),
    h('div', { class: 'row gap' }, go),
    h('div', { class: 'row gap progress-row' }, bar, barText),
    result,
  );
  bar.hidden = true;
  const sync = () => {
    // Only bundles hold a whole run; safetensors and npz take one snapshot.
    const bundle = format.value === 'snapline';
    scopeRun.disabled = !bundle;
    if (!bundle && target.seq != null) scopeSnap.checked = true;
  };
  format.addEventListener('change', sync);
  sync();
  go.addEventListener('click', async () => {
    const fmt = format.value as api.ExportFormat;
    const whole = scopeRun.checked || target.seq == null;
    const ref = whole ? target.run : api.snapshotRef(target.run, target.seq ?? 0);
    const base = target.script.split(/[\\/]/).pop()?.replace(/\.py$/, '') || 'run';
    const name = `${base}-${target.run.slice(0, 8)}${whole ? '' : `-${target.seq}`}.${fmt}`;
    let path: string | null;
    try {
      path = await api.pickSavePath(name, fmt);
    } catch (e) {
      handlers.error(api.errorMessage(e));
      return;
    }
    if (!path) return;
    go.disabled = true;
    bar.hidden = false;
    bar.removeAttribute('value');
    barText.textContent = 'starting…';
    clear(result);
    let unlisten: (() => void) | null = null;
    try {
      unlisten = await api.onProgress((p) => {
        if (p.task && p.task !== 'export') return;
        if (p.total > 0) {
          bar.max = p.total;
          bar.value = p.done;
        }
        barText.textContent = progressText(p);
      });
      const line = await api.exportBundle(ref, path, fmt);
      bar.max = 1;
      bar.value = 1;
      barText.textContent = 'done';
      result.append(h('span', { class: 'ok', text: line }));
    } catch (e) {
      bar.hidden = true;
      barText.textContent = '';
      result.append(h('span', { class: 'bad', text: api.errorMessage(e) }));
      handlers.error(api.errorMessage(e));
    } finally {
      unlisten?.();
      go.disabled = false;
    }
  });
}
