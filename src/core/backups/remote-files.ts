/**
 * Files that live on the engine's machine (a remote Docker engine): the manual backups folder and
 * its sidecars are read through the database container, which mounts them. One `find` lists the
 * folder (type, size, mtime, relative path of every entry, so a pg_basebackup folder's size is the
 * sum of its files); one `cat` per sidecar reads the metadata. Argv arrays only: a file name never
 * reaches a shell.
 */
import { posix } from 'node:path';
import type { ToolRuntime } from '../runtime';
import { classifyManualBackup, type ManualBackup } from './manual';
import { SIDECAR_SUFFIX, type BackupSidecar } from './sidecar';

interface FoundEntry {
  readonly type: string;
  readonly size: number;
  readonly mtime: Date;
  readonly rel: string;
}

function parseFind(lines: readonly string[]): FoundEntry[] {
  const out: FoundEntry[] = [];
  for (const l of lines) {
    const [type, size, mtime, ...rest] = l.split('\t');
    const rel = rest.join('\t');
    if (!type || !rel) continue;
    out.push({ type, size: Number(size) || 0, mtime: new Date(Number(mtime) * 1000), rel });
  }
  return out;
}

/** Lists `dir` where the runtime runs (newest first), like listManualBackups does on this machine. */
export async function listManualBackupsVia(
  rt: ToolRuntime,
  dir: string,
  signal?: AbortSignal,
): Promise<ManualBackup[]> {
  const r = await rt.run(['find', dir, '-mindepth', '1', '-printf', '%y\\t%s\\t%T@\\t%P\\n'], { signal });
  if (r.exitCode !== 0) {
    if (r.stderrTail.some((l) => /No such file or directory/.test(l))) return [];
    throw new Error(
      `Listing ${dir} in ${rt.description} failed (exit ${r.exitCode}): ${r.stderrTail.slice(-2).join(' ')}`,
    );
  }
  const entries = parseFind(r.stdoutLines);
  const out: ManualBackup[] = [];
  for (const e of entries) {
    if (e.rel.includes('/') || e.rel.startsWith('.') || e.rel.endsWith(SIDECAR_SUFFIX)) continue;
    const isDirectory = e.type === 'd';
    const size = isDirectory
      ? entries.filter((x) => x.type === 'f' && x.rel.startsWith(`${e.rel}/`)).reduce((n, x) => n + x.size, 0)
      : e.size;
    out.push({
      ...classifyManualBackup(e.rel, isDirectory),
      name: e.rel,
      path: posix.join(dir, e.rel),
      isDirectory,
      size,
      modified: e.mtime,
    });
  }
  return out.sort((a, b) => b.modified.getTime() - a.modified.getTime());
}

/** A backup's sidecar read where the runtime runs; undefined when there is none. */
export async function readSidecarVia(
  rt: ToolRuntime,
  backupPath: string,
  signal?: AbortSignal,
): Promise<BackupSidecar | undefined> {
  const file = `${backupPath}${SIDECAR_SUFFIX}`;
  const r = await rt.run(['cat', '--', file], { signal });
  if (r.exitCode !== 0) {
    if (r.stderrTail.some((l) => /No such file or directory/.test(l))) return undefined;
    throw new Error(`Reading ${file} in ${rt.description} failed: ${r.stderrTail.slice(-1).join('')}`);
  }
  try {
    return JSON.parse(r.stdoutLines.join('\n')) as BackupSidecar;
  } catch (e) {
    throw new Error(`${file} (in ${rt.description}) is not valid JSON: ${(e as Error).message}`);
  }
}
