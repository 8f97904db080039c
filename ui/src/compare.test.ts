import { describe, expect, it } from 'vitest';

import type { RunSummary } from './bindings/RunSummary';
import { compareCandidates, compareDash, compareFetchList, compareLabel, lighter, missingNote, shortId } from './compare';

function run(id: string, started: number, parent: string | null = null, script = '/p/train.py'): RunSummary {
  const [parentRun, seq] = parent ? parent.split('@') : [null, null];
  return {
    id, script, status: 'finished', started_at: started, ended_at: null, duration: 0, snapshots: 1, bytes_stored: 0,
    exit_code: 0, exception: null, parent, parent_run: parentRun, parent_seq: seq == null ? null : Number(seq),
    lineage: {}, origin: null, warnings: 0, last_metrics: [], group: null, rank: null, world_size: null,
  };
}

describe('compareCandidates', () => {
  const runs = [
    run('aaaaaaaa1111', 100),
    run('bbbbbbbb2222', 200, null, '/p/finetune.py'),
    run('cccccccc3333', 300, 'aaaaaaaa1111@12'),
    run('dddddddd4444', 400, 'bbbbbbbb2222@3'),
    run('eeeeeeee5555', 500, 'aaaaaaaa1111@40'),
  ];

  it('offers the other runs, branches of the open run first, labelled with their snapshot', () => {
    const c = compareCandidates(runs, 'aaaaaaaa1111');
    expect(c.map((x) => x.id)).toEqual(['cccccccc3333', 'eeeeeeee5555', 'bbbbbbbb2222', 'dddddddd4444']);
    expect(c.map((x) => x.branch)).toEqual([true, true, false, false]);
    expect(c[0].label.startsWith('branch at @12 · cccccccc')).toBe(true);
    expect(c[1].label.startsWith('branch at @40 · eeeeeeee')).toBe(true);
    // Others: script, short id, start time.
    expect(c[2].label.startsWith('finetune.py · bbbbbbbb · ')).toBe(true);
    // A branch of another run is not a branch of this one.
    expect(c[3].label.startsWith('train.py · dddddddd · ')).toBe(true);
  });

  it('never offers the open run itself, and nothing without one', () => {
    expect(compareCandidates(runs, 'bbbbbbbb2222').map((x) => x.id)).toEqual(['dddddddd4444', 'aaaaaaaa1111', 'cccccccc3333', 'eeeeeeee5555']);
    expect(compareCandidates(runs, null).every((x) => !x.branch)).toBe(true);
  });
});

describe('compareFetchList', () => {
  it('asks for every selected name of every compared run, in picked order', () => {
    expect(compareFetchList(['c', 'b'], ['train:loss', 'val_loss'], 'a', ['a', 'b', 'c'])).toEqual([
      { run: 'c', name: 'train:loss' },
      { run: 'c', name: 'val_loss' },
      { run: 'b', name: 'train:loss' },
      { run: 'b', name: 'val_loss' },
    ]);
  });

  it('skips the open run, repeats and runs no longer in the store', () => {
    expect(compareFetchList(['a', 'b', 'b', 'gone'], ['loss'], 'a', ['a', 'b'])).toEqual([{ run: 'b', name: 'loss' }]);
    expect(compareFetchList(['b'], [], 'a', ['a', 'b'])).toEqual([]);
    expect(compareFetchList([], ['loss'], 'a', ['a', 'b'])).toEqual([]);
  });
});

describe('compare labels and styles', () => {
  it('labels a compared series with the run short id', () => {
    expect(shortId('3f2a9c1b0d4e5f60')).toBe('3f2a9c1b');
    expect(compareLabel('train:loss', '3f2a9c1b0d4e5f60')).toBe('train:loss (3f2a9c1b)');
  });

  it('gives compared runs distinct dash patterns', () => {
    expect(compareDash(0).length).toBeGreaterThan(0);
    expect(compareDash(0)).not.toEqual(compareDash(1));
    expect(compareDash(4)).toEqual(compareDash(0));
  });

  it('makes a colour lighter', () => {
    expect(lighter('#000000', 0.5)).toBe('#808080');
    expect(lighter('#4e79a7', 0)).toBe('#4e79a7');
    expect(lighter('#ffffff')).toBe('#ffffff');
    // Not a hex colour: left as it is.
    expect(lighter('rgb(1, 2, 3)')).toBe('rgb(1, 2, 3)');
  });

  it('notes the series a compared run lacks, per run', () => {
    expect(missingNote([])).toBe('');
    expect(missingNote([
      { run: 'bbbbbbbb2222', name: 'val_loss' },
      { run: 'bbbbbbbb2222', name: 'lr' },
      { run: 'cccccccc3333', name: 'lr' },
    ])).toBe('val_loss, lr not in bbbbbbbb · lr not in cccccccc');
  });
});
