/**
 * The Recovery Timeline model: everything that can be restored and every schema change, on one time
 * axis. A pure function of the Backups overview (pgBackRest sets, archived WAL, the point-in-time
 * window, manual backups, pre-restore copies), the applied sqlx migrations and the restore drills.
 * Times are epoch milliseconds so the model crosses the webview boundary as plain JSON.
 */
import type { BackupsOverview } from './overview';
import type { BackupType } from './pgbackrest';
import type { MigrationStatus } from '../migrations/status';
import { formatBytes } from '../format';
import { formatTimeTarget } from './restore/pitr';
import type { DrillReport } from './drill';

/** A restore drill's outcome on the timeline (from the drill reports: drillResultsOf). */
export interface DrillResult {
  readonly at: Date;
  readonly ok: boolean;
  /** The pgBackRest set or manual backup file the drill restored. */
  readonly source?: string;
  /** Failed checks, each a line. */
  readonly failures?: readonly string[];
}

/** The restore drills' reports (core/backups/drill, read with the Backups overview) as timeline marks. */
export function drillResultsOf(reports: readonly DrillReport[]): DrillResult[] {
  return reports.map((r) => ({
    at: new Date(r.finished),
    ok: r.passed,
    source: r.set ?? r.source,
    failures: [
      ...(r.error ? [r.error] : []),
      ...r.checks.filter((c) => c.status === 'failed').map((c) => `${c.name}: ${c.message}`),
    ],
  }));
}

export interface TimelineSet {
  readonly label: string;
  readonly type: BackupType;
  readonly prior?: string;
  readonly start: number;
  readonly stop: number;
  readonly sizeBytes: number;
  readonly repoSizeBytes: number;
  readonly walStart?: string;
  readonly walStop?: string;
  readonly error: boolean;
}

export interface TimelineManual {
  readonly name: string;
  readonly kind: 'pg_dump' | 'pg_dumpall' | 'pg_basebackup';
  readonly path: string;
  readonly at: number;
  readonly sizeBytes: number;
  readonly database?: string;
}

/** How "restore to just before this migration" targets it. */
export type MigrationRestore =
  /** The migration's own transaction: `{ target: 'xid', xid, exclusive: true }` (the xid is read when clicked). */
  | { readonly kind: 'xid' }
  /** A `-- no-transaction` migration (or one whose transaction is unknown): a time before it started; approximate. */
  | { readonly kind: 'time'; readonly time: number; readonly approximate: true; readonly why: string };

export interface TimelineMigration {
  /** Decimal string (an i64 does not fit a JSON number). */
  readonly version: string;
  readonly description: string;
  readonly installedOn: number;
  /** Milliseconds, or undefined when sqlx never wrote the time (-1). */
  readonly durationMs?: number;
  readonly noTransaction: boolean;
  readonly restore: MigrationRestore;
}

export interface TimelineDrill {
  readonly at: number;
  readonly ok: boolean;
  readonly source?: string;
  readonly failures: readonly string[];
}

export interface TimelineCopy {
  readonly name: string;
  readonly path: string;
  readonly at: number;
  readonly sizeBytes?: number;
}

export interface TimelineModel {
  readonly project: string;
  readonly folder: string;
  readonly stanza: string;
  readonly loadedAt: number;
  /** Everything's extent, padded, for the initial view. */
  readonly extent: { readonly from: number; readonly to: number };
  readonly sets: readonly TimelineSet[];
  /** Archived-WAL coverage (point-in-time recovery possible inside), and the holes between. */
  readonly wal: {
    readonly covered: readonly { from: number; to: number }[];
    readonly gaps: readonly { from: number; to: number }[];
    readonly min?: string;
    readonly max?: string;
  };
  /** The newest moment a restore can reach. */
  readonly newestRecoverable?: number;
  readonly manual: readonly TimelineManual[];
  readonly migrations: readonly TimelineMigration[];
  readonly drills: readonly TimelineDrill[];
  readonly preRestore: readonly TimelineCopy[];
  /** Why a part is missing (pgBackRest error, database unreachable …). */
  readonly problems: readonly string[];
}

