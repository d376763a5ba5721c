/**
 * Files that live on the engine's machine (a remote Docker engine): the manual backups folder and
 * its sidecars are read through the database container, which mounts them. One `find` lists the
 * folder (type, size, mtime, relative path of every entry, so a pg_basebackup folder's size is the
 * sum of its files); one more exec reads every sidecar (a fixed script whose arguments are the paths),
 * so a folder of 1,000 backups costs two round trips over an SSH engine, not 1,001 concurrent channels.
 * Argv arrays only: a file name never reaches a shell's parser.
 */
import { posix } from 'node:path';
import type { ToolRuntime } from '../runtime';
import { classifyManualBackup, type ManualBackup } from './manual';
import { SIDECAR_SUFFIX, type BackupSidecar } from './sidecar';
import { OpsError } from '../errors/error';

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
    throw new OpsError(
      'tool-failed',
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

/** Separates the sidecars in the one exec's output (a control character no JSON text contains raw). */
const RECORD = '\x1etsdbops-sidecar ';
const UNREADABLE = '\x1etsdbops-unreadable';
/** For each path (its `$1`…): a record line, then the sidecar's text if the file exists. A constant script. */
const READ_SIDECARS =
  'for f do printf "\\036tsdbops-sidecar %s\\n" "$f"; ' +
  'if [ -e "$f" ]; then cat -- "$f" || printf "\\036tsdbops-unreadable\\n"; echo; fi; done';

/**
 * The sidecars of these backups (paths where the runtime runs), read in one exec per 500 paths: path →
 * its sidecar, undefined when it has none, or the Error that says why it could not be used.
 */
export async function readSidecarsVia(
  rt: ToolRuntime,
  backupPaths: readonly string[],
  signal?: AbortSignal,
): Promise<Map<string, BackupSidecar | Error | undefined>> {
  const out = new Map<string, BackupSidecar | Error | undefined>();
  for (let i = 0; i < backupPaths.length; i += 500) {
    const chunk = backupPaths.slice(i, i + 500);
    const files = chunk.map((p) => `${p}${SIDECAR_SUFFIX}`);
    const r = await rt.run(['sh', '-c', READ_SIDECARS, 'tsdbops', ...files], { signal });
    if (r.exitCode !== 0)
      throw new OpsError(
        'tool-failed',
        `Reading sidecars in ${rt.description} failed: ${r.stderrTail.slice(-1).join('')}`,
      );
    const texts = new Map<string, string[]>();
    let current: string[] | undefined;
    for (const l of r.stdoutLines) {
      if (l.startsWith(RECORD)) texts.set(l.slice(RECORD.length), (current = []));
      else current?.push(l);
    }
    chunk.forEach((path, k) => {
      const file = files[k]!;
      const lines = texts.get(file);
      const text = lines?.join('\n').trim() ?? '';
      if (!lines || text === '') return out.set(path, undefined);
      if (lines.includes(UNREADABLE))
        return out.set(path, new OpsError('backup-invalid', `${file} in ${rt.description} is not readable`));
      try {
        out.set(path, JSON.parse(text) as BackupSidecar);
      } catch (e) {
        out.set(
          path,
          new OpsError('backup-invalid', `${file} (in ${rt.description}) is not valid JSON: ${(e as Error).message}`),
        );
      }
    });
  }
  return out;
}
