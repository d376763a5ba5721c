/** A stack's backups overview as the JSON result of the backup commands (for automation: tests, tasks). */
import type { BackupsOverview } from '../../core/backups/overview';
import { PgBackRestError } from '../../core/backups/pgbackrest';
import { repositorySummary } from '../../core/backups/repositories';
import { runResult, schedulerResult } from '../../core/schedule/scheduler-load';
import { describeJobSchedule } from '../../core/schedule/scheduler-state';
import type { StackStatus } from '../../core/status/model';

/** The overview as JSON for automation (tests, tasks); `status` is the one stack status (archiving, drills, level). */
export function overviewResult(o: BackupsOverview, status?: StackStatus) {
  return {
    overall: status,
    stack: o.stack.infraDir,
    stanza: o.stanzaName,
    status: o.stanza?.status,
    error: o.stanzaError
      ? {
          message: o.stanzaError.message,
          code: o.stanzaError instanceof PgBackRestError ? o.stanzaError.code : undefined,
        }
      : undefined,
    lockHeld: o.stanza?.lockHeld,
    systemId: o.stanza?.systemId?.toString(),
    walMin: o.stanza?.walMin,
    walMax: o.stanza?.walMax,
    pitr: o.stanza?.pitr ? { from: o.stanza.pitr.from.toISOString(), to: o.stanza.pitr.to.toISOString() } : undefined,
    backups: (o.stanza?.backups ?? []).map((b) => ({
      label: b.label,
      type: b.type,
      prior: b.prior,
      stop: b.stop.toISOString(),
      sizeBytes: b.sizeBytes,
      annotations: b.annotations,
    })),
    manual: o.manual.map((m) => ({ name: m.name, kind: m.kind, size: m.size, sidecar: m.sidecar })),
    preRestore: o.preRestore.map((c) => ({ name: c.name, path: c.path, sizeBytes: c.sizeBytes })),
    scheduler: schedulerResult(o.scheduler),
    schedules: o.freshness.jobs.map((j) => ({
      job: j.job.name,
      kind: j.job.backupKind,
      schedule: j.job.scheduleSpec,
      describe: j.job.schedule?.describe,
      /** "would run daily at 00:00 UTC" while nothing runs the job. */
      plan: describeJobSchedule(j.job, o.jobs.length ? o.scheduler.scheduling : undefined),
      /** The schedule's previous time: not a run. */
      lastScheduled: j.lastScheduled?.toISOString(),
      nextRun: o.scheduler.scheduling === 'yes' ? j.nextRun?.toISOString() : undefined,
      /** The last run that happened (Ofelia's saved runs or its log); undefined: none recorded. */
      lastRun: runResult(j.lastRun),
      state: j.state,
    })),
    freshness: { level: o.freshness.level, newest: o.freshness.newest?.name, reasons: o.freshness.reasons },
    environment: o.pgbackrestEnv ?? (o.pgbackrestEnvError ? { error: o.pgbackrestEnvError } : undefined),
    environmentWarnings: o.pgbackrestEnvWarnings.map((w) => ({ code: w.code, title: w.title, message: w.message })),
    // No option values beyond these: secret options are dropped in core (only their names are kept).
    repositories: o.repositories.map((r) => ({
      repo: r.key,
      name: r.name,
      type: r.config?.type,
      location: r.location,
      cipher: r.cipher,
      retention: r.retention,
      summary: repositorySummary(r),
      status: r.status,
      problem: r.problem,
      backups: r.backups.map((b) => b.label),
      walMin: r.walMin,
      walMax: r.walMax,
      pitr: r.pitr ? { from: r.pitr.from.toISOString(), to: r.pitr.to.toISOString() } : undefined,
      secretOptionsSet: r.config?.secretOptions ?? [],
    })),
  };
}
