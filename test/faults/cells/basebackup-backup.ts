/**
 * Cells of the pg_basebackup backup row (Backups → pg_basebackup: createBaseBackup on the targets the command
 * uses). pg_basebackup writes `pg_basebackup_<stamp>.partial/` (base.tar.gz, pg_wal.tar.gz) in manual_backup, on
 * the backups volume, renamed when it exits 0 and removed when it fails. New state: the backup it reported is
 * complete (both archives pass `gzip -t`); old state: it failed and nothing new is in manual_backup.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ManualBackupResult } from '../../../src/core/backups/dump';
import type { Stack } from '../../support/stack';
import { waitFor } from '../../support/proc';
import { afterCheck, snapshot, writeChecksum } from '../check';
import { broken, result, settle, type CellDef, type CellEnv, type Ended } from '../cell';
import { startAgain } from '../engine';
import { fireOfeliaJob, killPostmaster, ofeliaJobs, restartDatabaseService, triggerAt, until } from '../inject';
import { faultOps } from '../ops';
import { dataDiskFullRun, stackOnThrowawayWhenFree } from '../physical-support';
import type { ColumnId, Outcome } from '../table';

interface BackupRun {
  readonly stack: Stack;
  stop?(): Promise<void>;
  fault(log: (m: string) => void): Promise<unknown>;
  /** After the backup answered and the fault is done: what the user does (Start, restart the service, free the disk). */
  after?(ended: Ended<ManualBackupResult>): Promise<void>;
  /** Extra judgement; returns a note. `made`: names of backups it knows were made (window B's), removed with A's. */
  judge?(ended: Ended<ManualBackupResult>, problems: string[], made: string[]): Promise<string | undefined>;
}

interface BaseBackupCell {
  readonly column: ColumnId;
  readonly injection: string;
  readonly injected: string;
  readonly rows: { rows: number; padBytes: number };
  /** Fire when the tool starts (its command line), or once base.tar.gz in its `.partial` folder passes this many bytes. */
  readonly writing?: number;
  /** The message of a failed backup must match (it names the cause). */
  readonly says?: RegExp;
  setUp(env: CellEnv): Promise<BackupRun>;
}

/** `<dir>/*.partial/base.tar.gz` past `bytes` (pg_basebackup is writing). */
const baseTarGrows = (dir: string, bytes: number) =>
  waitFor(
    `base.tar.gz in a .partial folder of ${dir} past ${bytes} bytes`,
    async () => {
      for (const f of readdirSync(dir).filter((x) => x.endsWith('.partial'))) {
        const p = join(dir, f, 'base.tar.gz');
        if (existsSync(p) && statSync(p).size > bytes) return `${f}/base.tar.gz (${statSync(p).size} bytes)`;
      }
      return undefined;
    },
    180_000,
    50,
  );

/** What a user would check of a base backup folder: both archives there and whole. */
function incomplete(path: string): string | undefined {
  for (const f of ['base.tar.gz', 'pg_wal.tar.gz']) {
    const p = join(path, f);
    if (!existsSync(p)) return `${basename(path)} has no ${f}`;
    const r = spawnSync('gzip', ['-t', p], { encoding: 'utf8' });
    if (r.status !== 0) return `${basename(path)}/${f} is not a whole gzip archive: ${r.stderr.trim().slice(0, 200)}`;
  }
  return undefined;
}

