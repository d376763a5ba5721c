/**
 * Cells of the pgBackRest full backup row (Backups → pgBackRest full: pgbackrestBackup on the targets the
 * command uses). Old state: pgBackRest's list of backups is what it was and a backup after the fault
 * works; new state: the new set is in the list.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pgbackrestBackup } from '../../../src/core/backups/pgbackrest';
import type { Stack } from '../../support/stack';
import { afterCheck, snapshot, writeChecksum, type AfterCheck } from '../check';
import { broken, result, settle, type CellDef, type CellEnv, type Ended } from '../cell';
import { stackWithEngineRestart, startAgain } from '../engine';
import {
  fireOfeliaJob,
  killPostmaster,
  ofeliaJobs,
  restartDatabaseService,
  stackWithMount,
  triggerAt,
} from '../inject';
import { faultOps } from '../ops';
import type { ColumnId, Outcome } from '../table';

/** The labels pgBackRest lists for the stanza (read in the container, as pgBackRest's own `info`). */
export async function backupLabels(stack: Stack): Promise<string[]> {
  const r = await stack.exec('timescaledb', ['pgbackrest', '--stanza=db', '--output=json', 'info'], { reject: false });
  if (r.exitCode !== 0) throw new Error(`pgbackrest info exited ${r.exitCode}: ${r.stderr.trim()}`);
  const [s] = JSON.parse(r.stdout) as Array<{ backup?: Array<{ label: string }> }>;
  return (s?.backup ?? []).map((b) => b.label);
}

/** The step every full-backup cell fires at: pgBackRest has started the backup and copies files. */
const STARTED = /backup start archive = /;
const full = async (stack: Stack, onLine: (l: string) => void) =>
  pgbackrestBackup((await faultOps(stack).targets()).pgbackrest, 'full', { onLine });

/** Judges a full backup that met a fault: its list of backups before and after, and a backup afterwards. */
async function judge(
  stack: Stack,
  ended: Ended<{ label: string }>,
  labelsBefore: readonly string[],
  problems: string[],
  beforeNext?: () => void,
): Promise<{ outcome: Outcome; message: string; note: string }> {
  const after = await backupLabels(stack);
  const lost = labelsBefore.filter((l) => !after.includes(l));
  let outcome: Outcome = 'old state';
  let message = '';
  if (ended.kind === 'hung') {
    problems.push('no message within 5 minutes of the fault');
    outcome = 'FAILED';
  } else if (ended.kind === 'ok') {
    message = `backed up ${ended.value.label}`;
    outcome = after.includes(ended.value.label) ? 'new state' : 'FAILED';
    if (outcome === 'FAILED') problems.push(`the backup said ${ended.value.label} but pgBackRest does not list it`);
  } else {
    message = ended.message;
    const fresh = after.filter((l) => !labelsBefore.includes(l));
    if (fresh.length) problems.push(`the backup failed but pgBackRest lists a new set ${fresh.join(', ')}`);
  }
  // repo1-retention-full=2 may expire the oldest set after a new full one: only then is a missing label fine.
  if (lost.length && !(ended.kind === 'ok' && outcome === 'new state'))
    problems.push(`sets gone from pgBackRest's list: ${lost.join(', ')}`);
  beforeNext?.();
  // What the user does next: back up again. It must work (a stale lock or a stopped stanza would refuse it).
  const next = await settle(
    full(stack, () => undefined),
    Promise.resolve(Date.now()),
  );
  const note =
    next.kind === 'ok'
      ? `the next full backup worked (${next.value.label})`
      : `the next full backup: ${next.kind === 'error' ? next.message : 'hung'}`;
  if (next.kind !== 'ok') problems.push(`a full backup after the fault does not work: ${note}`);
  return { outcome, message, note };
}

export interface FullCell {
  column: ColumnId;
  injection: string;
  injected: string;
  ci?: boolean;
  /** The stack (the shared one, or one of the cell's own with `stop`). */
  stack(
    env: CellEnv,
  ): Promise<{ stack: Stack; stop?: () => Promise<void>; fault: (log: (m: string) => void) => Promise<unknown> }>;
  /** After the fault and the operation's end: bring the stack back the way the user does. */
  recover?(stack: Stack): Promise<void>;
  /** What the user does before backing up again (a bigger disk). */
  beforeNext?(stack: Stack): void;
  /** Extra judgement (a second window's message, a disk's leftovers). */
  extra?(
    stack: Stack,
    ended: Ended<{ label: string }>,
    problems: string[],
    bugs: string[],
  ): Promise<string | undefined>;
  rows?: { rows: number; padBytes: number };
}

