/**
 * The data folders a physical restore moved aside (`<PGDATA>.pre-restore-<YYYYmmdd_HHMMSS>` next
 * to PGDATA). They are the way back after a restore, kept until the user deletes them.
 */
import { posix } from 'node:path';
import type { ToolRuntime } from '../../runtime';

export const PRE_RESTORE_INFIX = '.pre-restore-';

export interface PreRestoreCopy {
  /** Absolute path where the tools run (in the container for a container runtime). */
  readonly path: string;
  readonly name: string;
  /** From the name's timestamp (UTC). */
  readonly created?: Date;
  readonly sizeBytes?: number;
}

/** `data.pre-restore-20261124_203000` → 2026-11-24T20:30:00Z. */
export function preRestoreTimestamp(name: string): Date | undefined {
  const m = /\.pre-restore-(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})$/.exec(name);
  if (!m) return undefined;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

export function preRestoreName(dataDir: string, at: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${at.getUTCFullYear()}${p(at.getUTCMonth() + 1)}${p(at.getUTCDate())}_${p(at.getUTCHours())}${p(at.getUTCMinutes())}${p(at.getUTCSeconds())}`;
  return `${dataDir.replace(/\/+$/, '')}${PRE_RESTORE_INFIX}${stamp}`;
}

/**
 * The folder a physical restore writes into, beside PGDATA (`<PGDATA>.restoring-<stamp>`, the stamp of its pre-restore
 * copy): PGDATA keeps the old data until the restore tool completed, so a container that restarts meanwhile starts
 * the old data instead of initdb'ing a half-restored folder.
 */
export function stagingName(aside: string): string {
  return aside.replace(PRE_RESTORE_INFIX, '.restoring-');
}

/** Lists the moved-aside copies next to `dataDir`, with their size (du, in the runtime). */
export async function listPreRestoreCopies(
  rt: ToolRuntime,
  dataDir: string,
  signal?: AbortSignal,
): Promise<PreRestoreCopy[]> {
  const parent = posix.dirname(dataDir);
  const base = posix.basename(dataDir);
  const r = await rt.run(
    ['find', parent, '-mindepth', '1', '-maxdepth', '1', '-type', 'd', '-name', `${base}${PRE_RESTORE_INFIX}*`],
    { signal },
  );
  const paths = r.exitCode === 0 ? r.stdoutLines.filter(Boolean).sort() : [];
  if (!paths.length) return [];
  const du = await rt.run(['du', '-s', '-k', ...paths], { signal });
  const sizes = new Map<string, number>();
  for (const line of du.stdoutLines) {
    const m = /^(\d+)\s+(.+)$/.exec(line);
    if (m) sizes.set(m[2]!, Number(m[1]) * 1024);
  }
  return paths.map((path) => {
    const name = posix.basename(path);
    return { path, name, created: preRestoreTimestamp(name), sizeBytes: sizes.get(path) };
  });
}
