// One modal at a time: a titled box over a backdrop; Escape, the × button or
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
}

export function openModal(id: string, title: string, onClose?: () => void, wide = false, options: ModalOptions = {}): Modal {
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
