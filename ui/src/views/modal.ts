// Panels and modals. A docked panel (First NaN, Diff, Restore, Console,
// warnings) sits in #dock beside the cards and leaves the timeline usable
// (one panel per id; Escape closes the newest unless a terminal keeps it).
// A modal (Export) is one at a time over a backdrop; Escape, the × button or
// a click on the backdrop closes it (a terminal inside keeps Escape and
// stray clicks: `escape: false`, `backdrop: false`).

import { h } from './dom';

export interface Modal {
  el: HTMLElement;
  body: HTMLElement;
  close(): void;
}

let current: Modal | null = null;

export function modalOpen(): boolean {
  return current != null;
}

export function closeModal(): void {
  current?.close();
}

export interface ModalOptions {
  /** Escape closes it (default true). */
  escape?: boolean;
  /** A click on the backdrop closes it (default true). */
  backdrop?: boolean;
  /** Dock it in #dock as a panel (no backdrop, keys and clicks still reach the window); a modal where there is no #dock. */
  dock?: boolean;
}

/** Docked panels, oldest first (Escape closes the last). */
const docked: { id: string; modal: Modal; escape: boolean }[] = [];

/** The ids of the docked panels, oldest first. */
export function dockedPanels(): string[] {
  return docked.map((d) => d.id);
}

/** Closes the newest docked panel that Escape may close; false when there is none. */
export function closeNewestPanel(): boolean {
  for (let i = docked.length - 1; i >= 0; i -= 1) {
    if (docked[i].escape) {
      docked[i].modal.close();
      return true;
    }
  }
  return false;
}

function openPanel(dock: HTMLElement, id: string, title: string, onClose: (() => void) | undefined, options: ModalOptions): Modal {
  docked.find((d) => d.id === id)?.modal.close();
  const body = h('div', { class: 'modal-body' });
  const closeBtn = h('button', { class: 'icon', type: 'button', title: 'Close (Escape)', 'aria-label': 'Close' }, '×');
  const el = h('section', { class: 'panel docked', id, role: 'region', 'aria-label': title },
    h('div', { class: 'modal-head' }, h('h2', { text: title }), closeBtn),
    body,
  );
  const modal: Modal = {
    el,
    body,
    close() {
      if (!el.isConnected) return;
      el.remove();
      const at = docked.findIndex((d) => d.modal === modal);
      if (at >= 0) docked.splice(at, 1);
      onClose?.();
    },
  };
  closeBtn.addEventListener('click', () => modal.close());
  docked.push({ id, modal, escape: options.escape !== false });
  dock.prepend(el);
  return modal;
}

export function openModal(id: string, title: string, onClose?: () => void, wide = false, options: ModalOptions = {}): Modal {
  const dock = options.dock ? document.getElementById('dock') : null;
  if (dock) return openPanel(dock, id, title, onClose, options);
  current?.close();
  const body = h('div', { class: 'modal-body' });
  const closeBtn = h('button', { class: 'icon', type: 'button', title: 'Close', 'aria-label': 'Close' }, '×');
  const el = h('div', { class: `modal${wide ? ' wide' : ''}`, id, role: 'dialog', 'aria-modal': 'true', 'aria-label': title },
    h('div', { class: 'modal-head' }, h('h2', { text: title }), closeBtn),
    body,
  );
  const backdrop = h('div', { class: 'modal-backdrop' }, el);
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Escape' && options.escape !== false) {
      e.preventDefault();
      modal.close();
    }
  };
  const modal: Modal = {
    el,
    body,
    close() {
      if (!backdrop.isConnected) return;
      backdrop.remove();
      document.removeEventListener('keydown', onKey, true);
      if (current === modal) current = null;
      onClose?.();
    },
  };
  closeBtn.addEventListener('click', () => modal.close());
  backdrop.addEventListener('mousedown', (e) => {
    if (e.target === backdrop && options.backdrop !== false) modal.close();
  });
  document.addEventListener('keydown', onKey, true);
  document.body.append(backdrop);
  current = modal;
  closeBtn.focus();
  return modal;
}
