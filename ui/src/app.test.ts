// @vitest-environment jsdom
// The app wired to a mocked ./api: runs listed, a run opened, scrubbing by
// keyboard, stale answers dropped, errors in the banner, the NaN panel,
// live updates keeping the cursor, and the Restore dialog's actions (resume
// and follow the new run, a Jupyter kernel).

import indexHtml from '../index.html?raw';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import type * as ApiModule from './api';
import type { NanReport } from './bindings/NanReport';
import type { ObjectView } from './bindings/ObjectView';
import type { RunSummary } from './bindings/RunSummary';
import type { RunView } from './bindings/RunView';
import type { SeriesView } from './bindings/SeriesView';
import type { SnapshotMeta } from './bindings/SnapshotMeta';

vi.mock('./api', async (importOriginal) => {
  const real = await importOriginal<typeof ApiModule>();
  return {
    ...real,
    inShell: vi.fn(() => true),
    startup: vi.fn(),
    listRuns: vi.fn(),
    storeInfo: vi.fn(),
    openRun: vi.fn(),
    seriesView: vi.fn(),
    snapshotObjects: vi.fn(),
    objectDetail: vi.fn(),
    objectHistory: vi.fn(),
    diffSnapshots: vi.fn(),
    runsTable: vi.fn(),
    firstNan: vi.fn(),
    agentWarnings: vi.fn(),
    restoreCommand: vi.fn(),
    restoreResume: vi.fn(),
    resumeStatus: vi.fn(),
    kernelStart: vi.fn(),
    exportBundle: vi.fn(),
    importBundle: vi.fn(),
    onProgress: vi.fn(async () => () => {}),
    onStoreChanged: vi.fn(async () => () => {}),
    pickBundle: vi.fn(),
    pickSavePath: vi.fn(),
  };
});

import * as api from './api';
import { App, DEFAULT_CARDS, Lru, constantView, defaultAxis, defaultSeries, seriesLeaf } from './app';

const m = vi.mocked(api);

const RUN: RunSummary = {
  id: '3f2a9c1b0d4e5f60',
  script: '/home/u/train.py',
  status: 'failed',
  started_at: 1_700_000_000,
  ended_at: 1_700_000_100,
  duration: 100,
  snapshots: 5,
  bytes_stored: 1000,
  exit_code: 1,
  exception: null,
  parent: null,
  parent_run: null,
  parent_seq: null,
  lineage: {},
  origin: null,
  last_metrics: [],
  warnings: 0,
  group: null,
  rank: null,
  world_size: null,
};

function snap(seq: number): SnapshotMeta {
  return {
    seq,
    trigger: seq === 4 ? 'exception' : 'iteration',
    file: 'train.py',
    line: 20,
    loops: [seq],
    label: null,
    time: RUN.started_at + seq,
    capture_ms: 2,
    bytes_new: 0,
    bytes_reused: 0,
    objects: 2,
    nonfinite: seq >= 3 ? 1 : 0,
  };
}

const NAN: NanReport = {
  run: RUN.id,
  snapshots: 5,
  first: { seq: 3, trigger: 'iteration', file: 'train.py', line: 20, loops: [3], label: null, time: RUN.started_at + 3 },
  last_clean: 2,
  began: [{ path: 'W', seq: 3, type: 'ndarray', shape: [2, 2], scalar: false, count: 4, nan: 1, posinf: 0, neginf: 0, began_as: 'nan' }],
  followed: [],
  searched: 2,
  metrics: [],
  sentinels: [],
  library: [],
  hooks: [],
};

function view(count = 5): RunView {
  return {
    run: { ...RUN, snapshots: count },
    snapshots: Array.from({ length: count }, (_, i) => snap(i)),
    series: [
      { name: 'train:loss', points: count, axes: ['step', 'snapshot', 'time'], default_axis: 'step' },
      { name: 'lr', points: count, axes: ['step', 'snapshot', 'time'], default_axis: 'step' },
    ],
    nan: NAN,
    warnings: [],
  };
}

function obj(path: string, mean: number): ObjectView {
  return {
    path,
    type: 'ndarray',
    kind: 'array',
    shape: [2, 2],
    dtype: 'float32',
    stats: { count: 4, nan: 0, posinf: 0, neginf: 0, min: mean - 1, max: mean + 1, mean, l2: 1 },
    restorable: true,
    reason: null,
    preview: '',
    node: 1,
    aliases: [],
    hash: 'abc',
    nbytes: 16,
    value: null,
    children: [],
    extra: {},
  };
}

