/**
 * What the cells of the logical restore rows (restore-dump-new, restore-dump-over, restore-dumpall; cells/logical*.ts)
 * share: the state each row starts from (a dump whose data differs from the live data, so old and new can be told
 * apart), the restore run as the command table's handler runs it, the fault fired once the restore loads its data
 * (a COPY in pg_stat_activity), what the user does after the fault, the recovery the message names, and the verdict.
 *
 *  - dump-new: `fault_checksum` (N rows) in the stack's database, dumped, restored into the new database
 *    `fault_ln_new`. Old state: no `fault_ln_new`. New state: `fault_ln_new` holds all N rows.
 *  - dump-over: the same dump restored over `fault_ln_over`, which holds `fault_old` (5,000 rows). Old state: only
 *    `fault_old` there. New state: `fault_old` (untouched, no --clean) and all N rows of `fault_checksum`.
 *  - dumpall: a pg_dumpall taken while the stack's database held `fault_checksum`; then the live database gets
 *    `fault_old` instead. Old state: the stack's database holds `fault_old`, no `fault_checksum`. New state: it holds
 *    `fault_checksum` (N rows) and the previous database is kept aside as `<db>_pre_restore_<stamp>` (the way back).
 *    The roles (pg_authid) are compared before and after: an `ALTER ROLE` left applied to roles that existed is the
 *    issue's one allowed partial case, and only when the message says so with the way back.
 */
import { rmSync } from 'node:fs';
import {
  dropHalfRestoredDatabases,
  putBackKeptAsideDatabases,
  restoreDumpAll,
} from '../../src/core/backups/restore/logical';
import type { RestoreContext } from '../../src/core/backups/restore/run';
import { restoreSiteOf } from '../../src/core/backups/restore/stack';
import type { Stack } from '../support/stack';
import { afterCheck, snapshot, writeChecksum, type AfterCheck, type Checksum, type Snapshot } from './check';
import { settle, type Ended } from './cell';
import { until } from './inject';
import { faultOps } from './ops';
import type { Outcome, RowId } from './table';

export type LogicalRow = Extract<RowId, 'restore-dump-new' | 'restore-dump-over' | 'restore-dumpall'>;

export const NEW_DB = 'fault_ln_new';
export const OVER_DB = 'fault_ln_over';
/** The copy a pg_dumpall restore keeps aside (the way back, the product's on purpose). */
export const KEPT_ASIDE = {
  pattern: /^database .*_pre_restore_\d{8}_\d{6}$/,
  why: 'the previous database, kept aside as the way back',
};

const quiet: RestoreContext = { step: () => undefined, line: () => undefined };

/** The state a logical restore starts from, and how to tell old from new afterwards. */
export interface Prepared {
  readonly row: LogicalRow;
  readonly file: string;
  /** The database whose COPY marks "the restore loads its data". */
  readonly loading: string;
  /** The rows that must be there in the old state / in the new state. */
  readonly old: Checksum[];
  readonly fresh: Checksum[];
  readonly roles: string;
  /** Runs the restore as a window does (a fresh stack context each call: a second call is a second window). */
  restore(ctx: RestoreContext): Promise<unknown>;
  state(): Promise<'old state' | 'new state' | string>;
  cleanup(): Promise<void>;
}

const exists = async (s: Stack, db: string) =>
  (await s.sql<{ d: string }>('SELECT datname AS d FROM pg_database WHERE datname = $1', { params: [db] })).length > 0;
const hasTable = async (s: Stack, table: string, database?: string) =>
  Boolean((await s.sql<{ n: string | null }>(`SELECT to_regclass('${table}')::text AS n`, { database }))[0]?.n);
