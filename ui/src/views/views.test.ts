// @vitest-environment jsdom
// The pure helpers of the views, and the panels' DOM hooks.

import { afterEach, describe, expect, it } from 'vitest';

import type { Change } from '../bindings/Change';
import type { NanReport } from '../bindings/NanReport';
import { progressText } from './actions';
import { Banner } from './banner';
import { groupChanges, validRef } from './diffPanel';
import { ConsoleRouter } from './consolePanel';
import { closeModal, modalOpen, openModal } from './modal';
import { modelBlock } from './modelView';
import { hookText, showNanPanel } from './nanPanel';
import { shortType, statsBlock, statsText } from './variablesView';
import { showWarningsPanel, warningCountText } from './warningsPanel';

afterEach(() => closeModal());

const stats = (over: Partial<Parameters<typeof statsBlock>[0]> = {}) => ({
  count: 100, nan: 0, posinf: 0, neginf: 0, min: -1, max: 2, mean: 0.5, l2: 3, ...over,
});

describe('statsText', () => {
  it('shows min, max and mean of an array', () => {
    expect(statsText({ stats: stats(), preview: '' })).toBe('min -1  max 2  mean 0.5');
  });
  it('puts non-finite counts first so they are never cut off', () => {
    expect(statsText({ stats: stats({ nan: 3, posinf: 1 }), preview: '' })).toBe('NaN 3  Inf 1  min -1  max 2  mean 0.5');
  });
  it('shows a scalar as its value, or as NaN', () => {
    expect(statsText({ stats: stats({ count: 1, min: 0.25, max: 0.25, mean: 0.25 }), preview: '' })).toBe('0.25');
    expect(statsText({ stats: stats({ count: 1, nan: 1, min: null, max: null, mean: null }), preview: '' })).toBe('NaN 1');
  });
  it('falls back to a one-line preview', () => {
    expect(statsText({ stats: null, preview: "{'a':\n 1}" })).toBe("{'a': 1}");
  });
});

describe('statsBlock', () => {
  it('draws the range and the finite share', () => {
    const el = statsBlock(stats({ nan: 25 }));
    expect(el.querySelector('.range-bar')).not.toBeNull();
    expect((el.querySelector('.finite-bar .nan') as HTMLElement).style.width).toBe('25%');
    expect(el.textContent).toContain('NaN25');
  });
});

describe('diff helpers', () => {
  it('accepts RUN@SEQ, RUN@first/last and bare runs', () => {
    expect(validRef('3f2a9c1b0d4e@12')).toBe(true);
    expect(validRef('last@first')).toBe(true);
    expect(validRef('3f2a')).toBe(true);
    expect(validRef('3f2a@x')).toBe(false);
    expect(validRef('a b@1')).toBe(false);
    expect(validRef('')).toBe(false);
  });
  it('groups changes by kind in a fixed order', () => {
    const c = (change: Change['change'], path: string): Change => ({
      change, path, from: null, alias_of: null, aliases: [], type: 'int', old_type: null, nested: 0, preview: '', detail: null,
    });
    const g = groupChanges([c('added', 'x'), c('changed', 'y'), c('added', 'z'), c('moved', 'w')]);
    expect([...g.keys()]).toEqual(['changed', 'added', 'removed', 'moved']);
    expect(g.get('added')?.map((x) => x.path)).toEqual(['x', 'z']);
    expect(g.get('removed')).toEqual([]);
  });
});

describe('progress and hooks', () => {
  it('describes progress in percent and bytes', () => {
    expect(progressText({ task: 'export', phase: 'chunks', done: 512, total: 2048 })).toBe('export chunks: 25% (512 B / 2.0 KiB)');
    expect(progressText({ task: 'export', phase: 'done', done: 1, total: 1 })).toBe('export done');
  });
  it('names the module, phase, step and line of a hook event', () => {
    const text = hookText({ source: 'torch', phase: 'forward', module: 'fc2', class: 'Linear', step: 17, what: 'output', file: '/a/train.py', line: 42 });
    expect(text).toBe('fc2 (Linear) · forward output · step 17 · train.py:42');
    expect(hookText({ message: 'invalid value encountered in log' })).toBe('invalid value encountered in log');
  });
});

describe('banner', () => {
  it('shows messages until dismissed, folding repeats', () => {
    const el = document.createElement('div');
    const b = new Banner(el);
    expect(el.hidden).toBe(true);
    b.show('boom');
    b.show('boom');
    expect(el.hidden).toBe(false);
    expect(el.textContent).toContain('boom (×2)');
    (el.querySelector('.banner-close') as HTMLButtonElement).click();
    expect(el.hidden).toBe(true);
    expect(b.visible).toBe(false);
  });
});

