/**
 * Cells of the migration rows: Run Pending with one transactional and one `-- no-transaction` migration,
 * the PostgreSQL server killed (`kill -9` of the postmaster) while the migration runs.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterCheck, snapshot, writeChecksum, type Checksum } from '../check';
import { broken, result, settle, type CellDef, type CellEnv } from '../cell';
import { stackOnThrowaway } from '../engine';
import { killPostmaster, restartDatabaseService, until } from '../inject';
import { faultOps } from '../ops';
import type { Stack } from '../../support/stack';
import type { Outcome } from '../table';
import type { Migrator } from '../../../src/core/migrations/migrator';

/** A migrations folder of its own in the stack (removed by the cell): version = now, so it is newer than any earlier one. */
export function migrationsFolder(
  stack: Stack,
  name: string,
  sql: string,
): { dir: string; version: string; remove(): void } {
  const dir = `fault-migrations-${name}-${Date.now()}`;
  const version = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const abs = join(stack.infraDir, dir);
  mkdirSync(abs, { recursive: true });
  writeFileSync(join(abs, `${version}_${name}.sql`), sql);
  return { dir, version, remove: () => rmSync(abs, { recursive: true, force: true }) };
}

async function checksumOf(env: CellEnv): Promise<{ stack: Stack; sum: Checksum }> {
  const stack = await env.sharedStack();
  return { stack, sum: await writeChecksum(stack, { rows: 20_000 }) };
}

export const sqlxRow = async (stack: Stack, version: string) =>
  (
    await stack.sql<{ success: boolean }>('SELECT success FROM _sqlx_migrations WHERE version = $1', {
      params: [version],
    })
  )[0];

export const migrateTxKilled: CellDef = {
  row: 'migrate-tx',
  column: 'postgres-killed',
  ci: true,
  injection:
    'a transactional migration (CREATE TABLE, INSERT 1000 rows, pg_sleep(60)) runs through Run Pending; once pg_stat_activity ' +
    'shows its pg_sleep, `kill -9` of the postmaster (pid from postmaster.pid) in the container; then the service is ' +
    'restarted (what the user does) and the after-check runs',
  async run(env) {
    const t0 = Date.now();
    const injected = 'kill -9 of the postmaster while the migration sleeps inside its transaction';
    let folder: ReturnType<typeof migrationsFolder> | undefined;
    let shared: Stack | undefined;
    try {
      const { stack, sum } = await checksumOf(env);
      shared = stack;
      folder = migrationsFolder(
        stack,
        'fault_tx',
        'CREATE TABLE fault_mig_tx (id int);\nINSERT INTO fault_mig_tx SELECT generate_series(1, 1000);\nSELECT pg_sleep(60);\n',
      );
      const before = await snapshot(stack);
      const migrator = await faultOps(stack).migrator(folder.dir);
      const op = migrator.run({});
      let faultAt: number | undefined;
      const fault = (async () => {
        await until('the migration in pg_sleep', async () => {
          const r = await stack.sql<{ n: string }>(
            "SELECT count(*)::text AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()",
          );
          return Number(r[0]!.n) > 0;
        });
        faultAt = Date.now();
        await killPostmaster(stack);
        return faultAt;
      })();
      const ended = await settle(op, fault);
      await fault.catch(() => undefined);
      await restartDatabaseService(stack);
      const problems: string[] = [];
      let outcome: Outcome = 'old state';
      const [tbl] = await stack.sql<{ n: string | null }>("SELECT to_regclass('fault_mig_tx')::text AS n");
      const row = await sqlxRow(stack, folder.version);
      if (ended.kind === 'ok') problems.push('Run Pending reported success although the server was killed');
      if (ended.kind === 'hung') problems.push('no message within 5 minutes of the kill');
      if (tbl?.n || row) {
        outcome = tbl?.n && row?.success ? 'new state' : 'FAILED';
        if (outcome === 'FAILED')
          problems.push(`half applied: table ${tbl?.n ?? 'absent'}, _sqlx_migrations row ${JSON.stringify(row)}`);
      }
      const message = ended.kind === 'error' ? ended.message : ended.kind === 'ok' ? 'applied' : '';
      if (ended.kind === 'error' && !/connection|terminat|server closed|ECONNRESET|crash/i.test(message))
        problems.push('the message does not say that the connection to the server was lost');
      const check = await afterCheck(stack, before, { expect: [sum] });
      return result({
        row: 'migrate-tx',
        column: 'postgres-killed',
        outcome,
        message,
        injected,
        check,
        faultAt,
        messageAt: ended.at,
        t0,
        problems,
      });
    } catch (e) {
      return broken('migrate-tx', 'postgres-killed', injected, t0, e);
    } finally {
      if (shared && folder) {
        await shared.sql('DROP TABLE IF EXISTS fault_mig_tx').catch(() => undefined);
        await shared
          .sql('DELETE FROM _sqlx_migrations WHERE version = $1', { params: [folder.version] })
          .catch(() => undefined);
      }
      folder?.remove();
    }
  },
};

