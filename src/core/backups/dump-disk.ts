/**
 * A manual backup that ran out of disk space says so: "Disk full", the folder, and the space free there
 * now (measured after the partial file was removed, where the file was written: in the runtime when the
 * tool wrote it itself, on this machine when its output streamed here), instead of the tool's own last line.
 */
import { statfs } from 'node:fs/promises';
import { OpsError } from '../errors/error';
import { isDiskFullText } from '../errors/third-party';
import { formatBytes } from '../format';
import { ToolFailedError, type ToolRuntime } from '../runtime';

/** The tool (or the write of its output on this machine) failed because the disk is full. */
export function isDiskFull(e: unknown): boolean {
  if ((e as NodeJS.ErrnoException | undefined)?.code === 'ENOSPC') return true;
  if (e instanceof ToolFailedError) return e.stderrTail.some(isDiskFullText);
  return isDiskFullText(e);
}

/** `df -P -k` output: the available bytes of the first file system row. */
export function dfAvailable(stdout: readonly string[]): number | undefined {
  const cols = stdout
    .slice(1)
    .find((l) => l.trim())
    ?.trim()
    .split(/\s+/);
  const kb = cols && cols.length >= 4 ? Number(cols[3]) : NaN;
  return Number.isFinite(kb) ? kb * 1024 : undefined;
}

/** Free bytes where the backup was written; undefined when it cannot be read. */
async function freeSpace(where: { runtime?: ToolRuntime; dir: string }): Promise<number | undefined> {
  try {
    if (where.runtime) {
      const r = await where.runtime.run(['df', '-P', '-k', '--', where.dir]);
      return r.exitCode === 0 ? dfAvailable(r.stdoutLines) : undefined;
    }
    const s = await statfs(where.dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return undefined;
  }
}

/**
 * Rethrows `e` as a "Disk full" error when it is one (else returns `e` unchanged). `what` names the
 * backup ("pg_dump of connect_db"); `where` is where it was written (a runtime folder, or this machine's).
 */
export async function diskFullOr(
  e: unknown,
  what: string,
  where: { runtime?: ToolRuntime; dir: string; description: string },
): Promise<unknown> {
  if (!isDiskFull(e)) return e;
  const free = await freeSpace(where);
  const tool = e instanceof ToolFailedError ? e.argv[0] : undefined;
  return new OpsError(
    'tool-failed',
    `Disk full: the ${what} ran out of space in ${where.dir} (${where.description}); ` +
      `${free === undefined ? 'the free space there could not be read' : `${formatBytes(free)} free there now`}. ` +
      'The partial file was removed and no backup was kept. Free some space there (older backups in manual_backup) ' +
      'or give the backups folder a bigger disk, then back up again.',
    {
      facts: {
        ...(tool ? { tool } : {}),
        ...(e instanceof ToolFailedError ? { argv: e.argv, exitCode: e.exitCode, stderrTail: e.stderrTail } : {}),
        file: where.dir,
        hint: 'Free space in the backups folder, then back up again.',
      },
      cause: e,
    },
  );
}
