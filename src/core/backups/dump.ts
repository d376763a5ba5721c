/**
 * Manual backups, named the way the infra guide names them, each with a metadata sidecar:
 *  - pg_dump of one database (`<db>_pg_dump_<YYYYmmdd_HHMMSS>.tar`, or `.dump` for the custom format);
 *  - pg_dumpall of the cluster (`all_dbs_pg_dumpall_<stamp>.sql`);
 *  - pg_basebackup of the cluster (`pg_basebackup_<stamp>/` with base.tar.gz and pg_wal.tar.gz).
 *
 * pg_dump and pg_dumpall write `<name>.partial`, renamed when the tool exits 0 and removed on failure
 * or cancel. Where (`tsdbOps.backups.dumpTo`):
 *  - `engine`: the tool writes the file itself (`-f`) where it runs, into the backups folder as the
 *    runtime sees it (the container: /var/lib/pgbackrest/manual_backup, mounted from the host): the
 *    guide's own command, at the tool's speed;
 *  - `here`: the tool writes to stdout, which streams into the file on this machine (a remote engine,
 *    or a folder the container does not share with this machine); memory stays flat;
 *  - `auto` (default): `engine` when this machine's backups folder is the one the runtime writes to
 *    (a probe file written there by the runtime shows up here; checked once per container), else `here`.
 * pg_basebackup writes a folder of several files, so it always writes where the tool runs, into
 * `<name>.partial/`; that folder is renamed (`mv`) when it succeeds and removed (`rm -rf`, in the
 * same runtime) when it fails or is cancelled.
 *
 * Credentials: in the container, the local socket (trust) with `-U <POSTGRES_USER>`; on this machine
 * PGPASSWORD goes in the tool's environment. Never in argv.
 */
