// Every call into the Tauri shell, typed. Views import from here only, so
// tests can mock this one module (vi.mock('./api')).

import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import { open, save } from '@tauri-apps/plugin-dialog';

import type { AgentWarning } from './bindings/AgentWarning';
import type { ArrayPicture } from './bindings/ArrayPicture';
import type { AppError } from './bindings/AppError';
import type { ConsoleExit } from './bindings/ConsoleExit';
import type { ConsoleOutput } from './bindings/ConsoleOutput';
import type { KernelStarted } from './bindings/KernelStarted';
import type { NanReport } from './bindings/NanReport';
import type { ObjectView } from './bindings/ObjectView';
import type { ProgressEvent } from './bindings/ProgressEvent';
import type { ResumeStarted } from './bindings/ResumeStarted';
import type { ResumeStatus } from './bindings/ResumeStatus';
import type { ModelView } from './bindings/ModelView';
import type { RunSummary } from './bindings/RunSummary';
import type { RunTable } from './bindings/RunTable';
import type { RunTableOptions } from './bindings/RunTableOptions';
import type { RunView } from './bindings/RunView';
import type { SeriesView } from './bindings/SeriesView';
import type { SnapshotDiff } from './bindings/SnapshotDiff';
import type { SnapshotObjects } from './bindings/SnapshotObjects';
import type { Startup } from './bindings/Startup';
import type { StatsPoint } from './bindings/StatsPoint';
import type { StoreChanged } from './bindings/StoreChanged';
import type { StoreInfo } from './bindings/StoreInfo';
import type { XAxis } from './bindings/XAxis';

export type RestoreMode = 'resume' | 'repl' | 'kernel';
export type ExportFormat = 'snapline' | 'safetensors' | 'npz';

/** What `series_view` is asked for (besides the run and the name). */
export interface SeriesQuery {
  x: XAxis;
  from: number | null;
  to: number | null;
  width: number;
  smooth: number | null;
  logY: boolean;
}

/** A failed command: the shell's AppError message (or whatever was thrown, as text). */
export class ApiError extends Error {
  readonly command: string;
  constructor(command: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.command = command;
  }
}

/** The message of anything a command rejected with. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  if (e && typeof e === 'object' && typeof (e as AppError).message === 'string') {
    return (e as AppError).message;
  }
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}

/** Whether the page runs inside the Tauri shell (not in a plain browser). */
export function inShell(): boolean {
  return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

export const NO_SHELL = 'The Snapline app is not running this window: start it with `snapline-app` (or use `npm run dev` for demo data).';

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  if (!inShell()) throw new ApiError(command, NO_SHELL);
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw new ApiError(command, errorMessage(e));
  }
}

/** The window's first call: the store, a run to open (a bundle the app was started with), or an error. */
export function startup(): Promise<Startup> {
  return call('startup');
}

export function listRuns(): Promise<RunSummary[]> {
  return call('list_runs');
}

/** The runs table (`snapline runs --where EXPR --json`): columns from config and final metrics, the runs the filter keeps. */
export function runsTable(where: string | null): Promise<RunTable> {
  const options: RunTableOptions = { filter: where, columns: null, sort: null, descending: false };
  return call('run_table', { options });
}

export function storeInfo(): Promise<StoreInfo> {
  return call('store_info');
}

export function openRun(run: string): Promise<RunView> {
  return call('open_run', { run });
}

export function seriesView(run: string, name: string, q: SeriesQuery): Promise<SeriesView> {
  return call('series_view', {
    run,
    name,
    x: q.x,
    from: q.from,
    to: q.to,
    width: Math.max(1, Math.round(q.width)),
    smooth: q.smooth,
    logY: q.logY,
  });
}

/** A torch module's layer tree with parameter counts, or an optimizer's state by parameter, at a path. */
export function modelView(run: string, seq: number, path: string): Promise<ModelView> {
  return call('model_view', { run, seq, path });
}

export function snapshotObjects(run: string, seq: number): Promise<SnapshotObjects> {
  return call('snapshot_objects', { run, seq });
}

export function objectDetail(run: string, seq: number, path: string): Promise<ObjectView> {
  return call('object_detail', { run, seq, path });
}

