// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';

import type { LastMetric } from '../bindings/LastMetric';
import type { RunSummary } from '../bindings/RunSummary';
import { Sidebar, branchText, formatLastMetric, lastMetricsText, metricLabel, orderRuns } from './sidebar';

function run(id: string, started: number, parent: string | null = null, last_metrics: LastMetric[] = []): RunSummary {
  const [parentRun, seq] = parent ? parent.split('@') : [null, null];
  return {
    id, script: '/p/train.py', status: 'finished', started_at: started, ended_at: null, duration: 0, snapshots: 1, bytes_stored: 0,
    exit_code: 0, exception: null, parent, parent_run: parentRun, parent_seq: seq == null ? null : Number(seq),
    lineage: {}, origin: null, warnings: 0, last_metrics, group: null, rank: null, world_size: null,
  };
}

describe('last metrics', () => {
  it('shortens names to their last part', () => {
    expect(metricLabel('train:loss')).toBe('loss');
    expect(metricLabel('stats["acc"]')).toBe('acc');
    expect(metricLabel('model.val_accuracy')).toBe('val_accuracy');
    expect(metricLabel('loss')).toBe('loss');
  });

  it('formats values, NaN and Inf (marked bad)', () => {
    expect(formatLastMetric({ name: 'train:loss', step: 10, value: 0.23149 })).toMatchObject({ text: 'loss 0.231', bad: false });
    expect(formatLastMetric({ name: 'loss', step: 10, value: 'nan' })).toMatchObject({ text: 'loss NaN', bad: true });
    expect(formatLastMetric({ name: 'loss', step: 10, value: 'inf' })).toMatchObject({ text: 'loss +Inf', bad: true });
    expect(formatLastMetric({ name: 'loss', step: 10, value: '-inf' })).toMatchObject({ text: 'loss -Inf', bad: true });
    expect(formatLastMetric({ name: 'loss', step: 1234, value: 0.5 }).title).toBe('loss = 0.5 at step 1,234');
    expect(lastMetricsText([{ name: 'train:loss', step: 1, value: 0.231 }, { name: 'acc', step: 1, value: 0.94 }])).toBe('loss 0.231 · acc 0.94');
    expect(lastMetricsText([])).toBe('');
  });
});

describe('branches', () => {
  it('says where a resumed run came from', () => {
    expect(branchText(run('c', 1, '3f2a9c1b0d4e5f60@12'))).toBe('↳ from 3f2a9c1b@12');
    expect(branchText({ parent: 'abcdef0123456@7', parent_run: null, parent_seq: null })).toBe('↳ from abcdef01@7');
    expect(branchText(run('a', 1))).toBe('');
  });

  it('orders newest first with branches right under their parent, nested', () => {
    const runs = [
      run('a', 100),
      run('b', 200),
      run('a1', 300, 'a@5'),
      run('a2', 400, 'a@9'),
      run('a1x', 500, 'a1@2'),
      run('orphan', 250, 'gone@3'),
    ];
    expect(orderRuns(runs).map((r) => `${r.run.id}:${r.depth}`)).toEqual(['orphan:0', 'b:0', 'a:0', 'a2:1', 'a1:1', 'a1x:2']);
    // Without branches: plain newest first.
    expect(orderRuns([run('x', 1), run('y', 3), run('z', 2)]).map((r) => r.run.id)).toEqual(['y', 'z', 'x']);
  });

  it('survives a parent cycle', () => {
    const out = orderRuns([run('p', 1, 'q@1'), run('q', 2, 'p@1')]);
    expect(out.map((r) => r.run.id).sort()).toEqual(['p', 'q']);
  });
});

describe('Sidebar', () => {
  it('renders metrics (NaN in red), the branch line and the indentation', () => {
    const list = document.createElement('ul');
    const sidebar = new Sidebar(list, { open: () => {} });
    sidebar.setRuns([
      run('3f2a9c1b0d4e5f60', 100, null, [{ name: 'train:loss', step: 9, value: 'nan' }, { name: 'acc', step: 9, value: 0.9412 }]),
      run('c0ffee00aa11bb22', 200, '3f2a9c1b0d4e5f60@12', [{ name: 'train:loss', step: 20, value: 0.131 }]),
    ]);
    const rows = [...list.querySelectorAll<HTMLElement>('[data-run-id]')];
    expect(rows.map((r) => r.dataset.runId)).toEqual(['3f2a9c1b0d4e5f60', 'c0ffee00aa11bb22']);
    expect(rows.map((r) => r.dataset.depth)).toEqual(['0', '1']);
    expect(rows[1].classList.contains('run-child')).toBe(true);
    expect(rows[1].querySelector('.run-branch')?.textContent).toBe('↳ from 3f2a9c1b@12');
    expect(rows[0].querySelector('.run-branch')).toBeNull();
    expect(rows[0].querySelector('.run-metrics')?.textContent).toBe('loss NaN · acc 0.941');
    expect(rows[0].querySelector('.run-metric.bad')?.textContent).toBe('loss NaN');
    expect(rows[0].querySelectorAll('.run-metric.bad')).toHaveLength(1);
    expect(rows[1].querySelector('.run-metrics')?.textContent).toBe('loss 0.131');
    expect(rows[1].querySelector('.run-metric.bad')).toBeNull();
  });

  it('marks a run with agent warnings, and only that run', () => {
    const list = document.createElement('ul');
    new Sidebar(list, { open: () => {} }).setRuns([{ ...run('a', 100), warnings: 3 }, run('b', 200)]);
    const badge = list.querySelector<HTMLElement>('[data-run-id="a"] .badge.warnings');
    expect(badge?.textContent).toBe('⚠ 3');
    expect(badge?.title).toContain('3 agent warnings');
    expect(list.querySelector('[data-run-id="b"] .badge.warnings')).toBeNull();
  });
});