export interface TimelineInput {
  readonly overview: BackupsOverview;
  /** The migration status (applied rows carry installed_on and execution_time). */
  readonly migrations?: readonly MigrationStatus[];
  readonly migrationsError?: Error;
  readonly drills?: readonly DrillResult[];
}

const APPLIED = new Set(['applied', 'modified', 'missing']);

/** Whether an archived WAL segment name (TTTTTTTTLLLLLLLLSSSSSSSS) lies inside [min, max]. */
function walInside(seg: string | undefined, min: string | undefined, max: string | undefined): boolean {
  if (!seg || !min || !max) return false;
  return seg >= min && seg <= max;
}

/**
 * Archived-WAL coverage: from a set's stop to the next set's stop when the WAL between them is still
 * in the archive (the set's stop segment and the next one's start segment inside [walMin, walMax]),
 * and from the newest set to the end of the point-in-time window. Adjacent pieces are merged; what
 * lies between two pieces is a gap (point-in-time recovery impossible there).
 */
export function walCoverage(
  sets: readonly TimelineSet[],
  walMin: string | undefined,
  walMax: string | undefined,
  pitrTo: number | undefined,
): { covered: { from: number; to: number }[]; gaps: { from: number; to: number }[] } {
  const pieces: { from: number; to: number }[] = [];
  for (let i = 0; i < sets.length; i++) {
    const a = sets[i]!;
    const b = sets[i + 1];
    if (!walInside(a.walStop, walMin, walMax)) continue;
    if (b) {
      if (walInside(b.walStart, walMin, walMax)) pieces.push({ from: a.stop, to: b.stop });
    } else if (pitrTo !== undefined && pitrTo > a.stop) {
      pieces.push({ from: a.stop, to: pitrTo });
    }
  }
  const covered: { from: number; to: number }[] = [];
  for (const p of pieces) {
    const last = covered[covered.length - 1];
    if (last && p.from <= last.to) last.to = Math.max(last.to, p.to);
    else covered.push({ ...p });
  }
  const gaps = covered.slice(1).map((c, i) => ({ from: covered[i]!.to, to: c.from }));
  return { covered, gaps };
}

/** Nanoseconds (sqlx's execution_time) as milliseconds; undefined for sqlx's -1 (never written). */
function nsToMs(ns: bigint): number | undefined {
  return ns < 0n ? undefined : Number(ns / 1000n) / 1000;
}

/** How "restore to just before" targets a migration (see MigrationRestore). */
export function migrationRestore(installedOn: Date, durationMs: number | undefined, noTx: boolean): MigrationRestore {
  if (!noTx) return { kind: 'xid' };
  // Without a transaction sqlx runs the statements first and writes the row afterwards: installed_on
  // is when the row was written, so the migration began about its execution time earlier.
  const started = installedOn.getTime() - Math.ceil(durationMs ?? 0) - 1;
  return {
    kind: 'time',
    time: started,
    approximate: true,
    why:
      'a -- no-transaction migration commits statement by statement, so no single transaction marks it: the target is ' +
      `the time it began (${formatTimeTarget(new Date(started))}: installed_on minus its execution time), approximate`,
  };
}

/**
 * The migration applied right before `m` in the same Run Pending (it ended less than `withinMs` before
 * `m` began), if any. For a `-- no-transaction` migration, the end of that one's bookkeeping (its row's
 * xmin, inclusive) is a sharper target than a time. `m`'s start is an estimate (installed_on minus its
 * execution time, which also counts the bookkeeping INSERT and round trips), so it may fall a little
 * before the previous one's end or even its start: the order of installed_on decides which came first.
 */
export function previousInSameRun(
  migrations: readonly TimelineMigration[],
  m: TimelineMigration,
  withinMs = 1000,
): TimelineMigration | undefined {
  const i = migrations.findIndex((x) => x.version === m.version);
  const prev = i > 0 ? migrations[i - 1] : undefined;
  if (!prev) return undefined;
  const began = m.restore.kind === 'time' ? m.restore.time : m.installedOn;
  const prevEnd = prev.installedOn + (prev.durationMs ?? 0);
  return began - prevEnd <= withinMs ? prev : undefined;
}

