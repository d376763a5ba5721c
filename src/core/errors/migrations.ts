/**
 * Errors of sqlx migrations, with sqlx's exact messages. MigrateError, MigrationFilenameError and
 * MigrationXidError are branched on, so they are classes in error.ts; `migrateError` makes sqlx's errors.
 */
import { errorText } from '../format';
import { MigrateError } from './error';

export { MigrateError, MigrationFilenameError, MigrationXidError, type MigrateErrorKind } from './error';

type Position = { file: string; line: number; column: number };

/** sqlx's migration errors, each with its exact message. */
export const migrateError = {
  mismatch: (v: bigint) =>
    new MigrateError('VersionMismatch', `migration ${v} was previously applied but has been modified`, v),
  missing: (v: bigint) =>
    new MigrateError(
      'VersionMissing',
      `migration ${v} was previously applied but is missing in the resolved migrations`,
      v,
    ),
  dirty: (v: bigint) =>
    new MigrateError(
      'Dirty',
      `migration ${v} is partially applied; fix and remove row from \`_sqlx_migrations\` table`,
      v,
    ),
  execute: (v: bigint, e: unknown, position?: Position) =>
    new MigrateError('ExecuteMigration', `while executing migration ${v}: ${errorText(e)}`, v, position, e),
  notPresent: (v: bigint) =>
    new MigrateError('VersionNotPresent', `migration ${v} is not present in the migration source`, v),
  tooOld: (t: bigint, l: bigint) =>
    new MigrateError('VersionTooOld', `migration ${t} is older than the latest applied migration ${l}`, t),
  tooNew: (t: bigint, l: bigint) =>
    new MigrateError('VersionTooNew', `migration ${t} is newer than the latest applied migration ${l}`, t),
};
