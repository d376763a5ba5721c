/**
 * A physical restore as a pipeline of named phases, each undo next to its phase:
 *
 *   verify (read only) → take down (journal, stop, an empty staging folder beside PGDATA; undo: the staging folder
 *   goes, the previous data back if it was moved) → stop stanza (pgBackRest; undo: start it again) → recovery
 *   options (pgBackRest: this restore's options from the machine, the spool and the restore_command wrapper; removed
 *   at the end, whatever happened) → restore (the tool writes into the staging folder; once it completed, PGDATA
 *   moves aside and the staging folder takes its place; undo: end the tool) → start stanza (pgBackRest)
 *   → start (start, wait, verify, prove a latest-state recovery reached the newest archived WAL segment;
 *   stop again in a one-off container)
 *
 * On a failure or cancel the phases that ran are undone newest first: the tool ends, the stanza starts,
 * the half-restored folder goes and the pre-restore copy moves back; that is `rollBack` of the journal,
 * step by step. PGDATA holds the old data until the tool completed: a container (or engine) restarted mid-restore
 * starts the old data, never an initdb over a half-restored folder. A failing undo keeps the journal and the copy (Recover Interrupted Restore finishes it).
 */
import { posix } from 'node:path';
import { PhasesFailedError, runPhases, uncancellable, type Phase } from '../../../operations/phases';
import { errorText } from '../../../format';
import { preRestoreName, stagingName } from '../pre-restore';
import { restoreFailed, runLoggedChecked, type RestoreContext } from '../run';
import { restoreCancelled } from '../../../errors/backups';
import {
  describeSource,
  endRestoreTool,
  holdJournal,
  JournalError,
  putBack,
  journalOwner,
  recoverInterruptedRestore,
  runTool,
  startStanzaAgain,
  swapIn,
  takeDown,
} from './journal';
import {
  checkFreeSpace,
  journalPath,
  pidPath,
  probeServer,
  stanzaControlArgv,
  startAndVerify,
  stopServer,
} from './server';
import type { PhysicalRestoreResult, PhysicalSource, PhysicalTarget, RestoreJournal } from './types';
import {
  finishRecovery,
  prepareRecovery,
  proveRecoveryEnd,
  recoveryStopped,
  RecoveryIncompleteError,
  withRecoveryOptions,
  type RecoveryRun,
} from './recovery';
import { verifySource, type VerifiedSource } from './verify';
import { markRestored } from './finish';
import { restoreDiskFullOr } from './disk-full';
import { recoverOntoNewTimeline, resetRecoverySettings, type NewTimeline } from './new-timeline';
import { OpsError } from '../../../errors/error';

/** What the phases of one physical restore share. */
interface PhysicalRun {
  readonly t: PhysicalTarget;
  /** Ends this process's claim on the journal (another window's verify refuses while it is held). */
  release?: () => void;
  readonly src: PhysicalSource;
  readonly leaveRunning: boolean;
  readonly aside: string;
  /** Where the restore tool writes (beside PGDATA); moved into place once it completed (swapIn). */
  readonly staging: string;
  v?: VerifiedSource;
  earlier?: RestoreJournal;
  journal?: RestoreJournal;
  moved: boolean;
  stanzaStopped: boolean;
  /** The restore tool could not be ended: the data folder is not put back under it. */
  toolStuck: boolean;
  databases: string[];
  /** pgBackRest: this restore's recovery options and what they set up (physical/recovery.ts). */
  recovery?: RecoveryRun;
  /** pg_basebackup: the restored server recovers onto a new timeline (physical/new-timeline.ts). */
  newTimeline?: NewTimeline;
}

const pgbackrest = (s: PhysicalRun) => s.src.kind === 'pgbackrest';
const stanzaSource = (s: PhysicalRun) => s.src as Extract<PhysicalSource, { kind: 'pgbackrest' }>;

/**
 * Read-only checks side by side: the backup (pgBackRest info / every archive lists) and, in one exec,
 * the server (an unfinished restore's journal, its state, free space, the aside name).
 */
