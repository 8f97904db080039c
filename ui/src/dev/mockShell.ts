// A stand-in for the Tauri shell, for `npm run dev` in a plain browser: the
// app's commands answered from a synthetic run (10,000 snapshots, a loss
// that goes NaN near the end), so the UI can be looked at and timed without
// the desktop build. Loaded only in dev mode and only outside Tauri (see
// main.ts); never part of the production bundle.

import type { AgentWarning } from '../bindings/AgentWarning';
import type { NanReport } from '../bindings/NanReport';
import type { ObjectView } from '../bindings/ObjectView';
import type { RunSummary } from '../bindings/RunSummary';
import type { SeriesView } from '../bindings/SeriesView';
import type { SnapshotMeta } from '../bindings/SnapshotMeta';

type Args = Record<string, unknown>;

const START = 1_700_000_000;
const N = 10_000;
const NAN_AT = 9_400;
/** The snapshot the resumed run started from. */
const RESUME_AT = 9_000;

function rand(seed: number): number {
  const x = Math.sin(seed * 12.9898) * 43758.5453;
  return x - Math.floor(x);
}

const snapshots: SnapshotMeta[] = Array.from({ length: N }, (_, seq) => ({
  seq,
  trigger: seq === N - 1 ? 'exception' : seq % 1000 === 0 ? 'explicit' : 'iteration',
  file: '/home/user/project/train.py',
  line: 40 + (seq % 3),
  loops: [Math.floor(seq / 500), seq % 500],
  label: seq % 2500 === 0 && seq > 0 ? `checkpoint-${seq}` : null,
  time: START + seq * 0.5,
  capture_ms: 1 + rand(seq) * 3,
  bytes_new: 4096,
  bytes_reused: 1 << 20,
  objects: 12,
  nonfinite: seq >= NAN_AT ? 3 : 0,
}));

const loss = (seq: number) => (seq >= NAN_AT ? Number.NaN : 2.5 * Math.exp(-seq / 2000) + 0.1 + rand(seq) * 0.15);
const valLoss = (seq: number) => (seq >= NAN_AT ? Number.POSITIVE_INFINITY : 2.6 * Math.exp(-seq / 2200) + 0.2 + rand(seq + 7) * 0.05);

const runs: RunSummary[] = [
  {
    id: '3f2a9c1b0d4e5f60a1b2',
    script: '/home/user/project/train.py',
    status: 'failed',
    started_at: START,
    ended_at: START + N * 0.5,
    duration: N * 0.5,
    snapshots: N,
    bytes_stored: 123 << 20,
    exit_code: 1,
    exception: { type: 'RuntimeError', message: 'loss is NaN' },
    parent: null,
    parent_run: null,
    parent_seq: null,
    lineage: {},
    origin: null,
    last_metrics: [
      { name: 'train:loss', step: N - 1, value: 'nan' },
      { name: 'val_loss', step: N - 1, value: 'inf' },
    ],
    warnings: 1,
    group: null,
    rank: null,
    world_size: null,
  },
  {
    // Resumed from the first run before its loss went NaN (the sidebar shows it under its parent).
    id: 'b7e1c0de5a4f3e2d1c00',
    script: '/home/user/project/train.py',
    status: 'finished',
    started_at: START + N * 0.5 + 600,
    ended_at: START + N * 0.5 + 600 + (N - RESUME_AT) * 0.5,
    duration: (N - RESUME_AT) * 0.5,
    snapshots: N - RESUME_AT,
    bytes_stored: 9 << 20,
    exit_code: 0,
    exception: null,
    parent: `3f2a9c1b0d4e5f60a1b2@${RESUME_AT}`,
    parent_run: '3f2a9c1b0d4e5f60a1b2',
    parent_seq: RESUME_AT,
    lineage: {},
    origin: null,
    last_metrics: [
      { name: 'train:loss', step: N - 1, value: 0.1312 },
      { name: 'val_loss', step: N - 1, value: 0.2247 },
    ],
    warnings: 0,
    group: null,
    rank: null,
    world_size: null,
  },
  {
    id: '9c8b7a6f5e4d3c2b1a00',
    script: '/home/user/project/finetune.py',
    status: 'finished',
    started_at: START - 86_400,
    ended_at: START - 80_000,
    duration: 6_400,
    snapshots: 120,
    bytes_stored: 12 << 20,
    exit_code: 0,
    exception: null,
    parent: null,
    parent_run: null,
    parent_seq: null,
    lineage: {},
    origin: null,
    last_metrics: [
      { name: 'train:loss', step: 119, value: 0.4821 },
      { name: 'stats["acc"]', step: 119, value: 0.9412 },
    ],
    warnings: 0,
    group: null,
    rank: null,
    world_size: null,
  },
];

