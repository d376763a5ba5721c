/** Where a logical restore runs and what a pg_dump restore takes and returns; database names; the dump's contents. */
import type { ToolRuntime } from '../../../runtime';
import { backupInvalid, runLogged, type RestoreContext, type ServerConnection } from '../run';
import { OpsError } from '../../../errors/error';

export interface LogicalTarget {
  /** Where pg_restore and psql run (the database container, or this machine). */
  readonly rt: ToolRuntime;
  /** How they reach the server; `database` is the maintenance database (default postgres). */
  readonly conn: ServerConnection;
}

export interface DumpRestoreOptions {
  /** The pg_dump file as the runtime sees it. */
  readonly file: string;
  /** The database to restore into (created when missing). */
  readonly database: string;
  /** `--clean --if-exists`: drop the dump's objects before recreating them. */
  readonly clean?: boolean;
  /** `--single-transaction` (all or nothing). Default: true when the database exists, else false. */
  readonly singleTransaction?: boolean;
  /** `--exit-on-error` (default true). */
  readonly exitOnError?: boolean;
  /** TimescaleDB version recorded with the dump (its sidecar), for the version check. */
  readonly dumpTimescaledbVersion?: string;
}

export interface DumpRestoreResult {
  readonly database: string;
  readonly created: boolean;
  readonly timescaledb: { readonly used: boolean; readonly serverVersion?: string; readonly dumpVersion?: string };
  readonly warnings: string[];
  readonly durationMs: number;
}

export const DB_NAME_MAX = 63;

export function checkDatabaseName(name: unknown, field = 'database'): string {
  if (typeof name !== 'string' || !name.trim())
    throw new OpsError('config', `${field} must be a database name, not ${JSON.stringify(name)}.`);
  if (Buffer.byteLength(name) > DB_NAME_MAX)
    throw new OpsError('config', `${field} "${name}" is longer than ${DB_NAME_MAX} bytes.`);
  if (/[\0\n\r]/.test(name))
    throw new OpsError('config', `${field} "${JSON.stringify(name)}" contains a control character.`);
  return name;
}

/** `pg_restore -l` lists the dump's table of contents: the dump is readable, and says whether it has TimescaleDB. */
export async function verifyDump(
  rt: ToolRuntime,
  file: string,
  ctx: RestoreContext,
): Promise<{ entries: number; hasTimescaledb: boolean; extensions: string[] }> {
  const r = await runLogged(rt, ctx, ['pg_restore', '-l', file], { quietStdout: true });
  if (r.exitCode !== 0) {
    throw backupInvalid(
      `${file} is not a readable pg_dump archive (pg_restore -l exited ${r.exitCode}: ${r.stderrTail.slice(-3).join(' ')}); nothing was changed.`,
    );
  }
  const entries = r.stdoutLines.filter((l) => l && !l.startsWith(';')).length;
  const extensions = [
    ...new Set(
      r.stdoutLines
        .filter((l) => !l.startsWith(';'))
        .map((l) => /\bEXTENSION - (\S+)/.exec(l)?.[1])
        .filter((x): x is string => Boolean(x)),
    ),
  ].sort();
  const hasTimescaledb = extensions.includes('timescaledb');
  ctx.line(
    `${file}: ${entries} entries${extensions.length ? `, extensions ${extensions.join(', ')}` : ''}` +
      `${hasTimescaledb ? ' (with the timescaledb extension)' : ''}.`,
  );
  return { entries, hasTimescaledb, extensions };
}