function series(name: string): SeriesView {
  return {
    run: RUN.id,
    name,
    x_axis: 'step',
    // The learning rate never changes here: a constant, not a metric.
    points: name === 'lr' ? [[0, 0.1], [1, 0.1], [2, 0.1]] : [[0, 2], [1, 1.5], [2, 1.2]],
    markers: name === 'lr' ? [] : [{ x: 3, kind: 'nan', count: 1 }],
    smoothed: null,
    raw_points: 4,
    decimated: false,
    nonpositive: 0,
    total_points: 4,
    no_x: 0,
    snapshots: [0, 1, 2, 3, 4],
    snapshot_seqs: [0, 1, 2, 3, 4],
  };
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
const $ = <T extends HTMLElement = HTMLElement>(sel: string) => document.querySelector<T>(sel);

const page = (/<body>([\s\S]*)<\/body>/.exec(indexHtml)?.[1] ?? '').replace(/<script[\s\S]*?<\/script>/g, '');

beforeAll(() => {
  // jsdom has no layout, canvas or ResizeObserver.
  vi.stubGlobal('ResizeObserver', class {
    observe() {}
    disconnect() {}
  });
});

let app: App;

beforeEach(async () => {
  vi.clearAllMocks();
  m.startup.mockResolvedValue({ store: '/data/.snapline', open_run: null, error: null });
  m.listRuns.mockResolvedValue([RUN]);
  m.storeInfo.mockResolvedValue({ path: '/data/.snapline', runs: 1 });
  m.openRun.mockResolvedValue(view());
  m.seriesView.mockImplementation(async (_run, name) => series(name));
  m.snapshotObjects.mockImplementation(async (_run, seq) => ({
    objects: [obj('model.fc1.weight', seq), obj('model.fc1.bias', seq), obj('W', seq)],
    categories: ['model', 'model', 'tensor'],
    changed: seq > 0 ? ['W'] : [],
  }));
  m.objectDetail.mockImplementation(async (_run, seq, path) => obj(path, seq));
  m.objectHistory.mockResolvedValue([]);
  m.firstNan.mockResolvedValue(NAN);
  // A fresh page per test: no listener of an earlier app is left on it.
  document.body.innerHTML = page;
  app = new App();
  await app.start();
});

afterEach(() => {
  $('.modal-head button')?.click();
  app.dispose();
});

describe('app', () => {
  it('lists the store’s runs', () => {
    const items = document.querySelectorAll<HTMLElement>('#runs [data-run-id]');
    expect(items).toHaveLength(1);
    expect(items[0].dataset.runId).toBe(RUN.id);
    expect(items[0].textContent).toContain('train.py');
    expect(items[0].textContent).toContain('failed');
    expect($('#store-path')?.textContent).toBe('/data/.snapline');
  });

  it('opens a run at its last snapshot with variables, chart and header', async () => {
    $<HTMLElement>(`#runs [data-run-id="${RUN.id}"]`)?.click();
    await vi.waitFor(() => expect(document.querySelectorAll('#variables [data-path]').length).toBeGreaterThan(0));
    expect(m.openRun).toHaveBeenCalledWith(RUN.id);
    expect($('#timeline')?.dataset.seq).toBe('4');
    expect($('#run-script')?.textContent).toBe('train.py');
    expect($<HTMLButtonElement>('#nan-button')?.disabled).toBe(false);
    const paths = [...document.querySelectorAll<HTMLElement>('#variables [data-path]')].map((e) => e.dataset.path);
    expect(paths).toEqual(['model', 'model.fc1', 'model.fc1.weight', 'model.fc1.bias', 'W']);
    expect($('#variables [data-path="W"]')?.classList.contains('changed')).toBe(true);
    expect($('#variables [data-path="model.fc1.bias"]')?.classList.contains('changed')).toBe(false);
    // Every metric is fetched (on the training step axis, smoothed 0.6 as TensorBoard); lr never changes: no card.
    expect(m.seriesView).toHaveBeenCalledTimes(2);
    expect(m.seriesView.mock.calls[0][1]).toBe('train:loss');
    expect(m.seriesView.mock.calls[0][2]).toMatchObject({ x: 'step', from: null, to: null, smooth: 0.6, logY: false });
    await vi.waitFor(() => expect([...document.querySelectorAll<HTMLElement>('#chart [data-card]')].map((c) => c.dataset.card)).toEqual(['train:loss']));
    expect($('#series-list')?.textContent).toContain('Not metrics (one point, or never changes): lr');
    expect($('#series-count')?.textContent).toBe('(1/1)');
    expect($('#status')?.textContent).toContain('snapshot 5 of 5');
  });

  it('scrubs with the keyboard and fetches only the snapshot it stops at', async () => {
    await app.openRun(RUN.id);
    await vi.waitFor(() => expect(m.snapshotObjects).toHaveBeenCalledWith(RUN.id, 4));
    m.snapshotObjects.mockClear();
    const key = (k: string, shift = false) => document.body.dispatchEvent(new KeyboardEvent('keydown', { key: k, shiftKey: shift, bubbles: true }));
    key('ArrowLeft');
    expect($('#timeline')?.dataset.seq).toBe('3');
    key('ArrowLeft');
    key('ArrowLeft');
    expect($('#timeline')?.dataset.seq).toBe('1');
    key('Home');
    expect($('#timeline')?.dataset.seq).toBe('0');
    key('ArrowRight', true);
    expect($('#timeline')?.dataset.seq).toBe('4');
    key('ArrowLeft');
    await vi.waitFor(() => expect(m.snapshotObjects).toHaveBeenCalled());
    await tick(100);
    // Debounced: one request, for where the cursor stopped.
    expect(m.snapshotObjects.mock.calls).toEqual([[RUN.id, 3]]);
  });

  it('drops a stale snapshot answer that arrives after a newer one', async () => {
    await app.openRun(RUN.id);
    await vi.waitFor(() => expect(document.querySelector('#variables [data-path="W"]')).not.toBeNull());
    let release: () => void = () => {};
    m.snapshotObjects.mockImplementationOnce(
      (_run, seq) => new Promise((r) => {
        release = () => r({ objects: [obj(`slow${seq}`, 0)], categories: ['tensor'], changed: [] });
      }),
    );
    app.setCursor(1, true);
    app.setCursor(2, true);
    await vi.waitFor(() => expect(m.snapshotObjects).toHaveBeenLastCalledWith(RUN.id, 2));
    await tick();
    release();
    await tick();
    expect(document.querySelector('#variables [data-path="slow1"]')).toBeNull();
    expect(document.querySelector('#variables [data-path="W"]')).not.toBeNull();
  });

  it('shows the selected variable at each snapshot, its history fetched once', async () => {
    await app.openRun(RUN.id);
    await vi.waitFor(() => expect(document.querySelector('#variables [data-path="W"]')).not.toBeNull());
    $('#variables [data-path="W"] .name')?.click();
    await vi.waitFor(() => expect($('#variable-detail .detail-path')?.textContent).toBe('W'));
    expect(m.objectDetail).toHaveBeenLastCalledWith(RUN.id, 4, 'W');
    await vi.waitFor(() => expect(m.objectHistory).toHaveBeenCalledTimes(1));
    expect($('#variables [data-path="W"]')?.classList.contains('selected')).toBe(true);
    app.setCursor(2, true);
    await vi.waitFor(() => expect(m.objectDetail).toHaveBeenLastCalledWith(RUN.id, 2, 'W'));
    await tick();
    expect(m.objectHistory).toHaveBeenCalledTimes(1);
    expect($('#variables [data-path="W"]')?.classList.contains('selected')).toBe(true);
    expect($('#variable-detail')?.textContent).toContain('mean');
    // Left/Right in the tree scrub the timeline (the selection stays); Down moves the selection.
    const row = $('#variables [data-path="W"]');
    row?.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowLeft', bubbles: true }));
    expect($('#timeline')?.dataset.seq).toBe('1');
    row?.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowUp', bubbles: true }));
    expect($('#timeline')?.dataset.seq).toBe('1');
    await vi.waitFor(() => expect($('#variables .selected')?.dataset.path).toBe('model.fc1.bias'));
  });

  it('shows a failed command in a dismissable banner', async () => {
    m.openRun.mockRejectedValueOnce(new api.ApiError('open_run', "no run matches 'zzz'"));
    await app.openRun('zzz');
    const banner = $('#error-banner');
    expect(banner?.hidden).toBe(false);
    expect(banner?.textContent).toContain("no run matches 'zzz'");
    $('.banner-close')?.click();
    expect(banner?.hidden).toBe(true);
  });

  it('opens the First NaN panel and goes to the last clean snapshot', async () => {
    await app.openRun(RUN.id);
    $('#nan-button')?.click();
    await vi.waitFor(() => expect($('#nan-panel')).not.toBeNull());
    expect($('#nan-panel')?.dataset.firstSeq).toBe('3');
    expect($('#nan-panel')?.textContent).toContain('W');
    $<HTMLButtonElement>('#nan-panel [data-goto="2"]')?.click();
    expect($('#timeline')?.dataset.seq).toBe('2');
    expect($('#nan-panel')).toBeNull();
  });

  it('shows a run’s agent warnings: a badge in the list and the header, the list in a panel', async () => {
    const failed = {
      time: RUN.started_at + 3.5,
      offset: 3.5,
      summary: 'snapshot failed: UnicodeEncodeError: surrogates not allowed',
      message: 'snapshot failed: UnicodeEncodeError: surrogates not allowed\nTraceback (most recent call last):\n  File "agent.py", line 1',
    };
    const stopped = { time: RUN.started_at + 4, offset: 4, summary: 'capture stopped', message: 'capture stopped' };
    m.listRuns.mockResolvedValue([{ ...RUN, warnings: 2 }]);
    m.openRun.mockResolvedValue({ ...view(), run: { ...RUN, warnings: 2 }, warnings: [failed, stopped] });
    m.agentWarnings.mockResolvedValue([failed, stopped]);
    await app.loadRuns();
    expect($(`#runs [data-run-id="${RUN.id}"] .badge.warnings`)?.textContent).toBe('⚠ 2');
    expect($<HTMLButtonElement>('#warnings-button')?.hidden).toBe(true);
    await app.openRun(RUN.id);
    const button = $<HTMLButtonElement>('#warnings-button');
    expect(button?.hidden).toBe(false);
    expect(button?.textContent).toContain('2 agent warnings');
    expect(button?.title).toContain('capture stopped');
    button?.click();
    await vi.waitFor(() => expect($('#warnings-panel')).not.toBeNull());
    expect(m.agentWarnings).toHaveBeenCalledWith(RUN.id);
    const items = document.querySelectorAll<HTMLElement>('#warnings-panel .warning-item');
    expect(items).toHaveLength(2);
    expect(items[0].textContent).toContain('+3.5 s');
    // The first line shows; the traceback waits behind it.
    expect(items[0].querySelector('summary')?.textContent).toBe(failed.summary);
    expect(items[0].querySelector('details')?.open).toBe(false);
    expect(items[0].querySelector('pre')?.textContent).toContain('Traceback');
    expect(items[1].querySelector('details')).toBeNull();
    expect(items[1].textContent).toContain('capture stopped');

    // A run without warnings: no badge, no button.
    m.openRun.mockResolvedValue(view());
    await app.openRun(RUN.id);
    expect($<HTMLButtonElement>('#warnings-button')?.hidden).toBe(true);
  });

  it('shows the three restore commands with Copy buttons', async () => {
    m.restoreCommand.mockImplementation(async (snapshot, mode) => `snapline --store /data restore ${snapshot}${mode === 'resume' ? ' --resume' : ''}`);
    await app.openRun(RUN.id);
    $('#restore-button')?.click();
    await vi.waitFor(() => expect(document.querySelectorAll('#restore-dialog code.command')).toHaveLength(3));
    await tick();
    expect(m.restoreCommand.mock.calls.map((c) => c[1]).sort()).toEqual(['kernel', 'repl', 'resume']);
    expect(m.restoreCommand.mock.calls[0][0]).toBe(`${RUN.id}@4`);
    expect($('#restore-dialog code[data-mode="resume"]')?.textContent).toBe(`snapline --store /data restore ${RUN.id}@4 --resume`);
  });

  it('offers resume, console and kernel, and shows a started kernel with Copy buttons', async () => {
    m.restoreCommand.mockResolvedValue('snapline restore x');
    m.kernelStart.mockResolvedValue({ connection_file: '/data/.snapline/kernels/kernel-1.json', pid: 77, command: 'jupyter console --existing /data/.snapline/kernels/kernel-1.json' });
    await app.openRun(RUN.id);
    $('#restore-button')?.click();
    for (const id of ['#restore-resume', '#restore-console', '#restore-kernel']) expect($(id)).not.toBeNull();
    $('#restore-kernel')?.click();
    await vi.waitFor(() => expect($('#restore-dialog code[data-kernel="command"]')?.textContent).toBe('jupyter console --existing /data/.snapline/kernels/kernel-1.json'));
    expect(m.kernelStart).toHaveBeenCalledWith(`${RUN.id}@4`);
    expect($('#kernel-result')?.textContent).toContain('pid 77');
    expect($('#kernel-result')?.querySelectorAll('button')).toHaveLength(2);
    m.kernelStart.mockRejectedValueOnce(new api.ApiError('kernel_start', "the Jupyter kernel exited: No module named 'ipykernel'"));
    $('#restore-kernel')?.click();
    await vi.waitFor(() => expect($('#error-banner')?.textContent).toContain('ipykernel'));
    expect($('#kernel-result')?.textContent).toContain('ipykernel');
  });

  it('resumes here, then opens the new run and follows it as it grows', async () => {
    const child: RunSummary = { ...RUN, id: 'c0ffee00aa11bb22', status: 'running', started_at: Date.now() / 1000, snapshots: 2, parent: `${RUN.id}@2`, parent_run: RUN.id, parent_seq: 2 };
    const childView = (count: number): RunView => ({ ...view(count), run: { ...child, snapshots: count }, nan: null });
    m.restoreCommand.mockResolvedValue('snapline restore x');
    m.restoreResume.mockImplementation(async () => {
      m.listRuns.mockResolvedValue([RUN, child]);
      return { pid: 42, log: '/data/.snapline/logs/resume-1.log' };
    });
    m.resumeStatus.mockResolvedValue({ running: true, exit_code: null, log_tail: '' });
    m.openRun.mockImplementation(async (id) => (id === child.id ? childView(3) : view()));
    await app.openRun(RUN.id);
    app.setCursor(2, true);
    $('#restore-button')?.click();
    $('#restore-resume')?.click();
    expect($('#restore-dialog')).toBeNull();
    await vi.waitFor(() => expect(m.openRun).toHaveBeenLastCalledWith(child.id));
    expect(m.restoreResume).toHaveBeenCalledWith(`${RUN.id}@2`);
    await vi.waitFor(() => expect($('#timeline')?.dataset.seq).toBe('2'));
    expect($(`#runs [data-run-id="${child.id}"]`)).not.toBeNull();
    // New snapshots: the cursor stays at the end.
    const handler = m.onStoreChanged.mock.calls[0][0];
    m.openRun.mockImplementation(async () => childView(6));
    handler([child.id]);
    await vi.waitFor(() => expect($('#timeline')?.dataset.seq).toBe('5'));
    // Moved away by the user: it stays there.
    app.setCursor(1, true);
    m.openRun.mockImplementation(async () => childView(9));
    handler([child.id]);
    await vi.waitFor(() => expect($('#run-count')?.textContent).toContain('9 snapshots'));
    expect($('#timeline')?.dataset.seq).toBe('1');
  });

  it('shows the end of the log when a resume fails before its run appears', async () => {
    m.restoreResume.mockResolvedValue({ pid: 43, log: '/data/.snapline/logs/resume-2.log' });
    m.resumeStatus.mockResolvedValue({ running: false, exit_code: 1, log_tail: 'Traceback (most recent call last)\nRuntimeError: cannot resume here' });
    await app.resume(`${RUN.id}@2`, 1);
    expect($('#error-banner')?.textContent).toContain('exited with code 1');
    expect($('#error-banner')?.textContent).toContain('RuntimeError: cannot resume here');
    m.restoreResume.mockRejectedValueOnce(new api.ApiError('restore_resume', 'the snapline command-line tool was not found'));
    await app.resume(`${RUN.id}@2`, 1);
    expect($('#error-banner')?.textContent).toContain('command-line tool was not found');
  });

  it('exports the current snapshot with progress and a result line', async () => {
    let progress: (p: { task: string; phase: string; done: number; total: number }) => void = () => {};
    m.onProgress.mockImplementation(async (h) => {
      progress = h;
      return () => {};
    });
    let finish: (line: string) => void = () => {};
    m.pickSavePath.mockResolvedValue('/tmp/out.snapline');
    m.exportBundle.mockImplementation(() => new Promise((r) => {
      finish = r;
    }));
    await app.openRun(RUN.id);
    $('#export-button')?.click();
    expect($('#export-dialog')).not.toBeNull();
    $('#export-go')?.click();
    await vi.waitFor(() => expect(m.exportBundle).toHaveBeenCalledWith(`${RUN.id}@4`, '/tmp/out.snapline', 'snapline'));
    progress({ task: 'export', phase: 'chunks', done: 50, total: 200 });
    expect($<HTMLProgressElement>('#export-progress')?.value).toBe(50);
    expect($<HTMLProgressElement>('#export-progress')?.max).toBe(200);
    finish('wrote /tmp/out.snapline (1 snapshot)');
    await vi.waitFor(() => expect($('#export-result')?.textContent).toBe('wrote /tmp/out.snapline (1 snapshot)'));
  });

  it('imports a bundle and opens the run it brought; a failed import goes to the banner', async () => {
    m.pickBundle.mockResolvedValue('/tmp/nan.snapline');
    m.importBundle.mockResolvedValueOnce(RUN.id);
    $('#import-button')?.click();
    await vi.waitFor(() => expect(m.openRun).toHaveBeenCalledWith(RUN.id));
    expect(m.importBundle).toHaveBeenCalledWith('/tmp/nan.snapline');
    m.importBundle.mockRejectedValueOnce(new api.ApiError('import_bundle', '/tmp/nan.snapline: not a Snapline bundle'));
    $('#import-button')?.click();
    await vi.waitFor(() => expect($('#error-banner')?.textContent).toContain('not a Snapline bundle'));
    m.pickBundle.mockResolvedValueOnce(null);
    m.importBundle.mockClear();
    $('#import-button')?.click();
    await tick();
    expect(m.importBundle).not.toHaveBeenCalled();
  });

  it('re-reads the open run on store-changed, keeping the cursor where it was', async () => {
    await app.openRun(RUN.id);
    app.setCursor(1, true);
    const handler = m.onStoreChanged.mock.calls[0][0];
    m.openRun.mockResolvedValue(view(8));
    handler([RUN.id]);
    await vi.waitFor(() => expect(m.openRun).toHaveBeenCalledTimes(2));
    await tick();
    expect($('#timeline')?.dataset.seq).toBe('1');
    expect($('#run-count')?.textContent).toContain('8 snapshots');
    // Same snapshot: its variables are not fetched again.
    expect(m.snapshotObjects).toHaveBeenCalledTimes(2);
    // The cached series of the run were dropped: fetched again.
    expect(m.seriesView.mock.calls.length).toBeGreaterThanOrEqual(2);
    // Another run changed: the list is re-read, the open run is not.
    handler(['someotherrun']);
    await vi.waitFor(() => expect(m.listRuns.mock.calls.length).toBeGreaterThanOrEqual(3));
    await tick();
    expect(m.openRun).toHaveBeenCalledTimes(2);
  });
});

describe('live updates', () => {
  it('folds events that arrive during a refresh into one more refresh', async () => {
    await app.openRun(RUN.id);
    const handler = m.onStoreChanged.mock.calls[0][0];
    m.openRun.mockClear();
    let release: () => void = () => {};
    m.openRun.mockImplementationOnce(() => new Promise((r) => {
      release = () => r(view(6));
    }));
    handler([RUN.id]);
    await vi.waitFor(() => expect(m.openRun).toHaveBeenCalledTimes(1));
    handler([RUN.id]);
    handler([RUN.id]);
    handler(['other']);
    release();
    await vi.waitFor(() => expect(m.openRun).toHaveBeenCalledTimes(2));
    await tick(20);
    expect(m.openRun).toHaveBeenCalledTimes(2);
  });
});

describe('startup', () => {
  it('opens the run the app was started with, and shows a startup error', async () => {
    app.dispose();
    document.body.innerHTML = page;
    m.startup.mockResolvedValue({ store: '/data/.snapline', open_run: RUN.id, error: 'bundle.snapline: not a bundle' });
    app = new App();
    await app.start();
    expect(m.openRun).toHaveBeenLastCalledWith(RUN.id);
    expect($('#timeline')?.dataset.seq).toBe('4');
    expect($('#error-banner')?.hidden).toBe(false);
    expect($('#error-banner')?.textContent).toContain('not a bundle');
  });

  it('says once that the shell is missing in a plain browser', async () => {
    app.dispose();
    document.body.innerHTML = page;
    m.inShell.mockReturnValueOnce(false);
    m.listRuns.mockClear();
    app = new App();
    await app.start();
    expect(m.listRuns).not.toHaveBeenCalled();
    expect($('#error-banner')?.textContent).toContain('not running this window');
    expect($('#error-banner')?.querySelectorAll('.banner-message')).toHaveLength(1);
  });

  it('starts with no run open and no banner', () => {
    expect(m.openRun).not.toHaveBeenCalled();
    expect($('#error-banner')?.hidden).toBe(true);
    expect($('#run-script')?.textContent).toBe('No run open');
    expect($<HTMLButtonElement>('#diff-button')?.disabled).toBe(true);
  });
});

describe('helpers', () => {
  it('gives every metric a card by default, losses first; one-point series and constants are not metrics', () => {
    const s = (name: string, points = 10) => ({ name, points });
    expect(defaultSeries([s('lr'), s('train:loss'), s('val_loss'), s('acc')])).toEqual(['train:loss', 'val_loss', 'lr', 'acc']);
    expect(defaultSeries([s('args.lr', 1), s('final_loss', 1), s('train:epoch_loss', 5), s('train:loss', 5)])).toEqual(['train:epoch_loss', 'train:loss']);
    expect(defaultSeries(Array.from({ length: 20 }, (_, i) => s(`m${i}`)))).toHaveLength(DEFAULT_CARDS);
    expect(defaultSeries([s('a', 1), s('b', 1)])).toEqual([]);
    expect(defaultSeries([])).toEqual([]);
  });
  it('takes the x axis most metrics default to', () => {
    const s = (default_axis: 'step' | 'epoch', points = 5) => ({ points, default_axis });
    expect(defaultAxis([s('epoch'), s('step'), s('step')])).toBe('step');
    expect(defaultAxis([s('epoch'), s('step', 1)])).toBe('epoch');
    expect(defaultAxis([])).toBe('step');
  });
  it('finds constant series in what query sent', () => {
    const v = (points: [number, number][], markers = 0) => ({ points, markers: Array.from({ length: markers }, (_, i) => ({ x: i, kind: 'nan' as const, count: 1 })), raw_points: points.length });
    expect(constantView(v([[0, 1], [1, 1], [2, 1]]))).toBe(true);
    expect(constantView(v([[0, 1], [1, 2]]))).toBe(false);
    expect(constantView(v([[0, 1], [1, 1]], 1))).toBe(false);
    expect(constantView(v([[0, 1]]))).toBe(false);
  });
  it('names the leaf of a series', () => {
    expect(seriesLeaf('train:loss')).toBe('loss');
    expect(seriesLeaf('loss_fn.ignore_index')).toBe('ignore_index');
    expect(seriesLeaf('stats["Val_Loss"]')).toBe('val_loss');
    expect(seriesLeaf('history[3]')).toBe('3');
    expect(seriesLeaf('loss')).toBe('loss');
  });
  it('evicts the least recently used entry', () => {
    const lru = new Lru<number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1);
    lru.set('c', 3);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe(1);
    lru.dropPrefix('a');
    expect(lru.size).toBe(1);
  });
});

