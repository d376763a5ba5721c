/**
 * Cells of the one-off container restore row: the stack's PostgreSQL is the container's PID 1 (the image's own
 * entrypoint, as timescaledb-ha runs it), so Restores → pgBackRest (latest) stops the service container and
 * restores in a one-off container of the same image with the same volumes (ops.ts restorePgbackrest →
 * restoreInOneOff), then starts the service again. Old state: the restore failed and the marker row (written
 * after the backup) is there; new state: it said done and the restored data has no marker row.
 */
import { startStack, type Stack } from '../../support/stack';
import { settle, type CellEnv, type Ended } from '../cell';
import { fireOfeliaJob, ofeliaJobs } from '../inject';
import { faultOps } from '../ops';
import {
  dataDiskFullRun,
  killPostmasterInOneOff,
  makePid1,
  quietCtx,
  restoreCell,
  rollBackAsCommand,
  stackOnThrowawayWhenFree,
  type RestoreCellRun,
} from '../physical-support';
import { PGBACKREST_LATEST } from './restores-killed';
import type { ColumnId } from '../table';
import { errorText } from '../../../src/core/format';

/** One PID-1 stack for the cells that leave it healthy (started on first use, stopped with the process; oneoff-host-killed.ts too). */
let pid1: Promise<Stack> | undefined;
export function sharedPid1Stack(env: CellEnv): Promise<Stack> {
  pid1 ??= (async () => {
    env.log('restore-oneoff: a stack whose PostgreSQL is PID 1');
    const s = await startStack();
    await makePid1(s);
    return s;
  })();
  pid1.catch(() => (pid1 = undefined));
  return pid1;
}

const oneOffCell = (c: {
  column: ColumnId;
  injection: string;
  injected: string;
  at: RegExp;
  rows?: number;
  refusal?: RegExp;
  setUp(env: CellEnv): Promise<RestoreCellRun>;
}) =>
  restoreCell({
    row: 'restore-oneoff',
    source: PGBACKREST_LATEST,
    oneOff: true,
    ...c,
    injection: `PostgreSQL is the database container’s PID 1 (the image’s own entrypoint); ${c.injection}`,
  });

/** The one-off container's phases as the user's Roll back needs them: rolled back by the command, or nothing to do. */
async function rollBackIfInterrupted(stack: Stack, problems: string[]): Promise<string> {
  try {
    const j = await rollBackAsCommand(stack);
    return j ? `then Recover Interrupted Restore → Roll back: rolled back the restore started ${j.started}` : '';
  } catch (e) {
    problems.push(`Recover Interrupted Restore → Roll back failed: ${errorText(e).slice(0, 300)}`);
    return '';
  }
}

export const oneOffEngineRestarted = oneOffCell({
  column: 'engine-restarted',
  injection:
    'the stack runs on a throwaway Docker engine of its own (the test image loaded into it); when the one-off container ' +
    'runs pgbackrest restore (the step “Restoring …”) the engine is restarted (SIGTERM to dockerd, which stops every ' +
    'container, the one-off too, then dockerd again); then what the user does: Recover Interrupted Restore → Roll back ' +
    '(it finds the journal on the data volume through a new one-off container) and the after-check',
  injected: 'the engine restarted at the one-off container’s step “Restoring …”',
  at: /^step: Restoring /,
  async setUp(env) {
    const own = await stackOnThrowawayWhenFree(env.log);
    try {
      await makePid1(own.stack);
    } catch (e) {
      await own.stop();
      throw e;
    }
    return {
      stack: own.stack,
      stop: own.stop,
      fault: (log) => own.engine.restart(log),
      async after(ended, problems) {
        if (ended.kind === 'error' && !/docker|engine|connect|socket|ECONNRESET|EPIPE|container/i.test(ended.message))
          problems.push('the message does not say that the engine or the container went away');
        return rollBackIfInterrupted(own.stack, problems);
      },
    };
  },
});

const DATA_MB = 320;

export const oneOffDataDiskFull = oneOffCell({
  column: 'disk-full-data',
  rows: 100_000,
  injection:
    `the data folder (PG_DATA, mounted at /home/postgres/pgdata, carried into the one-off container by --volumes-from) is ` +
    `a tmpfs of ${DATA_MB} MB mounted before the stack starts, so the free-space check passes; when the one-off container ` +
    'runs pgbackrest restore (the step “Restoring …”) another writer fills the disk to 2 MB free (fallocate); the filler ' +
    'is removed once the restore has answered, before the after-check',
  injected: `tmpfs size=${DATA_MB}m at pgdata; filled to 2 MB free at the one-off container’s step “Restoring …”`,
  at: /^step: Restoring /,
  setUp(env) {
    env.log('restore-oneoff × disk-full-data: a PID-1 stack with a tmpfs data folder');
    return dataDiskFullRun(DATA_MB, true);
  },
});