const count = async (s: Stack, table: string, database?: string) =>
  Number((await s.sql<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`, { database }))[0]!.n);

/** Every role's name and attributes (password hash included): an ALTER ROLE shows here. */
export const rolesOf = async (s: Stack): Promise<string> =>
  JSON.stringify(await s.sql('SELECT * FROM pg_authid ORDER BY rolname'));

function removeBackup(path: string): void {
  rmSync(path, { recursive: true, force: true });
  for (const x of ['.meta.json', '.json']) rmSync(`${path}${x}`, { force: true });
}

export async function dumpAllFile(stack: Stack, file: string, ctx: RestoreContext): Promise<unknown> {
  const site = await restoreSiteOf(await faultOps(stack).context());
  return restoreDumpAll({ rt: site.rt, conn: site.conn }, { file: site.toolPath(file) }, ctx);
}

/** Sets the stack up for `row` (see the file's comment): `rows` rows with `padBytes` pads make the load take a while. */
export async function prepare(stack: Stack, row: LogicalRow, rows = 200_000, padBytes = 256): Promise<Prepared> {
  const s = stack;
  const db = s.env.POSTGRES_DB!;
  const ops = faultOps(s);
  await s.sql(`DROP DATABASE IF EXISTS ${NEW_DB} WITH (FORCE)`);
  await s.sql(`DROP DATABASE IF EXISTS ${OVER_DB} WITH (FORCE)`);
  await s.sql('DROP TABLE IF EXISTS fault_old');
  const sum = await writeChecksum(s, { rows, padBytes });
  const dropAside = async () => {
    for (const r of await s.sql<{ d: string }>(
      "SELECT datname AS d FROM pg_database WHERE datname LIKE '%\\_pre\\_restore\\_%'",
    ))
      await s.sql(`DROP DATABASE IF EXISTS "${r.d}" WITH (FORCE)`);
  };
  if (row === 'restore-dumpall') {
    const dump = await ops.dumpAll({});
    await s.sql('DROP TABLE fault_checksum');
    const old = await writeChecksum(s, { rows: 5_000, table: 'fault_old' });
    return {
      row,
      file: dump.path,
      loading: db,
      old: [old],
      fresh: [sum],
      roles: await rolesOf(s),
      restore: (ctx) => dumpAllFile(s, dump.path, ctx),
      async state() {
        const o = await hasTable(s, 'fault_old');
        const n = await hasTable(s, 'fault_checksum');
        if (o && !n) return 'old state';
        if (n && !o) return 'new state';
        return `${db} holds ${o ? 'fault_old' : 'no fault_old'} and ${n ? `fault_checksum (${await count(s, 'fault_checksum')} rows)` : 'no fault_checksum'}`;
      },
      async cleanup() {
        await dropAside().catch(() => undefined);
        await s.sql('DROP TABLE IF EXISTS fault_old').catch(() => undefined);
        await s.sql('DROP TABLE IF EXISTS fault_checksum').catch(() => undefined);
        removeBackup(dump.path);
      },
    };
  }
  const dump = await ops.dump(db, {});
  await s.sql('DROP TABLE fault_checksum');
  const target = row === 'restore-dump-new' ? NEW_DB : OVER_DB;
  const inTarget: Checksum = { ...sum, database: target };
  let old: Checksum[] = [];
  if (row === 'restore-dump-over') {
    await s.sql(`CREATE DATABASE ${OVER_DB}`);
    old = [await writeChecksum(s, { rows: 5_000, table: 'fault_old', database: OVER_DB })];
  }
  return {
    row,
    file: dump.path,
    loading: target,
    old,
    fresh: [...old, inTarget],
    roles: await rolesOf(s),
    restore: (ctx) => faultOps(s).restoreDumpFile(dump.path, target, ctx),
    async state() {
      if (!(await exists(s, target))) return row === 'restore-dump-new' ? 'old state' : `${target} is gone`;
      const n = await hasTable(s, 'fault_checksum', target);
      const rowsNow = n ? await count(s, 'fault_checksum', target) : 0;
      if (n && rowsNow === sum.rows) return 'new state';
      if (!n && row === 'restore-dump-over') return 'old state';
      return `${target} holds ${n ? `${rowsNow} of ${sum.rows} rows of fault_checksum` : 'no fault_checksum'} (half restored)`;
    },
    async cleanup() {
      await s.sql(`DROP DATABASE IF EXISTS ${target} WITH (FORCE)`).catch(() => undefined);
      removeBackup(dump.path);
    },
  };
}

/**
 * Resolves once the server answers in the `postgres` database (the stack's own database may be the half-made one a
 * pg_dumpall restore left, even invalid after an interrupted DROP, until the recovery puts the kept one back).
 */
export function serverAnswers(stack: Stack, timeoutMs = 180_000): Promise<void> {
  return until(
    'the server to answer',
    async () => (await stack.sql('SELECT 1', { database: 'postgres' })).length > 0,
    timeoutMs,
  );
}

/** Resolves once a COPY runs in `database` (pg_restore's or psql's data load). */
export function loadingData(stack: Stack, database: string): Promise<void> {
  return until(
    `a COPY into ${database}`,
    async () =>
      Number(
        (
          await stack.sql<{ n: string }>(
            "SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = $1 AND query ILIKE 'COPY%' AND pid <> pg_backend_pid()",
            // From postgres: a pg_dumpall restore ends every session of the database it renames aside.
            { params: [database], database: 'postgres' },
          )
        )[0]!.n,
      ) > 0,
    300_000,
  );
}

/** The restore, with `fault` fired once it loads its data; `after` is what the user does then (a Start, a Restart). */
export async function restoreWithFault<T>(
  stack: Stack,
  p: Prepared,
  fault: () => Promise<T>,
): Promise<{ ended: Ended<unknown>; faultAt?: number; faultResult?: T; before: Snapshot }> {
  const before = await snapshot(stack);
  let faultAt: number | undefined;
  let faultResult: T | undefined;
  const op = p.restore(quiet);
  const fired = (async () => {
    await loadingData(stack, p.loading);
    faultAt = Date.now();
    faultResult = await fault();
    return faultAt;
  })();
  fired.catch(() => undefined);
  const ended = await settle(op, fired);
  await fired.catch(() => undefined);
  return { ended, faultAt, faultResult, before };
}

export const said = (e: Ended<unknown>, done = 'restored'): string =>
  e.kind === 'error' ? e.message : e.kind === 'ok' ? done : 'no message';

/**
 * What the message tells the user to run when the restore could not put things back itself (the server was away):
 * Recover Interrupted Restore's rollback (tsdbOps.restore.recover), for the logical restores: dropping new databases
 * marked half-restored and putting kept-aside databases back. Returns what it did, for the message column.
 */
export async function recoverAsTold(stack: Stack, message: string): Promise<string> {
  if (!/Recover Interrupted Restore/.test(message)) return '';
  const site = await restoreSiteOf(await faultOps(stack).context());
  const t = { rt: site.rt, conn: site.conn };
  const back = await putBackKeptAsideDatabases(t, quiet);
  const dropped = await dropHalfRestoredDatabases(t, quiet);
  return ` — then Recover Interrupted Restore: put back ${back.join(', ') || 'nothing'}; dropped ${dropped.join(', ') || 'nothing'}`;
}

/**
 * The verdict: the state found, against what the restore said, plus the roles' check for pg_dumpall. A failed
 * restore must leave the old state; a restore that said done must leave the new one; anything else is FAILED.
 */
export async function verdict(
  stack: Stack,
  p: Prepared,
  ended: Ended<unknown>,
  message: string,
): Promise<{ outcome: Outcome; problems: string[]; bugs: string[]; expect: Checksum[] }> {
  const problems: string[] = [];
  const bugs: string[] = [];
  if (ended.kind === 'hung')
    return { outcome: 'FAILED', problems: ['no message within 5 minutes of the fault'], bugs, expect: p.old };
  const state = await p.state();
  let outcome: Outcome = 'FAILED';
  if (ended.kind === 'ok' && state === 'new state') outcome = 'new state';
  else if (ended.kind === 'error' && state === 'old state') outcome = 'old state';
  else problems.push(`the restore ${ended.kind === 'ok' ? 'said done' : 'failed'} and the data is: ${state}`);
  if (
    ended.kind === 'error' &&
    state === 'old state' &&
    !/unchanged|dropped|as before|nothing was changed|put back/i.test(message)
  )
    bugs.push('the message does not say that the data is as before');
  const roles = await rolesOf(stack);
  if (roles !== p.roles) {
    if (p.row === 'restore-dumpall' && /ALTER ROLE/.test(message) && outcome === 'old state')
      outcome = 'partial, way back offered';
    else problems.push('the roles (pg_authid) changed and the message does not say so with the way back');
  }
  return { outcome, problems, bugs, expect: state === 'new state' ? p.fresh : p.old };
}

/**
 * The after-check of a logical cell: in the new state the restore's own result is allowed (the new database of a
 * restore into a new database; the copy a pg_dumpall restore keeps aside, the way back).
 */
export function check(
  stack: Stack,
  before: Snapshot,
  p: Prepared,
  expect: Checksum[],
  outcome: Outcome,
): Promise<AfterCheck> {
  const restored =
    p.row === 'restore-dump-new'
      ? { pattern: new RegExp(`^database ${NEW_DB}$`), why: 'the restored new database' }
      : KEPT_ASIDE;
  return afterCheck(stack, before, { expect, allowNew: outcome === 'new state' ? [restored] : [] });
}