function baseBackupCell(c: BaseBackupCell): CellDef {
  return {
    row: 'backup-basebackup',
    column: c.column,
    injection: c.injection,
    async run(env) {
      const t0 = Date.now();
      let own: BackupRun | undefined;
      const made: string[] = [];
      let folder = '';
      try {
        own = await c.setUp(env);
        const o = own;
        const { stack } = o;
        const sum = await writeChecksum(stack, c.rows);
        folder = join(stack.infraDir, 'backups', 'manual_backup');
        const had = new Set(readdirSync(folder));
        const before = await snapshot(stack);
        let faultAt: number | undefined;
        const trig = triggerAt(/^\$ pg_basebackup /, async () => {
          if (c.writing) env.log(`  pg_basebackup is writing: ${await baseTarGrows(folder, c.writing)}`);
          faultAt = Date.now();
          await o.fault(env.log);
        });
        const ended = await settle(
          faultOps(stack).baseBackup({ onLine: (l) => trig.ctx.line(l) }),
          trig.fired.then(async () => {
            await until('the fault', async () => faultAt !== undefined, 180_000);
            return faultAt!;
          }),
        );
        await trig.faultDone.catch((e: unknown) => env.log(`  the fault itself failed: ${String(e)}`));
        await o.after?.(ended);
        const problems: string[] = [];
        if (faultAt === undefined) problems.push('the fault never fired');
        let outcome: Outcome = 'old state';
        let message = '';
        if (ended.kind === 'hung') {
          problems.push('no message within 5 minutes of the fault');
          outcome = 'FAILED';
        } else if (ended.kind === 'ok') {
          message = `wrote ${ended.value.name} (${ended.value.sizeBytes} bytes)`;
          made.push(ended.value.name, basename(ended.value.sidecarPath));
          const bad = incomplete(ended.value.path);
          outcome = bad ? 'FAILED' : 'new state';
          if (bad) problems.push(`pg_basebackup reported ${ended.value.name} but ${bad}`);
        } else {
          message = ended.message;
          if (c.says && !c.says.test(message)) problems.push(`the message does not say what happened (${c.says})`);
        }
        const note = await o.judge?.(ended, problems, made);
        const stray = readdirSync(folder).filter((f) => !had.has(f) && !made.includes(f));
        if (stray.length) problems.push(`in manual_backup after the cell: ${stray.join(', ')}`);
        // The backups the cell made are the new state; removed so the after-check judges the rest.
        for (const f of made.splice(0)) rmSync(join(folder, f), { recursive: true, force: true });
        const check = await afterCheck(stack, before, { expect: [sum] });
        return result({
          row: 'backup-basebackup',
          column: c.column,
          outcome,
          message,
          injected: c.injected,
          check,
          faultAt,
          messageAt: ended.at,
          t0,
          problems,
          note,
        });
      } catch (e) {
        return broken('backup-basebackup', c.column, c.injected, t0, e);
      } finally {
        for (const f of made) rmSync(join(folder, f), { recursive: true, force: true });
        await own?.stop?.().catch(() => undefined);
      }
    },
  };
}

const BIG = { rows: 200_000, padBytes: 512 };
const SMALL = { rows: 60_000, padBytes: 384 };

export const baseBackupEngineRestarted = baseBackupCell({
  column: 'engine-restarted',
  rows: BIG,
  writing: 4 << 20,
  says: /docker|engine|connect|socket|ECONNRESET|EPIPE|container/i,
  injection:
    'the stack runs on a throwaway Docker engine of its own (the test image loaded into it); the database holds about ' +
    '100 MB of rows; once base.tar.gz in pg_basebackup’s `.partial` folder has grown past 4 MB, the engine is restarted ' +
    '(SIGTERM to dockerd, which stops its containers, then dockerd again); then the stack is started again (the user’s ' +
    'Start) and the after-check runs',
  injected: 'the engine restarted while pg_basebackup writes base.tar.gz',
  async setUp(env) {
    const own = await stackOnThrowawayWhenFree(env.log);
    return {
      stack: own.stack,
      stop: own.stop,
      fault: (log) => own.engine.restart(log),
      after: () => startAgain(own.stack),
    };
  },
});

const DATA_MB = 320;

export const baseBackupDataDiskFull = baseBackupCell({
  column: 'disk-full-data',
  rows: SMALL,
  writing: 1 << 20,
  injection:
    `the data folder (PG_DATA, /home/postgres/pgdata: where the server writes its WAL, also the WAL pg_basebackup ` +
    `streams) is a tmpfs of ${DATA_MB} MB mounted before the stack starts; once base.tar.gz in pg_basebackup’s ` +
    '`.partial` folder (on the backups volume) has grown past 1 MB, another writer fills the data disk to 2 MB free ' +
    '(fallocate); the filler is removed once the backup has answered (and the service restarted if PostgreSQL stopped)',
  injected: `tmpfs size=${DATA_MB}m at pgdata; filled to 2 MB free while pg_basebackup writes`,
  async setUp(env) {
    env.log('backup-basebackup × disk-full-data: a stack with a tmpfs data folder');
    const run = await dataDiskFullRun(DATA_MB, false);
    return {
      stack: run.stack,
      stop: run.stop,
      fault: run.fault,
      async after() {
        await run.after?.({ kind: 'ok', value: undefined, at: Date.now() }, []);
        // PostgreSQL may have stopped on the full disk (a PANIC writing WAL): the user restarts the service.
        const up = await run.stack.waitForPostgres(20_000).then(
          () => true,
          () => false,
        );
        if (!up) await restartDatabaseService(run.stack);
      },
    };
  },
});

