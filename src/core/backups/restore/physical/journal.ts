/** The journal beside PGDATA, the way back (rollback), recovery of an interrupted restore, the restore tool. */
import { hostname } from 'node:os';
import { posix } from 'node:path';
import { restoreInProgress } from '../../../errors/backups';
import { ToolFailedError } from '../../../runtime';
import { errorText } from '../../../format';
import { JournalError } from '../../../errors/backups';
import { formatTimeTarget } from '../pitr';
import { targetOfSource } from '../target';
import { sweepRecoveryLeftovers } from '../recovery-run';
import { displayArgv, runLogged, runLoggedChecked, type RestoreContext } from '../run';
import type { PhysicalSource, PhysicalTarget, RestoreJournal } from './types';
import {
  exists,
  journalPath,
  runScript,
  scriptFailed,
  serverState,
  startServer,
  STOP,
  stopServer,
  uncancellable,
} from './server';
import { OpsError } from '../../../errors/error';

// ---------- Journal, rollback, recovery ----------

export async function readJournal(t: PhysicalTarget, ctx: RestoreContext): Promise<RestoreJournal | undefined> {
  const file = journalPath(t.dataDir);
  const r = await runLogged(t.rt, ctx, ['cat', file], { quietStdout: true });
  if (r.exitCode !== 0) return undefined;
  try {
    const j = JSON.parse(r.stdoutLines.join('\n')) as RestoreJournal;
    if (j.version !== 1 || !j.dataDir || !j.aside) throw new OpsError('restore-failed', 'unknown journal');
    return j;
  } catch (e) {
    throw new OpsError(
      'restore-failed',
      `The restore journal ${file} cannot be read (${errorText(e)}): check ${posix.dirname(file)} by hand (see the README, "Rolling back by hand").`,
    );
  }
}

/** Sends a signal with the shell's own kill (minimal images have no procps, so no /bin/kill). */
function killArgv(signal: 'TERM' | 'KILL', pid: string): string[] {
  return ['sh', '-c', `kill -${signal} "$0"`, pid];
}

/** The process still runs the restore tool (its cmdline; a zombie or a reused pid does not count). */
async function toolRunning(t: PhysicalTarget, ctx: RestoreContext, pid: string): Promise<boolean> {
  const cmd = await runLogged(t.rt, { ...ctx, line: () => undefined }, ['cat', `/proc/${pid}/cmdline`], {
    quietStdout: true,
  });
  return cmd.exitCode === 0 && /pgbackrest|tar/.test(cmd.stdoutLines.join(' '));
}

/** Ends the restore tool of an interrupted restore (by the pid it recorded), if it still runs: TERM, then KILL after 10 s. */
export async function endRestoreTool(t: PhysicalTarget, ctx: RestoreContext, pidFile: string): Promise<void> {
  const r = await runLogged(t.rt, ctx, ['cat', pidFile], { quietStdout: true });
  const pid = r.exitCode === 0 ? r.stdoutLines[0]?.trim() : undefined;
  if (pid && /^\d+$/.test(pid) && (await toolRunning(t, ctx, pid))) {
    ctx.line(`The restore tool (pid ${pid}) is still running: ending it.`);
    await runLogged(t.rt, ctx, killArgv('TERM', pid));
    for (let i = 1; await toolRunning(t, ctx, pid); i++) {
      if (i === 40) await runLogged(t.rt, ctx, killArgv('KILL', pid));
      if (i > 200)
        throw new OpsError(
          'timeout',
          `The restore tool (pid ${pid}) does not end: stop it, then run Recover Interrupted Restore again.`,
        );
      await new Promise((res) => setTimeout(res, 250));
    }
  }
  await runLogged(t.rt, ctx, ['rm', '-f', pidFile]);
}

/**
 * rm -rf, retried: the workers of an ended restore tool (pgBackRest's local processes) may still
 * write a file or two for a moment.
 */
export async function removeDir(t: PhysicalTarget, ctx: RestoreContext, dir: string): Promise<void> {
  for (let i = 0; ; i++) {
    const r = await runLogged(t.rt, ctx, ['rm', '-rf', '--', dir]);
    if (r.exitCode === 0) return;
    if (i >= 20) throw new ToolFailedError(['rm', '-rf', '--', dir], r.exitCode, r.stderrTail, t.rt.description);
    await new Promise((res) => setTimeout(res, 500));
  }
}

/**
 * Puts the data folder a journal names back: ends the restore tool, starts the stanza again, then puts
 * the previous data back (putBack). The crash recovery's way back; a restore in flight undoes the same
 * steps phase by phase (./restore.ts).
 */