export function buildTimeline(input: TimelineInput): TimelineModel {
  const o = input.overview;
  const problems: string[] = [];
  if (o.stanzaError) problems.push(`pgBackRest: ${o.stanzaError.message}`);
  if (o.preRestoreError) problems.push(`Pre-restore copies: ${o.preRestoreError.message}`);
  if (input.migrationsError) problems.push(`Migrations: ${input.migrationsError.message}`);

  const sets: TimelineSet[] = (o.stanza?.backups ?? []).map((b) => ({
    label: b.label,
    type: b.type,
    prior: b.prior,
    start: b.start.getTime(),
    stop: b.stop.getTime(),
    sizeBytes: b.sizeBytes,
    repoSizeBytes: b.repoSizeBytes,
    walStart: b.walStart,
    walStop: b.walStop,
    error: b.error,
  }));
  sets.sort((a, b) => a.stop - b.stop);
  const pitrTo = o.stanza?.pitr?.to.getTime();
  const wal = walCoverage(sets, o.stanza?.walMin, o.stanza?.walMax, pitrTo);
  const newestRecoverable = pitrTo ?? sets[sets.length - 1]?.stop;

  const manual: TimelineManual[] = [];
  for (const m of o.manual) {
    if (m.kind === 'other') continue;
    manual.push({
      name: m.name,
      kind: m.kind,
      path: m.path,
      at: (m.sidecar ? new Date(m.sidecar.created) : m.modified).getTime(),
      sizeBytes: m.sidecar?.sizeBytes ?? m.size,
      database: m.sidecar?.database ?? m.database,
    });
  }
  manual.sort((a, b) => a.at - b.at);

  const migrations: TimelineMigration[] = [];
  for (const m of input.migrations ?? []) {
    const row = m.applied;
    if (!row || !row.success || !APPLIED.has(m.state)) continue;
    const durationMs = nsToMs(row.executionTimeNs);
    const noTransaction = m.file?.noTx ?? false;
    migrations.push({
      version: m.version.toString(),
      description: m.description,
      installedOn: row.installedOn.getTime(),
      durationMs,
      noTransaction,
      restore: migrationRestore(row.installedOn, durationMs, noTransaction),
    });
  }
  migrations.sort((a, b) => a.installedOn - b.installedOn || (BigInt(a.version) < BigInt(b.version) ? -1 : 1));

  const drills: TimelineDrill[] = (input.drills ?? [])
    .map((d) => ({ at: d.at.getTime(), ok: d.ok, source: d.source, failures: [...(d.failures ?? [])] }))
    .sort((a, b) => a.at - b.at);
  const preRestore: TimelineCopy[] = o.preRestore
    .filter((c) => c.created)
    .map((c) => ({ name: c.name, path: c.path, at: c.created!.getTime(), sizeBytes: c.sizeBytes }));

  const times = [
    ...sets.flatMap((s) => [s.start, s.stop]),
    ...wal.covered.flatMap((c) => [c.from, c.to]),
    ...manual.map((m) => m.at),
    ...migrations.map((m) => m.installedOn),
    ...drills.map((d) => d.at),
    ...preRestore.map((c) => c.at),
  ];
  const loadedAt = o.loadedAt.getTime();
  const lo = times.length ? Math.min(...times) : loadedAt - 86_400_000;
  const hi = times.length ? Math.max(...times, lo + 60_000) : loadedAt;
  const pad = Math.max((hi - lo) * 0.05, 60_000);

  return {
    project: o.stack.projectName,
    folder: o.stack.workspaceFolder,
    stanza: o.stanzaName,
    loadedAt,
    extent: { from: lo - pad, to: hi + pad },
    sets,
    wal: { ...wal, min: o.stanza?.walMin, max: o.stanza?.walMax },
    newestRecoverable,
    manual,
    migrations,
    drills,
    preRestore,
    problems,
  };
}

/** One line per mark kind, for logs and the view's tooltip. */
export function describeTimeline(m: TimelineModel): string {
  const total = m.sets.reduce((n, s) => n + s.sizeBytes, 0);
  return (
    `${m.sets.length} sets (${formatBytes(total)}), ${m.wal.covered.length} WAL span(s), ${m.manual.length} manual backups, ` +
    `${m.migrations.length} migrations, ${m.drills.length} drills, ${m.preRestore.length} pre-restore copies`
  );
}