describe('NaN panel', () => {
  const report: NanReport = {
    run: 'r', snapshots: 10, first: null, last_clean: null, began: [], followed: [], searched: 0, metrics: [], sentinels: [], library: [], hooks: [],
  };
  it('says so when every snapshot is finite', () => {
    showNanPanel(report, { goto: () => {}, restore: () => {} });
    const panel = document.getElementById('nan-panel');
    expect(panel?.dataset.firstSeq).toBe('');
    expect(panel?.textContent).toContain('finite');
    expect(modalOpen()).toBe(true);
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }));
    expect(modalOpen()).toBe(false);
  });
  it('offers Restore from the last clean snapshot', () => {
    const restored: number[] = [];
    showNanPanel(
      { ...report, first: { seq: 5, trigger: 'iteration', file: null, line: null, loops: [], label: null, time: 0 }, last_clean: 4 },
      { goto: () => {}, restore: (s) => restored.push(s) },
    );
    expect(document.getElementById('nan-panel')?.dataset.firstSeq).toBe('5');
    (document.getElementById('nan-restore') as HTMLButtonElement).click();
    expect(restored).toEqual([4]);
    expect(document.getElementById('nan-panel')).toBeNull();
  });
  it('lists sentinels and library-held values apart', () => {
    showNanPanel(
      {
        ...report,
        sentinels: [{ name: 'best', value: 'inf', seq: 1, finite_from: 3 }],
        library: [{ holder: 'fig', type: 'matplotlib.figure.Figure', seq: 9, objects: 2, nan: 0, posinf: 2, neginf: 2 }],
      },
      { goto: () => {}, restore: () => {} },
    );
    const text = document.getElementById('nan-panel')?.textContent ?? '';
    expect(text).toContain('Not counted');
    expect(text).toContain('best = +Inf sentinel, until #3');
    expect(text).toContain('fig (matplotlib.figure.Figure) holds NaN/Inf in 2 objects');
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }));
  });
});

describe('agent warnings panel', () => {
  it('counts in words', () => {
    expect(warningCountText(1)).toBe('1 agent warning');
    expect(warningCountText(3)).toBe('3 agent warnings');
  });
  it('lists each warning by time, its first line, the rest expandable', () => {
    showWarningsPanel('3f2a9c1b0d4e5f60', [
      { time: 1_700_000_072, offset: 72, summary: 'snapshot failed: boom', message: 'snapshot failed: boom\nTraceback (most recent call last):\n' },
    ]);
    const panel = document.getElementById('warnings-panel');
    expect(panel?.dataset.count).toBe('1');
    expect(panel?.textContent).toContain('snapline warnings 3f2a9c1b');
    const item = panel?.querySelector<HTMLElement>('.warning-item');
    expect(item?.querySelector('.warning-when')?.textContent).toContain('+1m 12s');
    expect(item?.querySelector('summary')?.textContent).toBe('snapshot failed: boom');
    // The whole message, without its trailing newline.
    expect(item?.querySelector('pre')?.textContent).toBe('snapshot failed: boom\nTraceback (most recent call last):');
  });
  it('says so when there is none', () => {
    showWarningsPanel('r', []);
    expect(document.getElementById('warnings-panel')?.textContent).toContain('No agent warnings');
  });
});

describe('shortType', () => {
  it('drops the module path', () => {
    expect(shortType('torch.nn.Parameter')).toBe('Parameter');
    expect(shortType('int')).toBe('int');
    expect(shortType("<class 'x.y'>")).toBe("<class 'x.y'>");
  });
});

describe('console', () => {
  it('replays output that came before the console id, and drops other consoles', () => {
    const written: string[] = [];
    const exits: (number | null)[] = [];
    const router = new ConsoleRouter({ write: (d) => written.push(d), exit: (c) => exits.push(c) });
    router.output({ id: 2, data: 'restored 3 variables\r\n' });
    router.output({ id: 1, data: 'other' });
    router.attach(2);
    router.output({ id: 2, data: '>>> ' });
    router.exit({ id: 1, code: 0 });
    router.exit({ id: 2, code: 3 });
    expect(written).toEqual(['restored 3 variables\r\n', '>>> ']);
    expect(exits).toEqual([3]);
  });

  it('keeps a terminal panel open on Escape and backdrop clicks when asked', () => {
    let closed = 0;
    openModal('console-panel', 'Console', () => closed++, true, { escape: false, backdrop: false });
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    document.querySelector('.modal-backdrop')?.dispatchEvent(new MouseEvent('mousedown', { bubbles: true }));
    expect(modalOpen()).toBe(true);
    (document.querySelector('.modal-head button') as HTMLButtonElement).click();
    expect(modalOpen()).toBe(false);
    expect(closed).toBe(1);
  });
});

describe('modelBlock', () => {
  it('shows a module as its layer tree with parameter counts, and an optimizer’s state by parameter', () => {
    const picked: string[] = [];
    const param = (name: string, path: string, shape: number[]) => ({ name, path, shape, dtype: 'float32', numel: shape.reduce((a, b) => a * b, 1), trainable: true });
    const tree = modelBlock({
      kind: 'module',
      tree: {
        name: 'model', path: 'model', type: 'torch.nn.modules.container.Sequential', parameters: [], own_params: 0, total_params: 17,
        children: [{ name: '0', path: 'model[0]', type: 'torch.nn.modules.linear.Linear', parameters: [param('weight', 'model[0].weight', [3, 4]), param('bias', 'model[0].bias', [3])], own_params: 15, total_params: 15, children: [] }],
      },
    }, (p) => picked.push(p));
    expect(tree.id).toBe('layer-tree');
    expect(tree.textContent).toContain('17 parameters');
    expect(tree.textContent).toContain('Linear · 15 params');
    expect(tree.textContent).toContain('3×4 · 12');
    tree.querySelector<HTMLButtonElement>('[title="model[0].weight"]')?.click();
    expect(picked).toEqual(['model[0].weight']);
    const opt = modelBlock({ kind: 'optimizer', optimizer: { path: 'opt', type: 'torch.optim.adam.Adam', parameters: [{ parameter: 'model[0].weight', group: 0, entries: ['opt.state[model[0].weight]["exp_avg"]'] }] } }, () => {});
    expect(opt.id).toBe('optimizer-state');
    expect(opt.textContent).toContain('Adam state by parameter');
    expect(opt.textContent).toContain('model[0].weight');
    expect(opt.querySelector('ul ul li')?.textContent).toBe('["exp_avg"]');
  });
});
