/**
 * pgBackRest restore (latest) × extension host killed, as a two-phase test: phase 1 runs the restore in a process of
 * its own (child-op.ts, host-killed-support.ts) and `kill -9`s it at a named step; phase 2, in this process (a window opened again: a
 * fresh stack context), finds the journal where the Backups view and the notification read it and runs the outcome
 * the user picks through the core functions tsdbOps.restore.recover { action } calls. Two runs: killed during
 * `pgbackrest restore` → Roll back must give the old rows back; killed while the restored server starts → Finish must
 * leave the new data and no pre-restore copy, no journal.
 */
import { rmSync } from 'node:fs';
import {
  finishInterruptedRestore,
  recoverInterruptedRestore,
  restorePhysical,
} from '../../../src/core/backups/restore/physical';
import type { RestoreContext } from '../../../src/core/backups/restore/run';
import { findRestoreJournals, restoreSiteOf } from '../../../src/core/backups/restore/stack';
import { errorText } from '../../../src/core/format';
import { afterCheck, snapshot, writeChecksum } from '../check';
import { broken, result, settle, type CellDef } from '../cell';
import { killPostmaster, restartDatabaseService, triggerAt, until } from '../inject';
import { faultOps } from '../ops';
import {
  expectFor,
  prepareRestore,
  PRE_RESTORE,
  recoverTarget,
  ROW_OF,
  runRestore,
  stateOf,
  TARGET_WORDS,
  writeMarker,
  type Expectation,
  type RestoredState,
  type RestoreTarget,
} from '../restore-target-support';
import type { RowId } from '../table';
import type { Stack } from '../../support/stack';
import { killedAt, quiet } from '../host-killed-support';

export const restoreHostKilled: CellDef = {
  row: 'restore-pgbackrest-latest',
  column: 'host-killed',
  injection:
    'two-phase: phase 1 runs the pgBackRest restore (latest) in a node process of its own through the core functions the ' +
    'command handler calls and `kill -9`s it at the step “Restoring …” (pgbackrest restore still running in the container); ' +
    'phase 2, in a fresh process context (VS Code reopened), finds the journal as the Backups view and the notification do ' +
    'and runs Roll back (tsdbOps.restore.recover { action: "rollback" }); a second run kills the process while the restored ' +
    'server starts (“Waiting until PostgreSQL accepts connections”) and runs Finish ({ action: "finish" })',
  async run(env) {
    const t0 = Date.now();
    const injected =
      'kill -9 of the restoring process at “Restoring …”, then Roll back; again at the server start, then Finish';
    try {
      const stack = await env.sharedStack();
      const p = await prepareRestore(stack, 'latest');
      const sum = p.base;
      const before = await snapshot(stack);
      const problems: string[] = [];
      // Run 1: killed during pgbackrest restore → Roll back.
      const k1 = await killedAt(stack, 'restore-pgbackrest-latest', {}, /^step: Restoring /);
      if (k1.killedAt === undefined)
        throw new Error(`phase 1 never reached “Restoring”: ${k1.said.slice(-3).join(' / ')}`);
      const { t, volumes } = await recoverTarget(stack);
      const seen1 = await findRestoreJournals(volumes);
      if (seen1.length !== 1)
        problems.push(`after the kill the Backups view would show ${seen1.length} interrupted restores`);
      const rb = await settle(recoverInterruptedRestore(t, quiet), Promise.resolve(k1.killedAt));
      await stack.waitForPostgres(120_000).catch(() => undefined);
      const state1 = await stateOf(stack, p, problems).catch(() => undefined);
      if (rb.kind !== 'ok' || !rb.value)
        problems.push(`Roll back did not roll back: ${rb.kind === 'error' ? rb.message : rb.kind}`);
      if (state1 !== 'old state') problems.push(`after Roll back the data is the ${state1 ?? 'unreadable'} one`);
      if ((await findRestoreJournals(volumes)).length) problems.push('the journal is left after Roll back');
      const check1 = await afterCheck(stack, before, { expect: [sum] });
      // Run 2: killed while the restored server starts (the restore tool completed) → Finish.
      const before2 = await snapshot(stack);
      const k2 = await killedAt(
        stack,
        'restore-pgbackrest-latest',
        {},
        /^step: (Waiting until PostgreSQL accepts connections|Starting PostgreSQL)/,
      );
      if (k2.killedAt === undefined)
        throw new Error(`phase 1 never reached the server start: ${k2.said.slice(-3).join(' / ')}`);
      const seen2 = await findRestoreJournals(volumes);
      if (seen2.length !== 1 || !seen2[0]!.journal.restored)
        problems.push('after the kill at the server start the journal does not say the restore tool completed');
      const fin = await settle(finishInterruptedRestore(t, quiet), Promise.resolve(k2.killedAt));
      await stack.waitForPostgres(120_000).catch(() => undefined);
      const state2 = await stateOf(stack, p, problems).catch(() => undefined);
      if (fin.kind !== 'ok' || !fin.value)
        problems.push(`Finish did not finish: ${fin.kind === 'error' ? fin.message : fin.kind}`);
      if (state2 !== 'new state') problems.push(`after Finish the data is the ${state2 ?? 'unreadable'} one`);
      if ((await findRestoreJournals(volumes)).length) problems.push('the journal is left after Finish');
      // No allowNew for the pre-restore copy: Finish deletes it, so one left is a leftover.
      const check2 = await afterCheck(stack, before2, { expect: [sum] });
      const message =
        `Roll back: ${rb.kind === 'ok' ? `rolled back the restore started ${rb.value?.started}` : rb.kind === 'error' ? rb.message : 'no answer'} — ` +
        `Finish: ${fin.kind === 'ok' ? `finished, deleted ${fin.value?.deleted}` : fin.kind === 'error' ? fin.message : 'no answer'}`;
      return result({
        row: 'restore-pgbackrest-latest',
        column: 'host-killed',
        outcome: 'old state',
        message,
        injected,
        check: {
          ...check2,
          rowsLost: check1.rowsLost + check2.rowsLost,
          leftovers: [...check1.leftovers, ...check2.leftovers],
          problems: [...check1.problems, ...check2.problems],
          kept: [...check1.kept, ...check2.kept],
        },
        faultAt: k1.killedAt,
        messageAt: rb.at,
        t0,
        problems,
        note: `Roll back gave the old data (checksum rows all there); Finish (second run): ${state2 ?? '?'}, no pre-restore copy, no journal`,
      });
    } catch (e) {
      return broken('restore-pgbackrest-latest', 'host-killed', injected, t0, errorText(e));
    }
  },
};

