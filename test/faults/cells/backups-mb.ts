/**
 * Backup cells: pg_dump and pg_dumpall with the data disk full, pg_dumpall against an engine restart, a
 * killed postmaster and a second window (one runner, `manualCell`), and the pgBackRest full backup with the
 * data disk full (the full-backup runner of backups-full.ts). A manual backup's new state is its file and
 * sidecar, complete; its old state is nothing new in manual_backup (no `.partial`).
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ManualBackupResult } from '../../../src/core/backups/dump';
import type { Stack } from '../../support/stack';
import { afterCheck, snapshot, writeChecksum } from '../check';
import { broken, result, settle, type CellDef, type CellEnv, type Ended } from '../cell';
import { fileGrows, stackOnThrowaway, startAgain } from '../engine';
import { dataDiskStack } from '../f29mb-support';
import { fillDisk, killPostmaster, removeFiller, restartDatabaseService, triggerAt, until } from '../inject';
import { faultOps } from '../ops';
import type { ColumnId, Outcome } from '../table';
import { fullCell } from './backups-full';
import { running } from '../f29mb-support';

type ManualRow = 'backup-dump' | 'backup-dumpall';
const TOOL: Record<ManualRow, string> = { 'backup-dump': 'pg_dump', 'backup-dumpall': 'pg_dumpall' };

interface ManualSetup {
  readonly stack: Stack;
  stop?(): Promise<void>;
  /** Fired at the tool's command line; resolves with the fault's time. */
  fault(): Promise<number>;
  recover?(): Promise<void>;
  /** What the fault itself adds (a second window's backup: its files are new state too). */
  extra?(problems: string[]): Promise<{ said: string; files: string[] }>;
  cleanup?(): void;
}

interface ManualCellDef {
  readonly row: ManualRow;
  readonly column: ColumnId;
  readonly injection: string;
  readonly injected: string;
  readonly checksum: { rows: number; padBytes?: number };
  setup(env: CellEnv, row: ManualRow): Promise<ManualSetup>;
  /** What an error must say; undefined: the backup must complete (the fault does not touch what it writes). */
  readonly says?: RegExp;
}

const run = (stack: Stack, row: ManualRow, onLine: (l: string) => void): Promise<ManualBackupResult> =>
  row === 'backup-dump'
    ? faultOps(stack).dump(stack.env.POSTGRES_DB!, { onLine })
    : faultOps(stack).dumpAll({ onLine });

const files = (r: ManualBackupResult) => [r.path, r.sidecarPath];

function manualCell(c: ManualCellDef): CellDef {
  return {
    row: c.row,
    column: c.column,
    injection: c.injection,
    async run(env) {
      const t0 = Date.now();
      let s: ManualSetup | undefined;
      const made: string[] = [];
      try {
        env.log(`${c.row} × ${c.column}`);
        s = await c.setup(env, c.row);
        const { stack } = s;
        const sum = await writeChecksum(stack, c.checksum);
        const before = await snapshot(stack);
        const folder = join(stack.infraDir, 'backups', 'manual_backup');
        const had = new Set(readdirSync(folder));
        const fault = s.fault;
        const trig = triggerAt(new RegExp(`^\\$ ${TOOL[c.row]} `), () => fault());
        const faultAt = trig.fired.then(() => trig.faultDone as Promise<number>);
        const ended = await settle(
          run(stack, c.row, (l) => trig.ctx.line(l)),
          faultAt,
        );
        const at = await faultAt.catch(() => undefined);
        await s.recover?.();
        const problems: string[] = [];
        const extra = await s.extra?.(problems);
        made.push(...(extra?.files ?? []));
        let outcome: Outcome;
        let message: string;
        if (ended.kind === 'hung') {
          outcome = 'FAILED';
          message = '';
          problems.push('no message within 5 minutes of the fault');
        } else if (ended.kind === 'ok') {
          made.push(...files(ended.value));
          message = `wrote ${ended.value.name} (${ended.value.sizeBytes} bytes)`;
          outcome = 'new state';
          if (!existsSync(ended.value.path) || statSync(ended.value.path).size !== ended.value.sizeBytes)
            problems.push(`${ended.value.name} is not there with ${ended.value.sizeBytes} bytes`);
          if (!existsSync(ended.value.sidecarPath)) problems.push(`no sidecar ${basename(ended.value.sidecarPath)}`);
        } else {
          outcome = 'old state';
          message = ended.message;
          if (!c.says) problems.push('the backup failed although the fault does not touch what it writes');
          else if (!c.says.test(message)) problems.push(`the message does not say what happened (${String(c.says)})`);
        }
        if (extra) message = `A: ${message} — B: ${extra.said}`;
        const expected = new Set(made.map((f) => basename(f)));
        const stray = readdirSync(folder).filter((f) => !had.has(f) && !expected.has(f));
        if (stray.length) problems.push(`in manual_backup after the fault: ${stray.join(', ')}`);
        for (const f of made) rmSync(f, { recursive: true, force: true });
        const check = await afterCheck(stack, before, { expect: [sum] });
        return result({
          row: c.row,
          column: c.column,
          outcome,
          message,
          injected: c.injected,
          check,
          faultAt: at,
          messageAt: ended.at,
          t0,
          problems,
        });
      } catch (e) {
        return broken(c.row, c.column, c.injected, t0, e);
      } finally {
        for (const f of made) rmSync(f, { recursive: true, force: true });
        s?.cleanup?.();
        await s?.stop?.();
      }
    },
  };
}

