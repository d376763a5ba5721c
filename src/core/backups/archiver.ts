/**
 * The live system's recovery point: `pg_stat_archiver` on the live server says when the newest WAL
 * segment was archived and whether archiving fails (`failed_count`, `last_failed_wal`,
 * `last_failed_time`). A point-in-time restore (and the default "latest state" restore) can reach at
 * most the newest archived WAL: writes after it are only in the live pg_wal, not in the repository.
 */
import type { ToolRuntime } from '../runtime';
import { psqlQuery, type RestoreContext, type ServerConnection } from './restore/run';
import { OpsError } from '../errors/error';

export interface ArchiverStatus {
  /** archive_mode is on (else nothing is archived and point-in-time recovery ends at the newest backup). */
  readonly archiveMode: string;
  readonly archivedCount: number;
  readonly lastArchivedWal?: string;
  readonly lastArchivedTime?: Date;
  readonly failedCount: number;
  readonly lastFailedWal?: string;
  readonly lastFailedTime?: Date;
  /** The last attempt failed (a failure newer than the last success): archiving is broken now. */
  readonly failing: boolean;
  /** When the server read it. */
  readonly readAt: Date;
}

export const ARCHIVER_SQL =
  "SELECT current_setting('archive_mode'), archived_count, coalesce(last_archived_wal, ''), " +
  "coalesce(to_char(last_archived_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), ''), " +
  "failed_count, coalesce(last_failed_wal, ''), " +
  "coalesce(to_char(last_failed_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), ''), " +
  'to_char(now() AT TIME ZONE \'UTC\', \'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\') FROM pg_stat_archiver';

/** One `psql -At` row of ARCHIVER_SQL (fields separated by `|`). */
export function parseArchiverRow(row: string): ArchiverStatus {
  const f = row.split('|');
  if (f.length < 8)
    throw new OpsError('tool-failed', `pg_stat_archiver answered an unexpected row: ${JSON.stringify(row)}`);
  const date = (s: string | undefined) => (s ? new Date(s) : undefined);
  const lastArchivedTime = date(f[3]);
  const lastFailedTime = date(f[6]);
  const failedCount = Number(f[4]);
  return {
    archiveMode: f[0]!,
    archivedCount: Number(f[1]),
    lastArchivedWal: f[2] || undefined,
    lastArchivedTime,
    failedCount,
    lastFailedWal: f[5] || undefined,
    lastFailedTime,
    failing:
      f[0] !== 'off' &&
      failedCount > 0 &&
      !!lastFailedTime &&
      (!lastArchivedTime || lastFailedTime.getTime() >= lastArchivedTime.getTime()),
    readAt: date(f[7]) ?? new Date(),
  };
}

export async function readArchiverStatus(
  rt: ToolRuntime,
  conn: ServerConnection,
  ctx: RestoreContext = { step: () => undefined, line: () => undefined },
): Promise<ArchiverStatus> {
  const [row] = await psqlQuery(rt, ctx, conn, ARCHIVER_SQL);
  if (!row) throw new OpsError('tool-failed', 'pg_stat_archiver returned no row.');
  return parseArchiverRow(row);
}

/** A one-line summary: "WAL archived up to 12:03:04 (000000010000000000000031)" or the failure. */
export function describeArchiver(a: ArchiverStatus): string {
  if (a.archiveMode === 'off')
    return 'WAL archiving is off (archive_mode=off): no point-in-time recovery after the newest backup';
  const last = a.lastArchivedTime
    ? `newest archived WAL ${a.lastArchivedWal} at ${a.lastArchivedTime.toISOString()}`
    : 'no WAL archived yet';
  if (a.failing)
    return (
      `WAL archiving is FAILING: ${a.failedCount} failures, last ${a.lastFailedWal} at ${a.lastFailedTime?.toISOString()}; ` +
      `${last}. Check archive_command and the pgBackRest log (archive-push).`
    );
  return last;
}