const verify: Phase<PhysicalRun> = {
  name: 'verify',
  run: async (s, ctx) => {
    const { t, aside } = s;
    ctx.step('Verifying the backup');
    const [probed, verified] = await Promise.allSettled([probeServer(t, ctx, aside), verifySource(t.rt, s.src, ctx)]);
    if (probed.status === 'rejected') throw probed.reason;
    let probe = probed.value;
    if (probe.journal) {
      s.earlier = await recoverInterruptedRestore(t, ctx);
      probe = await probeServer(t, ctx, aside);
    }
    if (verified.status === 'rejected') throw verified.reason;
    s.v = verified.value;
    checkFreeSpace(t, ctx, probe.freeBytes, s.v.sizeBytes);
    ctx.signal?.throwIfAborted();
    if (probe.asideExists) throw new OpsError('busy', `${aside} already exists: wait a second and try again.`);
    s.journal = {
      version: 1,
      dataDir: t.dataDir,
      aside,
      staging: s.staging,
      wasRunning: probe.state === 'running',
      leaveRunning: s.leaveRunning,
      started: new Date().toISOString(),
      owner: journalOwner(),
      source: describeSource(s.src),
      pidFile: pidPath(t.dataDir),
      ...(s.src.kind === 'pgbackrest' ? { stanzaStart: stanzaControlArgv(s.src, 'start') } : {}),
    };
  },
};

/** Journal, stop, move PGDATA aside (one exec). Its undo, also after a half-done take-down: the previous data back. */
const takeDownPhase: Phase<PhysicalRun> = {
  name: 'take down',
  run: async (s, ctx) => {
    s.release = holdJournal(s.t);
    s.moved = (await takeDown(s.t, ctx, s.journal!)).moved;
  },
  undo: async (s, ctx) => {
    if (s.toolStuck)
      throw new OpsError(
        'restore-failed',
        `the restore tool still runs, so ${s.t.dataDir} was not put back (the journal stays)`,
      );
    await putBack(s.t, ctx, s.journal!);
  },
  undoWhenFailed: true,
};

/**
 * Right after PostgreSQL's shutdown (which archives its last WAL: the stop file makes archive-push refuse
 * too): a scheduled backup that fires during the restore fails fast with [062].
 */
const stopStanza: Phase<PhysicalRun> = {
  name: 'stop stanza',
  when: pgbackrest,
  run: async (s, ctx) => {
    ctx.step(`Stopping pgBackRest stanza ${stanzaSource(s).stanza} (no backup during the restore)`);
    await runLoggedChecked(s.t.rt, uncancellable(ctx), stanzaControlArgv(stanzaSource(s), 'stop'));
    s.stanzaStopped = true;
  },
  undo: async (s, ctx) => {
    if (s.stanzaStopped) await startStanzaAgain(s.t, ctx, stanzaControlArgv(stanzaSource(s), 'start'));
  },
};

/**
 * pgBackRest: this restore's options, chosen from the machine (the user's own settings win), the spool and the
 * restore_command wrapper; said in the output. What it sets up is removed at the end of the restore, success or
 * not (restorePhysical), and swept before the next one after a crash.
 */
const recoveryOptions: Phase<PhysicalRun> = {
  name: 'recovery options',
  when: pgbackrest,
  run: async (s, ctx) => {
    const src = stanzaSource(s);
    const argv = s.v!.restoreArgv!;
    s.recovery = await prepareRecovery(
      {
        rt: s.t.rt,
        dataDir: s.t.dataDir,
        stanza: src.stanza,
        configPath: src.configPath,
        repoArgs: argv.filter((a) => a.startsWith('--repo=')),
        conf: s.t.conf,
      },
      ctx,
    );
  },
};

/** The restore's argv writing into `dir` (`--pg1-path`, before the command word `restore`). */
function into(argv: readonly string[], dir: string): string[] {
  return [...argv.slice(0, -1), `--pg1-path=${dir}`, argv[argv.length - 1]!];
}

/**
 * The tool completed: the restored folder takes PGDATA's place (the old one aside), then the journal says so. In that
 * order: a restore cut before the swap offers Roll back only, never a Finish that would set aside whatever a restarted
 * container wrote meanwhile into the old data (Finish deletes the pre-restore copy).
 */
async function completed(
  s: PhysicalRun,
  ctx: RestoreContext,
  extra: Parameters<typeof markRestored>[3],
): Promise<void> {
  s.moved = (await swapIn(s.t, ctx, s.journal!)).moved;
  s.journal = await markRestored(s.t, ctx, s.journal!, extra);
}

