/**
 * What the one-off container restore, pg_basebackup restore and pg_basebackup backup cells share
 * (cells/oneoff.ts, cells/basebackup-restore.ts, cells/basebackup-backup.ts): a stack whose PostgreSQL is
 * the container's PID 1 (the image's own entrypoint, as timescaledb-ha runs it), the throwaway engine
 * waited for when another faults run holds it, the one-off containers a restore left, a `kill -9` of the
 * postmaster inside the one-off container, the user's Roll back (tsdbOps.restore.recover's rollback, in
 * place or in a one-off container as the command decides it), and the runner of a physical restore cell.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ONEOFF_LABEL } from '../../src/core/backups/restore/oneoff';
import { recoverInterruptedRestore, type RestoreJournal } from '../../src/core/backups/restore/physical';
import type { RestoreContext } from '../../src/core/backups/restore/run';
import { errorText } from '../../src/core/format';
import { run, sleep } from '../support/proc';
import { startStack, type Stack } from '../support/stack';
import { afterCheck, snapshot } from './check';
import { broken, result, settle, type CellDef, type CellEnv, type Ended } from './cell';
import { stackOnThrowaway, type ThrowawayEngine } from './engine';
import { fillDisk, mountTmpfs, removeFiller, triggerAt, type Mount } from './inject';
import { markerState, PRE_RESTORE, recoverPlace } from './restore-target-support';
import type { KilledSource } from './cells/restores-killed';
import type { ColumnId, Outcome, RowId } from './table';

export const quietCtx: RestoreContext = { step: () => undefined, line: () => undefined };

/**
 * PostgreSQL as the database container's PID 1: a compose override gives the service the image's own
 * entrypoint (`exec postgres`), the data folder already set up stays. Checked: /proc/1 is postgres.
 */
export async function makePid1(stack: Stack): Promise<void> {
  writeFileSync(
    join(stack.infraDir, 'docker-compose.override.yml'),
    'services:\n  timescaledb:\n    entrypoint: ["/docker-entrypoint.sh"]\n    command: ["postgres"]\n',
  );
  await stack.compose(['up', '-d', 'timescaledb']);
  await stack.waitForPostgres(180_000);
  const r = await stack.exec('timescaledb', ['cat', '/proc/1/comm'], { reject: false });
  if (!/^postgres/.test(r.stdout.trim())) throw new Error(`PostgreSQL is not PID 1 (PID 1 is ${r.stdout.trim()})`);
}

/**
 * The throwaway engine's stack, waiting (up to `waitMs`) while another faults run (another session) has the
 * throwaway engine: engine.ts refuses a second user at once.
 */
export async function stackOnThrowawayWhenFree(
  log: (m: string) => void,
  waitMs = 20 * 60_000,
): Promise<{ stack: Stack; engine: ThrowawayEngine; stop(): Promise<void> }> {
  const t0 = Date.now();
  for (;;) {
    try {
      return await stackOnThrowaway(log);
    } catch (e) {
      if (!/is in use by dockerd/.test(errorText(e)) || Date.now() - t0 > waitMs) throw e;
      log('  the throwaway engine is in use by another faults run: waiting');
      await sleep(15_000);
    }
  }
}

/** One-off restore containers of the stack's database container still there (running or not). */
export async function oneOffsLeft(stack: Stack): Promise<string[]> {
  // The service's container by its compose labels, running or not (it is stopped while a one-off restores).
  const svc = await run(
    'docker',
    [
      'ps',
      '-aq',
      '--no-trunc',
      '--filter',
      `label=com.docker.compose.project=${stack.projectName}`,
      '--filter',
      'label=com.docker.compose.service=timescaledb',
    ],
    { env: stack.dockerEnv },
  );
  const id = svc.stdout.trim().split('\n')[0];
  if (!id) throw new Error(`no timescaledb container in project ${stack.projectName}`);
  const r = await run(
    'docker',
    ['ps', '-a', '--no-trunc', '--filter', `label=${ONEOFF_LABEL}=${id}`, '--format', '{{.ID}} {{.Status}}'],
    { env: stack.dockerEnv, reject: false },
  );
  return r.stdout.split('\n').filter(Boolean);
}

