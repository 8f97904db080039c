import { describe, expect, it } from 'vitest';
import { buildTree, isModuleType, subtreeElements, filterRows, joinPath, naturalCompare, sortTree, splitPath, visibleRows } from './tree';

describe('splitPath', () => {
  it('splits on dots and brackets', () => {
    expect(splitPath('model.fc1.weight')).toEqual(['model', 'fc1', 'weight']);
    expect(splitPath('history[3]')).toEqual(['history', '[3]']);
    expect(splitPath('df["loss"]')).toEqual(['df', '["loss"]']);
    expect(splitPath('a[0].b[1][2]')).toEqual(['a', '[0]', 'b', '[1]', '[2]']);
    expect(splitPath('x')).toEqual(['x']);
  });
  it('keeps a bracketed key holding dots whole (an optimizer state keyed by parameter)', () => {
    expect(splitPath('optimizer.state[model.0.bias]["exp_avg"]')).toEqual(['optimizer', 'state', '[model.0.bias]', '["exp_avg"]']);
    expect(joinPath(splitPath('optimizer.state[model.0.bias]["exp_avg"]'))).toBe('optimizer.state[model.0.bias]["exp_avg"]');
  });
  it('keeps quoted keys whole, dots and brackets included', () => {
    expect(splitPath('d["a.b"]')).toEqual(['d', '["a.b"]']);
    expect(splitPath("d['x]y'].z")).toEqual(['d', "['x]y']", 'z']);
    expect(splitPath('d["say \\"hi\\""]')).toEqual(['d', '["say \\"hi\\""]']);
  });
  it('keeps function locals and internal roots as one root', () => {
    expect(splitPath('train:model.fc1.weight')).toEqual(['train:model', 'fc1', 'weight']);
    expect(splitPath('$rng.numpy')).toEqual(['$rng.numpy']);
    expect(splitPath('$loop0.it[2]')).toEqual(['$loop0.it', '[2]']);
  });
  it('joins back to the same path', () => {
    for (const p of ['model.fc1.weight', 'history[3]', 'df["loss"]', 'a[0].b[1][2]', 'train:model.fc1.weight']) {
      expect(joinPath(splitPath(p))).toBe(p);
    }
  });
});

interface Obj {
  path: string;
  nbytes: number;
}
const o = (path: string, nbytes = 0): Obj => ({ path, nbytes });

describe('buildTree', () => {
  const items = [o('model'), o('model.fc1.weight', 400), o('model.fc1.bias', 40), o('model.fc2.weight', 800), o('lr'), o('history[10]'), o('history[2]')];
  it('creates a node per prefix, with items where stored', () => {
    const roots = buildTree(items, (x) => x.path);
    expect(roots.map((r) => r.path)).toEqual(['model', 'lr', 'history']);
    const model = roots[0];
    expect(model.item?.path).toBe('model');
    expect(model.children.map((c) => c.path)).toEqual(['model.fc1', 'model.fc2']);
    const fc1 = model.children[0];
    expect(fc1.item).toBeNull();
    expect(fc1.children.map((c) => [c.name, c.depth])).toEqual([['weight', 2], ['bias', 2]]);
    expect(roots[2].item).toBeNull();
    expect(roots[2].children.map((c) => c.name)).toEqual(['[10]', '[2]']);
  });
  it('marks changed paths and their ancestors', () => {
    const roots = buildTree(items, (x) => x.path, new Set(['model.fc1.bias', 'lr', 'not.there']));
    const [model, lr] = roots;
    expect(lr.changed).toBe(true);
    expect(model.changed).toBe(false);
    expect(model.changedBelow).toBe(true);
    expect(model.children[0].changedBelow).toBe(true);
    expect(model.children[0].children[1].changed).toBe(true);
    expect(model.children[1].changedBelow).toBe(false);
  });
  it('sorts naturally, by change or by size', () => {
    const roots = buildTree(items, (x) => x.path, new Set(['history[2]']));
    sortTree(roots, 'name');
    expect(roots.map((r) => r.name)).toEqual(['history', 'lr', 'model']);
    expect(roots[0].children.map((c) => c.name)).toEqual(['[2]', '[10]']);
    sortTree(roots, 'changed');
    expect(roots[0].name).toBe('history');
    expect(roots.slice(1).map((r) => r.name)).toEqual(['model', 'lr']);
    sortTree(roots, 'size', (x) => x.nbytes);
    const fc1 = roots.find((r) => r.name === 'model')?.children.find((c) => c.name === 'fc1');
    expect(fc1?.children.map((c) => c.name)).toEqual(['weight', 'bias']);
    sortTree(roots, 'capture');
    expect(roots.map((r) => r.name)).toEqual(['model', 'lr', 'history']);
  });
  it('compares names naturally', () => {
    expect(naturalCompare('[2]', '[10]')).toBeLessThan(0);
    expect(naturalCompare('layer10', 'layer2')).toBeGreaterThan(0);
  });
});

describe('rows', () => {
  const roots = buildTree([o('a'), o('a.b'), o('a.b.c'), o('d')], (x) => x.path);
  it('lists only the children of expanded nodes', () => {
    expect(visibleRows(roots, new Set()).map((r) => r.path)).toEqual(['a', 'd']);
    expect(visibleRows(roots, new Set(['a'])).map((r) => r.path)).toEqual(['a', 'a.b', 'd']);
    expect(visibleRows(roots, new Set(['a', 'a.b'])).map((r) => r.path)).toEqual(['a', 'a.b', 'a.b.c', 'd']);
    // An expanded child under a collapsed parent stays hidden.
    expect(visibleRows(roots, new Set(['a.b'])).map((r) => r.path)).toEqual(['a', 'd']);
  });
  it('filters by path, keeping ancestors for context', () => {
    expect(filterRows(roots, 'C').map((r) => r.path)).toEqual(['a', 'a.b', 'a.b.c']);
    expect(filterRows(roots, 'd').map((r) => r.path)).toEqual(['d']);
    expect(filterRows(roots, 'zzz')).toEqual([]);
    expect(filterRows(roots, ' ').map((r) => r.path)).toEqual(['a', 'd']);
  });
});

describe('parameter counts', () => {
  it('adds the elements of the arrays below a module', () => {
    const items = [
      { path: 'model', shape: null, type: 'torch.nn.modules.container.Sequential' },
      { path: 'model.fc1.weight', shape: [4, 3], type: 'torch.nn.parameter.Parameter' },
      { path: 'model.fc1.bias', shape: [4], type: 'torch.nn.parameter.Parameter' },
      { path: 'model.fc2.weight', shape: [1, 4], type: 'torch.nn.parameter.Parameter' },
      { path: 'lr', shape: null, type: 'float' },
    ];
    const roots = buildTree(items, (o) => o.path, new Set());
    const model = roots.find((r) => r.path === 'model');
    if (!model) throw new Error('no model node');
    expect(subtreeElements(model, (o) => o.shape)).toBe(12 + 4 + 4);
    expect(subtreeElements(model.children[0], (o) => o.shape)).toBe(16);
    expect(isModuleType('torch.nn.modules.linear.Linear')).toBe(true);
    expect(isModuleType('__main__.TinyModule')).toBe(true);
    expect(isModuleType('float')).toBe(false);
  });
});
