// Resume from the app: find the run a resumed snapshot became, watching the
// `snapline restore --resume` process until that run appears (or the process
// fails first, with the end of its log), and keep the cursor at the end of a
// followed live run.

import type { ResumeStatus } from './bindings/ResumeStatus';
import type { RunSummary } from './bindings/RunSummary';

/** The run resumed from `parent` (RUN@SEQ), if it is listed; the newest when there are several. */
export function resumedRun(runs: readonly RunSummary[], parent: string, after = 0): RunSummary | null {
  const from = (r: RunSummary) => r.parent === parent || (r.parent_run != null && `${r.parent_run}@${r.parent_seq}` === parent);
  const found = runs.filter((r) => from(r) && r.started_at >= after).sort((a, b) => b.started_at - a.started_at);
  return found[0] ?? null;
}

/** Where the cursor goes when a followed run grows: the new end if it was at the end, else where it was. */
export function followIndex(index: number, oldLength: number, newLength: number): number {
  return index >= oldLength - 1 ? newLength - 1 : index;
}

export interface ResumeWatch {
  /** `resume_status` of the process. */
  status(): Promise<ResumeStatus>;
  /** The run resumed from the snapshot, once listed. */
  findRun(): Promise<string | null>;
  sleep(ms: number): Promise<void>;
  /** True once the window no longer waits (another resume, or disposed). */
  cancelled(): boolean;
}

export type ResumeOutcome = { run: string } | { error: string } | { cancelled: true };

/** How a resume that ended before its run appeared is told. */
export function resumeFailure(snapshot: string, status: ResumeStatus): string {
  const how = status.exit_code == null ? 'was stopped' : `exited with code ${status.exit_code}`;
  const tail = status.log_tail.trim();
  return `Resuming ${snapshot} ${how} before its run appeared${tail ? `:\n${tail}` : ' (it printed nothing)'}`;
}

/**
 * Polls every `interval` ms until the resumed run is listed (its id), or
 * the process ended without one (the error, with its log's end).
 */
export async function waitForResumedRun(snapshot: string, watch: ResumeWatch, interval = 500): Promise<ResumeOutcome> {
  for (;;) {
    if (watch.cancelled()) return { cancelled: true };
    const run = await watch.findRun();
    if (run) return { run };
    const status = await watch.status();
    if (!status.running) {
      // The run may have been committed just as the process ended.
      const last = await watch.findRun();
      if (last) return { run: last };
      return { error: resumeFailure(snapshot, status) };
    }
    await watch.sleep(interval);
  }
}