// The first run's snapshot at NAN_AT + 3 failed (its gap in the timeline).
const agentWarnings: AgentWarning[] = [
  {
    time: START + (NAN_AT + 3) * 0.5,
    offset: (NAN_AT + 3) * 0.5,
    summary: "snapshot failed: UnicodeEncodeError: 'utf-8' codec can't encode character '\\udcff' in position 0: surrogates not allowed",
    message: "snapshot failed: UnicodeEncodeError: 'utf-8' codec can't encode character '\\udcff' in position 0: surrogates not allowed\nTraceback (most recent call last):\n  File \"snapline/agent.py\", line 540, in _snapshot\nUnicodeEncodeError: surrogates not allowed",
  },
];

const nan: NanReport = {
  run: runs[0].id,
  snapshots: N,
  first: { seq: NAN_AT, trigger: 'iteration', file: '/home/user/project/train.py', line: 41, loops: [Math.floor(NAN_AT / 500), NAN_AT % 500], label: null, time: START + NAN_AT * 0.5 },
  last_clean: NAN_AT - 1,
  began: [{ path: 'model.fc2.weight', seq: NAN_AT, type: 'torch.Tensor', shape: [10, 128], scalar: false, count: 1280, nan: 12, posinf: 0, neginf: 0, began_as: 'nan' }],
  followed: [
    { path: 'train:loss', seq: NAN_AT + 1, type: 'float', shape: null, scalar: true, count: 1, nan: 1, posinf: 0, neginf: 0, began_as: 'nan' },
    { path: 'model.fc1.weight', seq: NAN_AT + 2, type: 'torch.Tensor', shape: [128, 784], scalar: false, count: 100352, nan: 100352, posinf: 0, neginf: 0, began_as: 'nan' },
  ],
  searched: 101,
  metrics: [{ name: 'train:loss', step: NAN_AT, epoch: Math.floor(NAN_AT / 500), seq: NAN_AT, value: 'nan', time: START + NAN_AT * 0.5 }],
  sentinels: [{ name: 'best_loss', value: 'inf', seq: 3, finite_from: 500 }],
  library: [{ holder: 'fig', type: 'matplotlib.figure.Figure', seq: NAN_AT, objects: 6, nan: 0, posinf: 6, neginf: 6 }],
  hooks: [{ time: START + NAN_AT * 0.5 - 0.1, after_seq: NAN_AT - 1, detail: { source: 'torch', phase: 'forward', module: 'fc2', class: 'Linear', step: NAN_AT, what: 'output', file: '/home/user/project/train.py', line: 41, message: 'fc2 (Linear) output has 12 NaN at forward step 9400' } }],
};

function arrayObj(path: string, shape: number[], seq: number, scale: number): ObjectView {
  const bad = seq >= NAN_AT && path.includes('fc2');
  const count = shape.reduce((a, b) => a * b, 1);
  return {
    path,
    type: 'torch.Tensor',
    kind: 'array',
    shape,
    dtype: 'float32',
    stats: { count, nan: bad ? 12 : 0, posinf: 0, neginf: 0, min: -scale - seq * 1e-5, max: scale + seq * 1e-5, mean: (rand(seq + path.length) - 0.5) * 0.01, l2: scale * 10 },
    restorable: true,
    reason: null,
    preview: `tensor(shape=${shape.join('x')})`,
    node: path.length,
    aliases: [],
    hash: `h${seq}${path}`,
    nbytes: count * 4,
    value: null,
    children: [],
    extra: {},
  };
}

