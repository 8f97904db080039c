// @vitest-environment jsdom
// The dev shell answers what the run list and the compare control need.
import { describe, expect, it } from 'vitest';

import * as api from '../api';
import { compareCandidates } from '../compare';
import { orderRuns } from '../views/sidebar';
import { installMockShell } from './mockShell';

describe('mock shell', () => {
  it('lists runs with last metrics and a branch, and answers compared series', async () => {
    installMockShell();
    const runs = await api.listRuns();
    expect(runs.every((r) => Array.isArray(r.last_metrics))).toBe(true);
    const branch = runs.find((r) => r.parent_run != null);
    expect(branch?.parent_run).toBe(runs[0].id);
    // The branch sits under its parent in the list, and is offered first to compare with it.
    const order = orderRuns(runs);
    const i = order.findIndex((o) => o.run.id === branch?.parent_run);
    expect(order[i + 1]).toMatchObject({ run: { id: branch?.id }, depth: 1 });
    expect(compareCandidates(runs, runs[0].id)[0]).toMatchObject({ id: branch?.id, branch: true });
    const q: api.SeriesQuery = { x: 'step', from: null, to: null, width: 400, smooth: null, logY: false };
    const sv = await api.seriesView(branch?.id ?? '', 'train:loss', q);
    expect(sv.run).toBe(branch?.id);
    expect(sv.points.length).toBeGreaterThan(0);
    expect(sv.markers).toEqual([]);
    // The finetune run has no val_loss: the compare note's case.
    const finetune = runs.find((r) => r.script.endsWith('finetune.py'));
    await expect(api.seriesView(finetune?.id ?? '', 'val_loss', q)).rejects.toThrow();
  });
});
