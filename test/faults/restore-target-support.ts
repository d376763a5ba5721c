/**
 * What the pgBackRest restore cells share, whatever the restore's target (the latest state, a point in time, a
 * transaction id): the state a restore starts from, the restore's source for ops.ts, and the judgement of which
 * state the stack is in afterwards.
 *
 * The state: the checksum table (check.ts), a full backup holding it (the scheduled job's own command), then for
 * a time or xid target a table `fault_target` with rows committed BEFORE the target (ids 1…BEFORE) and rows
 * committed AFTER it (the next AFTER ids), the WAL archived past both, and last an UNLOGGED marker row. A restore
 * brings the marker back empty (unlogged data is never in a backup); the old data, stopped cleanly and put back,
 * still has its row. So: marker row there → the old data, and `fault_target` must hold every row; marker empty →
 * restored data, and `fault_target` must hold exactly the rows before the target (more: the restore ended past
 * its target; fewer: short of it; both are FAILED).
 */
import type {
  PhysicalRestoreResult,
  PhysicalSource,
  PhysicalTarget,
  RestoreJournal,
} from '../../src/core/backups/restore/physical';
import { recoverInOneOff } from '../../src/core/backups/restore/oneoff';
import type { RestoreContext } from '../../src/core/backups/restore/run';
import { findRestoreJournals, restoreSiteOf, serverConnectionOf } from '../../src/core/backups/restore/stack';
import { writeChecksum, type Checksum } from './check';
import { fireOfeliaJob, ofeliaJobs } from './inject';
import { faultOps } from './ops';
import type { RowId } from './table';
import type { Stack } from '../support/stack';
import { sleep } from '../support/proc';

export type RestoreTarget = 'latest' | 'time' | 'xid';

export const ROW_OF: Readonly<Record<RestoreTarget, RowId>> = {
  latest: 'restore-pgbackrest-latest',
  time: 'restore-pgbackrest-time',
  xid: 'restore-pgbackrest-xid',
};

/** The restore's target in the words of a message and FAULTS.md. */
export const TARGET_WORDS: Readonly<Record<RestoreTarget, string>> = {
  latest: 'pgBackRest restore (latest)',
  time: 'pgBackRest restore to a point in time (between two known batches of rows)',
  xid: 'pgBackRest restore to a transaction id (the transaction of a known batch of rows)',
};

const TARGET_TABLE = 'fault_target';
const BEFORE = 1_000;
const AFTER = 500;

type PgbackrestSource = Extract<PhysicalSource, { kind: 'pgbackrest' }>;

/** A prepared restore: its source for faultOps().restorePgbackrest, and the rows each state must have. */
export interface PreparedRestore {
  readonly target: RestoreTarget;
  readonly src: Pick<PgbackrestSource, 'target' | 'time' | 'xid'>;
  /** What the restore restores to, in a line (“latest”, “time 2026-… +00”, “xid 1234”). */
  readonly label: string;
  /** The checksum table written before the backup (there in both states). */
  readonly base: Checksum;
  /** fault_target in the restored state (exactly the rows before the target), and in the old one (every row). */
  readonly targetRows?: { readonly restored: Checksum; readonly old: Checksum };
}

const sumOf = (from: number, to: number): string => {
  let s = 0n;
  for (let g = BigInt(from); g <= BigInt(to); g++) s += g * 7919n;
  return s.toString();
};

/** The Ofelia full-backup job's own command, run in the container as its user (what the scheduler fires). */
export async function takeFullBackup(stack: Stack): Promise<void> {
  const full = ofeliaJobs(stack).find((j) => /--type=full/.test(j.command));
  if (!full) throw new Error('no pgBackRest full backup job in the compose labels');
  const b = await fireOfeliaJob(stack, full);
  if (b.exitCode !== 0) throw new Error(`the full backup failed: ${b.output.split('\n').slice(-3).join(' / ')}`);
}

/** The UNLOGGED marker row (see the header): written last, after everything a restore may bring back. */
export async function writeMarker(stack: Stack): Promise<void> {
  await stack.sql('DROP TABLE IF EXISTS fault_marker');
  await stack.sql('CREATE UNLOGGED TABLE fault_marker AS SELECT 1 AS x');
}