export function fullCell(c: FullCell): CellDef {
  return {
    row: 'backup-full',
    column: c.column,
    ci: c.ci,
    injection: c.injection,
    async run(env) {
      const t0 = Date.now();
      let stop: (() => Promise<void>) | undefined;
      try {
        const s = await c.stack(env);
        stop = s.stop;
        const { stack } = s;
        const sum = await writeChecksum(stack, c.rows ?? { rows: 60_000, padBytes: 384 });
        const labelsBefore = await backupLabels(stack);
        const before = await snapshot(stack);
        const trig = triggerAt(STARTED, () => s.fault(env.log));
        const ended = await settle(
          full(stack, (l) => trig.ctx.line(l)),
          trig.fired,
        );
        const faultAt = await Promise.race([trig.fired, Promise.resolve(undefined)]);
        if (faultAt === undefined) throw new Error('the backup never reached the step “backup start archive”');
        await trig.faultDone;
        await c.recover?.(stack);
        const problems: string[] = [];
        const bugs: string[] = [];
        const extra = await c.extra?.(stack, ended, problems, bugs);
        const j = await judge(stack, ended, labelsBefore, problems, c.beforeNext && (() => c.beforeNext!(stack)));
        const check: AfterCheck = await afterCheck(stack, before, { expect: [sum] });
        return result({
          row: 'backup-full',
          column: c.column,
          outcome: j.outcome,
          message: j.message,
          injected: c.injected,
          check,
          faultAt,
          messageAt: ended.at,
          t0,
          problems,
          bugs,
          note: [j.note, extra].filter(Boolean).join(' — '),
        });
      } catch (e) {
        return broken('backup-full', c.column, c.injected, t0, e);
      } finally {
        await stop?.();
      }
    },
  };
}

export const fullBackupKilled = fullCell({
  column: 'postgres-killed',
  injection:
    'a pgBackRest full backup runs through Backups → pgBackRest full; at its line “backup start archive = …” (pg_backup_start ' +
    'done, the files being copied) `kill -9` of the postmaster; then the service is restarted (what the user does), a full ' +
    'backup is taken again, and the after-check runs',
  injected: 'kill -9 of the postmaster at the backup’s line “backup start archive”',
  async stack(env) {
    const stack = await env.sharedStack();
    return { stack, fault: () => killPostmaster(stack) };
  },
  recover: restartDatabaseService,
  async extra(_stack, ended, _problems, bugs) {
    if (ended.kind === 'error' && !/postgres|server|connection|terminat/i.test(ended.message))
      bugs.push(
        'the message does not say that PostgreSQL stopped during the backup (it gives pgBackRest’s [101] only)',
      );
    return undefined;
  },
});

export const fullBackupLocked = fullCell({
  column: 'pgbackrest-lock',
  injection:
    'a pgBackRest full backup runs through Backups → pgBackRest full; at its line “backup start archive = …” the Ofelia ' +
    'full-backup job’s own command (from the compose labels, as its user) runs in the container, the way Ofelia’s job-exec ' +
    'fires it; one of the two must get the lock and complete, the other be refused with the reason',
  injected: 'the pgbackrest-full-backup job fired at the backup’s line “backup start archive”',
  async stack(env) {
    const stack = await env.sharedStack();
    const job = ofeliaJobs(stack).find((j) => /--type=full/.test(j.command));
    if (!job) throw new Error('no Ofelia full-backup job in the compose labels');
    let fired: Promise<{ exitCode: number; output: string }> | undefined;
    const cell = {
      stack,
      fault: async () => {
        fired = fireOfeliaJob(stack, job);
        return fired;
      },
    };
    scheduled.set(stack, () => fired);
    return cell;
  },
  async extra(stack, ended, problems) {
    const b = await scheduled.get(stack)?.();
    if (!b) return 'the scheduled backup never fired';
    const last = b.output.split('\n').filter(Boolean).slice(-1)[0] ?? '';
    if (ended.kind === 'ok' && b.exitCode === 0) problems.push('both backups say they ran at once under one lock');
    if (ended.kind === 'error' && b.exitCode !== 0)
      problems.push(`neither backup ran: the scheduled one exited ${b.exitCode}: ${last}`);
    if (ended.kind === 'error' && !/lock|another|running/i.test(ended.message))
      problems.push('the refused backup’s message does not say another backup holds the lock');
    return `the scheduled backup exited ${b.exitCode}: ${last}`;
  },
});
const scheduled = new WeakMap<Stack, () => Promise<{ exitCode: number; output: string }> | undefined>();