export async function rollBack(t: PhysicalTarget, ctx0: RestoreContext, j: RestoreJournal): Promise<void> {
  const ctx = uncancellable(ctx0);
  await endRestoreTool(t, ctx, j.pidFile);
  if (j.stanzaStart) await startStanzaAgain(t, ctx, j.stanzaStart);
  await putBack(t, ctx, j);
  // The spool and restore_command wrapper of the interrupted restore (physical/recovery.ts).
  for (const f of await sweepRecoveryLeftovers(t.rt, t.dataDir)) ctx.line(`Removed ${f}`);
}

/** `pgbackrest start` for the stanza a restore stopped (its exit code is logged, not fatal). */
export async function startStanzaAgain(t: PhysicalTarget, ctx: RestoreContext, argv: string[]): Promise<void> {
  ctx.step('Starting the pgBackRest stanza again');
  await runLogged(t.rt, ctx, argv);
}

/**
 * The way back: the staging folder the restore wrote into goes (the new data never became PGDATA); when the old
 * folder was moved aside (the swap ran, or a journal of the releases that restored into PGDATA itself), a server on
 * the restored folder is stopped, that folder removed and the old one moved back. Then PostgreSQL starts (when it ran
 * before and the target leaves it running) and the journal goes. The restore tool must have ended.
 */
export async function putBack(t: PhysicalTarget, ctx: RestoreContext, j: RestoreJournal): Promise<void> {
  if (j.staging && (await exists(t, ctx, j.staging, '-e'))) {
    ctx.step(`Removing the unfinished restore ${posix.basename(j.staging)}`);
    await removeDir(t, ctx, j.staging);
  }
  if (await exists(t, ctx, j.aside, '-d')) {
    if ((await serverState(t, ctx).catch(() => 'stopped' as const)) === 'running') {
      ctx.step('Stopping the restored PostgreSQL');
      await stopServer(t, ctx);
    }
    ctx.step(`Putting ${j.dataDir} back`);
    await removeDir(t, ctx, j.dataDir);
    await runLoggedChecked(t.rt, ctx, ['mv', '--', j.aside, j.dataDir]);
  }
  if (j.wasRunning && j.leaveRunning && (await serverState(t, ctx)) !== 'running') {
    ctx.step('Starting PostgreSQL on the previous data');
    await startServer(t, ctx);
  }
  await runLoggedChecked(t.rt, ctx, ['rm', '-f', '--', journalPath(t.dataDir)]);
  ctx.line(`Rolled back: ${j.dataDir} holds the data from before the restore again.`);
}

/** Exit code of the swap when the pre-restore name is taken: nothing was moved. */
const ASIDE_TAKEN = 88;

/**
 * Puts the completed restore in place, in one exec: stops a server running on the old data (a container that
 * restarted during the restore starts it), rewrites pgBackRest's restore_command in the restored
 * postgresql.auto.conf from the staging path to PGDATA (pgBackRest copies the restore's `--pg1-path` into it), moves
 * PGDATA aside and the staging folder to PGDATA. Idempotent: a swap cut between its two renames is completed (Finish)
 * or undone (putBack). Says whether it moved the old folder aside (false when there was no PGDATA).
 */
export async function swapIn(t: PhysicalTarget, ctx: RestoreContext, j: RestoreJournal): Promise<{ moved: boolean }> {
  const staging = j.staging;
  if (!staging) return { moved: false };
  const script = `d=$1 aside=$2 staging=$3
[ -d "$staging" ] || exit 0
if [ -d "$d" ] && pg_ctl -D "$d" status >/dev/null 2>&1; then
  echo "tsdbops:step Stopping PostgreSQL on the previous data"
  ${STOP}
fi
f=$staging/postgresql.auto.conf
if [ -f "$f" ] && grep -qF -- "--pg1-path=$staging" "$f"; then
  awk -v from="--pg1-path=$staging" -v to="--pg1-path=$d" '{
    out = ""; s = $0
    while ((i = index(s, from)) > 0) { out = out substr(s, 1, i - 1) to; s = substr(s, i + length(from)) }
    print out s
  }' "$f" > "$f.tsdbops" && mv -- "$f.tsdbops" "$f" || exit 93
fi
echo "tsdbops:step Putting the restored data in place"
if [ -d "$d" ]; then
  [ -e "$aside" ] && { echo "$aside already exists: nothing was moved." >&2; exit ${ASIDE_TAKEN}; }
  run mv -- "$d" "$aside" || exit 93
  echo "tsdbops:moved"
fi
run mv -- "$staging" "$d" || exit 94
`;
  const r = await runScript(t, uncancellable(ctx), 'swap', script, [t.dataDir, j.aside, staging]);
  if (r.exitCode !== 0) throw scriptFailed(t, 'Putting the restored data in place', r);
  return { moved: r.marks.has('moved') || (await exists(t, ctx, j.aside, '-d')) };
}