describe('compare with other runs', () => {
  const BRANCH: RunSummary = { ...RUN, id: 'c0ffee00aa11bb22', started_at: RUN.started_at + 500, parent: `${RUN.id}@2`, parent_run: RUN.id, parent_seq: 2 };
  const OTHER: RunSummary = { ...RUN, id: '9c8b7a6f5e4d3c2b', script: '/home/u/finetune.py', started_at: RUN.started_at - 500 };

  it('offers the branch first, fetches the same series for compared runs, labels them and notes what is missing', async () => {
    m.listRuns.mockResolvedValue([RUN, BRANCH, OTHER]);
    m.seriesView.mockImplementation(async (run, name) => {
      if (run === OTHER.id) throw new api.ApiError('series_view', `unknown series '${name}'`);
      return { ...series(name), run };
    });
    await app.loadRuns();
    await app.openRun(RUN.id);
    const options = [...document.querySelectorAll<HTMLInputElement>('#compare-list [data-compare]')];
    expect(options.map((o) => o.dataset.compare)).toEqual([BRANCH.id, OTHER.id]);
    expect(options[0].parentElement?.textContent).toContain('branch at @2');
    expect($('#compare-picker')?.hidden).toBe(false);
    m.seriesView.mockClear();

    options[0].checked = true;
    options[0].dispatchEvent(new Event('change', { bubbles: true }));
    await vi.waitFor(() => expect($('#chart')?.textContent).toContain('train:loss (c0ffee00)'));
    // The open run's series come from the cache; the branch's with the same query.
    expect(m.seriesView).toHaveBeenCalledTimes(1);
    expect(m.seriesView.mock.calls[0][0]).toBe(BRANCH.id);
    expect(m.seriesView.mock.calls[0][1]).toBe('train:loss');
    expect(m.seriesView.mock.calls[0][2]).toMatchObject({ x: 'step', from: null, to: null, smooth: 0.6, logY: false });
    expect($('#compare-count')?.textContent).toBe('(1)');
    expect($('#compare-note')?.hidden).toBe(true);

    // A second compared run lacking the series: skipped, and a note says so.
    options[1].checked = true;
    options[1].dispatchEvent(new Event('change', { bubbles: true }));
    await vi.waitFor(() => expect($('#compare-note')?.textContent).toBe('train:loss not in 9c8b7a6f'));
    expect($('#compare-note')?.hidden).toBe(false);
    expect($('#chart')?.textContent).not.toContain('9c8b7a6f');
    expect(document.querySelectorAll('#error-banner .banner-message, #error-banner li').length).toBe(0);
    // The cursor stays the open run's.
    expect($('#timeline')?.dataset.seq).toBe('4');

    // Cached per run: unticking and ticking again asks for nothing new.
    m.seriesView.mockClear();
    options[0].checked = false;
    options[0].dispatchEvent(new Event('change', { bubbles: true }));
    await vi.waitFor(() => expect($('#chart')?.textContent).not.toContain('c0ffee00'));
    options[0].checked = true;
    options[0].dispatchEvent(new Event('change', { bubbles: true }));
    await vi.waitFor(() => expect($('#chart')?.textContent).toContain('train:loss (c0ffee00)'));
    expect(m.seriesView.mock.calls.filter((c) => c[0] === BRANCH.id)).toHaveLength(0);
  });

  it('shows the last metrics and the branch in the run list', async () => {
    m.listRuns.mockResolvedValue([{ ...RUN, last_metrics: [{ name: 'train:loss', step: 4, value: 'nan' }] }, { ...BRANCH, last_metrics: [{ name: 'train:loss', step: 9, value: 0.25 }] }]);
    await app.loadRuns();
    const rows = [...document.querySelectorAll<HTMLElement>('#runs [data-run-id]')];
    expect(rows.map((r) => r.dataset.runId)).toEqual([RUN.id, BRANCH.id]);
    expect(rows[0].querySelector('.run-metric.bad')?.textContent).toBe('loss NaN');
    expect(rows[1].querySelector('.run-branch')?.textContent).toBe('↳ from 3f2a9c1b@2');
  });
});

