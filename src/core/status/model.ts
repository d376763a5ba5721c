/**
 * One status of a stack, for everyone who reports it: the command line's `tsdb-ops status` (text, JSON,
 * Prometheus), the `tsdbOps.backup.info` result and the status bar item. Built from the Backups overview (backups,
 * schedules, archiving, drills) and, when read, the migration status; a pure function of them and the clock.
 */
import type { BackupsOverview } from '../backups/overview';
import { drillFreshness, type DrillReport } from '../backups/drill';
import { describeArchiver } from '../backups/archiver';
import { freshnessAt } from '../backups/overview';
import type { StatusSummary } from '../migrations/status';

export type StatusLevel = 'ok' | 'warning' | 'error';

/** What `--fail-on` can name. */
export const FAIL_CONDITIONS = ['stale-backup', 'archiving', 'stale-drill', 'pending'] as const;
export type FailCondition = (typeof FAIL_CONDITIONS)[number];

export interface StackStatus {
  readonly project: string;
  readonly infraDir: string;
  /** When it was computed (ISO). */
  readonly at: string;
  /** error: archiving fails or the newest drill failed; warning: a backup schedule is missed or no recent passing drill. */
  readonly level: StatusLevel;
  /** One sentence per problem, worst first. */
  readonly reasons: string[];
  readonly backups: {
    readonly newest?: {
      readonly name: string;
      readonly kind: string;
      readonly at: string;
      readonly ageSeconds: number;
    };
    /** 'none': no backup schedule and no backup to judge; 'warning': a full or differential schedule is missed. */
    readonly freshness: 'ok' | 'warning' | 'none';
    /** The repositories pgBackRest reports ("repo1: posix /var/lib/pgbackrest"). */
    readonly repositories: string[];
    /** Why the freshness warns, one sentence per missed schedule. */
    readonly reasons: string[];
    /** Why pgBackRest's backups could not be read. */
    readonly unknown?: string;
  };
  readonly archiving: {
    /** ok; failing (the last attempt failed); off (archive_mode=off); unknown (not read: server down …). */
    readonly state: 'ok' | 'failing' | 'off' | 'unknown';
    readonly lastArchivedWal?: string;
    readonly lastArchivedAt?: string;
    readonly failedCount?: number;
    readonly lastFailedWal?: string;
    readonly lastFailedAt?: string;
    /** The newest moment a restore can reach (the newest archived WAL), as the live server says. */
    readonly recoveryPoint?: string;
    readonly text: string;
  };
  readonly drills: {
    readonly lastPassed?: { readonly source: string; readonly finished: string; readonly ageSeconds: number };
    readonly newest?: {
      readonly source: string;
      readonly finished: string;
      readonly passed: boolean;
      readonly error?: string;
    };
    /** No drill passed within maxAgeDays. */
    readonly stale: boolean;
    readonly maxAgeDays: number;
    readonly text: string;
  };
  /** Undefined when the migrations were not read (no database); `error` when reading them failed. */
  readonly migrations?:
    | {
        readonly pending: number;
        readonly modified: number;
        readonly failed: number;
        readonly missing: number;
        readonly applied: number;
      }
    | { readonly error: string };
}

export interface StatusOptions {
  readonly now: Date;
  /** tsdbOps.backups.freshnessGraceMinutes, in ms. */
  readonly graceMs: number;
  /** tsdbOps.drill.maxAgeDays. */
  readonly maxAgeDays: number;
  readonly migrations?: StatusSummary | Error;
}

const seconds = (ms: number) => Math.max(0, Math.round(ms / 1000));

