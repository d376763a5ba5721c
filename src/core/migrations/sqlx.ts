/** sqlx's PostgreSQL statements, byte for byte (shared/specs/sqlx-migrations.md §1), and its error messages (§5). */
import { errorText } from '../format';

export const SQL = {
  ensureTable: `CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
);`,
  dirty: 'SELECT version FROM _sqlx_migrations WHERE success = false ORDER BY version LIMIT 1',
  listApplied: 'SELECT version, checksum FROM _sqlx_migrations ORDER BY version',
  insert:
    'INSERT INTO _sqlx_migrations ( version, description, success, checksum, execution_time ) VALUES ( $1, $2, TRUE, $3, -1 )',
  updateTime: 'UPDATE _sqlx_migrations SET execution_time = $1 WHERE version = $2',
  delete: 'DELETE FROM _sqlx_migrations WHERE version = $1',
  currentDatabase: 'SELECT current_database()',
  lock: 'SELECT pg_advisory_lock($1)',
  unlock: 'SELECT pg_advisory_unlock($1)',
  /** Ours, read-only: the status without creating the table (sqlx's `info` creates it; a status view must not write). */
  tableExists: "SELECT to_regclass('_sqlx_migrations') IS NOT NULL AS exists",
  listAppliedFull:
    'SELECT version, description, installed_on, success, checksum, execution_time FROM _sqlx_migrations ORDER BY version',
} as const;

export type MigrateErrorKind =
  | 'VersionMismatch'
  | 'VersionMissing'
  | 'Dirty'
  | 'ExecuteMigration'
  | 'VersionNotPresent'
  | 'VersionTooOld'
  | 'VersionTooNew'
  | 'InvalidFile'
  /** Two files of the folder share a version (sqlx would apply one, then fail on the other). */
  | 'DuplicateVersion';

/** A migration error with sqlx's exact message. */
export class MigrateError extends Error {
  constructor(
    readonly kind: MigrateErrorKind,
    message: string,
    readonly version?: bigint,
    /** For ExecuteMigration: where in the file the server reported the error (1-based). */
    readonly position?: { file: string; line: number; column: number },
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'MigrateError';
  }

  static mismatch(v: bigint): MigrateError {
    return new MigrateError('VersionMismatch', `migration ${v} was previously applied but has been modified`, v);
  }
  static missing(v: bigint): MigrateError {
    return new MigrateError(
      'VersionMissing',
      `migration ${v} was previously applied but is missing in the resolved migrations`,
      v,
    );
  }
  static dirty(v: bigint): MigrateError {
    return new MigrateError(
      'Dirty',
      `migration ${v} is partially applied; fix and remove row from \`_sqlx_migrations\` table`,
      v,
    );
  }
  static execute(v: bigint, e: unknown, position?: { file: string; line: number; column: number }): MigrateError {
    const msg = errorText(e);
    return new MigrateError('ExecuteMigration', `while executing migration ${v}: ${msg}`, v, position, e);
  }
  static notPresent(v: bigint): MigrateError {
    return new MigrateError('VersionNotPresent', `migration ${v} is not present in the migration source`, v);
  }
  static tooOld(t: bigint, l: bigint): MigrateError {
    return new MigrateError('VersionTooOld', `migration ${t} is older than the latest applied migration ${l}`, t);
  }
  static tooNew(t: bigint, l: bigint): MigrateError {
    return new MigrateError('VersionTooNew', `migration ${t} is newer than the latest applied migration ${l}`, t);
  }
}

/** Rust's `Debug` format of a `Duration` (what sqlx prints after each migration): `0ns`, `1.5µs`, `7.641042ms`, `1s`. */
export function formatRustDuration(ns: bigint): string {
  const secs = ns / 1_000_000_000n;
  const nanos = ns % 1_000_000_000n;
  const dec = (int: bigint, frac: bigint, digits: number, unit: string): string => {
    const f = frac.toString().padStart(digits, '0').replace(/0+$/, '');
    return `${int}${f ? `.${f}` : ''}${unit}`;
  };
  if (secs > 0n) return dec(secs, nanos, 9, 's');
  if (nanos >= 1_000_000n) return dec(nanos / 1_000_000n, nanos % 1_000_000n, 6, 'ms');
  if (nanos >= 1_000n) return dec(nanos / 1_000n, nanos % 1_000n, 3, 'µs');
  return `${nanos}ns`;
}