function valueObj(path: string, type: string, preview: string): ObjectView {
  return { path, type, kind: 'value', shape: null, dtype: null, stats: null, restorable: true, reason: null, preview, node: path.length + 100, aliases: [], hash: `v${path}${preview}`, nbytes: 8, value: null, children: [], extra: {} };
}

function objectsAt(seq: number): ObjectView[] {
  const l = loss(seq);
  return [
    { ...valueObj('model', 'Net', 'Net(fc1, fc2)'), kind: 'instance' },
    arrayObj('model.fc1.weight', [128, 784], seq, 0.3),
    arrayObj('model.fc1.bias', [128], seq, 0.1),
    arrayObj('model.fc2.weight', [10, 128], seq, 0.5),
    arrayObj('model.fc2.bias', [10], seq, 0.1),
    { ...valueObj('optimizer', 'SGD', 'SGD(lr=0.01, momentum=0.9)'), kind: 'pickle' },
    valueObj('cfg', 'dict', "{'lr': 0.01, 'epochs': 20}"),
    valueObj('cfg["lr"]', 'float', '0.01'),
    { ...valueObj('train:loss', 'float', String(l)), stats: { count: 1, nan: Number.isNaN(l) ? 1 : 0, posinf: 0, neginf: 0, min: Number.isNaN(l) ? null : l, max: Number.isNaN(l) ? null : l, mean: Number.isNaN(l) ? null : l, l2: null } },
    valueObj('train:epoch', 'int', String(Math.floor(seq / 500))),
    valueObj('history[0]', 'float', '2.61'),
    valueObj('history[1]', 'float', '2.2'),
    valueObj('df["loss"]', 'ndarray', '[2.61, 2.2, …]'),
  ];
}