/** The process writing a journal: this machine and this process (the extension host, or the command line). */
export function journalOwner(): { host: string; pid: number } {
  return { host: hostname(), pid: process.pid };
}

/** Whether a process of this machine is alive (signal 0: checks, sends nothing; EPERM: alive, another user's). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Journals whose restore runs in this process now (by runtime and journal path): a second window's context here. */
const runningHere = new Set<string>();
const runningKey = (t: PhysicalTarget) => `${t.rt.description}\0${journalPath(t.dataDir)}`;

/** Marks the target's journal as this process's restore in progress until the returned release is called. */
export function holdJournal(t: PhysicalTarget): () => void {
  const key = runningKey(t);
  runningHere.add(key);
  return () => void runningHere.delete(key);
}

/** The pid of the journal's owner when that is another process of this machine (another machine's cannot be asked). */
function otherLocalOwner(j: RestoreJournal): number | undefined {
  const o = j.owner;
  return o && o.host === hostname() && o.pid !== process.pid ? o.pid : undefined;
}

/** The journal's restore still runs in another process of this machine (another window, the command line). */
export function inProgressElsewhere(j: RestoreJournal): boolean {
  const pid = otherLocalOwner(j);
  return pid !== undefined && processAlive(pid);
}

/** The journal's restore ran in a process of this machine, not this one, that is gone (its window died). */
export function ownerGone(j: RestoreJournal): boolean {
  const pid = otherLocalOwner(j);
  return pid !== undefined && !processAlive(pid);
}

/**
 * Refuses to treat a journal as interrupted while the process that wrote it still runs on this machine (another
 * window's restore in progress: rolling it back would end its tool and move its data mid-way). A journal of this
 * process, of a process that is gone, or of another machine (nothing to ask there) is interrupted.
 */
export function refuseIfRunningElsewhere(t: PhysicalTarget, j: RestoreJournal): void {
  const here = runningHere.has(runningKey(t));
  if (!here && !inProgressElsewhere(j)) return;
  const who = here ? 'in this process' : `in process ${j.owner!.pid} on this machine`;
  throw restoreInProgress(
    `A restore of this data folder is in progress in another window (${who}, started ${j.started}, ${j.source}; ` +
      `journal ${journalPath(t.dataDir)}): nothing was changed. Wait for it to finish; Recover Interrupted Restore is ` +
      'for a restore whose window is gone.',
  );
}

/**
 * Finds the journal of a restore that never finished (VS Code died, the container restarted …)
 * and rolls it back. Returns the journal it acted on, or undefined when there was none. A journal whose restore
 * still runs in another process of this machine is refused, untouched (restoreInProgress, kind 'busy').
 */
export async function recoverInterruptedRestore(
  t: PhysicalTarget,
  ctx: RestoreContext,
): Promise<RestoreJournal | undefined> {
  const j = await readJournal(t, ctx);
  if (!j) return undefined;
  refuseIfRunningElsewhere(t, j);
  ctx.step('Rolling back an interrupted restore');
  ctx.line(`Found ${journalPath(t.dataDir)}: a restore started ${j.started} (${j.source}) did not finish.`);
  await rollBack(t, ctx, j);
  return j;
}

export function describeSource(src: PhysicalSource): string {
  if (src.kind === 'baseBackup') return `pg_basebackup ${src.dir}`;
  const t = targetOfSource(src);
  // The target's value after its kind (“time 2026-… +00”, “xid 1234”), the kind said once.
  const at = src.time
    ? `${t.target === 'time' ? '' : ' time'} ${formatTimeTarget(src.time)}`
    : src.xid
      ? `${t.target === 'xid' ? '' : ' xid'} ${src.xid}`
      : '';
  return `pgBackRest stanza ${src.stanza}${src.repo ? ` repo${src.repo}` : ''} ${t.target}${at}${src.set ? ` set ${src.set}` : ''}`;
}

/** Runs a restore tool with its pid recorded (a fixed wrapper; the tool's argv stays separate). */
export async function runTool(
  t: PhysicalTarget,
  ctx: RestoreContext,
  pidFile: string,
  argv: readonly string[],
): Promise<void> {
  ctx.line(`$ ${displayArgv(argv)}`);
  const r = await t.rt.run(['sh', '-c', 'echo $$ > "$0"; exec "$@"', pidFile, ...argv], {
    signal: ctx.signal,
    onStdoutLine: (l) => ctx.line(l),
    onStderrLine: (l) => ctx.line(l),
  });
  if (r.exitCode !== 0) throw new ToolFailedError(argv, r.exitCode, r.stderrTail, t.rt.description);
}