export function stackStatus(o: BackupsOverview, opts: StatusOptions): StackStatus {
  const { now } = opts;
  const f = freshnessAt(o, now, opts.graceMs);
  const drills = drillStatus(o.drills ?? [], opts.maxAgeDays, now);
  const a = o.archiver;
  const archiving: StackStatus['archiving'] = a
    ? {
        state: a.archiveMode === 'off' ? 'off' : a.failing ? 'failing' : 'ok',
        lastArchivedWal: a.lastArchivedWal,
        lastArchivedAt: a.lastArchivedTime?.toISOString(),
        failedCount: a.failedCount,
        lastFailedWal: a.lastFailedWal,
        lastFailedAt: a.lastFailedTime?.toISOString(),
        recoveryPoint: a.lastArchivedTime?.toISOString(),
        text: describeArchiver(a),
      }
    : { state: 'unknown', text: `WAL archiving not read${o.archiverError ? `: ${o.archiverError}` : ''}` };
  const migrations = opts.migrations
    ? opts.migrations instanceof Error
      ? { error: opts.migrations.message }
      : {
          pending: opts.migrations.pending + opts.migrations.outOfOrder,
          modified: opts.migrations.modified,
          failed: opts.migrations.failed,
          missing: opts.migrations.missing,
          applied: opts.migrations.applied,
        }
    : undefined;

  const errors: string[] = [];
  const warnings: string[] = [];
  if (archiving.state === 'failing') errors.push(archiving.text);
  if (drills.newest && !drills.newest.passed)
    errors.push(
      `The newest restore drill (${drills.newest.source}) failed${drills.newest.error ? `: ${drills.newest.error}` : ''}`,
    );
  warnings.push(...f.reasons);
  if (drills.stale)
    warnings.push(
      drills.lastPassed
        ? `No restore drill passed within ${opts.maxAgeDays} days (${drills.text})`
        : 'No restore drill passed yet',
    );
  if (migrations && 'modified' in migrations && migrations.modified)
    warnings.push(`${migrations.modified} applied migration(s) modified since they ran`);
  return {
    project: o.stack.projectName,
    infraDir: o.stack.infraDir,
    at: now.toISOString(),
    level: errors.length ? 'error' : warnings.length ? 'warning' : 'ok',
    reasons: [...errors, ...warnings],
    backups: {
      newest: f.newest
        ? { name: f.newest.name, kind: f.newest.kind, at: f.newest.at.toISOString(), ageSeconds: seconds(f.ageMs ?? 0) }
        : undefined,
      freshness: f.level,
      repositories: o.repositories.map((r) => `${r.name}: ${r.location}`),
      reasons: f.reasons,
      unknown: f.unknown,
    },
    archiving,
    drills,
    migrations,
  };
}

function drillStatus(reports: readonly DrillReport[], maxAgeDays: number, now: Date): StackStatus['drills'] {
  const d = drillFreshness(reports, maxAgeDays, now);
  const newest = reports[0];
  return {
    lastPassed: d.lastPassed
      ? { source: d.lastPassed.source, finished: d.lastPassed.finished, ageSeconds: seconds(d.ageMs ?? 0) }
      : undefined,
    newest: newest
      ? { source: newest.source, finished: newest.finished, passed: newest.passed, error: newest.error }
      : undefined,
    stale: d.stale,
    maxAgeDays,
    text: d.text,
  };
}

/** The `--fail-on` conditions a status meets, each with its sentence (empty: none). */
export function failures(s: StackStatus, on: readonly FailCondition[]): string[] {
  const out: string[] = [];
  if (on.includes('stale-backup') && s.backups.freshness === 'warning')
    out.push(`stale-backup: ${s.backups.reasons.join(' ') || 'a backup schedule is missed'}`);
  if (on.includes('archiving') && (s.archiving.state === 'failing' || s.archiving.state === 'unknown'))
    out.push(`archiving: ${s.archiving.text}`);
  if (on.includes('stale-drill') && (s.drills.stale || (s.drills.newest && !s.drills.newest.passed)))
    out.push(
      `stale-drill: ${s.drills.newest && !s.drills.newest.passed ? 'the newest restore drill failed' : s.drills.text}`,
    );
  if (on.includes('pending') && s.migrations && 'pending' in s.migrations && s.migrations.pending)
    out.push(`pending: ${s.migrations.pending} pending migration(s)`);
  // Unknown is not "none pending" (like archiving that cannot be read): a check that could not run fails.
  if (on.includes('pending') && s.migrations && 'error' in s.migrations)
    out.push(`pending: the applied migrations could not be read (${s.migrations.error})`);
  return out;
}
