/**
 * Cells of the logical restore rows (pg_dump into a new database, pg_dump over an existing one, pg_dumpall) × the
 * Docker engine restarted, the data volume filling, a second window; and pg_dumpall × the postmaster killed. Each
 * fires its fault once the restore loads its data (a COPY into the target database in pg_stat_activity); the rows'
 * set-up and verdict are in ../logical-support.ts.
 */
import { broken, result, settle, type CellDef, type CellEnv } from '../cell';
import { startAgain, stackWithEngineRestart } from '../engine';
import { fillDisk, freeBytes, killPostmaster, removeFiller, restartDatabaseService, stackWithMount } from '../inject';
import {
  check,
  prepare,
  recoverAsTold,
  restoreWithFault,
  said,
  serverAnswers,
  verdict,
  type LogicalRow,
} from '../logical-support';
import type { Stack } from '../../support/stack';
import type { ColumnId } from '../table';

const WHAT: Record<LogicalRow, string> = {
  'restore-dump-new':
    'a pg_dump of the stack’s database (200,000 rows with 256-byte pads) restored into a new database',
  'restore-dump-over':
    'a pg_dump of the stack’s database (200,000 rows with 256-byte pads) restored over an existing database holding 5,000 ' +
    'other rows (one transaction, the default over an existing database)',
  'restore-dumpall':
    'a pg_dumpall taken while the stack’s database held 200,000 rows with 256-byte pads, restored after those rows were ' +
    'replaced by 5,000 others (the database is renamed aside first, the way back)',
};

/** One column's fault: the stack it needs, the fault fired at the data load, what the user does after it. */
interface Fault {
  readonly column: ColumnId;
  readonly how: string;
  readonly short: string;
  stack(
    env: CellEnv,
  ): Promise<{ stack: Stack; fault(): Promise<unknown>; after(): Promise<void>; stop?(): Promise<void> }>;
}

const engineRestarted: Fault = {
  column: 'engine-restarted',
  how:
    'the stack runs on a throwaway Docker engine of its own (the test image loaded into it); once the restore’s COPY runs, ' +
    'the engine is restarted (SIGTERM to dockerd, which stops its containers, then dockerd again, as `systemctl restart ' +
    'docker` does); then the stack is started again (the user’s Start), the recovery the message names is run, and the ' +
    'after-check',
  short: 'the engine restarted during the restore’s COPY',
  async stack(env) {
    const own = await stackWithEngineRestart(env.log);
    return { stack: own.stack, fault: () => own.fault(env.log), after: () => startAgain(own.stack), stop: own.stop };
  },
};

const postgresKilled: Fault = {
  column: 'postgres-killed',
  how:
    'once the restore’s COPY runs (pg_stat_activity), `kill -9` of the postmaster; then the service is restarted (what ' +
    'the user does), the recovery the message names is run, and the after-check',
  short: 'kill -9 of the postmaster during the restore’s COPY',
  async stack(env) {
    const stack = await env.sharedStack();
    return { stack, fault: () => killPostmaster(stack), after: () => restartDatabaseService(stack) };
  },
};

const DATA_MB = 700;
const LEAVE_MB = 4;

const diskFull: Fault = {
  column: 'disk-full-data',
  how:
    `the stack’s data folder (PG_DATA, mounted at /home/postgres/pgdata) is a tmpfs of ${DATA_MB} MB mounted before the ` +
    `stack starts, with room for the restore; once the restore’s COPY runs, another writer fills the disk to ${LEAVE_MB} MB ` +
    'free (fallocate), so the restore runs out midway; the filler is removed once the restore has answered (and the ' +
    'server restarted if it went down), then the recovery the message names and the after-check',
  short: `tmpfs size=${DATA_MB}m at pgdata; filled to ${LEAVE_MB} MB free during the restore’s COPY`,
  async stack(env) {
    const own = await stackWithMount('pgdata', DATA_MB);
    let filler: string | undefined;
    return {
      stack: own.stack,
      fault: async () => {
        filler = fillDisk(own.mount.dir, LEAVE_MB * 2 ** 20);
        env.log(`  filled ${own.mount.dir}: ${(freeBytes(own.mount.dir) / 2 ** 20).toFixed(1)} MB free`);
      },
      after: async () => {
        if (filler) removeFiller(filler);
        filler = undefined;
        if (
          !(await serverAnswers(own.stack, 20_000).then(
            () => true,
            () => false,
          ))
        ) {
          await own.stack.compose(['restart', '--timeout', '20', 'timescaledb']);
          await serverAnswers(own.stack);
        }
      },
      stop: async () => {
        if (filler) removeFiller(filler);
        await own.stop();
      },
    };
  },
};

