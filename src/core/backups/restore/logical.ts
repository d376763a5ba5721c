/**
 * Logical restores:
 *  - a pg_dump file (tar/custom/directory) with pg_restore into a chosen database, created when
 *    missing; TimescaleDB-aware when the dump or the database has the extension
 *    (`CREATE EXTENSION IF NOT EXISTS timescaledb`, `timescaledb_pre_restore()`, pg_restore
 *    without `-j`, `timescaledb_post_restore()`); a new database that fails is dropped again, and
 *    `--single-transaction` (the default for an existing database) makes a failure change nothing;
 *  - a pg_dumpall `.sql` through psql with ON_ERROR_STOP. Databases of the dump that already exist are
 *    renamed aside first (`<db>_pre_restore_<stamp>`, kept: the way back) and renamed back when the
 *    restore fails; `CREATE ROLE` of roles that exist is skipped (their `ALTER ROLE` still applies).
 *
 * Both restores are pipelines of named phases with their undos (./logical/dump.ts, ./logical/dumpall.ts);
 * this path keeps the public API.
 */
export {
  checkDatabaseName,
  verifyDump,
  type DumpRestoreOptions,
  type DumpRestoreResult,
  type LogicalTarget,
} from './logical/types';
export { missingExtensions, restartTimescaleWorkers, timescaleVersions } from './logical/server';
export {
  connectTarget,
  dumpAllFilter,
  dumpAllObjects,
  dumpAllSections,
  skipExistingRoles,
  unquoteIdent,
  verifyDumpAll,
  type DumpAllContents,
  type DumpAllSection,
} from './logical/dumpall-script';
export { restoreDump } from './logical/dump';
export { dropHalfRestoredDatabases, HALF_RESTORED_MARK } from './logical/half-restored';
export {
  describeLogical,
  interruptedLogicalRestores,
  KEPT_ASIDE_MARK,
  putBackKeptAsideDatabases,
  rollBackKeptAside,
  type InterruptedLogicalRestore,
} from './logical/kept-aside';
export { restoreDumpAll, type DumpAllRestoreResult } from './logical/dumpall';
