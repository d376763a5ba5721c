/**
 * The outcomes of an interrupted physical restore other than the rollback (./journal.ts `rollBack`):
 *
 * - **Finish**: only when the journal says the restore tool completed (`restored`): start the restored server (or
 *   wait for the one still starting), wait until it left recovery, run the recovery proof again, put pgBackRest's
 *   own restore_command back (a pg_basebackup onto a new timeline: its recovery settings reset), then drop the
 *   journal and the pre-restore copy. The journal goes only after that check.
 * - **Show what happened**: the journal as text, with what Finish and Roll back would do.
 *
 * Both refuse a journal whose restore still runs in another window (refuseIfRunningElsewhere).
 */
import { restoreFailed } from '../../../errors/backups';
import { errorText } from '../../../format';
import { plainRestoreCommand, sweepRecoveryLeftovers } from '../recovery-run';
import { runLoggedChecked, type RestoreContext } from '../run';
import { endRestoreTool, readJournal, refuseIfRunningElsewhere, removeDir, startStanzaAgain, swapIn } from './journal';
import { resetRecoverySettings, type NewTimeline } from './new-timeline';
import { proveRecoveryEnd, putRestoreCommandBack } from './recovery';
import { journalPath, runScript, serverState, startAndVerify, uncancellable, waitReady } from './server';
import type { PhysicalTarget, RestoreJournal } from './types';
import { OpsError } from '../../../errors/error';

/** Marks the journal: the restore tool completed, the new data folder is whole (atomic rewrite beside PGDATA). */
export async function markRestored(
  t: PhysicalTarget,
  ctx: RestoreContext,
  j: RestoreJournal,
  extra: { newestWal?: string; baseArgs?: readonly string[]; newTimeline?: NewTimeline },
): Promise<RestoreJournal> {
  const next: RestoreJournal = {
    ...j,
    restored: new Date().toISOString(),
    ...(extra.newestWal ? { newestWal: extra.newestWal } : {}),
    ...(extra.baseArgs ? { restoreCommand: plainRestoreCommand(extra.baseArgs) } : {}),
    ...(extra.newTimeline ? { newTimeline: extra.newTimeline } : {}),
  };
  const r = await runScript(
    t,
    uncancellable(ctx),
    'journal',
    'printf "%s\\n" "$2" > "$1.tmp" && mv "$1.tmp" "$1"',
    [journalPath(t.dataDir), JSON.stringify(next)],
    { quiet: true },
  );
  // A plain error (not JournalError, which means nothing changed): the restore rolls back.
  if (r.exitCode !== 0)
    throw new OpsError('restore-failed', `Could not update the restore journal ${journalPath(t.dataDir)}.`);
  return next;
}

export interface FinishResult {
  readonly journal: RestoreJournal;
  readonly databases: string[];
  /** The pre-restore copy that was deleted (the restore is complete and verified). */
  readonly deleted: string;
}

/**
 * Completes an interrupted restore whose new data is complete. Undefined when there is no journal. Throws
 * a restore-failed error (nothing removed, the journal and the pre-restore copy kept, Roll back still possible) when the
 * restore tool did not complete or the restored server does not start, leave recovery or pass the proof.
 */
