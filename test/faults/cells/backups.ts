/** Cells of the backup rows. */
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, statfsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterCheck, snapshot, writeChecksum } from '../check';
import type { ManualBackupResult } from '../../../src/core/backups/dump';
import { broken, result, settle, type CellDef, type Ended } from '../cell';
import { fileGrows, stackOnThrowaway } from '../engine';
import { killPostmaster, restartDatabaseService, stackWithMount, triggerAt, until } from '../inject';
import { faultOps } from '../ops';
import type { Outcome } from '../table';

const TMPFS_MB = 8;

/**
 * pg_dump × disk full on the backups volume, midway: manual_backup is a tmpfs of 8 MB; the dump of the
 * checksum table is about 3× that, so the tool starts, writes, and runs out of space part way through.
 */
type Kind = 'backup-dump' | 'backup-dumpall' | 'backup-basebackup';
const TOOL: Record<Kind, string> = {
  'backup-dump': 'pg_dump',
  'backup-dumpall': 'pg_dumpall',
  'backup-basebackup': 'pg_basebackup',
};

const diskFullCell = (row: Kind, ci: boolean): CellDef => ({
  row,
  column: 'disk-full-backups',
  ci,
  injection:
    `manual_backup (the backups volume's dump folder, bind-mounted into the container) is a tmpfs of ${TMPFS_MB} MB ` +
    'mounted before the stack starts; the database holds about 25 MB of hard-to-compress rows, so ' +
    `${TOOL[row]} starts (nothing refuses it) and the disk fills while it writes`,
  async run(env) {
    const t0 = Date.now();
    const injected = `tmpfs size=${TMPFS_MB}m at backups/manual_backup; filled by ${TOOL[row]} itself midway`;
    let own: Awaited<ReturnType<typeof stackWithMount>> | undefined;
    try {
      env.log(`${row} × disk-full-backups: a stack with a tmpfs backups folder`);
      own = await stackWithMount(join('backups', 'manual_backup'), TMPFS_MB);
      const { stack, mount } = own;
      const sum = await writeChecksum(stack, { rows: 60_000, padBytes: 384 });
      const before = await snapshot(stack);
      const ops = faultOps(stack);
      // The fault is the disk itself: it fires when the tool starts writing (its command line on the output).
      const trig = triggerAt(new RegExp(`^\\$ ${TOOL[row]} `), async () => undefined);
      // The tool's own lines: its "No space left on device" is the proof it ran out of room midway, even when the
      // 20 ms sampler below misses the moment (a fast tool fills 8 MB and the product removes the partial in less).
      const toolLines: string[] = [];
      const c = {
        onLine: (l: string) => {
          toolLines.push(l);
          trig.ctx.line(l);
        },
      };
      const op =
        row === 'backup-dump'
          ? ops.dump(stack.env.POSTGRES_DB!, c)
          : row === 'backup-dumpall'
            ? ops.dumpAll(c)
            : ops.baseBackup(c);
      // Midway, proven: the free space of the tmpfs, sampled while the tool runs, must reach (almost) zero.
      const free = () => {
        const f = statfsSync(mount.dir);
        return Number(f.bavail) * Number(f.bsize);
      };
      let leastFree = free();
      const sampler = setInterval(() => (leastFree = Math.min(leastFree, free())), 20);
      const ended = await settle(op, trig.fired).finally(() => clearInterval(sampler));
      const faultAt = await Promise.race([trig.fired, Promise.resolve(undefined)]);
      const problems: string[] = [];
      const toolSawFull = toolLines.some((l) => /No space left on device|ENOSPC/i.test(l));
      if (leastFree > 1 << 20 && !toolSawFull)
        problems.push(
          `not midway: the tool never filled the disk (${(leastFree / 2 ** 20).toFixed(1)} MB free at least)`,
        );
      let outcome: 'old state' | 'new state' | 'FAILED' = 'old state';
      let message = '';
      if (ended.kind === 'hung') {
        problems.push('no message within 5 minutes of the disk filling');
        outcome = 'FAILED';
      } else if (ended.kind === 'ok') {
        message = `wrote ${ended.value.name} (${ended.value.sizeBytes} bytes)`;
        outcome = 'new state';
        // Not the product's fault: the backup fit, the disk never filled. Its files go, so the after-check judges the rest.
        problems.push(
          `the backup fit in the ${TMPFS_MB} MB tmpfs (${ended.value.sizeBytes} bytes): the disk never filled, the cell needs more data`,
        );
        rmSync(ended.value.path, { recursive: true, force: true });
        rmSync(ended.value.sidecarPath, { force: true });
      } else {
        message = ended.message;
        if (!/disk full/i.test(message)) problems.push('the message does not say "disk full"');
        if (!/\d+(\.\d+)?\s*(bytes|B|kB|KB|MB|GB|KiB|MiB|GiB)\b.*free|free.*\d/i.test(message))
          problems.push('the message does not give the free space');
      }
      const inFolder = readdirSync(mount.dir);
      if (inFolder.length) problems.push(`in manual_backup after the failure: ${inFolder.join(', ')}`);
      const check = await afterCheck(stack, before, { expect: [sum] });
      return result({
        row,
        column: 'disk-full-backups',
        outcome,
        message,
        injected,
        check,
        faultAt,
        messageAt: ended.at,
        t0,
        problems,
        note:
          `the tool wrote ${((TMPFS_MB * 2 ** 20 - leastFree) / 2 ** 20).toFixed(1)} MB before the disk was full ` +
          `(least free seen: ${Math.round(leastFree / 1024)} kB${toolSawFull ? '; the tool said "No space left on device"' : ''})`,
      });
    } catch (e) {
      return broken(row, 'disk-full-backups', injected, t0, e);
    } finally {
      await own?.stop();
    }
  },
});

