// "Compare with…": a checkbox dropdown of the store's other runs (branches of
// the open run first) in the chart controls, and the note on series a
// compared run lacks.

import type { CompareCandidate } from '../compare';
import { clear, h } from './dom';

export interface ComparePickerHandlers {
  /** The compared runs changed (ids, in the order picked). */
  change(compared: string[]): void;
}

export class ComparePicker {
  private readonly picker: HTMLDetailsElement;
  private readonly list: HTMLElement;
  private readonly count: HTMLElement;
  private readonly note: HTMLElement;
  private readonly handlers: ComparePickerHandlers;
  private compared: string[] = [];

  constructor(picker: HTMLDetailsElement, list: HTMLElement, count: HTMLElement, note: HTMLElement, handlers: ComparePickerHandlers) {
    this.picker = picker;
    this.list = list;
    this.count = count;
    this.note = note;
    this.handlers = handlers;
    this.list.addEventListener('change', (e) => {
      const box = e.target as HTMLInputElement;
      const id = box.dataset.compare;
      if (id == null) return;
      this.compared = box.checked ? [...this.compared.filter((c) => c !== id), id] : this.compared.filter((c) => c !== id);
      this.renderCount();
      this.handlers.change([...this.compared]);
    });
  }

  get selected(): string[] {
    return [...this.compared];
  }

  /** The runs offered, and which of them are compared (others are dropped from the selection); hidden while no run is open. */
  set(candidates: readonly CompareCandidate[], compared: readonly string[], open = true): void {
    const ids = new Set(candidates.map((c) => c.id));
    this.compared = compared.filter((c) => ids.has(c));
    clear(this.list);
    // Nothing to compare before a run is open.
    this.picker.hidden = !open;
    if (candidates.length === 0) {
      this.list.append(h('div', { class: 'muted small' }, 'No other runs in this store.'));
    }
    for (const c of candidates) {
      this.list.append(
        h('label', { class: `series-option${c.branch ? ' compare-branch' : ''}`, title: c.id },
          h('input', { type: 'checkbox', 'data-compare': c.id, checked: this.compared.includes(c.id) }),
          ` ${c.label}`),
      );
    }
    this.renderCount();
  }

  /** Series the compared runs lack (empty: none). */
  setNote(text: string): void {
    this.note.textContent = text;
    this.note.hidden = text === '';
    this.note.title = text;
  }

  private renderCount(): void {
    this.count.textContent = this.compared.length > 0 ? `(${this.compared.length})` : '';
  }

  close(): void {
    this.picker.open = false;
  }

  contains(node: Node): boolean {
    return this.picker.contains(node);
  }
}