/** The data disk (PG_DATA's tmpfs) filled to 1 MB free at the tool's command line; the filler removed once it answered. */
async function dataDiskFull(env: CellEnv): Promise<ManualSetup> {
  const own = await dataDiskStack(env);
  let filler: string | undefined;
  return {
    stack: own.stack,
    stop: () => own.stop(),
    async fault() {
      filler = fillDisk(own.mount.dir, 2 ** 20);
      return Date.now();
    },
    async recover() {
      if (filler) removeFiller(filler);
      filler = undefined;
    },
    cleanup() {
      if (filler) removeFiller(filler);
    },
  };
}

const dataFullCell = (row: ManualRow): CellDef =>
  manualCell({
    row,
    column: 'disk-full-data',
    injection:
      'the stack’s data folder (PG_DATA) is a tmpfs of 700 MB mounted before the stack starts; the database holds about ' +
      `25 MB of rows; at ${TOOL[row]}’s command line (the tool starting) another writer fills the data disk to 1 MB free ` +
      `(fallocate). ${TOOL[row]} writes into manual_backup (the backups volume) and the server only reads (COPY TO stdout), ` +
      'so the backup must complete; the filler is removed once it answered',
    injected: `the data disk filled to 1 MB free at ${TOOL[row]}’s command line`,
    checksum: { rows: 60_000, padBytes: 384 },
    setup: dataDiskFull,
  });

export const dumpDataDiskFull = dataFullCell('backup-dump');
export const dumpAllDataDiskFull = dataFullCell('backup-dumpall');

export const dumpAllEngineRestarted = manualCell({
  row: 'backup-dumpall',
  column: 'engine-restarted',
  injection:
    'the stack runs on a throwaway Docker engine of its own (the test image loaded into it); the database holds about 100 MB ' +
    'of rows; once pg_dumpall’s `.partial` file in manual_backup has grown past 4 MB (the tool is writing), the engine is ' +
    'restarted (SIGTERM to dockerd, which stops its containers, then dockerd again); then the stack is started again (the ' +
    'user’s Start) and the after-check runs',
  injected: 'the engine restarted while pg_dumpall writes its .partial file',
  checksum: { rows: 200_000, padBytes: 512 },
  says: /docker|engine|connect|socket|ECONNRESET|EPIPE|terminated|container/i,
  async setup(env) {
    const own = await stackOnThrowaway(env.log);
    let restarted: Promise<unknown> | undefined;
    return {
      stack: own.stack,
      stop: own.stop,
      async fault() {
        const seen = await fileGrows(join(own.stack.infraDir, 'backups', 'manual_backup'), /\.partial$/, 4 << 20);
        env.log(`  pg_dumpall is writing: ${seen}; restarting the engine`);
        const at = Date.now();
        restarted = own.engine.restart(env.log);
        return at;
      },
      async recover() {
        await restarted;
        await startAgain(own.stack);
      },
    };
  },
});

