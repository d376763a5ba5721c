/**
 * The two-phase "extension host killed" cells, shared: phase 1 runs a row's operation in a process of its own
 * (child-op.ts, the row's operation from host-killed-ops.ts) and `kill -9`s it at a named step (a line of its
 * output, or a probe of the server's state: mid-COPY, mid-migration); phase 2 is "VS Code started again": a fresh
 * stack context, what the product shows at activation (the restore journals findRestoreJournals finds, read by the
 * Backups view's problem row and the notification), and the recovery the user picks through the core functions
 * `tsdbOps.restore.recover { action }` calls (ui/commands/restore-recover.ts). Then the drill-grade after-check.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  dropHalfRestoredDatabases,
  interruptedLogicalRestores,
  rollBackKeptAside,
} from '../../src/core/backups/restore/logical';
import { recoverInterruptedRestore, type PhysicalTarget } from '../../src/core/backups/restore/physical';
import { findRestoreJournals, restoreSiteOf } from '../../src/core/backups/restore/stack';
import { errorText } from '../../src/core/format';
import type { Stack } from '../support/stack';
import { sleep } from '../support/proc';
import { afterCheck, snapshot, type AfterCheckOptions, type Checksum } from './check';
import { broken, result, settle, type CellDef, type CellEnv } from './cell';
import type { OpParams } from './host-killed-ops';
import { faultOps } from './ops';
import type { Outcome, RowId } from './table';

export const quiet = { step: () => undefined, line: () => undefined };

/** When phase 1's process is killed: at the first output line matching a pattern, or once a probe of the stack says so. */
export type KillAt = RegExp | ((stack: Stack) => Promise<boolean>);

export interface Killed {
  /** When the `kill -9` landed; undefined: the operation ended before the step came. */
  readonly killedAt?: number;
  /** Every line the process printed (steps as `step: …`). */
  readonly said: readonly string[];
}

/** Phase 1: `row`'s operation in a child process, `kill -9` at `at`. Resolves once the child is gone (reaped). */
export function killedAt(stack: Stack, row: RowId, params: OpParams, at: KillAt): Promise<Killed> {
  const arg = JSON.stringify({
    dir: stack.dir,
    infraDir: stack.infraDir,
    dockerHost: stack.docker.host,
    env: stack.env,
    row,
    params,
  });
  // Through the child's environment, not argv: the stack's env holds the database password.
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'child-op.ts')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TSDBOPS_CHILD_OP: arg },
  });
  const said: string[] = [];
  let killed: number | undefined;
  let exited = false;
  const kill = () => {
    if (killed !== undefined || exited) return;
    killed = Date.now();
    child.kill('SIGKILL');
  };
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      said.push(l);
      if (at instanceof RegExp && at.test(l)) kill();
    }
  });
  child.stderr.on('data', (d: Buffer) => said.push(`stderr: ${d.toString().trim()}`));
  if (typeof at === 'function')
    void (async () => {
      while (!exited && killed === undefined) {
        if (await at(stack).catch(() => false)) kill();
        else await sleep(200);
      }
    })();
  const bound = setTimeout(() => child.kill('SIGKILL'), 600_000);
  return new Promise((resolve) =>
    child.on('exit', () => {
      exited = true;
      clearTimeout(bound);
      resolve({ killedAt: killed, said });
    }),
  );
}

/** Phase 2's way in: a fresh stack context (a window opened again), the restore site the recover command resolves. */
export async function reopened(
  stack: Stack,
): Promise<{ t: PhysicalTarget; volumes: Parameters<typeof findRestoreJournals>[0] }> {
  const sc = await faultOps(stack).context();
  const site = await restoreSiteOf(sc);
  return { t: { rt: site.rt, dataDir: site.dataDir, conn: site.conn }, volumes: sc.stack.dbService?.volumes ?? [] };
}

/** True while a session other than this one runs a query matching `like` (a tool or a migration the dead window started). */
export async function sessionRuns(stack: Stack, like: string, database?: string): Promise<boolean> {
  const [r] = await stack.sql<{ n: string }>(
    "SELECT count(*)::text AS n FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend' " +
      'AND query LIKE $1' +
      (database ? ' AND datname = $2' : ''),
    // From the postgres database: a probe must never be a session in the database an operation renames or drops.
    { params: database ? [like, database] : [like], database: 'postgres' },
  );
  return Number(r!.n) > 0;
}

/** Waits until no session runs `like` (the tool the killed window started ended by itself); false after `ms`. */
export async function sessionEnded(stack: Stack, like: string, ms: number, database?: string): Promise<boolean> {
  const t0 = Date.now();
  while (await sessionRuns(stack, like, database).catch(() => true)) {
    if (Date.now() - t0 > ms) return false;
    await sleep(500);
  }
  return true;
}