/** The cell of `row` × `f`: set-up, the restore with the fault, what the user does, the verdict, the after-check. */
function cell(row: LogicalRow, f: Fault): CellDef {
  const injected = `${f.short} (${row.replace('restore-', '')})`;
  return {
    row,
    column: f.column,
    injection: `${WHAT[row]}; ${f.how}`,
    async run(env) {
      const t0 = Date.now();
      let own: Awaited<ReturnType<Fault['stack']>> | undefined;
      let cleanup: (() => Promise<void>) | undefined;
      try {
        own = await f.stack(env);
        const { stack } = own;
        const p = await prepare(stack, row);
        cleanup = () => p.cleanup();
        const r = await restoreWithFault(stack, p, own.fault);
        await own.after();
        let message = said(r.ended);
        if (r.ended.kind === 'error') message += await recoverAsTold(stack, message);
        const v = await verdict(stack, p, r.ended, message);
        if (f.column === 'disk-full-data' && r.ended.kind === 'error' && !/disk full|no space/i.test(message))
          v.bugs.push('the message does not say that the disk is full');
        const c = await check(stack, r.before, p, v.expect, v.outcome);
        return result({
          row,
          column: f.column,
          outcome: v.outcome,
          message,
          injected,
          check: c,
          faultAt: r.faultAt,
          messageAt: r.ended.at,
          t0,
          problems: v.problems,
          bugs: v.bugs,
        });
      } catch (e) {
        return broken(row, f.column, injected, t0, e);
      } finally {
        await cleanup?.().catch(() => undefined);
        await own?.stop?.();
      }
    },
  };
}

/** Window B (a second stack context, as a second VS Code window has) starts the same restore while A loads its data. */
function secondWindow(row: LogicalRow): CellDef {
  const injected = `a second window started the same restore during window A’s COPY (${row.replace('restore-', '')})`;
  return {
    row,
    column: 'second-window',
    injection:
      `${WHAT[row]}; once window A’s restore runs its COPY, window B (a second stack context with its own engine client ` +
      'and operation queue, as a second VS Code window has) starts the same restore on the same stack; both are waited for',
    async run(env) {
      const t0 = Date.now();
      let cleanup: (() => Promise<void>) | undefined;
      try {
        const stack = await env.sharedStack();
        const p = await prepare(stack, row);
        cleanup = () => p.cleanup();
        let b: Promise<unknown> | undefined;
        const r = await restoreWithFault(stack, p, async () => {
          b = p.restore({ step: () => undefined, line: () => undefined });
          b.catch(() => undefined);
        });
        const bEnded = await settle(
          b ?? Promise.reject(new Error('window B never started')),
          Promise.resolve(r.faultAt ?? t0),
        );
        let message = `A: ${said(r.ended)} — B: ${said(bEnded)}`;
        if (r.ended.kind === 'error') message += await recoverAsTold(stack, said(r.ended));
        const v = await verdict(stack, p, r.ended, said(r.ended));
        if (bEnded.kind === 'hung') v.problems.push('window B got no message within 5 minutes');
        if (bEnded.kind === 'ok') v.problems.push('both windows restored at once');
        if (bEnded.kind === 'error' && !/runs now|running|in progress|wait/i.test(bEnded.message))
          v.bugs.push('window B’s error does not say that another restore runs');
        const c = await check(stack, r.before, p, v.expect, v.outcome);
        return result({
          row,
          column: 'second-window',
          outcome: v.outcome,
          message,
          injected,
          check: c,
          faultAt: r.faultAt,
          messageAt: bEnded.at,
          t0,
          problems: v.problems,
          bugs: v.bugs,
        });
      } catch (e) {
        return broken(row, 'second-window', injected, t0, e);
      } finally {
        await cleanup?.().catch(() => undefined);
      }
    },
  };
}

export const logicalDumpNewEngineRestarted = cell('restore-dump-new', engineRestarted);
export const logicalDumpOverEngineRestarted = cell('restore-dump-over', engineRestarted);
export const logicalDumpAllEngineRestarted = cell('restore-dumpall', engineRestarted);
export const logicalDumpNewDiskFull = cell('restore-dump-new', diskFull);
export const logicalDumpOverDiskFull = cell('restore-dump-over', diskFull);
export const logicalDumpAllDiskFull = cell('restore-dumpall', diskFull);
export const logicalDumpAllPostgresKilled = cell('restore-dumpall', postgresKilled);
export const logicalDumpNewSecondWindow = secondWindow('restore-dump-new');
export const logicalDumpOverSecondWindow = secondWindow('restore-dump-over');
export const logicalDumpAllSecondWindow = secondWindow('restore-dumpall');