export const dumpDiskFull = diskFullCell('backup-dump', true);
export const dumpAllDiskFull = diskFullCell('backup-dumpall', true);
export const baseBackupDiskFull = diskFullCell('backup-basebackup', false);

/**
 * pg_dump × Docker engine restarted: the stack runs on the throwaway engine (engine.ts); once pg_dump's
 * `.partial` file has grown past 4 MB (the tool is writing), the engine restarts; then the user's Start.
 */
export const dumpEngineRestarted: CellDef = {
  row: 'backup-dump',
  column: 'engine-restarted',
  injection:
    'the stack runs on a throwaway Docker engine of its own (own data-root and socket, the test image loaded into it); the ' +
    'database holds about 100 MB of rows; once pg_dump’s `.partial` file in manual_backup has grown past 4 MB (the tool is ' +
    'writing), the engine is restarted (SIGTERM to dockerd, which stops its containers, then dockerd again, as ' +
    '`systemctl restart docker` does); then the stack is started again (the user’s Start) and the after-check runs',
  async run(env) {
    const t0 = Date.now();
    const injected = 'the engine restarted while pg_dump writes its .partial file';
    let own: Awaited<ReturnType<typeof stackOnThrowaway>> | undefined;
    try {
      own = await stackOnThrowaway(env.log);
      const { stack, engine } = own;
      const sum = await writeChecksum(stack, { rows: 200_000, padBytes: 512 });
      const before = await snapshot(stack);
      const folder = join(stack.infraDir, 'backups', 'manual_backup');
      const had = new Set(readdirSync(folder));
      let faultAt: number | undefined;
      const trig = triggerAt(/^\$ pg_dump /, async () => {
        const seen = await fileGrows(folder, /\.partial$/, 4 << 20);
        env.log(`  pg_dump is writing: ${seen}; restarting the engine`);
        faultAt = Date.now();
        await engine.restart(env.log);
      });
      const ended = await settle(
        faultOps(stack).dump(stack.env.POSTGRES_DB!, { onLine: (l) => trig.ctx.line(l) }),
        trig.fired.then(async () => {
          await until('the restart to begin', async () => faultAt !== undefined, 180_000);
          return faultAt!;
        }),
      );
      await trig.faultDone;
      await stack.compose(['up', '-d']);
      await stack.waitForPostgres(180_000);
      const problems: string[] = [];
      let outcome: Outcome = 'old state';
      let message = '';
      if (ended.kind === 'hung') {
        problems.push('no message within 5 minutes of the engine restart');
        outcome = 'FAILED';
      } else if (ended.kind === 'ok') {
        message = `wrote ${ended.value.name} (${ended.value.sizeBytes} bytes)`;
        outcome = 'new state';
        if (faultAt !== undefined && ended.at > faultAt)
          problems.push('pg_dump reported a backup although the engine restarted while it wrote');
      } else {
        message = ended.message;
        if (!/docker|engine|connect|socket|ECONNRESET|EPIPE|terminated|container/i.test(message))
          problems.push('the message does not say that the engine or the container went away');
      }
      const after = readdirSync(folder).filter((f) => !had.has(f));
      const expected = ended.kind === 'ok' ? [ended.value.name, basename(ended.value.sidecarPath)] : [];
      const stray = after.filter((f) => !expected.includes(f));
      if (stray.length) problems.push(`in manual_backup after the restart: ${stray.join(', ')}`);
      if (ended.kind === 'ok') {
        rmSync(ended.value.path, { recursive: true, force: true });
        rmSync(ended.value.sidecarPath, { force: true });
      }
      const check = await afterCheck(stack, before, { expect: [sum] });
      return result({
        row: 'backup-dump',
        column: 'engine-restarted',
        outcome,
        message,
        injected,
        check,
        faultAt,
        messageAt: ended.at,
        t0,
        problems,
      });
    } catch (e) {
      return broken('backup-dump', 'engine-restarted', injected, t0, e);
    } finally {
      await own?.stop();
    }
  },
};

