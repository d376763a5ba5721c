/**
 * Shared set-up of the migration cells (Run Pending with a transactional and a `-- no-transaction`
 * migration, Revert) that meet a full data disk, an engine restart or a second window, and of the data
 * disk's tmpfs stacks: one runner (`migrationCell`) takes the cell's stack, its fault and its judgement.
 *
 * The index migrations build on the checksum table's `pad` column: big enough (a sort that spills to
 * base/pgsql_tmp) that the data disk, filled to a few MB free when the build is seen running, runs out
 * midway. The sort's temp files run out before the index writes a page or a WAL record, so PostgreSQL
 * raises an ERROR (the transaction rolls back) rather than a PANIC.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import type { Migrator } from '../../src/core/migrations/migrator';
import type { Stack } from '../support/stack';
import { afterCheck, snapshot, writeChecksum, type Checksum } from './check';
import { broken, result, settle, type CellDef, type CellEnv, type Ended } from './cell';
import { stackOnThrowaway, startAgain } from './engine';
import { fillDisk, removeFiller, stackWithMount, until } from './inject';
import { faultOps } from './ops';
import type { ColumnId, Outcome, RowId } from './table';

/** A migrations folder of the cell's own in the stack: `<version>_<name>.sql`, or `.up.sql` + `.down.sql`. */
export function migrationFiles(
  stack: Stack,
  name: string,
  files: { sql?: string; up?: string; down?: string },
): { dir: string; version: string; remove(): void } {
  const dir = `fault-migrations-${name}-${Date.now()}`;
  const version = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const abs = join(stack.infraDir, dir);
  mkdirSync(abs, { recursive: true });
  if (files.sql !== undefined) writeFileSync(join(abs, `${version}_${name}.sql`), files.sql);
  if (files.up !== undefined) writeFileSync(join(abs, `${version}_${name}.up.sql`), files.up);
  if (files.down !== undefined) writeFileSync(join(abs, `${version}_${name}.down.sql`), files.down);
  return { dir, version, remove: () => rmSync(abs, { recursive: true, force: true }) };
}

/** Whether another session runs a statement containing `text` (pg_stat_activity). */
export async function running(stack: Stack, text: string): Promise<boolean> {
  const r = await stack.sql<{ n: string }>(
    "SELECT count(*)::text AS n FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND position($1 in query) > 0",
    { params: [text] },
  );
  return Number(r[0]!.n) > 0;
}

/** The phase of a running CREATE INDEX (pg_stat_progress_create_index), or undefined. */
export async function indexPhase(stack: Stack): Promise<string | undefined> {
  const r = await stack.sql<{ phase: string }>('SELECT phase FROM pg_stat_progress_create_index');
  return r[0]?.phase;
}

/** The index's pg_index.indisvalid; undefined: there is no such index. */
export async function indexValid(stack: Stack, index: string): Promise<boolean | undefined> {
  const [r] = await stack.sql<{ v: boolean }>(
    'SELECT indisvalid AS v FROM pg_index WHERE indexrelid = to_regclass($1)',
    { params: [index] },
  );
  return r?.v;
}

export async function sqlxRow(stack: Stack, version: string): Promise<{ success: boolean } | undefined> {
  const [r] = await stack.sql<{ success: boolean }>('SELECT success FROM _sqlx_migrations WHERE version = $1', {
    params: [version],
  });
  return r;
}

/** A session holding an old snapshot (REPEATABLE READ, one read), so CREATE INDEX CONCURRENTLY waits in its last phase. */
export async function snapshotHolder(stack: Stack): Promise<{ release(): Promise<void> }> {
  const c = new Client({ ...stack.connection });
  await c.connect();
  c.on('error', () => undefined);
  await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
  await c.query('SELECT 1'); // the snapshot is taken here and held until release
  let done = false;
  return {
    async release() {
      if (done) return;
      done = true;
      await c.end().catch(() => undefined);
    },
  };
}

/** A CREATE INDEX waiting for the holder's snapshot (the index is in the catalog, INVALID, until it ends). */
export const waitingForSnapshots = async (stack: Stack): Promise<boolean> =>
  /waiting for old snapshots|waiting for writers before validation|waiting for readers/.test(
    (await indexPhase(stack)) ?? '',
  );

/** The data volume's stack: PG_DATA (mounted at /home/postgres/pgdata) a tmpfs of `mb` MB, mounted before the first start. */
export const DATA_MB = 700;
export const dataDiskStack = (env: CellEnv) => {
  env.log(`  a stack whose data folder is a tmpfs of ${DATA_MB} MB`);
  return stackWithMount('pgdata', DATA_MB);
};

/** The checksum table the index migrations build on: 200,000 rows with 512-byte pads (an index sort of ~110 MB). */
export const BIG_TABLE = { rows: 200_000, padBytes: 512 } as const;

