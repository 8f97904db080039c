// The error banner: every failed command's message, visible until dismissed.

import { clear, h } from './dom';

export class Banner {
  private readonly el: HTMLElement;
  private readonly messages: string[] = [];

  constructor(el: HTMLElement) {
    this.el = el;
    this.el.setAttribute('role', 'alert');
    this.render();
  }

  /** Shows `message` (the same message twice in a row is shown once, with a count). */
  show(message: string): void {
    const text = message.trim() || 'Unknown error';
    this.messages.push(text);
    if (this.messages.length > 5) this.messages.shift();
    this.render();
  }

  dismiss(): void {
    this.messages.length = 0;
    this.render();
  }

  get visible(): boolean {
    return this.messages.length > 0;
  }

  private render(): void {
    clear(this.el);
    this.el.hidden = this.messages.length === 0;
    if (this.messages.length === 0) return;
    const list = h('div', { class: 'banner-messages' });
    let prev = '';
    let count = 0;
    let lastLine: HTMLElement | null = null;
    for (const m of this.messages) {
      if (m === prev && lastLine) {
        count += 1;
        lastLine.textContent = `${m} (×${count})`;
        continue;
      }
      prev = m;
      count = 1;
      lastLine = h('div', { class: 'banner-message', text: m });
      list.append(lastLine);
    }
    const close = h('button', { class: 'banner-close', type: 'button', title: 'Dismiss', 'aria-label': 'Dismiss' }, '×');
    close.addEventListener('click', () => this.dismiss());
    this.el.append(list, close);
  }
}