/** Files in manual_backup that were not there before the cell (what a cell leaves, or the backups it made). */
const newFiles = (folder: string, had: ReadonlySet<string>) => readdirSync(folder).filter((f) => !had.has(f));

/** pg_dump × PostgreSQL killed: `kill -9` of the postmaster once the `.partial` file passes 2 MB. */
export const dumpKilled: CellDef = {
  row: 'backup-dump',
  column: 'postgres-killed',
  ci: true,
  injection:
    'a pg_dump of the stack’s database (200,000 rows with 512-byte pads) runs through Backups → pg_dump; once ' +
    'pg_stat_activity shows its COPY of the checksum table, `kill -9` of the postmaster; then the service is restarted ' +
    '(what the user does) and the after-check runs',
  async run(env) {
    const t0 = Date.now();
    const injected = 'kill -9 of the postmaster during pg_dump’s COPY';
    try {
      const stack = await env.sharedStack();
      const sum = await writeChecksum(stack, { rows: 200_000, padBytes: 512 });
      const before = await snapshot(stack);
      const folder = join(stack.infraDir, 'backups', 'manual_backup');
      const had = new Set(readdirSync(folder));
      let faultAt: number | undefined;
      // pg_dump's tar format spools each table's data to a temp file before the archive grows: the fault is
      // timed on the server instead, while pg_dump's COPY of the checksum table runs.
      const trig = triggerAt(/^\$ pg_dump /, async () => {
        await until('pg_dump’s COPY', async () => {
          const r = await stack.sql<{ n: string }>(
            "SELECT count(*)::text AS n FROM pg_stat_activity WHERE query LIKE 'COPY public.fault_checksum%' AND pid <> pg_backend_pid()",
          );
          return Number(r[0]!.n) > 0;
        });
        faultAt = Date.now();
        await killPostmaster(stack);
      });
      const ended = await settle(
        faultOps(stack).dump(stack.env.POSTGRES_DB!, { onLine: (l) => trig.ctx.line(l) }),
        trig.fired.then(async () => {
          await until('the kill', async () => faultAt !== undefined, 180_000);
          return faultAt!;
        }),
      );
      await trig.faultDone;
      await restartDatabaseService(stack);
      const problems: string[] = [];
      let outcome: Outcome = 'old state';
      let message = '';
      let note: string | undefined;
      if (ended.kind === 'hung') {
        problems.push('no message within 5 minutes of the kill');
        outcome = 'FAILED';
      } else if (ended.kind === 'ok') {
        // A backend does not notice its postmaster's death in the middle of a COPY: on a fast machine it can finish
        // the dump's reads, and pg_dump then ends well. That is a complete backup only if the file holds every row.
        message = `wrote ${ended.value.name} (${ended.value.sizeBytes} bytes)`;
        const inFile = dumpedRows(ended.value.path, sum.table);
        if (inFile.rows === sum.rows && inFile.sum === sum.sum) {
          outcome = 'new state';
          note = `the killed server's backend finished pg_dump's COPY before it noticed: the file holds all ${inFile.rows} rows, the same sum`;
        } else {
          problems.push(
            `pg_dump reported a backup although the server was killed while it wrote, and the file holds ` +
              `${inFile.rows} of ${sum.rows} rows${inFile.error ? ` (${inFile.error})` : ''}`,
          );
          outcome = 'FAILED';
        }
        rmSync(ended.value.path, { recursive: true, force: true });
        rmSync(ended.value.sidecarPath, { force: true });
      } else {
        message = ended.message;
        if (!/connection|server|terminat|closed/i.test(message))
          problems.push('the message does not say that the connection to the server was lost');
      }
      const stray = newFiles(folder, had).filter((f) => ended.kind !== 'ok' || f !== ended.value.name);
      if (stray.length) problems.push(`in manual_backup after the kill: ${stray.join(', ')}`);
      const check = await afterCheck(stack, before, { expect: [sum] });
      return result({
        row: 'backup-dump',
        column: 'postgres-killed',
        outcome,
        message,
        injected,
        check,
        faultAt,
        messageAt: ended.at,
        t0,
        problems,
        note,
      });
    } catch (e) {
      return broken('backup-dump', 'postgres-killed', injected, t0, e);
    }
  },
};

