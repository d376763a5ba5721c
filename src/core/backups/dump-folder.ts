/**
 * The manual backups folder as this machine and the runtime see it: whether a file the runtime writes
 * there shows up here (one probe per container), and renaming or removing what the runtime wrote.
 */
import { randomUUID } from 'node:crypto';
import { access, mkdir, rename, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { runChecked, type ToolRuntime } from '../runtime';

/** What these helpers need of a manual backup target (core/backups/dump.ts ManualBackupTarget). */
export interface FolderTarget {
  readonly runtime: ToolRuntime;
  readonly hostDir: string;
  readonly runtimeDir?: string;
  readonly env?: Record<string, string>;
}

export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Probe answers per runtime and folder pair: a container's mounts never change, so one probe per container. */
const sharedFolders = new Map<string, boolean>();

function runtimeKey(t: FolderTarget): string {
  const id = (t.runtime as { containerId?: unknown }).containerId;
  return `${t.runtime.kind}|${typeof id === 'string' ? id : t.runtime.description}|${t.runtimeDir ?? t.hostDir}|${t.hostDir}`;
}

/**
 * Whether a file the runtime writes into its backups folder shows up in `hostDir` on this machine:
 * the runtime creates an empty probe file, this machine looks for it, and it is removed again.
 */
export async function backupsFolderShared(t: FolderTarget, signal?: AbortSignal): Promise<boolean> {
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
export async function renameWritten(t: FolderTarget, hostFrom: string, hostTo: string, rtFrom: string, rtTo: string) {
  try {
    await rename(hostFrom, hostTo);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw e;
    await runChecked(t.runtime, ['mv', '-T', '--', rtFrom, rtTo], { env: t.env });
  }
}

/** Removes a file the runtime wrote: on this machine when it sees it (and may), else in the runtime. */
export async function removeWritten(t: FolderTarget, hostPath: string | undefined, rtPath: string): Promise<void> {
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
