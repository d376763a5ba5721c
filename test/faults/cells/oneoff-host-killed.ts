/**
 * One-off container restore × extension host killed, two-phase (host-killed-support.ts): the stack's PostgreSQL is
 * the container's PID 1, so the pgBackRest restore (latest) stops the service container and restores in a one-off
 * container (restoreInOneOff). Phase 1 runs it in a node process of its own and `kill -9`s that process; the one-off
 * container and what runs in it go on without their window. Phase 2, VS Code reopened: the journal as the Backups view
 * finds it on the data volume, then Recover Interrupted Restore → Roll back, where tsdbOps.restore.recover runs it
 * (ui/commands/restore-recover.ts placeOf: the container is stopped, so in a new one-off container; Finish is refused
 * there, so Roll back is what the user has). Two runs: killed while pgbackrest restore runs in the one-off container,
 * and killed once the tool completed and the restored server runs there (the journal says the tool completed).
 */
import { inProgressElsewhere } from '../../../src/core/backups/restore/physical';
import { findRestoreJournals, finishApplies, restoreSiteOf } from '../../../src/core/backups/restore/stack';
import { run } from '../../support/proc';
import type { Stack } from '../../support/stack';
import { settle } from '../cell';
import { faultOps } from '../ops';
import { hostKilledCell, killedAt, quiet, type KillAt } from '../host-killed-support';
import { oneOffsLeft } from '../physical-support';
import { backedUp, markerState, recoverPlace } from '../restore-target-support';
import { sharedPid1Stack } from './oneoff';

/** A process in the stack's one-off restore container whose `pid args` line matches `args` (its line), if one runs. */
async function inOneOff(stack: Stack, args: RegExp): Promise<string | undefined> {
  const [c] = await oneOffsLeft(stack);
  if (!c) return undefined;
  const top = await run('docker', ['top', c.split(' ')[0]!, '-eo', 'pid,args'], {
    env: stack.dockerEnv,
    reject: false,
  });
  return top.stdout
    .split('\n')
    .map((l) => l.trim().replace(/\s+/g, ' '))
    .find((l) => args.test(l));
}

/** The tool itself (not the wrapper that records its pid, whose pid file's name says "restore" too). */
const TOOL = /^\d+ pgbackrest .*\srestore\b/;
/** The restored server's postmaster (the one-off container starts it to verify the restore). */
const POSTMASTER = /^\d+ \S*postgres -D /;

/** The timeline history files in the pgBackRest repository (a restored server that promoted pushes one). */
async function historyFiles(stack: Stack): Promise<string[]> {
  const r = await stack.exec('timescaledb', ['pgbackrest', 'repo-ls', 'archive', '--recurse', '--filter=\\.history$'], {
    user: 'postgres',
    reject: false,
  });
  if (r.exitCode !== 0) throw new Error(`pgbackrest repo-ls archive exited ${r.exitCode}: ${r.stderr.trim()}`);
  return r.stdout.split('\n').filter(Boolean);
}

interface Run {
  readonly message: string;
  readonly at?: number;
  readonly note: string;
}

/**
 * Phase 2 of one run: what the dead window left (its one-off container, what runs in it, the journal), then the
 * recover command's Roll back where the command runs it, then the old data, no journal, no one-off container.
 */
async function reopenAndRollBack(
  stack: Stack,
  killed: number,
  expect: { readonly restored: boolean; readonly running: RegExp; readonly what: string },
  problems: string[],
): Promise<Run> {
  const leftAfterKill = await oneOffsLeft(stack);
  const runsAfterKill = await inOneOff(stack, expect.running);
  const place = await recoverPlace(stack);
  const journals = await findRestoreJournals(place.volumes);
  if (journals.length !== 1)
    problems.push(`after the kill the Backups view would show ${journals.length} interrupted restores, not 1`);
  if (journals.some((j) => inProgressElsewhere(j.journal)))
    problems.push('the journal says its restore is still in progress in another window, but that window is dead');
  if (journals.length === 1 && Boolean(journals[0]!.journal.restored) !== expect.restored)
    problems.push(
      `after the kill the journal says the tool ${journals[0]!.journal.restored ? 'completed' : 'did not complete'}`,
    );
  if (place.kind !== 'one-off')
    problems.push(`Recover Interrupted Restore would run ${place.kind}, not in a one-off container`);
  // What the notification and the pick offer (ui/backups/interrupted-restores.ts, restore-recover.ts askAction).
  const restored = journals.some((j) => j.journal.restored);
  const offersFinish = restored && (await finishApplies(await faultOps(stack).context()));
  if (offersFinish) problems.push('the notification offers Finish, which the command refuses in a one-off container');
  // A new restore before Recover: refused, and told to recover (not to wait for a window that is gone).
  const again = await restoreSiteOf(await faultOps(stack).context()).then(
    () => 'not refused',
    (e: unknown) => String(e instanceof Error ? e.message : e),
  );
  if (!/did not finish: its process .* no longer runs here.*Recover Interrupted Restore/.test(again))
    problems.push(`a restore started before Recover is not told to recover first: ${again}`);
  const rb = await settle(
    place.kind === 'one-off' ? place.rollback(quiet) : Promise.reject(new Error('not a one-off place')),
    Promise.resolve(killed),
  );
  const message =
    rb.kind === 'ok'
      ? rb.value
        ? `Roll back: rolled back the restore started ${rb.value.started}`
        : 'Roll back: no interrupted restore found'
      : rb.kind === 'error'
        ? `Roll back failed: ${rb.message}`
        : 'Roll back: no answer';
  if (rb.kind === 'error') problems.push(message);
  if (rb.kind === 'hung') problems.push('Roll back gave no answer within 5 minutes');
  if (rb.kind === 'ok' && !rb.value) problems.push('Roll back found no interrupted restore');
  await stack.waitForPostgres(180_000).catch(() => undefined);
  const state = await markerState(stack).catch(() => undefined);
  if (state !== 'old state') problems.push(`after Roll back the data is the ${state ?? 'unreadable'} one`);
  if ((await findRestoreJournals(place.volumes)).length) problems.push('a restore journal is left after Roll back');
  const left = await oneOffsLeft(stack);
  if (left.length) problems.push(`one-off restore container(s) left after Roll back: ${left.join('; ')}`);
  const status = leftAfterKill[0]?.split(' ').slice(1).join(' ');
  return {
    message,
    at: rb.at,
    note:
      `after the kill the dead window’s one-off container was ${status ? `there (${status})` : 'gone'}, ` +
      `${runsAfterKill ? `${expect.what} still running in it` : `no ${expect.what} running in it`}; the Backups view ` +
      `showed ${journals.length} interrupted restore(s)${restored ? ' (the tool completed)' : ''}, offering ` +
      `${offersFinish ? 'Finish, ' : ''}Roll Back and Show What Happened` +
      `; Roll back: ${state ?? 'unreadable'}`,
  };
}

