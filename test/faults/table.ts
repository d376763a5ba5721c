/**
 * The fault matrix's axes (issue 29): the destructive operations (rows) and the faults (columns), and
 * what one cell's run reports. A cell is either a function that runs for real (cells/*.ts, listed in
 * registry.ts), a cell that cannot happen (with the reason), or not written yet.
 */

export const ROWS = [
  { id: 'restore-pgbackrest-latest', title: 'pgBackRest restore (latest)' },
  { id: 'restore-pgbackrest-time', title: 'pgBackRest restore (point in time)' },
  { id: 'restore-pgbackrest-xid', title: 'pgBackRest restore (transaction id)' },
  { id: 'restore-basebackup', title: 'pg_basebackup restore' },
  { id: 'restore-dump-new', title: 'pg_dump restore into a new database' },
  { id: 'restore-dump-over', title: 'pg_dump restore over an existing database' },
  { id: 'restore-dumpall', title: 'pg_dumpall restore' },
  { id: 'restore-oneoff', title: 'one-off container restore (PostgreSQL not running)' },
  { id: 'migrate-tx', title: 'Run Pending (transactional migration)' },
  { id: 'migrate-notx', title: 'Run Pending (`-- no-transaction` migration)' },
  { id: 'revert', title: 'Revert' },
  { id: 'backup-full', title: 'pgBackRest full backup' },
  { id: 'backup-dump', title: 'pg_dump backup' },
  { id: 'backup-dumpall', title: 'pg_dumpall backup' },
  { id: 'backup-basebackup', title: 'pg_basebackup backup' },
  { id: 'drill', title: 'restore drill' },
] as const;

export const COLUMNS = [
  { id: 'host-killed', title: 'extension host killed' },
  { id: 'engine-restarted', title: 'Docker engine restarted' },
  { id: 'disk-full-data', title: 'disk full (data volume)' },
  { id: 'disk-full-backups', title: 'disk full (backups volume)' },
  { id: 'postgres-killed', title: 'PostgreSQL killed (kill -9 postmaster)' },
  { id: 'pgbackrest-lock', title: 'pgBackRest lock held by a scheduled backup' },
  { id: 'ssh-cut', title: 'ssh:// connection cut' },
  { id: 'second-window', title: 'second window, conflicting operation' },
] as const;

export type RowId = (typeof ROWS)[number]['id'];
export type ColumnId = (typeof COLUMNS)[number]['id'];

/**
 * How a cell ended (issue 29): the old state intact, the new state complete, partial with the way back
 * (only the three named cases), refused before starting (with the reason). FAILED: the after-check found
 * something (rows lost, a leftover, a hang, partial outside the named cases): a product bug.
 */
export type Outcome = 'old state' | 'new state' | 'partial, way back offered' | 'refused before starting' | 'FAILED';

export interface CellResult {
  readonly row: RowId;
  readonly column: ColumnId;
  readonly outcome: Outcome;
  /** Rows of the checksum table (or of the operation's new rows) missing after the cell. */
  readonly rowsLost: number;
  /** From the fault to the operation's message to the user (its result or its error); undefined: none came. */
  readonly secondsToMessage?: number;
  /** What the after-check found left behind (containers, volumes, networks, spool, temp folders, partial files, locks…). */
  readonly leftovers: readonly string[];
  /** The user's message (the operation's error text, or its result in a line). */
  readonly message: string;
  /** How and at which step the fault was injected. */
  readonly injected: string;
  /** Every failed point of the after-check, and why the outcome is FAILED. */
  readonly problems: readonly string[];
  /** Product bugs the cell saw that do not change its outcome (a message that does not name the cause…). */
  readonly bugs?: readonly string[];
  /** Anything worth reading next to the outcome (what the product did, a known bug). */
  readonly note?: string;
  readonly seconds: number;
  readonly ranAt: string;
}

/** A cell that cannot happen, and why. */
export interface Impossible {
  readonly row: RowId;
  readonly column: ColumnId;
  readonly why: string;
}

export const rowTitle = (id: RowId): string => ROWS.find((r) => r.id === id)!.title;
export const columnTitle = (id: ColumnId): string => COLUMNS.find((c) => c.id === id)!.title;