/** The source a postgres-killed cell restores, and the state it starts from (checksum rows, backup, marker row). */
export interface KilledSource {
  readonly row: RowId;
  readonly what: string;
  /** Writes the state and takes the backup; returns the restore to run (through the core the command handler calls). */
  prepare(
    stack: Stack,
    rows?: number,
  ): Promise<{
    restore: (ctx: RestoreContext) => Promise<unknown>;
    cleanUp: () => void;
    expect: Expectation;
  }>;
}

/** A pgBackRest restore to `target` (restore-target-support.ts prepares the rows before and after it). */
export const pgbackrestSource = (target: RestoreTarget): KilledSource => ({
  row: ROW_OF[target],
  what: TARGET_WORDS[target],
  async prepare(stack, rows) {
    const p = await prepareRestore(stack, target, rows);
    return { restore: (ctx) => runRestore(stack, p, ctx), cleanUp: () => undefined, expect: p };
  },
});

export const BASE_BACKUP: KilledSource = {
  row: 'restore-basebackup',
  what: 'pg_basebackup restore',
  async prepare(stack, rows = 20_000) {
    const base = await writeChecksum(stack, { rows });
    const ops = faultOps(stack);
    const b = await ops.baseBackup({});
    await writeMarker(stack);
    return {
      expect: { base, label: 'the base backup' },
      // As ui/commands/restores.ts restoreBaseBackup: the folder as the tools see it, restorePhysical on the site.
      restore: async (ctx) => {
        const site = await restoreSiteOf(await ops.context());
        return restorePhysical(
          { rt: site.rt, dataDir: site.dataDir, conn: site.conn },
          { kind: 'baseBackup', dir: site.toolPath(b.path) },
          ctx,
        );
      },
      cleanUp: () => {
        rmSync(b.path, { recursive: true, force: true });
        rmSync(b.sidecarPath, { force: true });
      },
    };
  },
};