export const baseBackupPostgresKilled = baseBackupCell({
  column: 'postgres-killed',
  rows: BIG,
  writing: 2 << 20,
  says: /connection|server|terminat|closed/i,
  injection:
    'a pg_basebackup runs through Backups → pg_basebackup on a database of about 100 MB; once base.tar.gz in its ' +
    '`.partial` folder has grown past 2 MB, `kill -9` of the postmaster; then the service is restarted (what the user ' +
    'does) and the after-check runs',
  injected: 'kill -9 of the postmaster while pg_basebackup writes base.tar.gz',
  async setUp(env) {
    const stack = await env.sharedStack();
    return { stack, fault: () => killPostmaster(stack), after: () => restartDatabaseService(stack) };
  },
});

export const baseBackupLocked = baseBackupCell({
  column: 'pgbackrest-lock',
  rows: SMALL,
  injection:
    'a pg_basebackup runs through Backups → pg_basebackup; at its command line the Ofelia full-backup job’s own command ' +
    '(from the compose labels, as its user) runs in the container, the way Ofelia’s job-exec fires it: two backups of ' +
    'the same server at once (PostgreSQL 15 allows concurrent non-exclusive backups); each must complete, or be refused ' +
    'with the reason',
  injected: 'the pgbackrest-full-backup job fired at pg_basebackup’s command line',
  async setUp(env) {
    const stack = await env.sharedStack();
    const job = ofeliaJobs(stack).find((j) => /--type=full/.test(j.command));
    if (!job) throw new Error('no Ofelia full-backup job in the compose labels');
    let backup: Promise<{ exitCode: number; output: string }> | undefined;
    return {
      stack,
      fault: async () => (backup = fireOfeliaJob(stack, job)),
      async judge(ended, problems) {
        const b = backup ? await backup : undefined;
        if (!b) return 'the scheduled backup never fired';
        const last = b.output.split('\n').filter(Boolean).slice(-1)[0] ?? '';
        if (ended.kind !== 'ok' && b.exitCode !== 0)
          problems.push(`neither backup ran: the scheduled one said ${last}`);
        if (b.exitCode !== 0 && !/lock|another|running|backup/i.test(last))
          problems.push('the scheduled backup failed without saying why');
        return `the scheduled backup exited ${b.exitCode}: ${last}`;
      },
    };
  },
});

export const baseBackupSecondWindow = baseBackupCell({
  column: 'second-window',
  rows: SMALL,
  injection:
    'a pg_basebackup runs through Backups → pg_basebackup in window A; at its command line window B (a second stack ' +
    'context, as a second VS Code window has) starts a pg_basebackup of the same stack, usually within the same second ' +
    '(the folder name has the second): both must end with a complete backup of their own, or one be refused with the ' +
    'reason; never one folder written by two tools, never one window removing the other’s',
  injected: 'a second pg_basebackup started at window A’s command line',
  async setUp(env) {
    const stack = await env.sharedStack();
    let b: Promise<Ended<ManualBackupResult>> | undefined;
    return {
      stack,
      fault: async () => {
        b = settle(faultOps(stack).baseBackup({}), Promise.resolve(Date.now()));
        await b;
      },
      async judge(ended, problems, made) {
        const w = await b;
        if (!w) return 'window B never started';
        if (w.kind === 'hung') problems.push('window B got no message within 5 minutes');
        if (w.kind === 'ok') {
          made.push(w.value.name, basename(w.value.sidecarPath));
          const bad = incomplete(w.value.path);
          if (bad) problems.push(`window B reported ${w.value.name} but ${bad}`);
          if (ended.kind === 'ok' && ended.value.name === w.value.name)
            problems.push(`both windows say they wrote ${w.value.name}: one folder, two tools`);
        }
        if (ended.kind !== 'ok' && w.kind !== 'ok') problems.push('neither window made a backup');
        for (const [name, e] of [
          ['A', ended],
          ['B', w],
        ] as const)
          if (e.kind === 'error' && !/in progress|another|already|busy|exists/i.test(e.message))
            problems.push(`window ${name}’s error does not say another backup is running: ${e.message.slice(0, 200)}`);
        const said = w.kind === 'ok' ? `wrote ${w.value.name}` : w.kind === 'error' ? w.message : 'no message';
        return `window B: ${said.replace(/\s+/g, ' ').slice(0, 300)}`;
      },
    };
  },
});