/** The rows of `table` in a pg_dump archive and their sum of v (host pg_restore reads the data back). */
function dumpedRows(file: string, table: string): { rows: number; sum: string; error?: string } {
  const r = spawnSync('pg_restore', ['-a', '-t', table, '-f', '-', file], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0)
    return { rows: 0, sum: '0', error: `pg_restore: ${(r.stderr || String(r.error)).trim().slice(0, 200)}` };
  let inCopy = false;
  let rows = 0;
  let total = 0n;
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('COPY ')) inCopy = true;
    else if (line === '\\.') inCopy = false;
    else if (inCopy && line) {
      rows++;
      total += BigInt(line.split('\t')[1] ?? '0');
    }
  }
  return { rows, sum: total.toString() };
}

/** pg_dump × second window: window B starts a pg_dump of the same database when window A's tool starts. */
export const dumpSecondWindow: CellDef = {
  row: 'backup-dump',
  column: 'second-window',
  ci: true,
  injection:
    'a pg_dump of the stack’s database runs through Backups → pg_dump in window A; at its command line (the tool ' +
    'starting) window B (a second stack context, as a second VS Code window has) starts a pg_dump of the same database, ' +
    'usually within the same second (the file name has the second): both must end with a complete backup of their own, ' +
    'or one be refused with the reason; never one file written by two tools',
  async run(env) {
    const t0 = Date.now();
    const injected = 'a second pg_dump started at window A’s command line';
    const made: string[] = [];
    let folder = '';
    try {
      const stack = await env.sharedStack();
      const sum = await writeChecksum(stack, { rows: 100_000, padBytes: 256 });
      const before = await snapshot(stack);
      folder = join(stack.infraDir, 'backups', 'manual_backup');
      const had = new Set(readdirSync(folder));
      let b: Promise<Ended<ManualBackupResult>> | undefined;
      const trig = triggerAt(/^\$ pg_dump /, async () => {
        b = settle(faultOps(stack).dump(stack.env.POSTGRES_DB!, {}), Promise.resolve(Date.now()));
        await b;
      });
      const endedA = await settle(
        faultOps(stack).dump(stack.env.POSTGRES_DB!, { onLine: (l) => trig.ctx.line(l) }),
        trig.fired,
      );
      const faultAt = await trig.fired;
      await trig.faultDone;
      const endedB = await b!;
      const problems: string[] = [];
      const said = (e: Ended<ManualBackupResult>) =>
        e.kind === 'ok' ? `wrote ${e.value.name}` : e.kind === 'error' ? e.message : 'no message';
      const message = `A: ${said(endedA)} — B: ${said(endedB)}`;
      for (const [w, e] of [
        ['A', endedA],
        ['B', endedB],
      ] as const) {
        if (e.kind === 'hung') problems.push(`window ${w} got no message within 5 minutes`);
        if (e.kind === 'ok') made.push(e.value.name, basename(e.value.sidecarPath));
      }
      const oks = [endedA, endedB].flatMap((e) => (e.kind === 'ok' ? [e.value] : []));
      if (oks.length === 2 && oks[0]!.name === oks[1]!.name)
        problems.push(`both windows say they wrote ${oks[0]!.name}: one file, two tools`);
      if (!oks.length) problems.push('neither window made a backup');
      // Each backup the windows reported must be a complete archive of the checksum rows: pg_restore lists its
      // table's data, and reads the whole archive (a file two tools wrote into fails there).
      for (const o of oks) {
        const file = `/var/lib/pgbackrest/manual_backup/${o.name}`;
        const l = await stack.exec('timescaledb', ['pg_restore', '-l', file], { reject: false });
        const r = await stack.exec('timescaledb', ['pg_restore', '-f', '/dev/null', file], { reject: false });
        if (r.exitCode !== 0 || !/TABLE DATA public fault_checksum/.test(l.stdout))
          problems.push(
            `${o.name} is not a complete dump: pg_restore exited ${r.exitCode} ${r.stderr.trim().slice(0, 200)}`,
          );
      }
      const stray = newFiles(folder, had).filter((f) => !made.includes(f));
      if (stray.length) problems.push(`in manual_backup after both: ${stray.join(', ')}`);
      const outcome: Outcome = oks.length ? 'new state' : 'FAILED';
      // The backups the windows made are the new state; removed here so the after-check judges the rest.
      for (const f of made.splice(0)) rmSync(join(folder, f), { recursive: true, force: true });
      const check = await afterCheck(stack, before, { expect: [sum] });
      return result({
        row: 'backup-dump',
        column: 'second-window',
        outcome,
        message,
        injected,
        check,
        faultAt,
        messageAt: endedB.at,
        t0,
        problems,
      });
    } catch (e) {
      return broken('backup-dump', 'second-window', injected, t0, e);
    } finally {
      for (const f of made) rmSync(join(folder, f), { recursive: true, force: true });
    }
  },
};
