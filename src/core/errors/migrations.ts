/** Errors of sqlx migrations: sqlx's own (with its exact messages), file names, transaction ids. */
import { errorText } from '../format';
import { OpsError } from './error';

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
export class MigrateError extends OpsError {
  constructor(
    /** sqlx's name for it. */
    readonly sqlxKind: MigrateErrorKind,
    message: string,
    readonly version?: bigint,
    /** For ExecuteMigration: where in the file the server reported the error (1-based). */
    readonly position?: { file: string; line: number; column: number },
    override readonly cause?: unknown,
  ) {
    super('migration', message, {
      cause,
      facts: position ? { file: position.file, line: position.line, column: position.column } : {},
    });
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

export class MigrationFilenameError extends OpsError {
  constructor(readonly fileName: string) {
    super(
      'migration',
      `error parsing migration filename "${fileName}"; expected integer version prefix (e.g. \`01_foo.sql\`)`,
      { facts: { file: fileName } },
    );
    this.name = 'MigrationFilenameError';
  }
}

/** A migration's transaction id cannot be read (the Recovery Timeline's "restore before this migration"). */
export class MigrationXidError extends OpsError {
  constructor(message: string) {
    super('migration', message);
    this.name = 'MigrationXidError';
  }
}