function seriesView(a: Args): SeriesView {
  const name = String(a.name);
  const run = runs.find((r) => r.id.startsWith(String(a.run))) ?? runs[0];
  if (run === runs[2] && name.includes('val')) throw { message: `run ${run.id.slice(0, 8)} has no series '${name}'` };
  // The resumed run: steps from RESUME_AT, a smaller learning rate, no NaN.
  const resumed = run === runs[1];
  const calm = (seq: number) => 2.5 * Math.exp(-seq / 2000) + 0.02 + rand(seq + 3) * 0.04;
  const calmVal = (seq: number) => 2.6 * Math.exp(-seq / 2200) + 0.1 + rand(seq + 11) * 0.03;
  const fn = name.includes('val') ? (resumed ? calmVal : valLoss) : name === 'lr' ? () => (resumed ? 0.003 : 0.01) : resumed ? calm : loss;
  const first = resumed ? RESUME_AT : 0;
  const end = N;
  const axis = (a.x as 'step' | 'epoch' | 'time') ?? 'step';
  const xOf = (seq: number) => (axis === 'step' ? seq : axis === 'epoch' ? Math.floor(seq / 500) + (seq % 500) / 500 : seq * 0.5);
  const from = (a.from as number | null) ?? Number.NEGATIVE_INFINITY;
  const to = (a.to as number | null) ?? Number.POSITIVE_INFINITY;
  const width = Number(a.width) || 800;
  const w = Number(a.smooth) || 0;
  const inRange: [number, number][] = [];
  const markers: SeriesView['markers'] = [];
  const smoothed: [number, number][] = [];
  let last = 0;
  let n = 0;
  for (let seq = first; seq < end; seq++) {
    const x = xOf(seq);
    const y = fn(seq);
    if (Number.isFinite(y) && w > 0) {
      n += 1;
      last = last * w + (1 - w) * y;
    }
    if (x < from || x > to) continue;
    if (!Number.isFinite(y)) {
      if (markers.length === 0 || markers[markers.length - 1].x < x - (to - from) / width) markers.push({ x, kind: Number.isNaN(y) ? 'nan' : y > 0 ? 'inf' : '-inf', count: 1 });
      continue;
    }
    if (a.logY && y <= 0) continue;
    inRange.push([x, y]);
    if (w > 0) smoothed.push([x, last / (1 - w ** n)]);
  }
  const decimate = (pts: [number, number][]) => {
    if (pts.length <= 2 * width) return pts;
    const out: [number, number][] = [];
    const x0 = pts[0][0];
    const span = pts[pts.length - 1][0] - x0 || 1;
    let col = -1;
    let bucket: [number, number][] = [];
    const flush = () => {
      if (bucket.length === 0) return;
      let lo = bucket[0];
      let hi = bucket[0];
      for (const p of bucket) {
        if (p[1] < lo[1]) lo = p;
        if (p[1] > hi[1]) hi = p;
      }
      const keep = [bucket[0], lo, hi, bucket[bucket.length - 1]].sort((p, q) => p[0] - q[0]);
      for (const p of keep) if (out[out.length - 1] !== p) out.push(p);
      bucket = [];
    };
    for (const p of pts) {
      const c = Math.min(width - 1, Math.floor(((p[0] - x0) / span) * width));
      if (c !== col) {
        flush();
        col = c;
      }
      bucket.push(p);
    }
    flush();
    return out;
  };
  const snaps: number[] = [];
  const seqs: number[] = [];
  const step = Math.max(1, Math.floor((end - first) / width));
  for (let seq = first; seq < end; seq += step) {
    const x = xOf(seq);
    if (x >= from && x <= to) {
      snaps.push(x);
      seqs.push(seq);
    }
  }
  return {
    run: run.id,
    name,
    x_axis: axis,
    points: decimate(inRange),
    markers,
    smoothed: w > 0 ? decimate(smoothed) : null,
    raw_points: inRange.length + markers.length,
    decimated: inRange.length > 2 * width,
    nonpositive: 0,
    total_points: N,
    no_x: 0,
    snapshots: snaps,
    snapshot_seqs: seqs,
  };
}