export const migrateNoTxKilled: CellDef = {
  row: 'migrate-notx',
  column: 'postgres-killed',
  injection:
    'a `-- no-transaction` migration (CREATE INDEX CONCURRENTLY on the checksum table) runs through Run Pending while another ' +
    'session holds an old snapshot, so the index build waits in its last phase with the index already in the catalog; ' +
    'then `kill -9` of the postmaster, the service restarted, and Run Pending started again (what the user does next)',
  async run(env) {
    const t0 = Date.now();
    const injected = 'kill -9 of the postmaster while CREATE INDEX CONCURRENTLY waits for old snapshots';
    let folder: ReturnType<typeof migrationsFolder> | undefined;
    let holder: Client | undefined;
    let stack: Stack | undefined;
    try {
      const c = await checksumOf(env);
      stack = c.stack;
      const s = stack;
      folder = migrationsFolder(
        s,
        'fault_notx',
        '-- no-transaction\nCREATE INDEX CONCURRENTLY fault_notx_idx ON fault_checksum (v);\n',
      );
      const before = await snapshot(s);
      holder = new Client({ ...s.connection });
      await holder.connect();
      holder.on('error', () => undefined);
      await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await holder.query('SELECT count(*) FROM fault_checksum');
      const ops = faultOps(s);
      const op = (await ops.migrator(folder.dir)).run({});
      let faultAt: number | undefined;
      const fault = (async () => {
        await until('CREATE INDEX CONCURRENTLY waiting', async () => {
          const r = await s.sql<{ phase: string }>('SELECT phase FROM pg_stat_progress_create_index');
          return r.some((x) =>
            /waiting for old snapshots|waiting for writers before validation|waiting for readers/.test(x.phase),
          );
        });
        faultAt = Date.now();
        await killPostmaster(s);
      })();
      const ended = await settle(
        op,
        fault.then(() => faultAt ?? Date.now()),
      );
      await fault.catch(() => undefined);
      await holder.end().catch(() => undefined);
      holder = undefined;
      await restartDatabaseService(s);
      const problems: string[] = [];
      const message = ended.kind === 'error' ? ended.message : ended.kind === 'ok' ? 'applied' : '';
      if (ended.kind === 'ok') problems.push('Run Pending reported success although the server was killed');
      if (ended.kind === 'hung') problems.push('no message within 5 minutes of the kill');
      const [idx] = await s.sql<{ valid: boolean }>(
        "SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass('fault_notx_idx')",
      );
      let outcome: Outcome = idx ? 'FAILED' : 'old state';
      let note: string | undefined;
      if (idx && !idx.valid) {
        // Partial by nature: the way back must be offered. What the user does next: Run Pending again.
        const again = await settle((await ops.migrator(folder.dir)).run({}), Promise.resolve(Date.now()));
        const said = again.kind === 'error' ? again.message : again.kind === 'ok' ? 'applied' : 'hung';
        note = `Run Pending again said: “${said.slice(0, 400)}”`;
        if (/DROP INDEX CONCURRENTLY/i.test(said) && again.kind === 'error') {
          outcome = 'partial, way back offered';
          // The way back, as offered; then Run Pending completes the migration.
          await s.sql('DROP INDEX CONCURRENTLY IF EXISTS fault_notx_idx');
          const third = await settle((await ops.migrator(folder.dir)).run({}), Promise.resolve(Date.now()));
          note +=
            third.kind === 'ok'
              ? '; after the way back, Run Pending applied it'
              : `; after the way back: ${third.kind}`;
          if (third.kind !== 'ok') problems.push('after the offered way back Run Pending still failed');
        } else {
          problems.push('an INVALID index fault_notx_idx is left and no DROP INDEX CONCURRENTLY is offered');
        }
      } else if (idx?.valid) outcome = 'new state';
      const check = await afterCheck(s, before, { expect: [c.sum] });
      return result({
        row: 'migrate-notx',
        column: 'postgres-killed',
        outcome,
        message,
        injected,
        check,
        faultAt,
        messageAt: ended.at,
        t0,
        problems,
        note,
      });
    } catch (e) {
      return broken('migrate-notx', 'postgres-killed', injected, t0, e);
    } finally {
      await holder?.end().catch(() => undefined);
      // The shared stack stays healthy for the next cell: no index and no migration row of this cell.
      if (stack && folder) {
        await stack.sql('DROP INDEX CONCURRENTLY IF EXISTS fault_notx_idx').catch(() => undefined);
        await stack
          .sql('DELETE FROM _sqlx_migrations WHERE version = $1', { params: [folder.version] })
          .catch(() => undefined);
      }
      folder?.remove();
    }
  },
};