/** What the fault of a migration cell needs and gives. */
export interface MigrationSetup {
  readonly stack: Stack;
  /** Stops the cell's own stack (none for the shared one). */
  stop?(): Promise<void>;
  /** Fires the fault once the operation reaches its step; resolves with the fault's time. */
  fault(op: Promise<unknown>, dir: string): Promise<number>;
  /** After the operation answered: what the user does to bring the stack back (Start, free space). */
  recover?(): Promise<void>;
  /** What the fault itself adds to the cell's message (a second window's result). */
  extra?(problems: string[]): Promise<string | undefined>;
  /** Set-up's own clean-up (a snapshot holder, a filler file), however the cell ends. */
  cleanup?(): Promise<void>;
}

export interface MigrationCellDef {
  readonly row: Extract<RowId, 'migrate-tx' | 'migrate-notx' | 'revert'>;
  readonly column: ColumnId;
  readonly injection: string;
  readonly injected: string;
  /** The migration (name = the table or index it makes): `sql` for Run Pending, `up`/`down` for Revert. */
  readonly migration: { name: string; sql?: string; up?: string; down?: string };
  readonly checksum: { rows: number; padBytes?: number };
  setup(env: CellEnv): Promise<MigrationSetup>;
  /**
   * The state after the fault: 'old state' / 'new state'; 'invalid index' (a `-- no-transaction` migration's
   * INVALID index: the way back is checked next); anything else says what is half done.
   */
  state(stack: Stack, version: string): Promise<string>;
  /** What an error message must say (the fault named); undefined: an error is itself a problem. */
  readonly says?: RegExp;
  /** An error is fine (a success too) — the second window's A may complete. */
  readonly mayComplete?: boolean;
  /** SQL that removes what the cell made on a shared stack. */
  readonly drop: readonly string[];
}

const said = (e: Ended<unknown>, what: string) =>
  e.kind === 'ok' ? what : e.kind === 'error' ? e.message : 'no message (hung)';

/** Run Pending or Revert, as the command's handler runs it. */
const operate = (m: Migrator, revert: boolean): Promise<unknown> => (revert ? m.revert({}) : m.run({}));

/**
 * A `-- no-transaction` migration left an INVALID index: what the user does next is Run Pending again; it
 * must refuse and offer `DROP INDEX CONCURRENTLY`; the way back run as offered, Run Pending completes it.
 */
async function wayBack(stack: Stack, dir: string, index: string, problems: string[]): Promise<string> {
  const again = await settle((await faultOps(stack).migrator(dir)).run({}), Promise.resolve(Date.now()));
  const text = said(again, 'applied');
  let note = `Run Pending again said: “${text.slice(0, 400)}”`;
  const offered = again.kind === 'error' && new RegExp(`DROP INDEX CONCURRENTLY [^;]*${index}`, 'i').test(text);
  if (!offered) {
    problems.push(`an INVALID index ${index} is left and Run Pending does not offer its DROP INDEX CONCURRENTLY`);
    return note;
  }
  await stack.sql(`DROP INDEX CONCURRENTLY IF EXISTS ${index}`);
  const third = await settle((await faultOps(stack).migrator(dir)).run({}), Promise.resolve(Date.now()));
  if (third.kind === 'ok' && (await indexValid(stack, index)) === true)
    note += '; after the way back, Run Pending applied it (the index is valid)';
  else {
    note += `; after the way back: ${said(third, 'applied, but the index is not valid')}`;
    problems.push('after the offered way back Run Pending did not complete the migration');
  }
  return note;
}