/**
 * `kill -9` of the postmaster that runs in the one-off restore container (as root there), as soon as its
 * postmaster.pid names a live process: one exec that polls inside the container every 50 ms (a poll from outside,
 * one `docker exec` each, missed a server that started, verified and stopped within a second or two).
 */
export async function killPostmasterInOneOff(stack: Stack, timeoutS = 60): Promise<string> {
  const [c] = await oneOffsLeft(stack);
  if (!c) throw new Error('no one-off restore container to kill the postmaster in');
  const r = await run(
    'docker',
    [
      'exec',
      '-u',
      'root',
      c.split(' ')[0]!,
      'sh',
      '-c',
      'n=0; while [ "$n" -lt "$1" ]; do ' +
        'p=$(head -1 /home/postgres/pgdata/data/postmaster.pid 2>/dev/null) && [ -n "$p" ] && kill -9 "$p" 2>/dev/null && ' +
        'echo "$p" && exit 0; n=$((n + 1)); sleep 0.05; done; exit 1',
      'kill',
      String(timeoutS * 20),
    ],
    { env: stack.dockerEnv, reject: false },
  );
  if (r.exitCode !== 0)
    throw new Error(`kill -9 of the one-off's postmaster failed: ${r.stderr.trim() || 'never saw it run'}`);
  return r.stdout.trim();
}

/**
 * What Recover Interrupted Restore → Roll back runs (ui/commands/restore-recover.ts): in place where the tools see
 * the data folder, else in a one-off container (the server is PID 1). The journal it acted on, if any.
 */
export async function rollBackAsCommand(stack: Stack): Promise<RestoreJournal | undefined> {
  // Where the command runs it (restore-recover.ts placeOf): in place, or in a one-off container, also when the database
  // container is stopped (after an engine restart), which restoreSiteOf refuses.
  const place = await recoverPlace(stack);
  return place.kind === 'one-off' ? place.rollback(quietCtx) : recoverInterruptedRestore(place.t, quietCtx);
}

/**
 * A run on a stack of its own whose data folder (PG_DATA, /home/postgres/pgdata; a one-off container gets it by
 * --volumes-from) is a tmpfs of `dataMb` mounted before the first start, so a free-space check passes; the fault
 * fills it to 2 MB free (another writer, fallocate), and the filler goes once the operation answered. `pid1`: the
 * stack's PostgreSQL is then made the container's PID 1. The message must say "Disk full" and the free space.
 */
export async function dataDiskFullRun(dataMb: number, pid1: boolean): Promise<RestoreCellRun> {
  let mount: Mount | undefined;
  const stack = await startStack({
    prepare: (infraDir) => void (mount = mountTmpfs(join(infraDir, 'pgdata'), dataMb)),
  });
  let filler: string | undefined;
  const free = () => {
    if (filler) removeFiller(filler);
    filler = undefined;
  };
  const stop = async () => {
    free();
    await stack.compose(['down', '-v', '--remove-orphans', '--timeout', '10'], { reject: false });
    mount?.unmount();
    await stack.stop();
  };
  if (pid1)
    await makePid1(stack).catch(async (e: unknown) => {
      await stop();
      throw e;
    });
  return {
    stack,
    stop,
    fault: async () => (filler = fillDisk(mount!.dir, 2 * 2 ** 20)),
    after: async () => void free(),
    async judge(ended, problems) {
      if (ended.kind === 'error' && !/disk full/i.test(ended.message))
        problems.push('the message does not say that the disk is full');
      else if (ended.kind === 'error' && !/free there/i.test(ended.message))
        problems.push('the message says the disk is full but not the free space');
      return undefined;
    },
  };
}

/** One run of a physical restore cell: its stack, its fault, and what the user does after the restore answered. */
export interface RestoreCellRun {
  readonly stack: Stack;
  stop?(): Promise<void>;
  fault(log: (m: string) => void): Promise<unknown>;
  /** After the restore answered and the fault is done: what the user does (Start, Roll back, free the disk). */
  after?(ended: Ended<unknown>, problems: string[]): Promise<string | undefined>;
  /** Extra judgement once the state is known (a second window's message, the disk-full message). */
  judge?(ended: Ended<unknown>, problems: string[], bugs: string[]): Promise<string | undefined>;
}

