/**
 * Loads what the Backups overview knows about the scheduler: its state (scheduler-state), and the runs
 * that happened — Ofelia's saved runs, plus the runs its container's log shows that were not saved —
 * with the output of each job's last run when it failed.
 */
import type { StackConfig } from '../infra';
import { formatSavedRun, lastRunByJob, type OfeliaRun } from '../logs/ofelia-runs';
import { errorText } from '../format';
import type { OfeliaJob } from './ofelia';
import { parseOfeliaLog } from './ofelia-log';
import { findScheduler, schedulerState, type SchedulerEngineView, type SchedulerState } from './scheduler-state';

/** What the caller knows about the engine, and how to read the scheduler container's log. */
export interface SchedulerFacts {
  readonly engine: SchedulerEngineView;
  /** `tsdbOps.schedule.service`. */
  readonly setting?: string;
  /** The container's last log lines with the Engine's timestamps (`docker logs --timestamps --tail N`). */
  readonly readLog?: (containerId: string, signal?: AbortSignal) => Promise<string[]>;
}

export interface LoadedScheduler {
  readonly scheduler: SchedulerState;
  /** Saved runs and the log's runs that were not saved, newest first. */
  readonly runs: OfeliaRun[];
  /** Why the container's log could not be read (the saved runs still count). */
  readonly logError?: string;
}

/** The same execution in both sources: the same ID, else the same job within two seconds. */
function sameRun(a: OfeliaRun, b: OfeliaRun): boolean {
  if (a.job !== b.job) return false;
  if (a.id && b.id) return a.id === b.id;
  return Math.abs(a.date.getTime() - b.date.getTime()) < 2000;
}

/** The saved runs, plus the log's runs not saved; newest first. */
export function mergeRuns(saved: readonly OfeliaRun[], logged: readonly OfeliaRun[]): OfeliaRun[] {
  const extra = logged.filter((l) => !saved.some((s) => sameRun(s, l)));
  return [...saved, ...extra].sort((a, b) => b.date.getTime() - a.date.getTime());
}

/** Each job's last run, with the output tail read for a failed saved run (a logged run carries its own). */
async function withFailedOutput(runs: OfeliaRun[]): Promise<OfeliaRun[]> {
  const last = lastRunByJob(runs);
  const out: OfeliaRun[] = [];
  for (const r of runs) {
    if (last.get(r.job) !== r || !r.failed || r.output || !r.base) {
      out.push(r);
      continue;
    }
    const lines = await formatSavedRun(r, 16 * 1024).catch(() => [] as string[]);
    out.push({ ...r, output: lines.slice(1).map((l) => (l.startsWith('    ') ? l.slice(4) : l.trim())) });
  }
  return out;
}

export async function loadScheduler(input: {
  stack: Pick<StackConfig, 'compose' | 'composeFile' | 'envFile' | 'env'>;
  jobs: readonly OfeliaJob[];
  savedRuns: readonly OfeliaRun[];
  facts?: SchedulerFacts;
  signal?: AbortSignal;
}): Promise<LoadedScheduler> {
  const facts = input.facts ?? { engine: { kind: 'connecting' } };
  const found = findScheduler(input.stack, facts.setting);
  const status =
    facts.engine.kind === 'ready' && found.service
      ? facts.engine.services?.find((s) => s.service === found.service!.name)
      : undefined;
  let logged: OfeliaRun[] = [];
  let logError: string | undefined;
  if (status?.containerId && facts.readLog && input.jobs.length) {
    try {
      logged = parseOfeliaLog(await facts.readLog(status.containerId, input.signal));
    } catch (e) {
      logError = `The log of ${status.containerName ?? status.containerId} could not be read: ${errorText(e)}`;
    }
  }
  const runs = await withFailedOutput(mergeRuns(input.savedRuns, logged));
  const scheduler = schedulerState({
    stack: input.stack,
    jobs: input.jobs,
    runs,
    engine: facts.engine,
    setting: facts.setting,
  });
  return { scheduler, runs, logError };
}

/** The scheduler's state as JSON (tsdbOps.backup.info, a command-line status). */
export function schedulerResult(s: SchedulerState) {
  return {
    status: s.status,
    scheduling: s.scheduling,
    service: s.service,
    lookedFor: s.lookedFor,
    foundBy: s.foundBy,
    image: s.image,
    container: s.containerName,
    profiles: [...s.profiles],
    exitCode: s.exitCode,
    startedAt: s.startedAt?.toISOString(),
    finishedAt: s.finishedAt?.toISOString(),
    offBy: s.offBy,
    since: s.since?.toISOString(),
    lastRecordedRun: s.lastRecordedRun?.toISOString(),
    neverStarted: s.neverStarted,
    headline: s.headline,
    cause: s.cause,
    detail: [...s.detail],
    start: s.start ? { command: s.start.command, starts: [...s.start.starts] } : undefined,
    engineError: s.engineError,
  };
}

/** A run that happened, as JSON. */
export function runResult(r: OfeliaRun | undefined) {
  if (!r) return undefined;
  return {
    date: r.date.toISOString(),
    result: r.skipped ? 'skipped' : r.failed ? 'failed' : 'ok',
    failed: r.failed,
    source: r.source ?? 'saved',
    durationMs: r.durationMs,
    errorLine: r.errorLine,
  };
}