/** What phase 1 was killed under (the matching `docker top` line of the one-off container). */
let seen: string | undefined;
const killWhile =
  (args: RegExp): KillAt =>
  async (stack) =>
    Boolean((seen = await inOneOff(stack, args)));

export const oneOffHostKilled = hostKilledCell({
  row: 'restore-oneoff',
  injection:
    'PostgreSQL is the database container’s PID 1 (the image’s own entrypoint); two-phase: phase 1 runs the pgBackRest ' +
    'restore (latest) in a node process of its own through the core functions the command handler calls (it stops the ' +
    'service container and restores in a one-off container) and `kill -9`s that process once `docker top` of the ' +
    'one-off container shows pgbackrest restore running; the one-off container and its tool go on without their ' +
    'window; phase 2, VS Code reopened (a fresh stack context): the journal as the Backups view finds it on the data ' +
    'volume, then Recover Interrupted Restore → Roll back where tsdbOps.restore.recover runs it (the container is ' +
    'stopped: a new one-off container; Finish is refused there); a second run kills phase 1 once the tool completed ' +
    'and the restored server runs in the one-off container (the journal says the tool completed), then Roll back again; ' +
    'then the after-check, and no one-off container may be left',
  injected:
    'kill -9 of the restoring process while pgbackrest restore runs in the one-off container, then Roll back; again ' +
    'while the restored server runs there, then Roll back',
  stack: sharedPid1Stack,
  async prepare(stack) {
    // 200,000 rows: pgbackrest restore runs a few seconds, long enough to be seen running and killed under.
    const sum = await backedUp(stack, 200_000);
    return { params: {}, expect: [sum] };
  },
  at: killWhile(TOOL),
  async reopen(stack, killed) {
    const problems: string[] = [];
    const atKill1 = seen;
    const r1 = await reopenAndRollBack(
      stack,
      killed.killedAt,
      { restored: false, running: TOOL, what: 'pgbackrest restore' },
      problems,
    );
    // Run 2: the tool completed, the restored data swapped in, its server started in the one-off container.
    const history = await historyFiles(stack);
    seen = undefined;
    const k2 = await killedAt(stack, 'restore-oneoff', {}, killWhile(POSTMASTER));
    const atKill2 = seen;
    let r2: Run | undefined;
    if (k2.killedAt === undefined)
      problems.push(`run 2 ended before the restored server ran: ${k2.said.slice(-2).join(' / ')}`);
    else
      r2 = await reopenAndRollBack(
        stack,
        k2.killedAt,
        { restored: true, running: POSTMASTER, what: 'the restored postmaster' },
        problems,
      );
    const newHistory = (await historyFiles(stack)).filter((h) => !history.includes(h));
    const line = (s: string | undefined) => `“${(s ?? '?').slice(0, 120)}”`;
    return {
      outcome: 'old state',
      message: `${r1.message} — run 2: ${r2?.message ?? 'not run'}`,
      at: r1.at,
      problems,
      note:
        `run 1, killed under ${line(atKill1)}: ${r1.note} — run 2, killed under ${line(atKill2)}: ` +
        `${r2?.note ?? 'not run'}; timeline history files the dead window’s restored server pushed to the ` +
        `repository: ${newHistory.join(', ') || 'none'}`,
    };
  },
});
