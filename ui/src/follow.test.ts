import { describe, expect, it } from 'vitest';

import type { ResumeStatus } from './bindings/ResumeStatus';
import type { RunSummary } from './bindings/RunSummary';
import { followIndex, resumedRun, resumeFailure, waitForResumedRun } from './follow';

function run(id: string, parent: string | null, started = 1): RunSummary {
  const [parentRun, seq] = parent ? parent.split('@') : [null, null];
  return {
    id, script: 'train.py', status: 'running', started_at: started, ended_at: null, duration: 0,
    snapshots: 1, bytes_stored: 0, exit_code: null, exception: null, parent,
    parent_run: parentRun, parent_seq: seq == null ? null : Number(seq), lineage: {}, origin: null, last_metrics: [], warnings: 0, group: null, rank: null, world_size: null,
  };
}

describe('resumedRun', () => {
  it('finds the newest run resumed from the snapshot', () => {
    const runs = [run('a', null), run('b', 'a@3', 5), run('c', 'a@4', 6), run('d', 'a@3', 7)];
    expect(resumedRun(runs, 'a@3')?.id).toBe('d');
    expect(resumedRun(runs, 'a@9')).toBeNull();
    // Only runs started after the resume began.
    expect(resumedRun(runs, 'a@3', 8)).toBeNull();
  });
});

describe('followIndex', () => {
  it('stays at the end while the run grows, unless moved away', () => {
    expect(followIndex(4, 5, 8)).toBe(7);
    expect(followIndex(2, 5, 8)).toBe(2);
    expect(followIndex(-1, 0, 3)).toBe(2);
  });
});

describe('waitForResumedRun', () => {
  const running: ResumeStatus = { running: true, exit_code: null, log_tail: '' };

  it('answers the run once it is listed', async () => {
    let looks = 0;
    const out = await waitForResumedRun('a@3', {
      status: async () => running,
      findRun: async () => (++looks >= 3 ? 'b' : null),
      sleep: async () => {},
      cancelled: () => false,
    });
    expect(out).toEqual({ run: 'b' });
    expect(looks).toBe(3);
  });

  it('answers the log’s end when the process fails first', async () => {
    const failed: ResumeStatus = { running: false, exit_code: 1, log_tail: 'Traceback\nValueError: no' };
    const out = await waitForResumedRun('a@3', {
      status: async () => failed,
      findRun: async () => null,
      sleep: async () => {},
      cancelled: () => false,
    });
    expect(out).toEqual({ error: resumeFailure('a@3', failed) });
    expect(resumeFailure('a@3', failed)).toContain('exited with code 1');
    expect(resumeFailure('a@3', failed)).toContain('ValueError: no');
    expect(resumeFailure('a@3', { running: false, exit_code: null, log_tail: '' })).toContain('printed nothing');
  });

  it('takes a run committed as the process ended, and stops when cancelled', async () => {
    let looks = 0;
    const out = await waitForResumedRun('a@3', {
      status: async () => ({ running: false, exit_code: 0, log_tail: '' }),
      findRun: async () => (++looks === 2 ? 'b' : null),
      sleep: async () => {},
      cancelled: () => false,
    });
    expect(out).toEqual({ run: 'b' });
    const stopped = await waitForResumedRun('a@3', {
      status: async () => running,
      findRun: async () => null,
      sleep: async () => {},
      cancelled: () => true,
    });
    expect(stopped).toEqual({ cancelled: true });
  });
});
