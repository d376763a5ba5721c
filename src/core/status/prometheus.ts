/**
 * The stack status as Prometheus metrics in the text exposition format (for node_exporter's textfile collector:
 * write to `<dir>/tsdb_ops.prom` atomically). Every metric has HELP and TYPE; timestamps are Unix seconds;
 * a value that is not known is left out rather than written as 0. The names are documented in docs/cli.md.
 */
import type { StackStatus } from './model';

interface Metric {
  readonly name: string;
  readonly help: string;
  readonly value: (s: StackStatus) => number | undefined;
}

const unix = (iso: string | undefined) => (iso ? Date.parse(iso) / 1000 : undefined);
const flag = (b: boolean) => (b ? 1 : 0);

export const METRICS: readonly Metric[] = [
  {
    name: 'tsdb_ops_status_level',
    help: 'Overall status: 0 ok, 1 warning (a missed backup schedule, no recent passing drill), 2 error (archiving fails, the newest drill failed).',
    value: (s) => ({ ok: 0, warning: 1, error: 2 })[s.level],
  },
  {
    name: 'tsdb_ops_backup_newest_timestamp_seconds',
    help: 'When the newest backup (pgBackRest set or manual backup) finished, Unix seconds.',
    value: (s) => unix(s.backups.newest?.at),
  },
  {
    name: 'tsdb_ops_backup_newest_age_seconds',
    help: 'Age of the newest backup when the status was read, seconds.',
    value: (s) => s.backups.newest?.ageSeconds,
  },
  {
    name: 'tsdb_ops_backup_schedule_missed',
    help: '1 when a full or differential Ofelia backup schedule is missed (newest satisfying backup older than its last run plus the grace period).',
    value: (s) => (s.backups.freshness === 'none' ? undefined : flag(s.backups.freshness === 'warning')),
  },
  {
    name: 'tsdb_ops_backup_info_readable',
    help: '1 when pgBackRest info could be read, 0 when it failed (see tsdb-ops status for the message).',
    value: (s) => flag(!s.backups.unknown),
  },
  {
    name: 'tsdb_ops_archiving_failing',
    help: '1 when the last WAL archiving attempt failed (pg_stat_archiver), 0 when it works; absent when not read.',
    value: (s) =>
      s.archiving.state === 'unknown' || s.archiving.state === 'off'
        ? undefined
        : flag(s.archiving.state === 'failing'),
  },
  {
    name: 'tsdb_ops_archiving_enabled',
    help: '1 when archive_mode is on, 0 when off; absent when not read.',
    value: (s) => (s.archiving.state === 'unknown' ? undefined : flag(s.archiving.state !== 'off')),
  },
  {
    name: 'tsdb_ops_archiving_failures',
    help: 'pg_stat_archiver failed_count: failed archiving attempts since the statistics were reset.',
    value: (s) => s.archiving.failedCount,
  },
  {
    name: 'tsdb_ops_archiving_last_archived_timestamp_seconds',
    help: 'When the newest WAL segment was archived (the recovery point of the live system), Unix seconds.',
    value: (s) => unix(s.archiving.lastArchivedAt),
  },
  {
    name: 'tsdb_ops_drill_last_pass_timestamp_seconds',
    help: 'When the newest passing restore drill finished, Unix seconds.',
    value: (s) => unix(s.drills.lastPassed?.finished),
  },
  {
    name: 'tsdb_ops_drill_newest_passed',
    help: '1 when the newest restore drill passed, 0 when it failed; absent when no drill ran.',
    value: (s) => (s.drills.newest ? flag(s.drills.newest.passed) : undefined),
  },
  {
    name: 'tsdb_ops_drill_stale',
    help: '1 when no restore drill passed within tsdbOps.drill.maxAgeDays.',
    value: (s) => flag(s.drills.stale),
  },
  {
    name: 'tsdb_ops_migrations_pending',
    help: 'Migrations in the folder not applied to the database (pending or out of order); absent when not read.',
    value: (s) => (s.migrations && 'pending' in s.migrations ? s.migrations.pending : undefined),
  },
  {
    name: 'tsdb_ops_migrations_modified',
    help: 'Applied migrations whose file changed since they ran (sqlx refuses to run); absent when not read.',
    value: (s) => (s.migrations && 'modified' in s.migrations ? s.migrations.modified : undefined),
  },
];

/** Label values escaped as the format asks: backslash, double quote and newline. */
function label(v: string): string {
  return v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

export function formatPrometheus(statuses: readonly StackStatus[]): string {
  const lines: string[] = [];
  for (const m of METRICS) {
    const samples = statuses
      .map((s) => ({ s, v: m.value(s) }))
      .filter((x): x is { s: StackStatus; v: number } => x.v !== undefined && Number.isFinite(x.v));
    if (!samples.length) continue;
    lines.push(`# HELP ${m.name} ${m.help.replaceAll('\\', '\\\\').replaceAll('\n', '\\n')}`, `# TYPE ${m.name} gauge`);
    for (const { s, v } of samples) lines.push(`${m.name}{project="${label(s.project)}"} ${v}`);
  }
  return lines.join('\n') + '\n';
}