export const migrateTxSecondWindow: CellDef = {
  row: 'migrate-tx',
  column: 'second-window',
  ci: true,
  injection:
    'a transactional migration (CREATE TABLE, INSERT 1000 rows, pg_sleep(5)) runs through Run Pending in window A; once ' +
    'pg_stat_activity shows its pg_sleep, window B (a second stack context and Migrator, as a second VS Code window has) ' +
    'starts Run Pending on the same folder',
  async run(env) {
    const t0 = Date.now();
    const injected = 'a second Run Pending started while the first one’s migration runs';
    let folder: ReturnType<typeof migrationsFolder> | undefined;
    let shared: Stack | undefined;
    try {
      const { stack, sum } = await checksumOf(env);
      shared = stack;
      folder = migrationsFolder(
        stack,
        'fault_two',
        'CREATE TABLE fault_mig_two (id int);\nINSERT INTO fault_mig_two SELECT generate_series(1, 1000);\nSELECT pg_sleep(5);\n',
      );
      const before = await snapshot(stack);
      const a = (await faultOps(stack).migrator(folder.dir)).run({});
      let b: ReturnType<Migrator['run']> | undefined;
      const fault = (async () => {
        await until('the migration in pg_sleep', async () => {
          const r = await stack.sql<{ n: string }>(
            "SELECT count(*)::text AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pg_sleep(5)%' AND pid <> pg_backend_pid()",
          );
          return Number(r[0]!.n) > 0;
        });
        const at = Date.now();
        b = (await faultOps(stack).migrator(folder!.dir)).run({});
        b.catch(() => undefined);
        return at;
      })();
      const endedA = await settle(a, fault);
      const faultAt = await fault;
      const endedB = await settle(b!, fault);
      const problems: string[] = [];
      const said = (e: typeof endedA) =>
        e.kind === 'ok'
          ? `applied ${e.value.applied.map((x) => String(x.version)).join(', ') || 'nothing (up to date)'}`
          : e.kind === 'error'
            ? e.message
            : 'no message';
      const message = `A: ${said(endedA)} — B: ${said(endedB)}`;
      if (endedA.kind !== 'ok') problems.push(`window A’s Run Pending did not complete: ${said(endedA)}`);
      if (endedB.kind === 'hung') problems.push('window B got no message within 5 minutes');
      if (endedA.kind === 'ok' && endedB.kind === 'ok' && endedB.value.applied.length)
        problems.push('both windows applied the migration');
      const [n] = await stack
        .sql<{ n: string }>('SELECT count(*)::text AS n FROM fault_mig_two')
        .catch(() => [{ n: '0' }]);
      const row = await sqlxRow(stack, folder.version);
      const outcome: Outcome = Number(n!.n) === 1000 && row?.success ? 'new state' : 'FAILED';
      if (outcome === 'FAILED')
        problems.push(`after both: ${n!.n} rows in fault_mig_two, _sqlx_migrations row ${JSON.stringify(row)}`);
      const check = await afterCheck(stack, before, { expect: [sum] });
      return result({
        row: 'migrate-tx',
        column: 'second-window',
        outcome,
        message,
        injected,
        check,
        faultAt,
        messageAt: endedB.at,
        t0,
        problems,
      });
    } catch (e) {
      return broken('migrate-tx', 'second-window', injected, t0, e);
    } finally {
      if (shared && folder) {
        await shared.sql('DROP TABLE IF EXISTS fault_mig_two').catch(() => undefined);
        await shared
          .sql('DELETE FROM _sqlx_migrations WHERE version = $1', { params: [folder.version] })
          .catch(() => undefined);
      }
      folder?.remove();
    }
  },
};