export function postgresKilledCell(src: KilledSource): CellDef {
  return {
    row: src.row,
    column: 'postgres-killed',
    injection:
      `when the ${src.what} starts the restored server (the step “Starting PostgreSQL”), the harness waits until its ` +
      'postmaster.pid is written and `kill -9`s that postmaster while it starts and replays WAL; the after-check runs once ' +
      'the restore answered',
    async run(env) {
      const t0 = Date.now();
      const injected = 'kill -9 of the restored postmaster while it starts (step “Starting PostgreSQL”)';
      let cleanUp: (() => void) | undefined;
      try {
        const stack = await env.sharedStack();
        const prepared = await src.prepare(stack);
        cleanUp = prepared.cleanUp;
        const before = await snapshot(stack);
        let killedPid: string | undefined;
        const trig = triggerAt(/^step: Starting PostgreSQL/, async () => {
          await until(
            'the restored postmaster',
            async () =>
              (
                await stack.exec(
                  'timescaledb',
                  ['sh', '-c', 'p=$(head -1 /home/postgres/pgdata/data/postmaster.pid) && kill -0 "$p"'],
                  { user: 'root', reject: false },
                )
              ).exitCode === 0,
            60_000,
          );
          killedPid = await killPostmaster(stack);
        });
        const ended = await settle(prepared.restore(trig.ctx), trig.fired);
        const faultAt = await trig.fired;
        await trig.faultDone;
        const problems: string[] = [];
        const message = ended.kind === 'error' ? ended.message : ended.kind === 'ok' ? 'restored' : '';
        let outcome: 'old state' | 'new state' | 'FAILED' = 'FAILED';
        let state: RestoredState | undefined;
        if (ended.kind === 'hung') problems.push('no message within 5 minutes of the kill');
        else {
          // A restore that answered before the kill landed: the user restarts the service (its data is the new one).
          if (ended.kind === 'ok') await restartDatabaseService(stack);
          await stack.waitForPostgres(120_000).catch(() => undefined);
          state = await stateOf(stack, prepared.expect, problems).catch(() => undefined);
          if (ended.kind === 'error' && state === 'old state') outcome = 'old state';
          else if (ended.kind === 'ok' && state === 'new state') outcome = 'new state';
          else
            problems.push(
              `the restore ${ended.kind === 'ok' ? 'said done' : 'failed'} and the data is the ${state} one`,
            );
          if (ended.kind === 'error' && !/previous data is back/.test(message))
            problems.push('the message does not say the previous data is back');
        }
        const check = await afterCheck(stack, before, {
          expect: expectFor(prepared.expect, state),
          allowNew: [PRE_RESTORE],
        });
        return result({
          row: src.row,
          column: 'postgres-killed',
          outcome,
          message,
          injected,
          check,
          faultAt,
          messageAt: ended.at,
          t0,
          problems,
          note: killedPid ? `killed postmaster pid ${killedPid}` : 'the postmaster was never killed',
        });
      } catch (e) {
        return broken(src.row, 'postgres-killed', injected, t0, errorText(e));
      } finally {
        cleanUp?.();
      }
    },
  };
}

/** The latest state (the one-off container cells restore it). */
export const PGBACKREST_LATEST: KilledSource = pgbackrestSource('latest');

export const restorePostgresKilled = postgresKilledCell(PGBACKREST_LATEST);
export const baseBackupRestorePostgresKilled = postgresKilledCell(BASE_BACKUP);

export const baseBackupRestoreSecondWindow: CellDef = {
  row: 'restore-basebackup',
  column: 'second-window',
  injection:
    'while window A’s pg_basebackup restore extracts the backup (the step “Extracting …”), window B (a second stack ' +
    'context, as a second VS Code window has) starts the same restore on the same stack',
  async run(env) {
    const t0 = Date.now();
    const injected = 'a second pg_basebackup restore started at window A’s step “Extracting …”';
    let cleanUp: (() => void) | undefined;
    try {
      const stack = await env.sharedStack();
      const prepared = await BASE_BACKUP.prepare(stack);
      cleanUp = prepared.cleanUp;
      const before = await snapshot(stack);
      let second: Promise<unknown> | undefined;
      const trig = triggerAt(/^step: Extracting /, async () => {
        second = prepared.restore(quiet);
        second.catch(() => undefined);
        return second;
      });
      const a = await settle(prepared.restore(trig.ctx), trig.fired);
      const faultAt = await trig.fired;
      const b = await settle(second ?? Promise.reject(new Error('window B never started')), trig.fired);
      await stack.waitForPostgres(120_000).catch(() => undefined);
      const problems: string[] = [];
      const state = await stateOf(stack, prepared.expect, problems).catch(() => undefined);
      let outcome: 'new state' | 'old state' | 'FAILED' = 'FAILED';
      if (a.kind === 'hung' || b.kind === 'hung') problems.push('a window got no message within 5 minutes');
      else if (a.kind === 'ok' && b.kind === 'error' && state === 'new state') outcome = 'new state';
      else
        problems.push(
          `A ${a.kind}, B ${b.kind}, data ${state}: ${a.kind === 'error' ? a.message.slice(0, 200) : ''}`.trim(),
        );
      if (b.kind === 'error' && !/in progress in another window/.test(b.message))
        problems.push('window B’s error does not say that a restore is in progress');
      const message =
        `A: ${a.kind === 'error' ? a.message : a.kind === 'ok' ? 'restored' : 'no message'} — ` +
        `B: ${b.kind === 'error' ? b.message : b.kind === 'ok' ? 'restored' : 'no message'}`;
      const check = await afterCheck(stack, before, {
        expect: expectFor(prepared.expect, state),
        allowNew: [PRE_RESTORE],
      });
      return result({
        row: 'restore-basebackup',
        column: 'second-window',
        outcome,
        message,
        injected,
        check,
        faultAt,
        messageAt: b.at,
        t0,
        problems,
      });
    } catch (e) {
      return broken('restore-basebackup', 'second-window', injected, t0, errorText(e));
    } finally {
      cleanUp?.();
    }
  },
};