/** Exit code of the take-down script when the journal could not be written: nothing was changed. */
const JOURNAL_FAILED = 90;

/** Exit code of the take-down script when PGDATA is a mount point (it cannot be moved aside): nothing was changed. */
const DATA_IS_MOUNT = 89;

/**
 * Writes the journal, stops PostgreSQL (fast, else immediate), checks it stopped and creates the empty staging
 * folder the restore tool writes into, in one exec (not cancellable: a half-done shutdown is no state to roll back
 * from; a cancel acts right after). PGDATA keeps the old data until the tool completed (swapIn). A journal without
 * a staging folder (none of this release) moved PGDATA aside here instead.
 */
export async function takeDown(t: PhysicalTarget, ctx: RestoreContext, j: RestoreJournal): Promise<{ moved: boolean }> {
  const script = `d=$1 aside=$2 journal=$3 json=$4 running=$5 staging=$6
if [ -d "$d" ] && [ -r /proc/self/mountinfo ] && awk -v d="$d" '$5 == d { f = 1 } END { exit !f }' /proc/self/mountinfo; then
  echo "$d is a mount point, so it cannot be moved aside for the restore: mount the volume at its parent folder" \
    "(as timescaledb-ha does: /home/postgres/pgdata, PGDATA /home/postgres/pgdata/data). Nothing was changed." >&2
  exit ${DATA_IS_MOUNT}
fi
{ printf "%s\\n" "$json" > "$journal.tmp" && mv "$journal.tmp" "$journal"; } || exit ${JOURNAL_FAILED}
if [ "$running" = 1 ]; then
  echo "tsdbops:step Stopping PostgreSQL"
  ${STOP}
else
  echo "tsdbops:step Checking PostgreSQL stopped"
  run pg_ctl -D "$d" status
  if [ $? = 0 ]; then echo "PostgreSQL in $d is running: nothing was changed." >&2; exit 92; fi
fi
if [ -n "$staging" ]; then
  echo "tsdbops:step Creating \${staging##*/} for the restored data (\${d##*/} stays until the restore completed)"
  run mkdir -m 0700 -- "$staging" || exit 94
  exit 0
fi
if [ -d "$d" ]; then
  echo "tsdbops:step Moving \${d##*/} aside to \${aside##*/}"
  run mv -- "$d" "$aside" || exit 93
  echo "tsdbops:moved"
fi
run mkdir -m 0700 -- "$d" || exit 94
`;
  const r = await runScript(t, uncancellable(ctx), 'take-down', script, [
    t.dataDir,
    j.aside,
    journalPath(t.dataDir),
    JSON.stringify(j),
    j.wasRunning ? '1' : '0',
    j.staging ?? '',
  ]);
  if (r.exitCode === JOURNAL_FAILED)
    throw new JournalError(
      `Could not write the restore journal ${journalPath(t.dataDir)} (${r.stderrTail.join(' ')}): nothing was changed.`,
    );
  if (r.exitCode === DATA_IS_MOUNT) throw new JournalError(r.stderrTail.join(' '));
  if (r.exitCode !== 0) throw scriptFailed(t, 'Stopping PostgreSQL and preparing the restore', r);
  return { moved: r.marks.has('moved') };
}

export { JournalError };

/** Deletes a moved-aside copy (only a `<PGDATA>.pre-restore-<stamp>` folder next to PGDATA, never PGDATA itself). */
export async function deletePreRestoreCopy(t: PhysicalTarget, path: string, ctx: RestoreContext): Promise<void> {
  const dataDir = t.dataDir.replace(/\/+$/, '');
  const p = path.replace(/\/+$/, '');
  const ok =
    posix.dirname(p) === posix.dirname(dataDir) &&
    /\.pre-restore-\d{8}_\d{6}$/.test(p) &&
    posix.basename(p).startsWith(`${posix.basename(dataDir)}.pre-restore-`);
  if (!ok)
    throw new OpsError(
      'config',
      `${path} is not a pre-restore copy of ${dataDir} (expected ${dataDir}.pre-restore-YYYYmmdd_HHMMSS).`,
    );
  const j = await readJournal(t, ctx);
  if (j?.aside === p)
    throw new OpsError(
      'refused',
      `${p} is the way back of a restore that has not finished: recover it first (TimescaleDB Ops: Recover Interrupted Restore).`,
    );
  if (!(await exists(t, ctx, p, '-d'))) throw new OpsError('config', `${p} does not exist.`);
  await runLoggedChecked(t.rt, ctx, ['rm', '-rf', '--', p]);
}