export const fullBackupSecondWindow = fullCell({
  column: 'second-window',
  injection:
    'a pgBackRest full backup runs through Backups → pgBackRest full in window A; at its line “backup start archive = …” ' +
    'window B (a second stack context, as a second VS Code window has) starts a pgBackRest full backup of the same stack',
  injected: 'a second full backup started at window A’s line “backup start archive”',
  async stack(env) {
    const stack = await env.sharedStack();
    let b: Promise<Ended<{ label: string }>> | undefined;
    second.set(stack, () => b);
    return {
      stack,
      fault: async () => {
        b = settle(
          full(stack, () => undefined),
          Promise.resolve(Date.now()),
        );
        await b;
      },
    };
  },
  async extra(stack, ended, problems) {
    const b = await second.get(stack)?.();
    if (!b) return 'window B never started';
    const said = b.kind === 'ok' ? `backed up ${b.value.label}` : b.kind === 'error' ? b.message : 'hung';
    if (b.kind === 'hung') problems.push('window B got no message within 5 minutes');
    if (b.kind === 'ok' && ended.kind === 'ok') problems.push('both windows say they backed up at once');
    if (b.kind === 'error' && !/lock|another|running/i.test(b.message))
      problems.push('window B’s message does not say another backup holds the lock');
    return `window B: ${said.replace(/\s+/g, ' ').slice(0, 300)}`;
  },
});
const second = new WeakMap<Stack, () => Promise<Ended<{ label: string }>> | undefined>();

const REPO_MB = 8;
export const fullBackupDiskFull = fullCell({
  column: 'disk-full-backups',
  injection:
    `the repository’s backup folder (backups/backup, bind-mounted into the container) is a tmpfs of ${REPO_MB} MB mounted ` +
    'before the stack starts (stanza-create fits); the database holds about 25 MB of hard-to-compress rows, so the full ' +
    'backup starts and the disk fills while pgBackRest copies files',
  injected: `tmpfs size=${REPO_MB}m at backups/backup; filled by pgBackRest itself midway`,
  async stack(env) {
    env.log('backup-full × disk-full-backups: a stack with a tmpfs repository');
    const own = await stackWithMount(join('backups', 'backup'), REPO_MB);
    mounts.set(own.stack, own.mount.dir);
    return { stack: own.stack, stop: () => own.stop(), fault: async () => undefined };
  },
  async extra(stack, ended, problems) {
    if (ended.kind === 'error' && !/disk full|no space left/i.test(ended.message))
      problems.push('the message does not say that the disk is full');
    if (ended.kind === 'error' && !/\d+(\.\d+)?\s*(bytes|B|kB|MB|GB)\b[^.]*free/i.test(ended.message))
      problems.push('the message does not give the free space');
    const dir = join(mounts.get(stack)!, 'db');
    const labels = await backupLabels(stack);
    const stray = readdirSync(dir).filter((f) => /^\d{8}-\d{6}F/.test(f) && !labels.includes(f));
    return stray.length ? `pgBackRest kept its unfinished set ${stray.join(', ')} for resume` : undefined;
  },
  // What the message tells the user to do: a bigger disk for the repository (the tmpfs grown), then back up again.
  beforeNext(stack) {
    const dir = mounts.get(stack)!;
    const r = spawnSync('mount', ['-o', `remount,size=${REPO_MB * 16}m`, dir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`remount ${dir}: ${r.stderr.trim()}`);
  },
});
const mounts = new WeakMap<Stack, string>();

export const fullBackupEngineRestarted = fullCell({
  column: 'engine-restarted',
  injection:
    'the stack runs on a throwaway Docker engine of its own (the test image loaded into it); at the backup’s line “backup ' +
    'start archive = …” the engine is restarted (SIGTERM to dockerd, which stops its containers, then dockerd again); then ' +
    'the stack is started again (the user’s Start), a full backup is taken again, and the after-check runs',
  injected: 'the engine restarted at the backup’s line “backup start archive”',
  stack: (env) => stackWithEngineRestart(env.log),
  recover: startAgain,
});