/** What the recover command's Roll back does (in place): the physical journal rolled back, half-restored databases dropped. */
export async function rollBack(
  stack: Stack,
  killed: number,
): Promise<{ message: string; at?: number; problems: string[]; journals: number; logical: number }> {
  const { t, volumes } = await reopened(stack);
  // What the activation finds: the journals beside PGDATA and the logical restores' marks in the server
  // (ui/backups/interrupted-restores.ts shows both).
  const journals = (await findRestoreJournals(volumes)).length;
  // The server is down after a physical restore's take-down: the watcher then finds no marks (it asks again later).
  const logical = (await interruptedLogicalRestores(t, quiet).catch(() => [])).length;
  const problems: string[] = [];
  const rb = await settle(
    (async () => {
      const j = await recoverInterruptedRestore(t, quiet);
      const dropped = await dropHalfRestoredDatabases(t, quiet).catch(() => [] as string[]);
      const putBack = await rollBackKeptAside(t, quiet).catch(() => [] as string[]);
      return { j, dropped, putBack };
    })(),
    Promise.resolve(killed),
  );
  await stack.waitForPostgres(120_000).catch(() => undefined);
  if ((await findRestoreJournals(volumes)).length) problems.push('a restore journal is left after Roll back');
  if ((await interruptedLogicalRestores(t, quiet)).length)
    problems.push('a logical restore’s mark is left after Roll back');
  if (rb.kind === 'hung') problems.push('Roll back gave no answer within 5 minutes');
  const message =
    rb.kind === 'ok'
      ? rb.value.j
        ? `Roll back: rolled back the restore started ${rb.value.j.started}`
        : rb.value.dropped.length || rb.value.putBack.length
          ? `Roll back: dropped the half-restored database(s) ${rb.value.dropped.join(', ') || 'none'}, ` +
            `put back the database(s) kept aside ${rb.value.putBack.join(', ') || 'none'}`
          : 'Roll back: no interrupted restore found'
      : rb.kind === 'error'
        ? `Roll back failed: ${rb.message}`
        : 'Roll back: no answer';
  if (rb.kind === 'error') problems.push(message);
  return { message, at: rb.at, problems, journals, logical };
}

export interface Prepared {
  readonly params: OpParams;
  /** The rows that must be there after the cell. */
  readonly expect: readonly Checksum[];
  readonly allowNew?: AfterCheckOptions['allowNew'];
  cleanUp?(): Promise<unknown> | unknown;
}

export interface Reopened {
  readonly outcome: Outcome;
  /** What the user is told (the recovery's answer, what the views show). */
  readonly message: string;
  /** When that message came (ms). */
  readonly at?: number;
  readonly problems: readonly string[];
  readonly bugs?: readonly string[];
  readonly note?: string;
  /** More rows the after-check must find (the operation's new rows, when it completed). */
  readonly expect?: readonly Checksum[];
}

export interface HostKilledSpec<P extends Prepared> {
  readonly row: RowId;
  /** For FAULTS.md: the operation, the step, and what phase 2 does. */
  readonly injection: string;
  /** The step in a line. */
  readonly injected: string;
  /** The stack the cell runs on (default: the shared fixture stack). */
  stack?(env: CellEnv): Promise<Stack>;
  /** Before the fault: the checksum rows and what the operation needs. Runs before the snapshot of the stack. */
  prepare(stack: Stack): Promise<P>;
  readonly at: KillAt;
  /** Phase 2: VS Code started again; what it shows and the recovery the user picks. */
  reopen(stack: Stack, killed: Killed & { killedAt: number }, p: P): Promise<Reopened>;
}

export function hostKilledCell<P extends Prepared>(s: HostKilledSpec<P>): CellDef {
  return {
    row: s.row,
    column: 'host-killed',
    injection: s.injection,
    async run(env) {
      const t0 = Date.now();
      let p: P | undefined;
      try {
        const stack = s.stack ? await s.stack(env) : await env.sharedStack();
        p = await s.prepare(stack);
        const before = await snapshot(stack);
        const k = await killedAt(stack, s.row, p.params, s.at);
        if (k.killedAt === undefined)
          throw new Error(`phase 1 ended before the step it is killed at: ${k.said.slice(-3).join(' / ')}`);
        const r = await s.reopen(stack, { ...k, killedAt: k.killedAt }, p);
        const check = await afterCheck(stack, before, {
          expect: [...p.expect, ...(r.expect ?? [])],
          allowNew: p.allowNew,
        });
        return result({
          row: s.row,
          column: 'host-killed',
          outcome: r.outcome,
          message: r.message,
          injected: s.injected,
          check,
          faultAt: k.killedAt,
          messageAt: r.at,
          t0,
          problems: [...r.problems],
          bugs: r.bugs,
          note: r.note,
        });
      } catch (e) {
        return broken(s.row, 'host-killed', s.injected, t0, errorText(e));
      } finally {
        await Promise.resolve(p?.cleanUp?.()).catch(() => undefined);
      }
    },
  };
}

/** A dump file of the manual backups and its sidecars, removed. */
export function removeBackupFile(path: string): void {
  for (const f of [path, `${path}.meta.json`, `${path}.json`, `${path}.partial`])
    rmSync(f, { recursive: true, force: true });
}
