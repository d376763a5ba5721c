/**
 * A pgBackRest backup that ran out of space in its repository says so: "Disk full", the repository's
 * folder, the space free there now and what pgBackRest kept (its unfinished set, resumed or removed by
 * the next backup), instead of pgBackRest's `[064] unable to write '…' [FileWriteError]`, which names
 * neither the cause nor the fix. pgBackRest's write errors do not always carry the system's reason, so a
 * write error counts as a full disk when the repository's file system has (almost) nothing free.
 */
import { posix } from 'node:path';
import { OpsError } from '../errors/error';
import { PgBackRestError } from '../errors/backups';
import { formatBytes } from '../format';
import { dfAvailable } from './dump-disk';
import type { ToolRuntime } from '../runtime';

/** pgbackrest.ts's PgBackRestTarget (not imported: pgbackrest.ts imports this file). */
interface PgBackRestTarget {
  readonly runtime: ToolRuntime;
  readonly stanza: string;
  readonly configPath?: string;
}

const WRITE_FAILED = /No space left on device|ENOSPC|unable to write|FileWriteError|could not extend/i;
const NO_SPACE = /No space left on device|ENOSPC/i;
/** A write error with at most this much free in the repository is a full disk. */
const NEARLY_FULL = 16 * 2 ** 20;

/** The repository folder in effect (`help backup repo-path`: the config file and PGBACKREST_* resolved by pgBackRest). */
async function repoPath(t: PgBackRestTarget, repo: number | undefined): Promise<string | undefined> {
  const argv = [
    'pgbackrest',
    ...(t.configPath ? [`--config=${t.configPath}`] : []),
    `--stanza=${t.stanza}`,
    ...(repo !== undefined ? [`--repo=${repo}`] : []),
    'help',
    'backup',
    'repo-path',
  ];
  const r = await t.runtime.run(argv).catch(() => undefined);
  if (!r || r.exitCode !== 0) return undefined;
  const value = (key: string) =>
    r.stdoutLines.map((l) => new RegExp(`^${key}: (.+)$`).exec(l.trim())?.[1]).find((v) => v !== undefined);
  return value('current') ?? value('default');
}

/**
 * Returns a "Disk full" error for `e` when it is pgBackRest failing to write into a full repository
 * (else `e` unchanged). `what` names the backup ("pgBackRest full backup").
 */
export async function repoDiskFullOr(t: PgBackRestTarget, e: unknown, what: string, repo?: number): Promise<unknown> {
  if (!(e instanceof PgBackRestError) || !WRITE_FAILED.test(e.pgbMessage)) return e;
  const path = await repoPath(t, repo);
  // Where the write failed (the set's folder may be on another file system than repo-path), else the repository.
  const written = /unable to write '([^']+)'/.exec(e.pgbMessage)?.[1];
  let free: number | undefined;
  for (const dir of [written && posix.dirname(written), path]) {
    if (!dir) continue;
    const df = await t.runtime.run(['df', '-P', '-k', '--', dir]).catch(() => undefined);
    free = df && df.exitCode === 0 ? dfAvailable(df.stdoutLines) : undefined;
    if (free !== undefined) break;
  }
  if (!path && !written) return e;
  if (!NO_SPACE.test(e.pgbMessage) && (free === undefined || free > NEARLY_FULL)) return e;
  const unfinished = /\/(\d{8}-\d{6}F(?:_\d{8}-\d{6}[DI])?)\//.exec(e.pgbMessage)?.[1];
  return new OpsError(
    'tool-failed',
    `Disk full: the ${what} ran out of space in the pgBackRest repository ${path ?? posix.dirname(written!)} (${t.runtime.description}); ` +
      `${free === undefined ? 'the free space there could not be read' : `${formatBytes(free)} free there now`}. ` +
      `No backup was added${unfinished ? `; pgBackRest keeps the unfinished set ${unfinished} there and resumes or removes it on the next backup` : ''}. ` +
      'Free space there (fewer full backups kept: repo1-retention-full) or give the repository a bigger disk, then back up again. ' +
      `(pgBackRest said: [${String(e.code).padStart(3, '0')}] ${e.pgbMessage.split('\n')[0]})`,
    {
      facts: {
        tool: 'pgbackrest',
        pgbackrestCode: e.code,
        file: path ?? written!,
        hint: 'Free space in the pgBackRest repository, then back up again.',
      },
      cause: e,
    },
  );
}