import { rm, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { runChecked } from '../runtime';
import { writeSidecar, type BackupSidecar } from './sidecar';
import { dumpAllSections } from './restore/logical';
import { diskFullOr } from './dump-disk';
import { claimPartial, sweepAbandonedPartials } from './dump-owner';
import { dumpToFile, runWritingPartial, type BackupRunContext, type ManualBackupTarget } from './dump-write';
import { OpsError } from '../errors/error';

/** Where pg_dump and pg_dumpall write: see the top of this file. */
export { DUMP_TO, type DumpTo } from '../stack/dump-to';
export { backupsFolderShared, type BackupRunContext, type ManualBackupTarget } from './dump-write';

export interface ManualBackupResult {
  kind: BackupSidecar['kind'];
  /** Absolute path on this machine. */
  path: string;
  name: string;
  sizeBytes: number;
  sidecarPath: string;
  meta: BackupSidecar;
  /** pg_dump/pg_dumpall: `engine` when the tool wrote the file where it runs, `here` when it streamed to this machine. */
  wroteIn?: 'engine' | 'here';
  /** How this backup will be restored, when that needs saying (a pg_dumpall with TimescaleDB databases). */
  restoreNote?: string;
}

/** `20261124_201500` (UTC, like `date +%Y%m%d_%H%M%S` in the UTC container). */
export function backupStamp(at: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${at.getUTCFullYear()}${p(at.getUTCMonth() + 1)}${p(at.getUTCDate())}_${p(at.getUTCHours())}${p(at.getUTCMinutes())}${p(at.getUTCSeconds())}`;
}

export function dumpFileName(database: string, format: 'tar' | 'custom', at: Date): string {
  return `${database}_pg_dump_${backupStamp(at)}.${format === 'tar' ? 'tar' : 'dump'}`;
}
export function dumpAllFileName(at: Date): string {
  return `all_dbs_pg_dumpall_${backupStamp(at)}.sql`;
}
export function baseBackupDirName(at: Date): string {
  return `pg_basebackup_${backupStamp(at)}`;
}

function checkDatabaseName(db: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_$-]*$/.test(db)) {
    throw new OpsError(
      'config',
      `Database name "${db}" cannot be used in a backup file name (letters, digits, _ $ - only).`,
    );
  }
}

/** One query through psql (unaligned, tuples only, stops on the first error): its output lines. */
async function psqlRows(t: ManualBackupTarget, database: string, sql: string, signal?: AbortSignal): Promise<string[]> {
  const argv = ['psql', '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', ...(t.connArgs ?? []), '-U', t.user, '-d', database];
  const r = await runChecked(t.runtime, [...argv, '-c', sql], { env: t.env, signal });
  return r.stdoutLines;
}

/** server_version and the timescaledb extension version of `database`. */
export async function serverVersions(
  t: ManualBackupTarget,
  database: string,
  signal?: AbortSignal,
): Promise<{ pgVersion: string; timescaledbVersion?: string }> {
  const rows = await psqlRows(
    t,
    database,
    "SELECT current_setting('server_version') || '|' || coalesce((SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'), '')",
    signal,
  );
  const line = rows.find((l) => l.includes('|')) ?? '';
  const [pg, ts] = line.split('|');
  if (!pg)
    throw new OpsError('tool-failed', `Could not read the server version of ${database} (${t.runtime.description}).`);
  return { pgVersion: pg.trim(), timescaledbVersion: ts?.trim() || undefined };
}

async function finish(
  t: ManualBackupTarget,
  kind: BackupSidecar['kind'],
  path: string,
  argv: string[],
  versions: { pgVersion: string; timescaledbVersion?: string },
  created: Date,
  extra: Partial<BackupSidecar>,
): Promise<ManualBackupResult> {
  const sizeBytes = await sizeOf(path);
  const meta: BackupSidecar = {
    kind,
    ...versions,
    ...extra,
    created: created.toISOString(),
    sizeBytes,
    command: argv,
    ranIn: t.runtime.description,
  };
  const sidecarPath = await writeSidecar(path, meta);
  return { kind, path, name: posix.basename(path), sizeBytes, sidecarPath, meta };
}

async function sizeOf(path: string): Promise<number> {
  const s = await stat(path);
  if (!s.isDirectory()) return s.size;
  const { readdir } = await import('node:fs/promises');
  let total = 0;
  for (const e of await readdir(path)) total += await sizeOf(join(path, e)).catch(() => 0);
  return total;
}

/** pg_dump of one database (tar by default, like the guide; `custom` for pg_restore -Fc). */
export async function createDump(
  t: ManualBackupTarget,
  opts: { database: string; format?: 'tar' | 'custom' },
  ctx: BackupRunContext = {},
): Promise<ManualBackupResult> {
  checkDatabaseName(opts.database);
  const format = opts.format ?? 'tar';
  const created = ctx.now ?? new Date();
  const path = join(t.hostDir, dumpFileName(opts.database, format, created));
  // The version query (for the sidecar) runs alongside the dump; the file is kept only when both succeed.
  const versionsP = serverVersions(t, opts.database, ctx.signal);
  versionsP.catch(() => undefined);
  const argv = [
    'pg_dump',
    ...(t.connArgs ?? []),
    '-U',
    t.user,
    '-F',
    format === 'tar' ? 't' : 'c',
    '-d',
    opts.database,
  ];
  const { command, wroteIn } = await dumpToFile(t, argv, path, ctx, versionsP, `pg_dump of ${opts.database}`);
  const versions = await versionsP;
  return {
    ...(await finish(t, 'dump', path, command, versions, created, { database: opts.database, format })),
    wroteIn,
  };
}

/** pg_dumpall of every database, roles and tablespaces, as SQL (restored with psql). */
export async function createDumpAll(t: ManualBackupTarget, ctx: BackupRunContext = {}): Promise<ManualBackupResult> {
  const created = ctx.now ?? new Date();
  const path = join(t.hostDir, dumpAllFileName(created));
  const versionsP = serverVersions(t, t.maintenanceDb, ctx.signal);
  versionsP.catch(() => undefined);
  const argv = ['pg_dumpall', ...(t.connArgs ?? []), '-U', t.user, '-l', t.maintenanceDb];
  const { command, wroteIn } = await dumpToFile(t, argv, path, ctx, versionsP, 'pg_dumpall');
  const versions = await versionsP;
  const result = { ...(await finish(t, 'dumpAll', path, command, versions, created, {})), wroteIn };
  const ts = await timescaleSectionsOf(path);
  if (!ts.length) return result;
  const restoreNote =
    `TimescaleDB databases in this pg_dumpall: ${ts.join(', ')}. Restoring it runs each of them between ` +
    `timescaledb_pre_restore() and timescaledb_post_restore(), one database at a time, and needs the same TimescaleDB ` +
    `version on the target. TimescaleDB recommends one database at a time: a pg_dump of each database restores them ` +
    `singly (with the same procedure).`;
  ctx.onLine?.(restoreNote);
  return { ...result, restoreNote };
}

/** The databases of a pg_dumpall script (a file on this machine) that create the timescaledb extension. */
async function timescaleSectionsOf(path: string): Promise<string[]> {
  const { createInterface } = await import('node:readline');
  const { createReadStream } = await import('node:fs');
  const wanted: string[] = [];
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const l of rl) if (l.startsWith('\\connect ') || l.startsWith('CREATE EXTENSION ')) wanted.push(l);
  return dumpAllSections(wanted)
    .filter((x) => x.extensions.includes('timescaledb'))
    .map((x) => x.database);
}

/**
 * Removes a failed pg_basebackup's `.partial` folder where it was written; when the runtime cannot (the engine
 * restarted or went away meanwhile), on this machine when the folder shows here (the mounted backups folder).
 */
async function removePartialFolder(t: ManualBackupTarget, rtPartial: string, hostPartial: string): Promise<void> {
  const r = await t.runtime.run(['rm', '-rf', '--', rtPartial]).catch(() => undefined);
  if (r?.exitCode === 0) return;
  await rm(hostPartial, { recursive: true, force: true }).catch(() => undefined);
}

/** pg_basebackup of the cluster: tar format, gzip, WAL streamed (`-Ft -z -X stream`), as the guide does. */
export async function createBaseBackup(t: ManualBackupTarget, ctx: BackupRunContext = {}): Promise<ManualBackupResult> {
  const created = ctx.now ?? new Date();
  const name = baseBackupDirName(created);
  const runtimeDir = t.runtimeDir ?? t.hostDir;
  const target = posix.join(runtimeDir, name);
  const partial = `${target}.partial`;
  const versions = await serverVersions(t, t.maintenanceDb, ctx.signal);
  const argv = [
    'pg_basebackup',
    ...(t.connArgs ?? []),
    '-U',
    t.user,
    '-D',
    target,
    '-F',
    't',
    '-z',
    '-X',
    'stream',
    '-c',
    'fast',
    '-v',
  ];
  const run = [...argv.slice(0, argv.indexOf('-D') + 1), partial, ...argv.slice(argv.indexOf('-D') + 2)];
  await runChecked(t.runtime, ['mkdir', '-p', runtimeDir], { signal: ctx.signal });
  await sweepAbandonedPartials(t, (l) => ctx.onLine?.(l));
  // The `.partial` folder is claimed first (mkdir fails when it exists): a second window starting in the same second
  // is refused instead of writing into (and, failing, removing) the first one's folder.
  const claim = await t.runtime.run(['mkdir', '-m', '0700', '--', partial], { signal: ctx.signal });
  if (claim.exitCode !== 0)
    throw new OpsError(
      'busy',
      `Another pg_basebackup is writing ${partial} (${t.runtime.description}; started in the same second, in another ` +
        `window?): nothing was written. Wait for it to finish, then back up again.`,
    );
  // Then its owner (dump-owner.ts): a window that dies leaves a partial the next load sweeps once its process is gone.
  const release = await claimPartial(t.hostDir, name);
  await runWritingPartial(
    t,
    run,
    ctx,
    async () => void (await runChecked(t.runtime, ['mv', '-T', partial, target], { env: t.env })),
    () => removePartialFolder(t, partial, join(t.hostDir, `${name}.partial`)),
  )
    .finally(release)
    .catch(async (e: unknown) => {
      throw await diskFullOr(e, 'pg_basebackup', {
        runtime: t.runtime,
        dir: runtimeDir,
        description: t.runtime.description,
      });
    });
  return finish(t, 'baseBackup', join(t.hostDir, name), argv, versions, created, {});
}

/** The databases a pg_dump can take (not templates). */
export async function listDatabases(t: ManualBackupTarget, signal?: AbortSignal): Promise<string[]> {
  const rows = await psqlRows(
    t,
    t.maintenanceDb,
    'SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1',
    signal,
  );
  return rows.map((l) => l.trim()).filter(Boolean);
}