export async function finishInterruptedRestore(
  t: PhysicalTarget,
  ctx0: RestoreContext,
): Promise<FinishResult | undefined> {
  const ctx = uncancellable(ctx0);
  const j = await readJournal(t, ctx);
  if (!j) return undefined;
  refuseIfRunningElsewhere(t, j);
  const file = journalPath(t.dataDir);
  if (!j.restored)
    throw restoreFailed(
      `The restore started ${j.started} (${j.source}) cannot be finished: its restore tool never completed, so ` +
        (j.staging
          ? `${j.staging} is not a whole data folder (${j.dataDir} still holds the previous data). Nothing was changed; ` +
            'Roll back removes the unfinished copy.'
          : `${j.dataDir} is not a whole data folder. Nothing was changed; Roll back puts the previous data (${j.aside}) back.`),
      false,
    );
  ctx.step('Finishing an interrupted restore');
  ctx.line(`Found ${file}: the restore started ${j.started} (${j.source}) restored its data at ${j.restored}.`);
  await endRestoreTool(t, ctx, j.pidFile);
  if (j.stanzaStart) await startStanzaAgain(t, ctx, j.stanzaStart);
  let databases: string[] = [];
  try {
    // The journal says restored only after the swap; a staging folder still there is completed here (idempotent).
    if (j.staging) await swapIn(t, ctx, j);
    if ((await serverState(t, ctx)) === 'running') {
      ctx.step('Waiting until the restored PostgreSQL left recovery');
      await waitReady(t, ctx, j.newestWal);
    } else databases = await startAndVerify(t, ctx, { newestWal: j.newestWal });
    if (j.newestWal) await proveRecoveryEnd(t.rt, t.conn, ctx, j.newestWal);
    // pg_basebackup onto a new timeline: its recovery settings go now, as the restore itself does once the server is up.
    if (j.newTimeline) await resetRecoverySettings(t, ctx, j.newTimeline);
  } catch (e) {
    throw restoreFailed(
      `Could not finish the restore started ${j.started}: ${errorText(e)}. Nothing was deleted: the journal ${file} ` +
        `and the previous data (${j.aside}) are kept; Roll back puts the previous data back.`,
      false,
      e,
      j.aside,
    );
  }
  if (j.restoreCommand) ctx.line(await putRestoreCommandBack(t.rt, ctx, t.conn, j.restoreCommand));
  for (const f of await sweepRecoveryLeftovers(t.rt, t.dataDir)) ctx.line(`Removed ${f}`);
  // Verified: the journal goes first (a copy it no longer names is an ordinary pre-restore copy), then the copy.
  await runLoggedChecked(t.rt, ctx, ['rm', '-f', '--', file]);
  ctx.step(`Deleting the pre-restore copy ${j.aside}`);
  await removeDir(t, ctx, j.aside);
  ctx.line(`Finished: ${j.dataDir} holds the restored data (${j.source}); the pre-restore copy is deleted.`);
  return { journal: j, databases, deleted: j.aside };
}

/** The journal as text for a person: what ran, how far it got, and what each choice does. */
export function describeJournal(j: RestoreJournal, file: string, running: boolean, finishHere = true): string {
  const lines = [
    `Interrupted restore: ${file}`,
    `  started:        ${j.started}`,
    `  source:         ${j.source}`,
    `  data folder:    ${j.dataDir}`,
    `  previous data:  ${j.aside} (the pre-restore copy: the way back)`,
    ...(j.staging
      ? [`  restored into:  ${j.staging} (takes ${j.dataDir}'s place once the restore tool completed)`]
      : []),
    `  PostgreSQL ran before it: ${j.wasRunning ? 'yes' : 'no'}`,
    `  started by:     ${j.owner ? `process ${j.owner.pid} on ${j.owner.host}` : 'unknown'}` +
      (running ? ' (STILL RUNNING: a restore in progress, not an interrupted one)' : ''),
    `  restore tool:   ${j.restored ? `completed at ${j.restored}` : 'did not complete (the new data folder is partial)'}`,
    ...(j.newestWal ? [`  recovery must reach WAL segment ${j.newestWal}`] : []),
    '',
    !j.restored
      ? 'Finish: not possible (the restore tool never completed).'
      : finishHere
        ? 'Finish: start the restored server, wait until it left recovery, check it reached the end of the archive, ' +
          'then delete the pre-restore copy and this journal.'
        : 'Finish: not here (this stack restores in a one-off container, PostgreSQL being PID 1 or the container ' +
          'stopped; there Roll back is the way out).',
    j.staging
      ? `Roll back: end the restore tool if it still runs, start the stanza again, remove ${j.staging}; if ${j.aside} ` +
        `exists (the restored data was put in place), remove ${j.dataDir} and move ${j.aside} back.`
      : `Roll back: end the restore tool if it still runs, start the stanza again, remove ${j.dataDir} and move ${j.aside} back.`,
    '',
    'The journal:',
    JSON.stringify(j, null, 2),
  ];
  return lines.join('\n');
}

/**
 * Where the data from before an interrupted restore is, for a person: PGDATA itself until the restored copy was put
 * in place (a journal with a staging folder), the pre-restore copy after that.
 */
export function previousDataWhere(j: RestoreJournal): string {
  if (!j.staging) return j.aside;
  return j.restored
    ? `${j.aside} (or still ${j.dataDir}, if the restored copy was not yet put in place)`
    : `${j.dataDir} (the restore wrote into ${j.staging}, never put in place)`;
}