export const dumpAllKilled = manualCell({
  row: 'backup-dumpall',
  column: 'postgres-killed',
  injection:
    'a pg_dumpall (200,000 rows with 512-byte pads in the checksum table) runs through Backups → pg_dumpall; once ' +
    'pg_stat_activity shows its COPY of the checksum table, `kill -9` of the postmaster; then the service is restarted ' +
    '(what the user does) and the after-check runs',
  injected:
    'kill -9 of the postmaster once pg_dumpall’s COPY of the checksum table is seen (it lands while pg_dumpall runs)',
  checksum: { rows: 200_000, padBytes: 512 },
  says: /server closed|terminat|connection|PostgreSQL stopped/i,
  async setup(env) {
    const stack = await env.sharedStack();
    let killed = false;
    return {
      stack,
      async fault() {
        await until('pg_dumpall’s COPY of the checksum table', () => running(stack, 'COPY public.fault_checksum'));
        const at = Date.now();
        await killPostmaster(stack);
        killed = true;
        return at;
      },
      async recover() {
        if (killed) await restartDatabaseService(stack);
      },
    };
  },
});

export const dumpAllSecondWindow = manualCell({
  row: 'backup-dumpall',
  column: 'second-window',
  injection:
    'a pg_dumpall runs through Backups → pg_dumpall in window A; at its command line (the tool starting) window B (a second ' +
    'stack context, as a second VS Code window has) starts a pg_dumpall of the same stack, usually within the same second ' +
    '(the file name has the second): both must end with a complete backup of their own, or one be refused with the ' +
    'reason; never one file written by two tools',
  injected: 'a second pg_dumpall started at window A’s command line',
  checksum: { rows: 60_000, padBytes: 384 },
  async setup(env) {
    const stack = await env.sharedStack();
    let b: Promise<Ended<ManualBackupResult>> | undefined;
    return {
      stack,
      async fault() {
        const at = Date.now();
        b = settle(faultOps(stack).dumpAll({}), Promise.resolve(at));
        return at;
      },
      async extra(problems) {
        const e = await b;
        if (!e) return { said: 'never started', files: [] };
        if (e.kind === 'hung') problems.push('window B got no message within 5 minutes');
        if (e.kind === 'error' && !/already|running|another|in progress/i.test(e.message))
          problems.push('window B’s refusal does not give the reason');
        if (e.kind !== 'ok') return { said: e.kind === 'error' ? e.message : 'no message', files: [] };
        if (statSync(e.value.path).size !== e.value.sizeBytes) problems.push(`B’s ${e.value.name} is not complete`);
        return { said: `wrote ${e.value.name}`, files: files(e.value) };
      },
    };
  },
});

/** backup-full × disk-full-data: the data disk filled at the backup’s line “backup start archive”. */
const fillers = new WeakMap<Stack, { dir: string; file?: string }>();
export const fullBackupDataDiskFull = fullCell({
  column: 'disk-full-data',
  injection:
    'the stack’s data folder (PG_DATA) is a tmpfs of 700 MB mounted before the stack starts; a pgBackRest full backup runs ' +
    'through Backups → pgBackRest full; at its line “backup start archive = …” (pg_backup_start done, the files being ' +
    'copied) another writer fills the data disk to 1 MB free (fallocate), so the server’s WAL switch and checkpoint at ' +
    'the backup’s end meet a full disk; the filler is removed once the backup answered (the user frees space), a full ' +
    'backup is taken again, and the after-check runs',
  injected: 'the data disk filled to 1 MB free at the backup’s line “backup start archive”',
  async stack(env) {
    const own = await dataDiskStack(env);
    const f: { dir: string; file?: string } = { dir: own.mount.dir };
    fillers.set(own.stack, f);
    return {
      stack: own.stack,
      stop: async () => {
        if (f.file) removeFiller(f.file);
        await own.stop();
      },
      fault: async () => (f.file = fillDisk(f.dir, 2 ** 20)),
    };
  },
  async recover(stack) {
    const f = fillers.get(stack);
    if (f?.file) removeFiller(f.file);
    if (f) f.file = undefined;
    // A server that stopped on the full disk is started again (the user's Restart); one that kept running is left alone.
    await stack.waitForPostgres(30_000).catch(() => restartDatabaseService(stack));
  },
  async extra(_stack, ended, problems) {
    if (ended.kind === 'error' && !/disk full|no space left|PostgreSQL stopped/i.test(ended.message))
      problems.push('the backup failed and the message does not say that the data disk is full');
    return undefined;
  },
});
