/**
 * Backup freshness: is the newest full (or differential) backup as recent as its Ofelia schedule
 * says it should be? A job's last scheduled run, `grace` ago, must have produced a backup of at
 * least that kind (a newer full also satisfies a differential schedule).
 */
import type { OfeliaRun } from '../logs/ofelia-runs';
import type { JobBackupKind, OfeliaJob } from './ofelia';

export interface BackupMoment {
  /** pgBackRest label or manual backup file name. */
  readonly name: string;
  readonly kind: JobBackupKind;
  /** When it was finished. */
  readonly at: Date;
}

export interface JobFreshness {
  readonly job: OfeliaJob;
  /** The last scheduled time before now. */
  readonly lastScheduled?: Date;
  readonly nextRun?: Date;
  /** The last run Ofelia saved (or logged), if known. */
  readonly lastRun?: OfeliaRun;
  /** The newest backup that satisfies this job. */
  readonly newest?: BackupMoment;
  /** The scheduled run whose backup must exist by now (last scheduled run before now − grace). */
  readonly expectedSince?: Date;
  /** 'stale' when the newest satisfying backup is older than expectedSince; 'unknown' without a schedule. */
  readonly state: 'ok' | 'stale' | 'unknown';
}

export interface Freshness {
  readonly now: Date;
  readonly newest?: BackupMoment;
  readonly ageMs?: number;
  readonly jobs: JobFreshness[];
  /** 'warning' when a full or differential schedule is not met. */
  readonly level: 'ok' | 'warning' | 'none';
  /** Why it warns, one sentence per job. */
  readonly reasons: string[];
  /** Set when pgBackRest's backups could not be read: its jobs are 'unknown', not stale. */
  readonly unknown?: string;
}

const SATISFIES: Readonly<Record<JobBackupKind, readonly JobBackupKind[]>> = {
  full: ['full'],
  diff: ['full', 'diff'],
  incr: ['full', 'diff', 'incr'],
  dump: ['dump'],
  dumpAll: ['dumpAll'],
  baseBackup: ['baseBackup'],
  other: [],
};

/** The kinds whose staleness turns the status to warning. */
const WATCHED: readonly JobBackupKind[] = ['full', 'diff'];

export function computeFreshness(input: {
  jobs: readonly OfeliaJob[];
  backups: readonly BackupMoment[];
  lastRuns?: ReadonlyMap<string, OfeliaRun>;
  now: Date;
  graceMs: number;
  /** Why pgBackRest's backups are unknown (container down, pgBackRest error); undefined when they were read. */
  pgbackrestUnknown?: string;
  /** Why no scheduler runs the jobs (core/schedule/scheduler-state `cause`); a stale job's reason names it. */
  schedulerCause?: string;
}): Freshness {
  const { now, graceMs } = input;
  const sorted = [...input.backups].sort((a, b) => b.at.getTime() - a.at.getTime());
  const newest = sorted[0];
  const reasons: string[] = [];
  const jobs: JobFreshness[] = input.jobs
    .filter((j) => j.backupKind !== 'other')
    .map((job) => {
      const lastRun = input.lastRuns?.get(job.name);
      const s = job.schedule;
      const lastScheduled = s?.previous(now, lastRun?.date);
      const nextRun = s?.next(now, lastRun?.date);
      const expectedSince = s?.previous(new Date(now.getTime() - graceMs), lastRun?.date);
      const kinds = SATISFIES[job.backupKind];
      const match = sorted.find((b) => kinds.includes(b.kind));
      let state: JobFreshness['state'] = 'unknown';
      const pgbackrestJob = job.backupKind === 'full' || job.backupKind === 'diff' || job.backupKind === 'incr';
      if (expectedSince && !(pgbackrestJob && input.pgbackrestUnknown)) {
        state = match && match.at.getTime() >= expectedSince.getTime() ? 'ok' : 'stale';
        if (state === 'stale' && WATCHED.includes(job.backupKind)) {
          const cause = input.schedulerCause;
          reasons.push(
            match
              ? `${job.name}: newest ${job.backupKind === 'diff' ? 'full or differential' : job.backupKind} ` +
                  `backup ${match.name} finished ${match.at.toISOString()}, ` +
                  `but the run scheduled at ${expectedSince.toISOString()} (${s!.describe}) made none` +
                  (cause ? `: nothing ran it — ${cause}.` : '.')
              : `${job.name}: no ${job.backupKind} backup yet, though one was scheduled at ${expectedSince.toISOString()} (${s!.describe})` +
                  (cause ? `: nothing ran it — ${cause}.` : '.'),
          );
        }
      }
      return { job, lastScheduled, nextRun, lastRun, newest: match, expectedSince, state };
    });
  const watched = jobs.filter((j) => WATCHED.includes(j.job.backupKind));
  const level: Freshness['level'] = watched.some((j) => j.state === 'stale')
    ? 'warning'
    : watched.length || newest
      ? 'ok'
      : 'none';
  return {
    now,
    newest,
    ageMs: newest ? now.getTime() - newest.at.getTime() : undefined,
    jobs,
    level,
    reasons,
    unknown: input.pgbackrestUnknown,
  };
}