/**
 * pgBackRest restore, or the base backup's archives extracted, into the staging folder; once complete it takes
 * PGDATA's place. Its undo ends the tool (by its recorded pid).
 */
const restoreData: Phase<PhysicalRun> = {
  name: 'restore',
  run: async (s, ctx) => {
    const { t, v, staging } = s;
    const pidFile = s.journal!.pidFile;
    if (s.src.kind === 'pgbackrest') {
      ctx.step(v!.target ? `Restoring ${v!.from} to ${v!.target}` : `Restoring ${v!.from}`);
      // The tool's last lines: a full disk is said by name, with the free space (disk-full.ts).
      const tail: string[] = [];
      const c: RestoreContext = { ...ctx, line: (l) => (tail.push(l) > 40 && tail.shift(), ctx.line(l)) };
      try {
        await runTool(t, c, pidFile, into(withRecoveryOptions(v!.restoreArgv!, s.recovery), staging));
      } catch (e) {
        throw await restoreDiskFullOr(e, t, tail, v!.sizeBytes);
      }
      await completed(s, ctx, {
        newestWal: v!.newestWal,
        baseArgs: s.recovery?.speed.wrapperPath ? s.recovery.baseArgs : undefined,
      });
      return;
    }
    // tar's own error names a full disk ("No space left on device"): said by name, with the free space (disk-full.ts).
    try {
      ctx.step(`Extracting ${posix.basename(v!.base!)}`);
      await runTool(t, ctx, pidFile, ['tar', '-xf', v!.base!, '-C', staging]);
      if (v!.wal) {
        ctx.step(`Extracting ${posix.basename(v!.wal)}`);
        await runLoggedChecked(t.rt, ctx, ['mkdir', '-p', '-m', '0700', '--', posix.join(staging, 'pg_wal')]);
        await runTool(t, ctx, pidFile, ['tar', '-xf', v!.wal, '-C', posix.join(staging, 'pg_wal')]);
      }
    } catch (e) {
      throw await restoreDiskFullOr(e, t, [], v!.sizeBytes);
    }
    await runLoggedChecked(t.rt, ctx, ['chmod', '0700', '--', staging]);
    s.newTimeline = await recoverOntoNewTimeline(t, ctx, staging);
    // In the journal too: a Finish after an interruption resets these settings as the start phase does.
    await completed(s, ctx, s.newTimeline ? { newTimeline: s.newTimeline } : {});
  },
  undo: async (s, ctx) => {
    try {
      await endRestoreTool(s.t, ctx, s.journal!.pidFile);
    } catch (e) {
      s.toolStuck = true;
      throw e;
    }
  },
  undoWhenFailed: true,
};

/** Before PostgreSQL starts: while the stanza is stopped archive-get refuses ([062]) and recovery would end early. */
const startStanza: Phase<PhysicalRun> = {
  name: 'start stanza',
  when: pgbackrest,
  run: async (s, ctx) => {
    ctx.step(`Starting pgBackRest stanza ${stanzaSource(s).stanza} again`);
    await runLoggedChecked(s.t.rt, uncancellable(ctx), stanzaControlArgv(stanzaSource(s), 'start'));
    s.stanzaStopped = false;
  },
};

/**
 * Start, wait until it accepts connections and left recovery, verify (databases listed, not in recovery):
 * one exec. A latest-state restore must have replayed into the newest archived WAL segment (else it is
 * incomplete and rolls back); then this restore's recovery set-up goes and, when the server stays running,
 * the journal. In a one-off container: stop it again.
 */
const start: Phase<PhysicalRun> = {
  name: 'start',
  run: async (s, ctx) => {
    try {
      s.databases = await startAndVerify(s.t, ctx, { removePidFile: s.journal!.pidFile, newestWal: s.v?.newestWal });
    } catch (e) {
      throw (await recoveryStopped(s.recovery)) ?? e;
    }
    if (s.newTimeline) await resetRecoverySettings(s.t, uncancellable(ctx), s.newTimeline);
    if (s.v?.newestWal) await proveRecoveryEnd(s.t.rt, s.t.conn, ctx, s.v.newestWal);
    // Verified: the recovery set-up goes and (the server stays) the journal, side by side.
    await Promise.all([
      finishRecovery(s.recovery, uncancellable(ctx), s.t.conn),
      s.leaveRunning
        ? runLoggedChecked(s.t.rt, uncancellable(ctx), ['rm', '-f', '--', journalPath(s.t.dataDir)])
        : undefined,
    ]);
    ctx.line(`Databases: ${s.databases.join(', ')}`);
    if (!s.leaveRunning) {
      ctx.step('Stopping the restored PostgreSQL (the service starts it)');
      await stopServer(s.t, uncancellable(ctx));
    }
  },
};

