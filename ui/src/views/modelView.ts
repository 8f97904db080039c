// A module's layer tree with parameter counts, or an optimizer's state under
// the parameter each entry belongs to (query's `model_view`), as a block of
// the variable detail pane. Paths are links that select that variable.

import { formatCount, formatShape } from '../format';
import type { LayerNode } from '../bindings/LayerNode';
import type { ModelView } from '../bindings/ModelView';
import { h } from './dom';

/** A class's own name: `Linear` of `torch.nn.modules.linear.Linear`. */
function className(type: string): string {
  return type.split('.').pop() ?? type;
}

export function modelBlock(view: ModelView, select: (path: string) => void): HTMLElement {
  const link = (path: string, text: string) => {
    const b = h('button', { type: 'button', class: 'link mono', text, title: path });
    b.addEventListener('click', () => select(path));
    return b;
  };
  if (view.kind === 'optimizer') {
    const o = view.optimizer;
    const list = h('ul', { class: 'model-tree' });
    for (const p of o.parameters) {
      // An entry's name under its parameter: `["exp_avg"]` of `opt.state[model.fc1.weight]["exp_avg"]`.
      const prefix = `${o.path}.state[${p.parameter}]`;
      const entries = h('ul', {}, ...p.entries.map((e) => h('li', {}, link(e, e.startsWith(prefix) && e.length > prefix.length ? e.slice(prefix.length) : e))));
      list.append(h('li', {}, link(p.parameter, p.parameter), p.group != null ? h('span', { class: 'muted small', text: ` group ${p.group}` }) : '', entries));
    }
    return h('div', { class: 'model-view', id: 'optimizer-state' },
      h('div', { class: 'section-title', text: `${className(o.type)} state by parameter` }), list);
  }
  const layer = (n: LayerNode): HTMLElement => {
    const params = n.parameters.map((p) =>
      h('li', { class: 'param' }, link(p.path, p.name), h('span', { class: 'muted small num', text: ` ${formatShape(p.shape)} · ${formatCount(p.numel)}${p.trainable === false ? ' · frozen' : ''}` })));
    return h('li', { 'data-layer': n.path },
      link(n.path, n.name), h('span', { class: 'muted small', text: ` ${className(n.type)} · ${formatCount(n.total_params)} params` }),
      params.length + n.children.length > 0 ? h('ul', {}, ...params, ...n.children.map(layer)) : '');
  };
  return h('div', { class: 'model-view', id: 'layer-tree' },
    h('div', { class: 'section-title', text: `layers · ${formatCount(view.tree.total_params)} parameters` }),
    h('ul', { class: 'model-tree' }, layer(view.tree)));
}