export const oneOffPostgresKilled = oneOffCell({
  column: 'postgres-killed',
  injection:
    'when the one-off container starts the restored server to verify it (the step “Starting PostgreSQL”), the harness ' +
    'waits until its postmaster.pid is written and `kill -9`s that postmaster (in the one-off container) while it starts ' +
    'and replays WAL; the after-check runs once the restore answered',
  injected: 'kill -9 of the restored postmaster in the one-off container (step “Starting PostgreSQL”)',
  at: /^step: Starting PostgreSQL/,
  async setUp(env) {
    const stack = await sharedPid1Stack(env);
    let killed = '';
    return {
      stack,
      async fault() {
        killed = await killPostmasterInOneOff(stack);
      },
      async judge(ended, problems) {
        if (ended.kind === 'error' && !/previous data is back/.test(ended.message))
          problems.push('the message does not say the previous data is back');
        return killed ? `killed the one-off container’s postmaster, pid ${killed}` : 'the postmaster was never killed';
      },
    };
  },
});

export const oneOffLocked = oneOffCell({
  column: 'pgbackrest-lock',
  injection:
    'when the restore reports its first step (“Verifying the backup”, in the running service container), the Ofelia ' +
    'full-backup job’s own command (from the compose labels, as its user) runs in the service container, the way ' +
    'Ofelia’s job-exec fires it: it holds the backup lock while the restore verifies and then stops the container',
  injected: 'the pgbackrest-full-backup job fired at the step “Verifying the backup”',
  at: /^step: Verifying the backup/,
  async setUp(env) {
    const stack = await sharedPid1Stack(env);
    const job = ofeliaJobs(stack).find((j) => /--type=full/.test(j.command));
    if (!job) throw new Error('no Ofelia full-backup job in the compose labels');
    let backup: Promise<{ exitCode: number; output: string }> | undefined;
    return {
      stack,
      fault: async () => (backup = fireOfeliaJob(stack, job)),
      async judge(ended, problems) {
        const b = backup ? await backup : undefined;
        if (!b) return 'the scheduled backup never fired';
        // What the user does next: a backup must work (no stale lock, the stanza started).
        const next = await fireOfeliaJob(stack, job);
        if (next.exitCode !== 0)
          problems.push(`a full backup after the cell fails: ${next.output.split('\n').slice(-1)[0] ?? ''}`);
        if (ended.kind === 'error' && !/backup|lock|stanza/i.test(ended.message))
          problems.push('the refused restore’s message does not say a backup holds the lock');
        return (
          `the scheduled backup exited ${b.exitCode}: ${b.output.split('\n').filter(Boolean).slice(-1)[0] ?? ''}; ` +
          `the next full backup exited ${next.exitCode}`
        );
      },
    };
  },
  refusal: /backup|lock/i,
});

export const oneOffSecondWindow = oneOffCell({
  column: 'second-window',
  injection:
    'while window A’s restore runs pgbackrest restore in its one-off container (the step “Restoring …”; the service ' +
    'container is stopped), window B (a second stack context with its own engine client, as a second VS Code window ' +
    'has) starts the same pgBackRest restore on the same stack',
  injected: 'a second restore started at window A’s step “Restoring …” in the one-off container',
  at: /^step: Restoring /,
  async setUp(env) {
    const stack = await sharedPid1Stack(env);
    let second: Promise<Ended<unknown>> | undefined;
    return {
      stack,
      async fault() {
        second = settle(faultOps(stack).restorePgbackrest({ target: 'latest' }, quietCtx), Promise.resolve(Date.now()));
        await second;
      },
      async judge(ended, problems) {
        const b = await second;
        if (!b) return 'window B never started';
        const said = b.kind === 'ok' ? 'restored' : b.kind === 'error' ? b.message : 'no message';
        if (b.kind === 'hung') problems.push('window B got no message within 5 minutes');
        if (b.kind === 'ok' && ended.kind === 'ok') problems.push('both windows restored the same stack at once');
        if (b.kind === 'ok' && ended.kind === 'error') problems.push('window B’s restore broke window A’s');
        if (b.kind === 'error' && !/in progress|another window|restore .*running/i.test(b.message))
          problems.push('window B’s error does not say that a restore is in progress');
        return `window B: ${said.replace(/\s+/g, ' ').slice(0, 400)}`;
      },
    };
  },
});