/** Switches WAL and waits until pg_stat_archiver has archived that segment (recovery can then reach past the target). */
async function archiveNow(stack: Stack): Promise<void> {
  const [w] = await stack.sql<{ w: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS w');
  for (let i = 0; i < 480; i++) {
    const [a] = await stack.sql<{ w: string | null }>('SELECT last_archived_wal AS w FROM pg_stat_archiver');
    if (a?.w && a.w >= w!.w) return;
    await sleep(250);
  }
  throw new Error(`WAL ${w!.w} was not archived within 2 minutes`);
}

const insert = (from: number, to: number) =>
  `INSERT INTO ${TARGET_TABLE} SELECT g, (g * 7919)::bigint FROM generate_series(${from}, ${to}) g`;

/**
 * After the backup: for a time or xid target, the rows before the target, the target itself (the database
 * clock between the two batches, or the first batch's transaction id), the rows after it, the WAL archived.
 */
async function writeTargetRows(stack: Stack, target: RestoreTarget): Promise<Omit<PreparedRestore, 'base'>> {
  if (target === 'latest') return { target, src: { target: 'latest' }, label: 'latest' };
  await stack.sql(`DROP TABLE IF EXISTS ${TARGET_TABLE}`);
  await stack.sql(`CREATE TABLE ${TARGET_TABLE} (id int PRIMARY KEY, v bigint NOT NULL)`);
  // A time target must be at least one second after the backup set ended (pgBackRest compares seconds).
  await sleep(1_500);
  let src: PreparedRestore['src'];
  let label: string;
  if (target === 'xid') {
    // One statement, one transaction: the batch and the xid are the same transaction (restored inclusively).
    const [r] = await stack.sql<{ xid: string }>(
      `WITH ins AS (${insert(1, BEFORE)} RETURNING 1) SELECT txid_current()::text AS xid FROM (SELECT count(*) FROM ins) c`,
    );
    src = { target: 'xid', xid: r!.xid };
    label = `xid ${r!.xid}`;
  } else {
    await stack.sql(insert(1, BEFORE));
    await sleep(600);
    const [r] = await stack.sql<{ t: string }>(
      `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS t`,
    );
    const time = new Date(r!.t);
    await sleep(600);
    src = { target: 'time', time };
    label = `time ${time.toISOString()}`;
  }
  await stack.sql(insert(BEFORE + 1, BEFORE + AFTER));
  await archiveNow(stack);
  return {
    target,
    src,
    label,
    targetRows: {
      restored: { table: TARGET_TABLE, rows: BEFORE, sum: sumOf(1, BEFORE) },
      old: { table: TARGET_TABLE, rows: BEFORE + AFTER, sum: sumOf(1, BEFORE + AFTER) },
    },
  };
}

/** The whole starting state (see the header): checksum rows, a full backup, the target's rows, the marker. */
export async function prepareRestore(stack: Stack, target: RestoreTarget, rows = 20_000): Promise<PreparedRestore> {
  const base = await writeChecksum(stack, { rows });
  await takeFullBackup(stack);
  const t = await writeTargetRows(stack, target);
  await writeMarker(stack);
  return { ...t, base };
}

export type RestoredState = 'old state' | 'new state' | 'off target';

/** What stateOf and expectFor read of a prepared restore (a pg_basebackup restore has the same, without target rows). */
export type Expectation = Pick<PreparedRestore, 'base' | 'label' | 'targetRows'>;

/**
 * Which data is live: 'old state' (the marker row, every target row), 'new state' (marker empty, exactly the rows
 * before the target), or 'off target' (a restored server past or short of its target, or old data missing rows;
 * the reason is pushed onto `problems`).
 */
export async function stateOf(stack: Stack, p: Expectation, problems: string[]): Promise<RestoredState> {
  const [t] = await stack.sql<{ n: string | null }>("SELECT to_regclass('fault_marker')::text AS n");
  let old = false;
  if (t?.n) {
    const [r] = await stack.sql<{ n: string }>('SELECT count(*)::text AS n FROM fault_marker');
    old = Number(r!.n) > 0;
  }
  if (!p.targetRows) return old ? 'old state' : 'new state';
  const want = old ? p.targetRows.old : p.targetRows.restored;
  const [r] = await stack
    .sql<{ n: string; s: string | null }>(`SELECT count(*)::text AS n, sum(v)::text AS s FROM ${TARGET_TABLE}`)
    .catch(() => [{ n: '-1', s: null }]);
  const n = Number(r!.n);
  if (n === want.rows && r!.s === want.sum) return old ? 'old state' : 'new state';
  if (old) problems.push(`the old data is live but ${TARGET_TABLE} has ${n} rows, not ${want.rows}`);
  else
    problems.push(
      n < 0
        ? `the restored data has no ${TARGET_TABLE}: the restore ended short of its target (${p.label})`
        : `the restore ended ${n > want.rows ? 'past' : 'short of'} its target (${p.label}): ${TARGET_TABLE} has ${n} rows ` +
            `(sum ${r!.s}), exactly ${want.rows} (sum ${want.sum}) were committed before the target`,
    );
  return 'off target';
}

/** The rows the after-check must find in the state the cell ended in (the old data: every row). */
export function expectFor(p: Expectation, state: RestoredState | undefined): Checksum[] {
  if (!p.targetRows) return [p.base];
  return [p.base, state === 'new state' ? p.targetRows.restored : p.targetRows.old];
}

/** Runs the prepared restore through the core the command handler calls (ops.ts). */
export function runRestore(stack: Stack, p: PreparedRestore, ctx: RestoreContext): Promise<PhysicalRestoreResult> {
  return faultOps(stack).restorePgbackrest(p.src, ctx);
}

/** A window opened again: a fresh stack context, the restore site the recover command resolves, and its mounts. */
export async function recoverTarget(
  stack: Stack,
): Promise<{ t: PhysicalTarget; volumes: Parameters<typeof findRestoreJournals>[0] }> {
  const sc = await faultOps(stack).context();
  const site = await restoreSiteOf(sc);
  return { t: { rt: site.rt, dataDir: site.dataDir, conn: site.conn }, volumes: sc.stack.dbService?.volumes ?? [] };
}

/**
 * Where tsdbOps.restore.recover runs (ui/commands/restore-recover.ts placeOf): in place when the tools see PGDATA
 * in the running container, else in a one-off container on the service's volumes (the container is stopped, or
 * PostgreSQL is its PID 1), which can only roll back. The journals as the Backups view finds them.
 */
export type RecoverPlace = { readonly volumes: Parameters<typeof findRestoreJournals>[0] } & (
  | { readonly kind: 'in-place'; readonly t: PhysicalTarget }
  | { readonly kind: 'one-off'; rollback(ctx: RestoreContext): Promise<RestoreJournal | undefined> }
);

export async function recoverPlace(stack: Stack): Promise<RecoverPlace> {
  const sc = await faultOps(stack).context();
  const volumes = sc.stack.dbService?.volumes ?? [];
  const [place, site, db] = await Promise.all([sc.tools(), sc.site(), sc.database()]);
  const conn = serverConnectionOf(sc);
  if (place.restore.value === 'in-place' && place.tools)
    return { kind: 'in-place', volumes, t: { rt: place.tools, dataDir: site.dataDir, conn } };
  const docker = await sc.docker();
  return {
    kind: 'one-off',
    volumes,
    rollback: (ctx) =>
      recoverInOneOff({ docker, containerId: db.id, dataDir: site.dataDir, conn, user: place.user.value }, ctx),
  };
}

/** The pre-restore copy beside PGDATA is the product's way back, kept on purpose until the user deletes it. */
export const PRE_RESTORE = {
  pattern: /\/data\.pre-restore-\d{8}_\d{6}$/,
  why: 'the pre-restore copy, kept as the way back',
};

/** The state of a latest-state restore cell: the checksum rows, the newest full holding them, then the marker. */
export async function backedUp(stack: Stack, rows = 20_000): Promise<Checksum> {
  const sum = await writeChecksum(stack, { rows });
  await takeFullBackup(stack);
  await writeMarker(stack);
  return sum;
}

/** 'old state' when the marker row is still there (the old data), 'new state' when the restored data has none. */
export async function markerState(stack: Stack): Promise<'old state' | 'new state'> {
  const [t] = await stack.sql<{ n: string | null }>("SELECT to_regclass('fault_marker')::text AS n");
  if (!t?.n) return 'new state';
  const [r] = await stack.sql<{ n: string }>('SELECT count(*)::text AS n FROM fault_marker');
  return Number(r!.n) > 0 ? 'old state' : 'new state';
}
