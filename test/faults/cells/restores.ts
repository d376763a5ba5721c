/**
 * Cells of the restore rows: a pg_dump restore into a new database with the server killed midway; a
 * pgBackRest restore (latest) with a scheduled backup firing during it, with a second window starting
 * the same restore, and with the data volume filling midway.
 */
import { rmSync } from 'node:fs';
import { errorText } from '../../../src/core/format';
import { dropHalfRestoredDatabases } from '../../../src/core/backups/restore/logical';
import { restoreSiteOf } from '../../../src/core/backups/restore/stack';
import { afterCheck, snapshot, writeChecksum, type Checksum } from '../check';
import { broken, result, settle, type CellDef } from '../cell';
import {
  fillDisk,
  fireOfeliaJob,
  killPostmaster,
  ofeliaJobs,
  removeFiller,
  restartDatabaseService,
  stackWithMount,
  triggerAt,
  until,
} from '../inject';
import { faultOps } from '../ops';
import type { Stack } from '../../support/stack';
import type { Outcome } from '../table';

/** The pre-restore copy beside PGDATA is the product's way back, kept on purpose until the user deletes it. */
export const PRE_RESTORE = {
  pattern: /\/data\.pre-restore-\d{8}_\d{6}$/,
  why: 'the pre-restore copy, kept as the way back',
};

/**
 * The state a pgBackRest restore starts from: the checksum table, a full backup holding it (the scheduled
 * job's own command), and an UNLOGGED marker row written after it. A restore brings the marker back empty
 * (unlogged data is never in a backup); the old data, stopped cleanly and put back, still has its row.
 */
export async function backedUp(stack: Stack, rows = 20_000): Promise<Checksum> {
  const sum = await writeChecksum(stack, { rows });
  const full = ofeliaJobs(stack).find((j) => /--type=full/.test(j.command));
  if (!full) throw new Error('no pgBackRest full backup job in the compose labels');
  const b = await fireOfeliaJob(stack, full);
  if (b.exitCode !== 0) throw new Error(`the full backup failed: ${b.output.split('\n').slice(-3).join(' / ')}`);
  await stack.sql('DROP TABLE IF EXISTS fault_marker');
  await stack.sql('CREATE UNLOGGED TABLE fault_marker AS SELECT 1 AS x');
  return sum;
}

/** 'old state' when the marker row is still there (the old data), 'new state' when the restored data has none. */
export async function markerState(stack: Stack): Promise<'old state' | 'new state'> {
  const [t] = await stack.sql<{ n: string | null }>("SELECT to_regclass('fault_marker')::text AS n");
  if (!t?.n) return 'new state';
  const [r] = await stack.sql<{ n: string }>('SELECT count(*)::text AS n FROM fault_marker');
  return Number(r!.n) > 0 ? 'old state' : 'new state';
}