export function arrayPicture(run: string, seq: number, path: string): Promise<ArrayPicture> {
  return call('array_picture', { run, seq, path });
}

export function objectHistory(run: string, path: string): Promise<StatsPoint[]> {
  return call('object_history', { run, path });
}

export function diffSnapshots(a: string, b: string): Promise<SnapshotDiff> {
  return call('diff_snapshots', { a, b });
}

export function firstNan(run: string): Promise<NanReport> {
  return call('first_nan', { run });
}

/** What the capture agent could not do in a run (`snapline warnings RUN`). */
export function agentWarnings(run: string): Promise<AgentWarning[]> {
  return call('agent_warnings', { run });
}

export function restoreCommand(snapshot: string, mode: RestoreMode): Promise<string> {
  return call('restore_command', { snapshot, mode });
}

/** Starts `snapline restore SNAPSHOT --resume` (the script goes on as a new run, whose parent is SNAPSHOT). */
export function restoreResume(snapshot: string): Promise<ResumeStarted> {
  return call('restore_resume', { snapshot });
}

/** Whether a resumed process still runs, how it ended, the end of its log. */
export function resumeStatus(pid: number): Promise<ResumeStatus> {
  return call('resume_status', { pid });
}

/** Starts a Jupyter kernel holding the snapshot's state (waits for its connection file). */
export function kernelStart(snapshot: string): Promise<KernelStarted> {
  return call('kernel_start', { snapshot });
}

/** Starts a Python prompt holding the snapshot's state behind a terminal; answers the console's id. */
export function consoleOpen(snapshot: string, cols: number, rows: number): Promise<number> {
  return call('console_open', { snapshot, cols, rows });
}

export function consoleInput(id: number, data: string): Promise<void> {
  return call('console_input', { id, data });
}

export function consoleResize(id: number, cols: number, rows: number): Promise<void> {
  return call('console_resize', { id, cols, rows });
}

/** Kills the console's process (closing one that ended is fine). */
export function consoleClose(id: number): Promise<void> {
  return call('console_close', { id });
}

export function onConsoleOutput(handler: (e: ConsoleOutput) => void): Promise<UnlistenFn> {
  if (!inShell()) return Promise.reject(new ApiError('listen', NO_SHELL));
  return listen<ConsoleOutput>('console-output', (e) => handler(e.payload));
}

export function onConsoleExit(handler: (e: ConsoleExit) => void): Promise<UnlistenFn> {
  if (!inShell()) return Promise.reject(new ApiError('listen', NO_SHELL));
  return listen<ConsoleExit>('console-exit', (e) => handler(e.payload));
}

export function exportBundle(snapshot: string, path: string, format: ExportFormat): Promise<string> {
  return call('export_bundle', { snapshot, path, format });
}

export function importBundle(path: string): Promise<string> {
  return call('import_bundle', { path });
}

export function onProgress(handler: (p: ProgressEvent) => void): Promise<UnlistenFn> {
  if (!inShell()) return Promise.reject(new ApiError('listen', NO_SHELL));
  return listen<ProgressEvent>('progress', (e) => handler(e.payload));
}

export function onStoreChanged(handler: (runs: string[]) => void): Promise<UnlistenFn> {
  if (!inShell()) return Promise.reject(new ApiError('listen', NO_SHELL));
  return listen<StoreChanged>('store-changed', (e) => handler(e.payload?.runs ?? []));
}

/** Asks for a bundle to import; null when cancelled. */
export async function pickBundle(): Promise<string | null> {
  const picked = await open({
    multiple: false,
    directory: false,
    filters: [{ name: 'Snapline bundle', extensions: ['snapline'] }],
  });
  return typeof picked === 'string' ? picked : null;
}

/** Asks where to write an export; null when cancelled. */
export async function pickSavePath(defaultPath: string, format: ExportFormat): Promise<string | null> {
  const name = { snapline: 'Snapline bundle', safetensors: 'safetensors', npz: 'NumPy npz' }[format];
  const picked = await save({ defaultPath, filters: [{ name, extensions: [format] }] });
  return picked ?? null;
}

/** A snapshot reference as commands take it: RUN@SEQ. */
export function snapshotRef(run: string, seq: number): string {
  return `${run}@${seq}`;
}