export const PHYSICAL_RESTORE_PHASES: readonly Phase<PhysicalRun>[] = [
  verify,
  takeDownPhase,
  stopStanza,
  recoveryOptions,
  restoreData,
  startStanza,
  start,
];

export async function restorePhysical(
  t: PhysicalTarget,
  src: PhysicalSource,
  ctx: RestoreContext,
): Promise<PhysicalRestoreResult> {
  const t0 = Date.now();
  const dataDir = t.dataDir.replace(/\/+$/, '');
  const aside = preRestoreName(dataDir, new Date());
  const s: PhysicalRun = {
    t: { ...t, dataDir },
    src,
    leaveRunning: t.leaveRunning ?? true,
    aside,
    staging: stagingName(aside),
    moved: false,
    stanzaStopped: false,
    toolStuck: false,
    databases: [],
  };
  let failed = true;
  try {
    await runPhases(PHYSICAL_RESTORE_PHASES, s, ctx, {
      onFailure: (e, { phase, cancelled }) => {
        // Nothing changed yet: the checks failed, or the journal could not be written.
        // (A cancel seen before "take down" came before anything was changed: the take-down itself is not cancellable.)
        if (phase === 'verify' || (phase === 'take down' && cancelled) || e instanceof JournalError) return false;
        ctx.line(cancelled ? 'Cancelled: rolling back.' : `Failed: ${errorText(e)}. Rolling back.`);
        ctx.step('Rolling back');
      },
    });
    failed = false;
  } catch (e) {
    throw e instanceof PhasesFailedError ? restoreFailure(s, e) : e;
  } finally {
    // After a failure or cancel (the rollback stopped the server first): the spool and the wrapper go.
    await finishRecovery(s.recovery, uncancellable(ctx));
    if (failed) s.release?.();
  }
  // Done: the new data is verified, so the journal goes (the moved-aside copy stays); then the claim on it.
  try {
    if (!s.leaveRunning) await runLoggedChecked(t.rt, uncancellable(ctx), ['rm', '-f', '--', journalPath(dataDir)]);
  } finally {
    s.release?.();
  }
  const v = s.v!;
  ctx.line(
    `Restored ${v.from}${v.target ? ` to ${v.target}` : ''}.${s.moved ? ` The previous data folder is kept at ${s.aside}.` : ''}`,
  );
  return {
    kind: src.kind,
    preRestoreCopy: s.moved ? s.aside : undefined,
    from: v.from,
    target: v.target,
    recoveredEarlier: s.earlier?.started,
    databases: s.databases,
    durationMs: Date.now() - t0,
  };
}

/** The error a failed restore throws: the phase's own when nothing changed, else what the rollback left. */
function restoreFailure(s: PhysicalRun, f: PhasesFailedError): unknown {
  const e = f.cause;
  if (!f.undone) return e;
  const dataDir = s.t.dataDir;
  const what = f.cancelled ? 'was cancelled' : `failed (${errorText(e)})`;
  const rb = f.undoFailures[0];
  if (rb)
    return restoreFailed(
      `The restore ${what} and the rollback failed too (${errorText(rb.error)}). ` +
        `The previous data folder is kept at ${s.aside}; the journal ${journalPath(dataDir)} is still there: ` +
        `run "TimescaleDB Ops: Recover Interrupted Restore" or roll back by hand (README).`,
      false,
      e,
      s.aside,
    );
  if (f.cancelled)
    return restoreCancelled(
      `The restore was cancelled; the previous data is back in ${dataDir} and PostgreSQL runs on it.`,
    );
  return restoreFailed(
    e instanceof RecoveryIncompleteError
      ? `${e.message} Rolled back: the previous data is back in ${dataDir}.`
      : `The restore failed (${errorText(e)}); the previous data is back in ${dataDir}.`,
    true,
    e,
  );
}