function answer(cmd: string, a: Args): unknown {
  switch (cmd) {
    case 'startup':
      return { store: '/home/user/project/.snapline', open_run: null, error: null };
    case 'store_info':
      return { path: '/home/user/project/.snapline', runs: runs.length };
    case 'list_runs':
      return runs;
    case 'run_table': {
      // Every run with a learning rate and its final loss; a filter is not evaluated here (query does that), only checked for a comparison.
      const filter = String((a.options as { filter?: string | null } | undefined)?.filter ?? '').trim();
      if (filter && !/[<>=]/.test(filter)) throw { message: `bad filter: expected a comparison (<, <=, >, >=, ==, !=) in ${JSON.stringify(filter)}` };
      return {
        columns: [{ name: 'lr', source: 'argument' }, { name: 'final:loss', source: 'metric' }],
        available: [],
        rows: runs.map((r, i) => ({ id: r.id, started_at: r.started_at, values: { lr: 0.01 / (i + 1), 'final:loss': r.last_metrics[0]?.value ?? null } })),
        total_runs: runs.length,
      };
    }
    case 'open_run': {
      const run = runs.find((r) => r.id.startsWith(String(a.run)));
      if (!run) throw { message: `no run matches '${String(a.run)}'` };
      const mine = run === runs[0];
      const resumed = run === runs[1];
      return {
        run,
        snapshots: mine ? snapshots : resumed ? snapshots.slice(RESUME_AT).map((s) => ({ ...s, nonfinite: 0 })) : snapshots.slice(0, 120),
        // The finetune run has no val_loss (comparing with it says so).
        series: ['train:loss', ...(run === runs[2] ? [] : ['val_loss']), 'lr'].map((name) => ({ name, points: N, axes: ['step', 'snapshot', 'epoch', 'time'], default_axis: 'step' })),
        nan: mine ? nan : null,
        warnings: mine ? agentWarnings : [],
      };
    }
    case 'series_view':
      return seriesView(a);
    case 'snapshot_objects': {
      const seq = Number(a.seq);
      return { objects: objectsAt(seq), changed: seq > 0 ? ['model.fc1.weight', 'model.fc2.weight', 'train:loss'] : [] };
    }
    case 'object_detail': {
      const o = objectsAt(Number(a.seq)).find((x) => x.path === a.path);
      if (!o) throw { message: `no object at ${String(a.path)}` };
      return o;
    }
    case 'object_history': {
      const out = [];
      for (let seq = 0; seq < N; seq += 10) {
        const o = objectsAt(seq).find((x) => x.path === a.path);
        out.push({ seq, hash: o?.hash ?? null, stats: o?.stats ?? null });
      }
      return out;
    }
    case 'first_nan':
      return nan;
    case 'agent_warnings':
      return String(a.run).startsWith(runs[0].id.slice(0, 4)) ? agentWarnings : [];
    case 'diff_snapshots':
      return {
        a: { run: runs[0].id, seq: 1 },
        b: { run: runs[0].id, seq: 2 },
        identical: false,
        disjoint: false,
        added: 1,
        removed: 0,
        changed: 2,
        moved: 0,
        unchanged: 9,
        changes: [
          { change: 'changed', path: 'model.fc1.weight', type: 'torch.Tensor', nested: 0, preview: '', detail: { kind: 'array', old_shape: [128, 784], new_shape: [128, 784], old_dtype: 'float32', new_dtype: 'float32', elements: 100352, compared: true, changed: 100352, max_abs_diff: 0.0123, mean_abs_diff: 0.001, became_nonfinite: 0, chunks_read: 1, chunks_equal: 0, old_stats: null, new_stats: null, delta: { norm: 0.1, mean: 0, min: 0, max: 0, nan: 0, inf: 0 }, first_changes: [{ index: [0, 0], old: 0.1, new: 0.11 }, { index: [0, 1], old: -0.2, new: 'nan' }] } },
          { change: 'changed', path: 'train:loss', type: 'float', nested: 0, preview: '', detail: { kind: 'value', old: '0.52', new: '0.49' } },
          { change: 'added', path: 'best', type: 'float', nested: 0, preview: '0.49' },
        ],
      };
    case 'restore_command':
      return `snapline restore ${String(a.snapshot)}${a.mode === 'resume' ? ' --resume' : a.mode === 'kernel' ? ' --jupyter' : ''}`;
    case 'restore_resume':
    case 'resume_status':
    case 'kernel_start':
    case 'console_open':
    case 'console_input':
    case 'console_resize':
    case 'console_close':
      throw { message: 'the demo data (npm run dev) has no Python to restore into: use the desktop app (snapline open)' };
    case 'export_bundle':
      return `wrote ${String(a.path)} (1 snapshot, 12 chunks)`;
    case 'import_bundle':
      return runs[1].id;
    case 'plugin:event|listen':
      return 1;
    case 'plugin:event|unlisten':
      return null;
    case 'plugin:dialog|open':
      return '/tmp/demo.snapline';
    case 'plugin:dialog|save':
      return '/tmp/out.snapline';
    default:
      throw { message: `the mock shell does not know '${cmd}'` };
  }
}

export function installMockShell(): void {
  let next = 1;
  const w = window as unknown as Record<string, unknown>;
  w.__TAURI_INTERNALS__ = {
    invoke: async (cmd: string, args: Args = {}) => {
      await new Promise((r) => setTimeout(r, 5));
      return answer(cmd, args);
    },
    transformCallback: (cb: (v: unknown) => void) => {
      const id = next++;
      w[`_${id}`] = cb;
      return id;
    },
    unregisterCallback: (id: number) => {
      delete w[`_${id}`];
    },
    convertFileSrc: (p: string) => p,
  };
  w.__TAURI_EVENT_PLUGIN_INTERNALS__ = { unregisterListener: () => {} };
}