export const dumpRestoreKilled: CellDef = {
  row: 'restore-dump-new',
  column: 'postgres-killed',
  injection:
    'a pg_dump of the stack’s database (200,000 rows with 256-byte pads) is restored into a new database; once the restore’s ' +
    'COPY runs (pg_stat_activity), `kill -9` of the postmaster; then the service is restarted (what the user does), and ' +
    'what the message says runs: Recover Interrupted Restore (the rollback the command runs, which drops a new database ' +
    'marked half-restored); then the after-check',
  async run(env) {
    const t0 = Date.now();
    const injected = 'kill -9 of the postmaster during pg_restore’s COPY into the new database';
    let stack: Stack | undefined;
    let dumpPath: string | undefined;
    try {
      stack = await env.sharedStack();
      const s = stack;
      const sum = await writeChecksum(s, { rows: 200_000, padBytes: 256 });
      const ops = faultOps(s);
      const dump = await ops.dump(s.env.POSTGRES_DB!, {});
      dumpPath = dump.path;
      const before = await snapshot(s);
      let faultAt: number | undefined;
      const op = ops.restoreDumpFile(dump.path, 'fault_restore_new', { step: () => undefined, line: () => undefined });
      const fault = (async () => {
        await until('pg_restore COPY', async () => {
          const r = await s.sql<{ n: string }>(
            "SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = 'fault_restore_new' AND query ILIKE 'COPY%'",
          );
          return Number(r[0]!.n) > 0;
        });
        faultAt = Date.now();
        await killPostmaster(s);
        return faultAt;
      })();
      const ended = await settle(op, fault);
      await fault.catch(() => undefined);
      await restartDatabaseService(s);
      const problems: string[] = [];
      let message = ended.kind === 'error' ? ended.message : ended.kind === 'ok' ? 'restored' : '';
      if (ended.kind === 'hung') problems.push('no message within 5 minutes of the kill');
      const [left] = await s.sql<{ d: string }>(
        "SELECT datname AS d FROM pg_database WHERE datname = 'fault_restore_new'",
      );
      if (left && ended.kind === 'error') {
        // The server is back: what the message tells the user to run (tsdbOps.restore.recover's rollback part).
        const site = await restoreSiteOf(await ops.context());
        const dropped = await dropHalfRestoredDatabases(
          { rt: site.rt, conn: site.conn },
          {
            step: () => undefined,
            line: () => undefined,
          },
        );
        message += ` — then Recover Interrupted Restore: dropped ${dropped.join(', ') || 'nothing'}`;
      }
      const [db] = await s.sql<{ d: string }>(
        "SELECT datname AS d FROM pg_database WHERE datname = 'fault_restore_new'",
      );
      let outcome: Outcome = db ? 'FAILED' : 'old state';
      if (db && ended.kind === 'ok') outcome = 'new state';
      const check = await afterCheck(s, before, { expect: [sum] });
      if (db && ended.kind !== 'ok') problems.push('the half-restored new database fault_restore_new is left');
      return result({
        row: 'restore-dump-new',
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
      return broken('restore-dump-new', 'postgres-killed', injected, t0, e);
    } finally {
      if (stack) {
        await stack.sql('DROP DATABASE IF EXISTS fault_restore_new WITH (FORCE)').catch(() => undefined);
        await stack.sql('DROP TABLE IF EXISTS fault_checksum').catch(() => undefined);
      }
      if (dumpPath) {
        rmSync(dumpPath, { force: true });
        rmSync(`${dumpPath}.meta.json`, { force: true });
        rmSync(`${dumpPath}.json`, { force: true });
      }
    }
  },
};

export const restoreLockedByBackup: CellDef = {
  row: 'restore-pgbackrest-latest',
  column: 'pgbackrest-lock',
  ci: true,
  injection:
    'when the restore reports its first step (“Verifying the backup”), the Ofelia full-backup job’s own command (from the ' +
    'compose labels, as its user) runs in the container, the way Ofelia’s job-exec fires it: it holds the backup lock ' +
    'while the restore verifies, stops the server and stops the stanza',
  async run(env) {
    const t0 = Date.now();
    const injected = 'the pgbackrest-full-backup job fired at the step “Verifying the backup”';
    try {
      const stack = await env.sharedStack();
      const sum = await backedUp(stack);
      const before = await snapshot(stack);
      const job = ofeliaJobs(stack).find((j) => /--type=full/.test(j.command))!;
      let backup: Promise<{ exitCode: number; output: string }> | undefined;
      const trig = triggerAt(/^step: Verifying the backup/, async () => (backup = fireOfeliaJob(stack, job)));
      const ended = await settle(faultOps(stack).restorePgbackrest({ target: 'latest' }, trig.ctx), trig.fired);
      const faultAt = await trig.fired;
      const b = backup ? await backup : undefined;
      await stack.waitForPostgres(120_000).catch(() => undefined);
      const problems: string[] = [];
      let outcome: Outcome;
      const message = ended.kind === 'error' ? ended.message : ended.kind === 'ok' ? 'restored (latest)' : '';
      if (ended.kind === 'hung') {
        problems.push('no message within 5 minutes of the backup firing');
        outcome = 'FAILED';
      } else {
        const state = await markerState(stack).catch(() => 'new state' as const);
        outcome = ended.kind === 'ok' ? state : state === 'old state' ? 'old state' : 'FAILED';
        if (ended.kind === 'ok' && state !== 'new state')
          problems.push('the restore said done but the old data is live');
        if (ended.kind === 'error' && state !== 'old state')
          problems.push('the restore failed and the old data is not back');
        if (ended.kind === 'error' && /backup|lock/i.test(message) && outcome === 'old state')
          outcome = 'refused before starting';
      }
      const note = b
        ? `the scheduled backup exited ${b.exitCode}: ${b.output.split('\n').filter(Boolean).slice(-1)[0] ?? ''}`
        : 'the backup never fired';
      const check = await afterCheck(stack, before, { expect: [sum], allowNew: [PRE_RESTORE] });
      return result({
        row: 'restore-pgbackrest-latest',
        column: 'pgbackrest-lock',
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
      return broken('restore-pgbackrest-latest', 'pgbackrest-lock', injected, t0, e);
    }
  },
};

export const restoreSecondWindow: CellDef = {
  row: 'restore-pgbackrest-latest',
  column: 'second-window',
  // In CI: the guarantee a second window never rolls back a restore still in progress (its journal names its owner).
  ci: true,
  injection:
    'while window A’s restore runs its restore tool (the step “Restoring …”), window B (a second stack context with its own ' +
    'engine client and operation queue, as a second VS Code window has) starts the same pgBackRest restore on the same stack',
  async run(env) {
    const t0 = Date.now();
    const injected = 'a second restore started at window A’s step “Restoring …”';
    try {
      const stack = await env.sharedStack();
      const sum = await backedUp(stack);
      const before = await snapshot(stack);
      let second: Promise<unknown> | undefined;
      const trig = triggerAt(/^step: Restoring /, async () => {
        second = faultOps(stack).restorePgbackrest(
          { target: 'latest' },
          { step: () => undefined, line: () => undefined },
        );
        second.catch(() => undefined);
        return second;
      });
      const a = await settle(faultOps(stack).restorePgbackrest({ target: 'latest' }, trig.ctx), trig.fired);
      const faultAt = await trig.fired;
      const b = await settle(second ?? Promise.reject(new Error('window B never started')), trig.fired);
      await stack.waitForPostgres(120_000).catch(() => undefined);
      const problems: string[] = [];
      const bugs: string[] = [];
      const state = await markerState(stack).catch(() => 'new state' as const);
      let outcome: Outcome = 'FAILED';
      if (a.kind === 'hung' || b.kind === 'hung') problems.push('a window got no message within 5 minutes');
      if (a.kind === 'ok' && b.kind === 'error') outcome = state === 'new state' ? 'new state' : 'FAILED';
      else if (a.kind === 'ok' && b.kind === 'ok') {
        outcome = state;
        problems.push('both windows restored the same stack at once');
      } else if (a.kind === 'error')
        problems.push(
          `window A’s restore failed: ${a.message.slice(0, 300)} — window B took A’s journal (beside PGDATA) for an ` +
            'interrupted restore and recovered it while A’s tool still ran: two windows recovered one journal',
        );
      if (a.kind === 'ok' && state !== 'new state') problems.push('window A said done but the old data is live');
      const message =
        `A: ${a.kind === 'error' ? a.message : a.kind === 'ok' ? 'restored (latest)' : 'no message'} — ` +
        `B: ${b.kind === 'error' ? b.message : b.kind === 'ok' ? 'restored (latest)' : 'no message'}`;
      if (b.kind === 'error' && !/restore|progress|running|busy|journal/i.test(b.message))
        bugs.push('window B’s error does not say that a restore is running');
      const check = await afterCheck(stack, before, { expect: [sum], allowNew: [PRE_RESTORE] });
      return result({
        row: 'restore-pgbackrest-latest',
        column: 'second-window',
        outcome,
        message,
        injected,
        check,
        faultAt,
        messageAt: b.at,
        t0,
        problems,
        bugs,
      });
    } catch (e) {
      return broken('restore-pgbackrest-latest', 'second-window', injected, t0, errorText(e));
    }
  },
};

const DATA_MB = 320;

export const restoreDataDiskFull: CellDef = {
  row: 'restore-pgbackrest-latest',
  column: 'disk-full-data',
  ci: true,
  injection:
    `the stack’s data folder (PG_DATA, mounted at /home/postgres/pgdata) is a tmpfs of ${DATA_MB} MB mounted before the stack ` +
    'starts, so the restore’s free-space check passes; when the restore tool starts (the step “Restoring …”) another writer ' +
    'fills the disk to 2 MB free (fallocate); the filler is removed once the restore has answered, before the after-check',
  async run(env) {
    const t0 = Date.now();
    const injected = `tmpfs size=${DATA_MB}m at pgdata; filled to 2 MB free at the step “Restoring …”`;
    let own: Awaited<ReturnType<typeof stackWithMount>> | undefined;
    let filler: string | undefined;
    try {
      env.log('restore-pgbackrest-latest × disk-full-data: a stack with a tmpfs data folder');
      own = await stackWithMount('pgdata', DATA_MB);
      const { stack, mount } = own;
      const sum = await backedUp(stack, 100_000);
      const before = await snapshot(stack);
      const trig = triggerAt(/^step: Restoring /, async () => (filler = fillDisk(mount.dir, 2 * 2 ** 20)));
      const ended = await settle(faultOps(stack).restorePgbackrest({ target: 'latest' }, trig.ctx), trig.fired);
      const faultAt = await Promise.race([trig.fired, Promise.resolve(undefined)]);
      if (filler) removeFiller(filler);
      await stack.waitForPostgres(120_000).catch(() => undefined);
      const problems: string[] = [];
      const bugs: string[] = [];
      const message = ended.kind === 'error' ? ended.message : ended.kind === 'ok' ? 'restored (latest)' : '';
      let outcome: Outcome = 'FAILED';
      if (ended.kind === 'hung') problems.push('no message within 5 minutes of the disk filling');
      else {
        const state = await markerState(stack).catch(() => undefined);
        if (ended.kind === 'error' && state === 'old state') outcome = 'old state';
        else if (ended.kind === 'ok' && state === 'new state') outcome = 'new state';
        else
          problems.push(
            `the restore ${ended.kind === 'ok' ? 'said done' : 'failed'} and the data is the ${state ?? 'unreadable'} one`,
          );
        if (ended.kind === 'error' && !/disk full/i.test(message))
          bugs.push('the message does not say that the disk is full (it gives pgBackRest’s exit code only)');
        else if (ended.kind === 'error' && !/free there/i.test(message))
          bugs.push('the message says the disk is full but not the free space');
      }
      const check = await afterCheck(stack, before, { expect: [sum], allowNew: [PRE_RESTORE] });
      return result({
        row: 'restore-pgbackrest-latest',
        column: 'disk-full-data',
        outcome,
        message,
        injected,
        check,
        faultAt,
        messageAt: ended.at,
        t0,
        problems,
        bugs,
      });
    } catch (e) {
      return broken('restore-pgbackrest-latest', 'disk-full-data', injected, t0, e);
    } finally {
      if (filler) removeFiller(filler);
      await own?.stop();
    }
  },
};

export const dumpRestoreOverKilled: CellDef = {
  row: 'restore-dump-over',
  column: 'postgres-killed',
  ci: false,
  injection:
    'a pg_dump of the stack’s database (a 200,000-row table with 256-byte pads) is restored over an existing database that ' +
    'holds the checksum table (one transaction, the default over an existing database); once the restore’s COPY runs ' +
    '(pg_stat_activity), `kill -9` of the postmaster; then the service is restarted (what the user does) and the after-check runs',
  async run(env) {
    const t0 = Date.now();
    const injected = 'kill -9 of the postmaster during pg_restore’s COPY over the existing database';
    let stack: Stack | undefined;
    let dumpPath: string | undefined;
    try {
      stack = await env.sharedStack();
      const s = stack;
      await s.sql('DROP TABLE IF EXISTS fault_checksum');
      await s.sql('DROP TABLE IF EXISTS fault_big');
      await s.sql(
        'CREATE TABLE fault_big AS SELECT g AS id, repeat(md5(g::text), 8) AS pad FROM generate_series(1, 200000) g',
      );
      const ops = faultOps(s);
      const dump = await ops.dump(s.env.POSTGRES_DB!, {});
      dumpPath = dump.path;
      await s.sql('DROP DATABASE IF EXISTS fault_over WITH (FORCE)');
      await s.sql('CREATE DATABASE fault_over');
      const sum = await writeChecksum(s, { rows: 5_000, database: 'fault_over' });
      const before = await snapshot(s);
      let faultAt: number | undefined;
      const op = ops.restoreDumpFile(dump.path, 'fault_over', { step: () => undefined, line: () => undefined });
      const fault = (async () => {
        await until('pg_restore COPY', async () => {
          const r = await s.sql<{ n: string }>(
            "SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = 'fault_over' AND query ILIKE 'COPY%'",
          );
          return Number(r[0]!.n) > 0;
        });
        faultAt = Date.now();
        await killPostmaster(s);
        return faultAt;
      })();
      const ended = await settle(op, fault);
      await fault.catch(() => undefined);
      await restartDatabaseService(s);
      const problems: string[] = [];
      const message = ended.kind === 'error' ? ended.message : ended.kind === 'ok' ? 'restored' : '';
      if (ended.kind === 'hung') problems.push('no message within 5 minutes of the kill');
      const [big] = await s.sql<{ n: string | null }>("SELECT to_regclass('fault_big')::text AS n", {
        database: 'fault_over',
      });
      let outcome: Outcome = big?.n ? (ended.kind === 'ok' ? 'new state' : 'FAILED') : 'old state';
      if (big?.n && ended.kind !== 'ok') problems.push('part of the dump is in fault_over although the restore failed');
      if (ended.kind === 'error' && !/unchanged/i.test(message))
        problems.push('the message does not say the database is unchanged');
      if (ended.kind === 'ok') outcome = 'FAILED';
      const check = await afterCheck(s, before, { expect: [sum] });
      return result({
        row: 'restore-dump-over',
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
      return broken('restore-dump-over', 'postgres-killed', injected, t0, e);
    } finally {
      if (stack) {
        await stack.sql('DROP DATABASE IF EXISTS fault_over WITH (FORCE)').catch(() => undefined);
        await stack.sql('DROP TABLE IF EXISTS fault_big').catch(() => undefined);
      }
      if (dumpPath) {
        rmSync(dumpPath, { force: true });
        rmSync(`${dumpPath}.meta.json`, { force: true });
        rmSync(`${dumpPath}.json`, { force: true });
      }
    }
  },
};
