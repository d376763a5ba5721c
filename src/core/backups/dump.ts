/**
 * Manual backups, named the way the infra guide names them, each with a metadata sidecar:
 *  - pg_dump of one database (`<db>_pg_dump_<YYYYmmdd_HHMMSS>.tar`, or `.dump` for the custom format);
 *  - pg_dumpall of the cluster (`all_dbs_pg_dumpall_<stamp>.sql`);
 *  - pg_basebackup of the cluster (`pg_basebackup_<stamp>/` with base.tar.gz and pg_wal.tar.gz).
 *
 * pg_dump and pg_dumpall write to stdout, which streams straight into `<name>.partial` on this
 * machine (so it works with a remote engine too, and memory stays flat); the file is renamed when the
 * tool exits 0 and removed on failure or cancel. pg_basebackup writes a folder of several files, so
 * it writes where the tool runs, into `<name>.partial/` in the backups folder (the container sees
 * it at /var/lib/pgbackrest/manual_backup, mounted from the host); that folder is renamed (`mv`) when
 * it succeeds and removed (`rm -rf`, in the same runtime) when it fails or is cancelled.
 *
 * Credentials: in the container, the local socket (trust) with `-U <POSTGRES_USER>`; on this machine
 * PGPASSWORD goes in the tool's environment. Never in argv.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { once } from 'node:events';
import { runChecked, ToolCancelledError, ToolFailedError, type ToolRuntime } from '../runtime';
import { writeSidecar, type BackupSidecar } from './sidecar';

export interface ManualBackupTarget {
  runtime: ToolRuntime;
  /** manual_backup on this machine (where pg_dump output is written and where the view looks). */
  hostDir: string;
  /** The same folder as the runtime sees it (container: /var/lib/pgbackrest/manual_backup); default hostDir. */
  runtimeDir?: string;
  /** `-U` (POSTGRES_USER). */
  user: string;
  /** Connection options besides -U (host runtime: `-h <socket dir> -p <port>`). */
  connArgs?: string[];
  /** libpq environment for the tools (PGPASSWORD on the host). Never argv. */
  env?: Record<string, string>;
  /** The database to connect to for version queries and pg_dumpall/pg_basebackup (POSTGRES_DB). */
  maintenanceDb: string;
}

export interface ManualBackupResult {
  kind: BackupSidecar['kind'];
  /** Absolute path on this machine. */
  path: string;
  name: string;
  sizeBytes: number;
  sidecarPath: string;
  meta: BackupSidecar;
}

export interface BackupRunContext {
  signal?: AbortSignal;
  /** Tool output and the command run, line by line. */
  onLine?: (line: string) => void;
  /** Clock (tests). */
  now?: Date;
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
    throw new Error(`Database name "${db}" cannot be used in a backup file name (letters, digits, _ $ - only).`);
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
  if (!pg) throw new Error(`Could not read the server version of ${database} (${t.runtime.description}).`);
  return { pgVersion: pg.trim(), timescaledbVersion: ts?.trim() || undefined };
}

/** Runs a tool whose stdout is the backup, streaming into `<path>.partial`; renamed on exit 0, removed otherwise. */
async function streamToFile(t: ManualBackupTarget, argv: string[], path: string, ctx: BackupRunContext): Promise<void> {
  const partial = `${path}.partial`;
  await mkdir(t.hostDir, { recursive: true });
  const out = createWriteStream(partial, { flags: 'wx' });
  await once(out, 'open');
  let ok = false;
  try {
    ctx.onLine?.(`$ ${argv.join(' ')}`);
    const r = await t.runtime.run(argv, { env: t.env, stdout: out, onStderrLine: ctx.onLine, signal: ctx.signal });
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
    if (ctx.signal?.aborted) throw new ToolCancelledError(argv);
    if (r.exitCode !== 0) throw new ToolFailedError(argv, r.exitCode, r.stderrTail, t.runtime.description);
    await rename(partial, path);
    ok = true;
  } finally {
    if (!ok) {
      out.destroy();
      await rm(partial, { force: true });
    }
  }
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
  const versions = await serverVersions(t, opts.database, ctx.signal);
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
  await streamToFile(t, argv, path, ctx);
  return finish(t, 'dump', path, argv, versions, created, { database: opts.database, format });
}

/** pg_dumpall of every database, roles and tablespaces, as SQL (restored with psql). */
export async function createDumpAll(t: ManualBackupTarget, ctx: BackupRunContext = {}): Promise<ManualBackupResult> {
  const created = ctx.now ?? new Date();
  const path = join(t.hostDir, dumpAllFileName(created));
  const versions = await serverVersions(t, t.maintenanceDb, ctx.signal);
  const argv = ['pg_dumpall', ...(t.connArgs ?? []), '-U', t.user, '-l', t.maintenanceDb];
  await streamToFile(t, argv, path, ctx);
  return finish(t, 'dumpAll', path, argv, versions, created, {});
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
  ctx.onLine?.(`$ ${run.join(' ')}`);
  let ok = false;
  try {
    const r = await t.runtime.run(run, {
      env: t.env,
      onStdoutLine: ctx.onLine,
      onStderrLine: ctx.onLine,
      signal: ctx.signal,
    });
    if (ctx.signal?.aborted) throw new ToolCancelledError(run);
    if (r.exitCode !== 0) throw new ToolFailedError(run, r.exitCode, r.stderrTail, t.runtime.description);
    await runChecked(t.runtime, ['mv', '-T', partial, target], { env: t.env });
    ok = true;
  } finally {
    if (!ok) await t.runtime.run(['rm', '-rf', '--', partial]).catch(() => undefined);
  }
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