export interface RestoreCellSpec {
  readonly row: RowId;
  readonly column: ColumnId;
  readonly injection: string;
  readonly injected: string;
  readonly source: KilledSource;
  /** The step or output line at which the fault fires. */
  readonly at: RegExp;
  /** The checksum rows written before the backup (default 20,000). */
  readonly rows?: number;
  /** The restore must run in a one-off container (the row is the one-off restore). */
  readonly oneOff?: boolean;
  /** An error whose message matches is a refusal before anything changed. */
  readonly refusal?: RegExp;
  setUp(env: CellEnv): Promise<RestoreCellRun>;
}

/**
 * A physical restore cell: the checksum rows, the backup (the source's), an unlogged marker row written after it
 * (a restore brings it back empty; the old data still has it), the restore through the core the command calls,
 * the fault at `at`, what the user does, then the judgement (old state: the restore failed and the marker is
 * there; new state: it said done and the marker is gone) and the after-check (the pre-restore copy kept on purpose).
 */
export function restoreCell(spec: RestoreCellSpec): CellDef {
  return {
    row: spec.row,
    column: spec.column,
    injection: spec.injection,
    async run(env) {
      const t0 = Date.now();
      let own: RestoreCellRun | undefined;
      let cleanUp: (() => void) | undefined;
      try {
        own = await spec.setUp(env);
        const { stack } = own;
        // The checksum rows, the backup, then the marker row (the source writes all three).
        const prepared = await spec.source.prepare(stack, spec.rows);
        const sum = prepared.expect.base;
        cleanUp = prepared.cleanUp;
        const before = await snapshot(stack);
        const o = own;
        const trig = triggerAt(spec.at, () => o.fault(env.log));
        const ended = await settle(prepared.restore(trig.ctx), trig.fired);
        const faultAt = await Promise.race([trig.fired, Promise.resolve(undefined)]);
        const problems: string[] = [];
        const bugs: string[] = [];
        await trig.faultDone.catch((e: unknown) =>
          problems.push(`the fault did not land (the cell judged nothing): ${errorText(e).slice(0, 200)}`),
        );
        if (faultAt === undefined) problems.push(`the restore never reached ${String(spec.at)}: the fault never fired`);
        const message = ended.kind === 'error' ? ended.message : ended.kind === 'ok' ? 'restored' : '';
        const afterNote = await own.after?.(ended, problems);
        await stack.waitForPostgres(180_000).catch(() => undefined);
        let outcome: Outcome = 'FAILED';
        if (ended.kind === 'hung') problems.push('no message within 5 minutes of the fault');
        else {
          const state = await markerState(stack).catch(() => undefined);
          if (ended.kind === 'error' && state === 'old state')
            outcome = spec.refusal?.test(message) ? 'refused before starting' : 'old state';
          else if (ended.kind === 'ok' && state === 'new state') outcome = 'new state';
          else
            problems.push(
              `the restore ${ended.kind === 'ok' ? 'said done' : 'failed'} and the data is the ${state ?? 'unreadable'} one`,
            );
        }
        if (spec.oneOff && !trig.log.includes('step: Creating a one-off restore container with the same volumes'))
          if (outcome !== 'refused before starting') problems.push('the restore did not run in a one-off container');
        const judged = await own.judge?.(ended, problems, bugs);
        const left = await oneOffsLeft(stack);
        if (left.length) problems.push(`one-off restore container(s) left: ${left.join('; ')}`);
        const check = await afterCheck(stack, before, { expect: [sum], allowNew: [PRE_RESTORE] });
        return result({
          row: spec.row,
          column: spec.column,
          outcome,
          message,
          injected: spec.injected,
          check,
          faultAt,
          messageAt: ended.at,
          t0,
          problems,
          bugs,
          note: [afterNote, judged].filter(Boolean).join(' — ') || undefined,
        });
      } catch (e) {
        return broken(spec.row, spec.column, spec.injected, t0, e);
      } finally {
        cleanUp?.();
        await own?.stop?.().catch(() => undefined);
      }
    },
  };
}