/** A migrations folder with one reversible migration (`.up.sql`, `.down.sql`), applied by Run Pending before the fault. */
export async function appliedReversible(
  stack: Stack,
  name: string,
  down: string,
): Promise<{ dir: string; version: string; remove(): void }> {
  const dir = `fault-migrations-${name}-${Date.now()}`;
  const version = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const abs = join(stack.infraDir, dir);
  mkdirSync(abs, { recursive: true });
  writeFileSync(
    join(abs, `${version}_${name}.up.sql`),
    `CREATE TABLE ${name} (id int);\nINSERT INTO ${name} SELECT generate_series(1, 1000);\n`,
  );
  writeFileSync(join(abs, `${version}_${name}.down.sql`), down);
  await (await faultOps(stack).migrator(dir)).run({});
  return { dir, version, remove: () => rmSync(abs, { recursive: true, force: true }) };
}

/** Revert's old state: the table with its 1000 rows and a successful _sqlx_migrations row; new state: neither. */
export async function revertState(stack: Stack, table: string, version: string): Promise<Outcome | string> {
  const [t] = await stack.sql<{ n: string | null }>(`SELECT to_regclass('${table}')::text AS n`);
  const row = await sqlxRow(stack, version);
  if (!t?.n && !row) return 'new state';
  if (t?.n && row?.success) {
    const [c] = await stack.sql<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`);
    return Number(c!.n) === 1000 ? 'old state' : `the table holds ${c!.n} rows, not 1000`;
  }
  return `half reverted: table ${t?.n ?? 'absent'}, _sqlx_migrations row ${JSON.stringify(row)}`;
}

export const revertKilled: CellDef = {
  row: 'revert',
  column: 'postgres-killed',
  ci: true,
  injection:
    'a reversible migration (up: CREATE TABLE, INSERT 1000 rows) is applied; Revert runs its down migration (DROP TABLE, ' +
    'pg_sleep(60)); once pg_stat_activity shows its pg_sleep, `kill -9` of the postmaster; then the service is restarted ' +
    '(what the user does) and the after-check runs',
  async run(env) {
    const t0 = Date.now();
    const injected = 'kill -9 of the postmaster while the down migration sleeps inside its transaction';
    let folder: Awaited<ReturnType<typeof appliedReversible>> | undefined;
    let shared: Stack | undefined;
    try {
      const { stack, sum } = await checksumOf(env);
      shared = stack;
      folder = await appliedReversible(stack, 'fault_rev', 'DROP TABLE fault_rev;\nSELECT pg_sleep(60);\n');
      const before = await snapshot(stack);
      const op = (await faultOps(stack).migrator(folder.dir)).revert({});
      let faultAt: number | undefined;
      const fault = (async () => {
        await until('the down migration in pg_sleep', async () => {
          const r = await stack.sql<{ n: string }>(
            "SELECT count(*)::text AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()",
          );
          return Number(r[0]!.n) > 0;
        });
        faultAt = Date.now();
        await killPostmaster(stack);
        return faultAt;
      })();
      const ended = await settle(op, fault);
      await fault.catch(() => undefined);
      await restartDatabaseService(stack);
      const problems: string[] = [];
      const state = await revertState(stack, 'fault_rev', folder.version);
      let outcome: Outcome = state === 'old state' || state === 'new state' ? state : 'FAILED';
      if (outcome === 'FAILED') problems.push(state);
      if (ended.kind === 'ok') problems.push('Revert reported success although the server was killed');
      if (ended.kind === 'hung') problems.push('no message within 5 minutes of the kill');
      const message = ended.kind === 'error' ? ended.message : ended.kind === 'ok' ? 'reverted' : '';
      if (ended.kind === 'error' && !/connection|terminat|server closed|ECONNRESET|crash/i.test(message))
        problems.push('the message does not say that the connection to the server was lost');
      if (ended.kind === 'ok' && outcome === 'old state') outcome = 'FAILED';
      const check = await afterCheck(stack, before, { expect: [sum] });
      return result({
        row: 'revert',
        column: 'postgres-killed',
        outcome,
        message,
        injected,
        check,
        faultAt,
        messageAt: ended.at,
        t0,
        problems,
      });
    } catch (e) {
      return broken('revert', 'postgres-killed', injected, t0, e);
    } finally {
      if (shared && folder) {
        await shared.sql('DROP TABLE IF EXISTS fault_rev').catch(() => undefined);
        await shared
          .sql('DELETE FROM _sqlx_migrations WHERE version = $1', { params: [folder.version] })
          .catch(() => undefined);
      }
      folder?.remove();
    }
  },
};

export const revertSecondWindow: CellDef = {
  row: 'revert',
  column: 'second-window',
  ci: true,
  injection:
    'a reversible migration is applied; Revert runs its down migration (DROP TABLE, pg_sleep(5)) in window A; once ' +
    'pg_stat_activity shows its pg_sleep, window B (a second stack context and Migrator) starts Revert on the same folder: ' +
    'exactly one migration may be reverted, once',
  async run(env) {
    const t0 = Date.now();
    const injected = 'a second Revert started while the first one’s down migration runs';
    let folder: Awaited<ReturnType<typeof appliedReversible>> | undefined;
    let shared: Stack | undefined;
    try {
      const { stack, sum } = await checksumOf(env);
      shared = stack;
      folder = await appliedReversible(stack, 'fault_rev2', 'DROP TABLE fault_rev2;\nSELECT pg_sleep(5);\n');
      const before = await snapshot(stack);
      const a = (await faultOps(stack).migrator(folder.dir)).revert({});
      let b: ReturnType<Migrator['revert']> | undefined;
      const fault = (async () => {
        await until('the down migration in pg_sleep', async () => {
          const r = await stack.sql<{ n: string }>(
            "SELECT count(*)::text AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pg_sleep(5)%' AND pid <> pg_backend_pid()",
          );
          return Number(r[0]!.n) > 0;
        });
        const at = Date.now();
        b = (await faultOps(stack).migrator(folder!.dir)).revert({});
        b.catch(() => undefined);
        return at;
      })();
      const endedA = await settle(a, fault);
      const faultAt = await fault;
      const endedB = await settle(b!, fault);
      const problems: string[] = [];
      const said = (e: typeof endedA) =>
        e.kind === 'ok'
          ? `reverted ${e.value.reverted.map((x) => String(x.version)).join(', ') || 'nothing (none to revert)'}`
          : e.kind === 'error'
            ? e.message
            : 'no message';
      const message = `A: ${said(endedA)} — B: ${said(endedB)}`;
      if (endedA.kind !== 'ok') problems.push(`window A’s Revert did not complete: ${said(endedA)}`);
      if (endedB.kind === 'hung') problems.push('window B got no message within 5 minutes');
      if (endedB.kind === 'ok' && endedB.value.reverted.length)
        problems.push(`window B reverted ${endedB.value.reverted.map((x) => String(x.version)).join(', ')} too`);
      const state = await revertState(stack, 'fault_rev2', folder.version);
      const outcome: Outcome = state === 'new state' ? 'new state' : 'FAILED';
      if (outcome === 'FAILED') problems.push(`after both: ${state}`);
      const check = await afterCheck(stack, before, { expect: [sum] });
      return result({
        row: 'revert',
        column: 'second-window',
        outcome,
        message,
        injected,
        check,
        faultAt,
        messageAt: endedB.at,
        t0,
        problems,
      });
    } catch (e) {
      return broken('revert', 'second-window', injected, t0, e);
    } finally {
      if (shared && folder) {
        await shared.sql('DROP TABLE IF EXISTS fault_rev2').catch(() => undefined);
        await shared
          .sql('DELETE FROM _sqlx_migrations WHERE version = $1', { params: [folder.version] })
          .catch(() => undefined);
      }
      folder?.remove();
    }
  },
};

export const migrateTxEngineRestarted: CellDef = {
  row: 'migrate-tx',
  column: 'engine-restarted',
  ci: true,
  injection:
    'the stack runs on a throwaway Docker engine of its own (the test image loaded into it); a transactional migration ' +
    '(CREATE TABLE, INSERT 1000 rows, pg_sleep(60)) runs through Run Pending; once pg_stat_activity shows its pg_sleep the ' +
    'engine is restarted (SIGTERM to dockerd, which stops its containers, then dockerd again); then the stack is started ' +
    'again (the user’s Start) and the after-check runs',
  async run(env) {
    const t0 = Date.now();
    const injected = 'the engine restarted while the migration sleeps inside its transaction';
    let own: Awaited<ReturnType<typeof stackOnThrowaway>> | undefined;
    try {
      own = await stackOnThrowaway(env.log);
      const { stack, engine } = own;
      const sum = await writeChecksum(stack, { rows: 20_000 });
      const folder = migrationsFolder(
        stack,
        'fault_eng',
        'CREATE TABLE fault_mig_eng (id int);\nINSERT INTO fault_mig_eng SELECT generate_series(1, 1000);\nSELECT pg_sleep(60);\n',
      );
      const before = await snapshot(stack);
      const op = (await faultOps(stack).migrator(folder.dir)).run({});
      let faultAt: number | undefined;
      const fault = (async () => {
        await until('the migration in pg_sleep', async () => {
          const r = await stack.sql<{ n: string }>(
            "SELECT count(*)::text AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()",
          );
          return Number(r[0]!.n) > 0;
        });
        faultAt = Date.now();
        return faultAt;
      })();
      const restarted = fault.then(() => engine.restart(env.log));
      const ended = await settle(op, fault);
      await restarted;
      await stack.compose(['up', '-d']);
      await stack.waitForPostgres(180_000);
      const problems: string[] = [];
      let outcome: Outcome = 'old state';
      const [tbl] = await stack.sql<{ n: string | null }>("SELECT to_regclass('fault_mig_eng')::text AS n");
      const row = await sqlxRow(stack, folder.version);
      if (ended.kind === 'ok') problems.push('Run Pending reported success although the engine restarted');
      if (ended.kind === 'hung') problems.push('no message within 5 minutes of the restart');
      if (tbl?.n || row) {
        outcome = tbl?.n && row?.success ? 'new state' : 'FAILED';
        if (outcome === 'FAILED')
          problems.push(`half applied: table ${tbl?.n ?? 'absent'}, _sqlx_migrations row ${JSON.stringify(row)}`);
      }
      const message = ended.kind === 'error' ? ended.message : ended.kind === 'ok' ? 'applied' : '';
      if (ended.kind === 'error' && !/connection|terminat|server closed|ECONNRESET|ECONNREFUSED|shut/i.test(message))
        problems.push('the message does not say that the connection to the server was lost');
      folder.remove();
      const check = await afterCheck(stack, before, { expect: [sum] });
      return result({
        row: 'migrate-tx',
        column: 'engine-restarted',
        outcome,
        message,
        injected,
        check,
        faultAt,
        messageAt: ended.at,
        t0,
        problems,
      });
    } catch (e) {
      return broken('migrate-tx', 'engine-restarted', injected, t0, e);
    } finally {
      await own?.stop();
    }
  },
};
