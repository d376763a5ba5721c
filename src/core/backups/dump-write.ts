/**
 * How pg_dump and pg_dumpall write their file (see the top of dump.ts): into `<name>.partial`, renamed when the
 * tool exits 0 and removed on failure or cancel, either by the tool itself where it runs (`engine`) or streamed
 * to this machine (`here`), by the `tsdbOps.backups.dumpTo` rule.
 */
import { diskFullOr } from './dump-disk';
import { claimPartial, sweepAbandonedPartials } from './dump-owner';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, mkdir, rename, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { once } from 'node:events';
import { runChecked, toolCancelled, ToolFailedError, type ToolRuntime } from '../runtime';
import { DUMP_TO, type DumpTo } from '../stack/dump-to';
import { OpsError } from '../errors/error';

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
  /** `tsdbOps.backups.dumpTo`: where pg_dump/pg_dumpall write their file (default `auto`). */
  dumpTo?: DumpTo;
}

export interface BackupRunContext {
  signal?: AbortSignal;
  /** Tool output and the command run, line by line. */
  onLine?: (line: string) => void;
  /** Clock (tests). */
  now?: Date;
}

/** Runs a tool whose stdout is the backup, streaming into `<path>.partial`; renamed on exit 0, removed otherwise. */
async function streamToFile(
  t: ManualBackupTarget,
  argv: string[],
  path: string,
  ctx: BackupRunContext,
  gate: Promise<unknown>,
): Promise<void> {
  const partial = `${path}.partial`;
  await mkdir(t.hostDir, { recursive: true });
  // Large writes: fewer pauses of the exec stream (backpressure still holds memory at about 1 MiB).
  const release = await claimPartial(t.hostDir, posix.basename(path));
  const out = createWriteStream(partial, { flags: 'wx', highWaterMark: 1 << 20 });
  await once(out, 'open').catch(async (e: unknown) => {
    await release();
    throw e;
  });
  let ok = false;
  try {
    ctx.onLine?.(`$ ${argv.join(' ')}`);
    const r = await t.runtime.run(argv, { env: t.env, stdout: out, onStderrLine: ctx.onLine, signal: ctx.signal });
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
    if (ctx.signal?.aborted) throw toolCancelled(argv);
    if (r.exitCode !== 0) throw new ToolFailedError(argv, r.exitCode, r.stderrTail, t.runtime.description);
    await gate;
    await rename(partial, path);
    ok = true;
  } finally {
    if (!ok) {
      // A write still in flight from the ended tool fails once the file is destroyed: expected, not an error.
      out.on('error', () => undefined);
      out.destroy();
      await rm(partial, { force: true });
    }
    await release();
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Probe answers per runtime and folder pair: a container's mounts never change, so one probe per container. */
const sharedFolders = new Map<string, boolean>();

function runtimeKey(t: ManualBackupTarget): string {
  const id = (t.runtime as { containerId?: unknown }).containerId;
  return `${t.runtime.kind}|${typeof id === 'string' ? id : t.runtime.description}|${t.runtimeDir ?? t.hostDir}|${t.hostDir}`;
}

/**
 * Whether a file the runtime writes into its backups folder shows up in `hostDir` on this machine:
 * the runtime creates an empty probe file, this machine looks for it, and it is removed again.
 */
export async function backupsFolderShared(t: ManualBackupTarget, signal?: AbortSignal): Promise<boolean> {
  const key = runtimeKey(t);
  const known = sharedFolders.get(key);
  if (known !== undefined) return known;
  const runtimeDir = t.runtimeDir ?? t.hostDir;
  const name = `.tsdbops-probe-${randomUUID()}`;
  await mkdir(t.hostDir, { recursive: true }).catch(() => undefined);
  // A fixed script; the folder and the name are arguments.
  const r = await t.runtime.run(['sh', '-c', 'mkdir -p -- "$0" && : > "$0/$1"', runtimeDir, name], { signal });
  let shared = false;
  if (r.exitCode === 0) {
    const probe = join(t.hostDir, name);
    shared = await exists(probe);
    await removeWritten(t, shared ? probe : undefined, posix.join(runtimeDir, name));
  }
  sharedFolders.set(key, shared);
  return shared;
}

/** Renames on this machine; where this machine may not (the folder belongs to the container's user), `mv` in the runtime. */
async function renameWritten(t: ManualBackupTarget, hostFrom: string, hostTo: string, rtFrom: string, rtTo: string) {
  try {
    await rename(hostFrom, hostTo);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw e;
    await runChecked(t.runtime, ['mv', '-T', '--', rtFrom, rtTo], { env: t.env });
  }
}

/** Removes a file the runtime wrote: on this machine when it sees it (and may), else in the runtime. */
async function removeWritten(t: ManualBackupTarget, hostPath: string | undefined, rtPath: string): Promise<void> {
  if (hostPath && (await exists(hostPath))) {
    try {
      await rm(hostPath, { force: true });
      return;
    } catch {
      // Not allowed here: remove it where it was written.
    }
  }
  await t.runtime.run(['rm', '-f', '--', rtPath]).catch(() => undefined);
}

/**
 * Runs a tool that writes the backup itself (`-f <name>.partial`) in the runtime's backups folder; the
 * file is renamed on exit 0 and removed on failure or cancel (after the tool has been ended).
 */
async function writeInRuntime(
  t: ManualBackupTarget,
  argv: string[],
  path: string,
  verified: boolean,
  ctx: BackupRunContext,
  gate: Promise<unknown>,
): Promise<string[]> {
  const name = posix.basename(path);
  const runtimeDir = t.runtimeDir ?? t.hostDir;
  const rtFinal = posix.join(runtimeDir, name);
  const rtPartial = `${rtFinal}.partial`;
  const hostPartial = `${path}.partial`;
  const run = [...argv, '-f', rtPartial];
  // The folder may have been deleted since the probe: create it where the tool runs (as the tool's user).
  if (!verified || !(await exists(t.hostDir)))
    await runChecked(t.runtime, ['mkdir', '-p', '--', runtimeDir], { signal: ctx.signal });
  const release = await claimPartial(t.hostDir, name);
  await runWritingPartial(
    t,
    run,
    ctx,
    async () => {
      await gate;
      if (!(await exists(hostPartial))) {
        await runChecked(t.runtime, ['mv', '-T', '--', rtPartial, rtFinal], { env: t.env });
        throw new OpsError(
          'config',
          `${argv[0]} wrote ${rtFinal} in ${t.runtime.description}, but ${t.hostDir} on this machine does not show it: ` +
            `that is not the folder mounted there. Copy the file out, and set tsdbOps.backups.dumpTo to "auto" or "here".`,
        );
      }
      await renameWritten(t, hostPartial, path, rtPartial, rtFinal);
    },
    () => removeWritten(t, hostPartial, rtPartial),
  ).finally(release);
  return [...argv, '-f', rtFinal];
}

/**
 * Runs a tool that writes its output under a `.partial` name where it runs: `commit` (the rename) runs
 * once it exited 0; on failure, cancel (after the tool has been ended) or a failed commit, `discard`
 * removes what it wrote. No partial file survives either way.
 */
export async function runWritingPartial(
  t: ManualBackupTarget,
  run: string[],
  ctx: BackupRunContext,
  commit: () => Promise<void>,
  discard: () => Promise<unknown>,
): Promise<void> {
  ctx.onLine?.(`$ ${run.join(' ')}`);
  let ok = false;
  try {
    const r = await t.runtime.run(run, {
      env: t.env,
      onStdoutLine: ctx.onLine,
      onStderrLine: ctx.onLine,
      signal: ctx.signal,
    });
    if (ctx.signal?.aborted) throw toolCancelled(run);
    if (r.exitCode !== 0) throw new ToolFailedError(run, r.exitCode, r.stderrTail, t.runtime.description);
    await commit();
    ok = true;
  } finally {
    if (!ok) await discard();
  }
}

/**
 * Runs pg_dump/pg_dumpall into `path` on this machine by the `dumpTo` rule; says on the output which
 * way it took. The file is renamed only once `gate` (the version query, run alongside) resolved.
 * Returns the command to record in the sidecar, and the way.
 */
export async function dumpToFile(
  t: ManualBackupTarget,
  argv: string[],
  path: string,
  ctx: BackupRunContext,
  gate: Promise<unknown>,
  what: string,
): Promise<{ command: string[]; wroteIn: 'engine' | 'here' }> {
  const mode = t.dumpTo ?? 'auto';
  if (!DUMP_TO.includes(mode))
    throw new OpsError('config', `tsdbOps.backups.dumpTo must be "auto", "engine" or "here", not "${String(mode)}".`);
  const runtimeDir = t.runtimeDir ?? t.hostDir;
  const where = t.runtime.kind === 'container' ? t.runtime.description : 'this machine';
  // A backup whose window died left its partial file: gone before the next one starts (dump-owner.ts).
  await sweepAbandonedPartials(t, (l) => ctx.onLine?.(l));
  let engine = mode === 'engine';
  let why = mode === 'auto' ? '' : ` (tsdbOps.backups.dumpTo = ${mode})`;
  if (mode === 'auto') {
    engine = await backupsFolderShared(t, ctx.signal);
    why = engine
      ? ` (${t.hostDir} on this machine is ${runtimeDir} there)`
      : ` (${runtimeDir} in ${where} is not ${t.hostDir} on this machine)`;
  }
  if (engine) {
    ctx.onLine?.(`${argv[0]} writes the file itself in ${where}, into ${runtimeDir}${why}.`);
    const command = await writeInRuntime(t, argv, path, mode === 'auto', ctx, gate).catch(async (e: unknown) => {
      throw await diskFullOr(e, what, { runtime: t.runtime, dir: runtimeDir, description: where });
    });
    return { command, wroteIn: 'engine' };
  }
  ctx.onLine?.(`${argv[0]}'s output streams from ${where} to ${path} on this machine${why}.`);
  await streamToFile(t, argv, path, ctx, gate).catch(async (e: unknown) => {
    throw await diskFullOr(e, what, { dir: t.hostDir, description: 'this machine' });
  });
  return { command: argv, wroteIn: 'here' };
}