/** One migration cell: the checksum rows, the migration, the operation, its fault, the state, the after-check. */
export function migrationCell(c: MigrationCellDef): CellDef {
  return {
    row: c.row,
    column: c.column,
    injection: c.injection,
    async run(env) {
      const t0 = Date.now();
      let s: MigrationSetup | undefined;
      let folder: ReturnType<typeof migrationFiles> | undefined;
      try {
        env.log(`${c.row} × ${c.column}`);
        s = await c.setup(env);
        const { stack } = s;
        const sum: Checksum = await writeChecksum(stack, c.checksum);
        const revert = c.row === 'revert';
        folder = migrationFiles(stack, c.migration.name, c.migration);
        const ops = faultOps(stack);
        if (revert) await (await ops.migrator(folder.dir)).run({});
        const before = await snapshot(stack);
        const op = operate(await ops.migrator(folder.dir), revert);
        op.catch(() => undefined);
        const fired = s.fault(op, folder.dir);
        const ended = await settle(op, fired);
        const faultAt = await fired.catch(() => undefined);
        await s.recover?.();
        const problems: string[] = [];
        const extra = await s.extra?.(problems);
        const message = said(ended, revert ? 'reverted' : 'applied');
        if (ended.kind === 'hung') problems.push('no message within 5 minutes of the fault');
        if (ended.kind === 'error' && c.says && !c.says.test(message))
          problems.push(`the message does not say what happened (${String(c.says)})`);
        if (ended.kind === 'error' && !c.says) problems.push('the operation failed');
        const state = await c.state(stack, folder.version);
        let outcome: Outcome;
        let note: string | undefined;
        if (state === 'invalid index' && c.row === 'migrate-notx') {
          outcome = 'partial, way back offered';
          if (ended.kind === 'ok') problems.push('Run Pending said applied but left an INVALID index');
          note = await wayBack(stack, folder.dir, c.migration.name, problems);
        } else if (state === 'old state' || state === 'new state') {
          outcome = state;
          if (ended.kind === 'ok' && state === 'old state') problems.push('the operation said done, nothing changed');
          if (ended.kind === 'error' && state === 'new state' && !c.mayComplete)
            problems.push('the operation failed, but its change is there');
        } else {
          outcome = 'FAILED';
          problems.push(state);
        }
        folder.remove();
        const check = await afterCheck(stack, before, { expect: [sum] });
        return result({
          row: c.row,
          column: c.column,
          outcome,
          message: extra ? `${message} — ${extra}` : message,
          injected: c.injected,
          check,
          faultAt,
          messageAt: ended.at,
          t0,
          problems,
          note,
        });
      } catch (e) {
        return broken(c.row, c.column, c.injected, t0, e);
      } finally {
        await s?.cleanup?.().catch(() => undefined);
        if (s && !s.stop && folder) {
          for (const q of c.drop) await s.stack.sql(q).catch(() => undefined);
          await s.stack
            .sql('DELETE FROM _sqlx_migrations WHERE version = $1', { params: [folder.version] })
            .catch(() => undefined);
        }
        folder?.remove();
        await s?.stop?.();
      }
    },
  };
}

/** The data disk filled to `leaveMb` free by another writer once `step` holds; the filler removed (the user frees space) after. */
export async function dataDiskFilledAt(
  env: CellEnv,
  step: (stack: Stack) => Promise<boolean>,
  what: string,
  leaveMb = 6,
): Promise<MigrationSetup> {
  const own = await dataDiskStack(env);
  let filler: string | undefined;
  return {
    stack: own.stack,
    stop: () => own.stop(),
    async fault() {
      await until(what, () => step(own.stack), 300_000);
      const at = Date.now();
      filler = fillDisk(own.mount.dir, leaveMb * 2 ** 20);
      env.log(`  ${what}: the data disk filled to ${leaveMb} MB free`);
      return at;
    },
    async recover() {
      if (filler) removeFiller(filler);
      filler = undefined;
      await own.stack.waitForPostgres(180_000);
    },
    async cleanup() {
      if (filler) removeFiller(filler);
    },
  };
}

/** The stack on the throwaway engine (`before` runs once it is up), restarted once `step` holds; then the user's Start. */
export async function engineRestartedAt(
  env: CellEnv,
  step: (stack: Stack) => Promise<boolean>,
  what: string,
  before?: (stack: Stack) => Promise<() => Promise<void>>,
): Promise<MigrationSetup> {
  const own = await stackOnThrowaway(env.log);
  const release = await before?.(own.stack);
  let restarted: Promise<unknown> | undefined;
  return {
    stack: own.stack,
    stop: own.stop,
    async fault() {
      await until(what, () => step(own.stack), 300_000);
      const at = Date.now();
      restarted = own.engine.restart(env.log);
      return at;
    },
    async recover() {
      await restarted;
      await release?.();
      await startAgain(own.stack);
    },
    async cleanup() {
      await release?.();
    },
  };
}

/** Old state: no index `name` and no history row; new state: a valid index and a successful row; else what is half done. */
export async function indexMigrationState(stack: Stack, name: string, version: string): Promise<string> {
  const valid = await indexValid(stack, name);
  const row = await sqlxRow(stack, version);
  if (valid === undefined && !row) return 'old state';
  if (valid === true && row?.success) return 'new state';
  if (valid === false && !row) return 'invalid index';
  return `half applied: index ${name} ${valid === undefined ? 'absent' : valid ? 'valid' : 'INVALID'}, _sqlx_migrations row ${JSON.stringify(row)}`;
}

/** Revert's old state: the table with its 1000 rows and the history row, the down's index absent; new state: none of them. */
export async function revertState(stack: Stack, table: string, index: string, version: string): Promise<string> {
  const [t] = await stack.sql<{ n: string | null }>('SELECT to_regclass($1)::text AS n', { params: [table] });
  const valid = await indexValid(stack, index);
  const row = await sqlxRow(stack, version);
  if (!t?.n && !row) return valid === undefined || valid ? 'new state' : `the down's index ${index} is INVALID`;
  if (t?.n && row?.success && valid === undefined) {
    const [c] = await stack.sql<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`);
    return Number(c!.n) === 1000 ? 'old state' : `the table holds ${c!.n} rows, not 1000`;
  }
  return `half reverted: table ${t?.n ?? 'absent'}, index ${index} ${valid === undefined ? 'absent' : 'there'}, _sqlx_migrations row ${JSON.stringify(row)}`;
}
