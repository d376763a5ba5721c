/**
 * The pgBackRest restore to a point in time and to a transaction id against every fault that is theirs
 * (engine restarted, data disk full midway, PostgreSQL killed, a scheduled backup's lock, a second window), and
 * the latest-state restore against the engine restart. The injections are the latest-state cells' own
 * (restores.ts, restores-killed.ts), built for a target; restore-target-support.ts writes rows before and after
 * the target, so a restore that ends past or short of it is FAILED, not “new state”.
 */
import { finishInterruptedRestore, recoverInterruptedRestore } from '../../../src/core/backups/restore/physical';
import { findRestoreJournals } from '../../../src/core/backups/restore/stack';
import { errorText } from '../../../src/core/format';
import { afterCheck, snapshot } from '../check';
import { broken, result, settle, type CellDef, type Ended } from '../cell';
import { stackWithEngineRestart } from '../engine';
import { triggerAt } from '../inject';
import {
  expectFor,
  prepareRestore,
  PRE_RESTORE,
  recoverPlace,
  ROW_OF,
  runRestore,
  stateOf,
  TARGET_WORDS,
  type RestoredState,
  type RestoreTarget,
} from '../restore-target-support';
import type { Outcome } from '../table';
import { pgbackrestSource, postgresKilledCell } from './restores-killed';
import { dataDiskFullCell, lockedByBackupCell, secondWindowCell } from './restores';

const quiet = { step: () => undefined, line: () => undefined };

/**
 * The engine restarted while `pgbackrest restore` runs in the container; then what the user does: Start
 * (`up -d`), and in the window opened again the interrupted restore the Backups view and the notification show:
 * Finish when its journal says the restore tool completed, else Roll back (tsdbOps.restore.recover { action }).
 */
export const engineRestartedCell = (target: RestoreTarget): CellDef => ({
  row: ROW_OF[target],
  column: 'engine-restarted',
  injection:
    `${TARGET_WORDS[target]}: the stack runs on a throwaway Docker engine of its own (the test image loaded into it); at ` +
    'the restore’s step “Restoring …” (pgbackrest restore running in the container) the engine is restarted (SIGTERM to ' +
    'dockerd, which stops its containers, then dockerd again); then the user’s Start (`up -d`), and, as in a window ' +
    'opened again, the restore journal is looked for where the Backups view reads it and the choice it offers is run ' +
    '(Finish when the journal says the restore tool completed and the tools see PGDATA, else Roll back: in a one-off container ' +
    'when the database container does not run); then the after-check',
  async run(env) {
    const t0 = Date.now();
    const injected = 'the engine restarted at the restore’s step “Restoring …”, then Start and the offered recovery';
    let own: Awaited<ReturnType<typeof stackWithEngineRestart>> | undefined;
    try {
      own = await stackWithEngineRestart(env.log);
      const { stack, fault } = own;
      const p = await prepareRestore(stack, target);
      const before = await snapshot(stack);
      const trig = triggerAt(/^step: Restoring /, () => fault(env.log));
      const ended = await settle(runRestore(stack, p, trig.ctx), trig.fired);
      const faultAt = await Promise.race([trig.fired, Promise.resolve(undefined)]);
      await trig.faultDone;
      const problems: string[] = [];
      if (faultAt === undefined) problems.push('the restore never reached “Restoring …”: the engine was not restarted');
      if (ended.kind === 'hung') problems.push('no message within 5 minutes of the engine restart');
      if (ended.kind === 'ok' && faultAt !== undefined)
        problems.push('the restore said done although the engine restarted during its restore tool');
      // The user's Start, then the window opened again.
      await stack.compose(['up', '-d']);
      const place = await recoverPlace(stack);
      const { volumes } = place;
      const journals = await findRestoreJournals(volumes);
      let recovery: Ended<unknown> | undefined;
      let chose = 'nothing to recover';
      if (journals.length > 1) problems.push(`${journals.length} interrupted restores are shown for one stack`);
      if (journals.length) {
        // What the command offers there: Finish only in place and when the restore tool completed.
        chose = journals[0]!.journal.restored && place.kind === 'in-place' ? 'Finish' : 'Roll back';
        recovery = await settle<unknown>(
          place.kind === 'one-off'
            ? place.rollback(quiet)
            : chose === 'Finish'
              ? finishInterruptedRestore(place.t, quiet)
              : recoverInterruptedRestore(place.t, quiet),
          Promise.resolve(Date.now()),
        );
        if (recovery.kind !== 'ok' || !recovery.value)
          problems.push(`${chose} did not complete: ${recovery.kind === 'error' ? recovery.message : recovery.kind}`);
        if ((await findRestoreJournals(volumes)).length) problems.push(`the journal is left after ${chose}`);
      } else if (ended.kind === 'error') {
        problems.push('the restore failed with the engine but the next window shows no interrupted restore');
      }
      await stack.waitForPostgres(180_000).catch(() => undefined);
      const state: RestoredState | undefined = await stateOf(stack, p, problems).catch((e: unknown) => {
        problems.push(`the data cannot be read: ${errorText(e).split('\n')[0]}`);
        return undefined;
      });
      let outcome: Outcome = 'FAILED';
      if (state === 'old state' && (chose === 'Roll back' || ended.kind === 'error')) outcome = 'old state';
      else if (state === 'new state' && (chose === 'Finish' || ended.kind === 'ok')) outcome = 'new state';
      else problems.push(`after ${chose} the data is the ${state ?? 'unreadable'} one`);
      if (ended.kind === 'error' && !/engine|docker|connection/i.test(ended.message))
        problems.push('the restore’s message does not say that the connection to the Docker engine was lost');
      const said =
        ended.kind === 'error' ? ended.message : ended.kind === 'ok' ? `restored (${p.label})` : 'no message';
      const then =
        recovery?.kind === 'ok'
          ? `${chose}: done`
          : recovery?.kind === 'error'
            ? `${chose}: ${recovery.message}`
            : chose;
      const check = await afterCheck(stack, before, {
        expect: expectFor(p, state),
        // Roll back keeps no copy; Finish deletes the pre-restore copy; a completed restore keeps it as the way back.
        allowNew: ended.kind === 'ok' ? [PRE_RESTORE] : [],
      });
      return result({
        row: ROW_OF[target],
        column: 'engine-restarted',
        outcome,
        message: `${said} — then ${then}`,
        injected,
        check,
        faultAt,
        messageAt: ended.at,
        t0,
        problems,
      });
    } catch (e) {
      return broken(ROW_OF[target], 'engine-restarted', injected, t0, e);
    } finally {
      await own?.stop();
    }
  },
});

export const latestEngineRestarted = engineRestartedCell('latest');

export const timeEngineRestarted = engineRestartedCell('time');
export const timeDataDiskFull = dataDiskFullCell('time');
export const timePostgresKilled = postgresKilledCell(pgbackrestSource('time'));
export const timeLockedByBackup = lockedByBackupCell('time');
export const timeSecondWindow = secondWindowCell('time');

export const xidEngineRestarted = engineRestartedCell('xid');
export const xidDataDiskFull = dataDiskFullCell('xid');
export const xidPostgresKilled = postgresKilledCell(pgbackrestSource('xid'));
export const xidLockedByBackup = lockedByBackupCell('xid');
export const xidSecondWindow = secondWindowCell('xid');