describe('panels, runs table and settings', () => {
  const key = (k: string, shift = false) => document.body.dispatchEvent(new KeyboardEvent('keydown', { key: k, shiftKey: shift, bubbles: true, cancelable: true }));

  it('docks the Diff panel from a click and a shift-click on the timeline, keeping the timeline usable', async () => {
    const tl = $<HTMLCanvasElement>('#timeline');
    if (!tl) throw new Error('no timeline');
    tl.getBoundingClientRect = () => ({ width: 500, height: 70, top: 0, left: 0, right: 500, bottom: 70, x: 0, y: 0, toJSON: () => ({}) });
    tl.setPointerCapture = () => {};
    tl.hasPointerCapture = () => false;
    m.diffSnapshots.mockResolvedValue({ a: `${RUN.id}@1`, b: `${RUN.id}@3`, changes: [] } as unknown as Awaited<ReturnType<typeof api.diffSnapshots>>);
    await app.openRun(RUN.id);
    const press = (x: number, shift: boolean) => {
      const ev = new MouseEvent('pointerdown', { bubbles: true, shiftKey: shift });
      Object.defineProperty(ev, 'offsetX', { value: x });
      Object.defineProperty(ev, 'pointerId', { value: 1 });
      tl.dispatchEvent(ev);
      tl.dispatchEvent(new MouseEvent('pointerup', { bubbles: true }));
    };
    press(120, false);
    const a = $('#timeline')?.dataset.seq;
    press(420, true);
    await vi.waitFor(() => expect($('#diff-panel')).not.toBeNull());
    // Docked beside the cards, not over them: no backdrop, the timeline keys still work.
    expect($('#diff-panel')?.closest('#dock')).not.toBeNull();
    expect(document.querySelector('.modal-backdrop')).toBeNull();
    const b = $('#diff-b')?.dataset.ref;
    expect($('#diff-a')?.dataset.ref).toBe(`${RUN.id}@${a}`);
    expect(b).not.toBe(`${RUN.id}@${a}`);
    expect(m.diffSnapshots).toHaveBeenLastCalledWith(`${RUN.id}@${a}`, b);
    // The runs are picked from a list, not typed.
    expect($<HTMLSelectElement>('#diff-a-run')?.value).toBe(RUN.id);
    key('End');
    expect($('#timeline')?.dataset.seq).toBe('4');
    // A plain click moves A.
    press(10, false);
    await vi.waitFor(() => expect($('#diff-a')?.dataset.ref).toBe(`${RUN.id}@0`));
    key('Escape');
    expect($('#diff-panel')).toBeNull();
  });

  it('opens panels with their keys and lists the keys under ?', async () => {
    await app.openRun(RUN.id);
    key('n');
    await vi.waitFor(() => expect($('#dock #nan-panel')).not.toBeNull());
    key('?');
    expect($('#shortcuts-help')?.textContent).toContain('First NaN panel');
    key('Escape');
    expect($('#shortcuts-help')).toBeNull();
    expect($('#nan-panel')).not.toBeNull();
    key('Escape');
    expect($('#nan-panel')).toBeNull();
  });

  it('filters the runs table with the query’s language, shows a bad filter inline, sorts and overlays ticked runs', async () => {
    const OTHER: RunSummary = { ...RUN, id: '9c8b7a6f5e4d3c2b', script: '/home/u/finetune.py' };
    m.listRuns.mockResolvedValue([RUN, OTHER]);
    await app.loadRuns();
    const table = (ids: string[]) => ({
      columns: [{ name: 'lr', source: 'argument' as const }, { name: 'final:loss', source: 'metric' as const }],
      available: [],
      rows: [{ id: RUN.id, started_at: RUN.started_at, values: { lr: 0.01, 'final:loss': 0.5 } }, { id: OTHER.id, started_at: RUN.started_at, values: { lr: 0.001, 'final:loss': 0.2 } }].filter((r) => ids.includes(r.id)),
      total_runs: 2,
    });
    m.runsTable.mockImplementation(async (where) => {
      if (where === 'lr <') throw new api.ApiError('run_table', 'bad filter at character 5: expected a value');
      return table(where ? [OTHER.id] : [RUN.id, OTHER.id]);
    });
    key('t');
    await vi.waitFor(() => expect(document.querySelectorAll('#runs-table tbody tr')).toHaveLength(2));
    expect(m.runsTable).toHaveBeenLastCalledWith(null);
    expect($('#runs-table-section')?.hidden).toBe(false);
    // Sorted by a header click: final loss ascending puts OTHER first.
    [...document.querySelectorAll<HTMLElement>('#runs-table th')].find((th) => th.dataset.column === 'final:loss')?.click();
    expect([...document.querySelectorAll<HTMLElement>('#runs-table tbody tr')].map((r) => r.dataset.runId)).toEqual([OTHER.id, RUN.id]);
    const filter = $<HTMLInputElement>('#runs-filter');
    if (!filter) throw new Error('no filter box');
    filter.value = 'lr <';
    filter.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
    await vi.waitFor(() => expect($('#runs-filter-error')?.textContent).toContain('character 5'));
    expect($('#runs-filter-error')?.hidden).toBe(false);
    // The last good rows stay.
    expect(document.querySelectorAll('#runs-table tbody tr')).toHaveLength(2);
    filter.value = 'lr < 0.005';
    filter.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
    await vi.waitFor(() => expect(document.querySelectorAll('#runs-table tbody tr')).toHaveLength(1));
    expect(m.runsTable).toHaveBeenLastCalledWith('lr < 0.005');
    expect($('#runs-filter-error')?.hidden).toBe(true);
    // Tick and overlay: the first ticked run opens, the table closes.
    filter.value = '';
    filter.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
    await vi.waitFor(() => expect(document.querySelectorAll('#runs-table tbody tr')).toHaveLength(2));
    for (const box of document.querySelectorAll<HTMLInputElement>('#runs-table [data-check]')) {
      box.checked = true;
      box.dispatchEvent(new Event('change'));
    }
    m.openRun.mockResolvedValue({ ...view(), run: { ...OTHER, snapshots: 5 } });
    $<HTMLButtonElement>('#runs-compare')?.click();
    await vi.waitFor(() => expect(m.openRun).toHaveBeenCalledWith(OTHER.id));
    expect($('#runs-table-section')?.hidden).toBe(true);
    await vi.waitFor(() => expect(m.seriesView.mock.calls.some((c) => c[0] === RUN.id)).toBe(true));
  });

  it('remembers the x axis, smoothing, log y and outliers per store', async () => {
    localStorage.clear();
    await app.openRun(RUN.id);
    const axis = $<HTMLSelectElement>('#x-axis');
    const smoothing = $<HTMLInputElement>('#smoothing');
    const outliers = $<HTMLInputElement>('#ignore-outliers');
    if (!axis || !smoothing || !outliers) throw new Error('no controls');
    expect(axis.value).toBe('step');
    expect(smoothing.value).toBe('0.6');
    axis.value = 'snapshot';
    axis.dispatchEvent(new Event('change'));
    outliers.checked = true;
    outliers.dispatchEvent(new Event('change'));
    await vi.waitFor(() => expect(m.seriesView.mock.calls[m.seriesView.mock.calls.length - 1]?.[2]).toMatchObject({ x: 'snapshot' }));
    // A new window on the same store starts where this one left off.
    app.dispose();
    document.body.innerHTML = page;
    app = new App();
    await app.start();
    await app.openRun(RUN.id);
    expect($<HTMLSelectElement>('#x-axis')?.value).toBe('snapshot');
    expect($<HTMLInputElement>('#ignore-outliers')?.checked).toBe(true);
    // Another store: the defaults.
    m.storeInfo.mockResolvedValue({ path: '/elsewhere/.snapline', runs: 1 });
    app.dispose();
    document.body.innerHTML = page;
    app = new App();
    await app.start();
    expect($<HTMLInputElement>('#ignore-outliers')?.checked).toBe(false);
    localStorage.clear();
  });
});
