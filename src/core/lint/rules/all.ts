/**
 * Every lint rule, in the order findings on one statement are given (the docs table in docs/migrations-and-lint.md
 * lists the same rules; a unit test holds them together).
 * The `RuleId` union is built from this list: adding a rule is its own file, its line here and its row in the docs.
 */
import { rule as syntaxError } from './syntax-error';
import { rule as columnTypeChange } from './column-type-change';
import { rule as addColumnVolatileDefault } from './add-column-volatile-default';
import { rule as addColumnRequired } from './add-column-required';
import { rule as setNotNull } from './set-not-null';
import { rule as constraintNotValid } from './constraint-not-valid';
import { rule as uniqueConstraintWithoutIndex } from './unique-constraint-without-index';
import { rule as createIndexNonConcurrently } from './create-index-non-concurrently';
import { rule as dropIndexNonConcurrently } from './drop-index-non-concurrently';
import { rule as vacuumFull } from './vacuum-full';
import { rule as cluster } from './cluster';
import { rule as reindexNonConcurrently } from './reindex-non-concurrently';
import { rule as lockTimeoutMissing } from './lock-timeout-missing';
import { rule as dropTable } from './drop-table';
import { rule as dropColumn } from './drop-column';
import { rule as dropSchema } from './drop-schema';
import { rule as dropDatabase } from './drop-database';
import { rule as truncate } from './truncate';
import { rule as renameTable } from './rename-table';
import { rule as renameColumn } from './rename-column';
import { rule as updateWithoutWhere } from './update-without-where';
import { rule as deleteWithoutWhere } from './delete-without-where';
import { rule as sqlxNeedsNoTransaction } from './sqlx-needs-no-transaction';
import { rule as sqlxNoTransactionSeveralStatements } from './sqlx-no-transaction-several-statements';
import { rule as sqlxTransactionControl } from './sqlx-transaction-control';
import { rule as tsdbHypertableMigrateData } from './tsdb-hypertable-migrate-data';
import { rule as tsdbUniqueWithoutPartitionColumn } from './tsdb-unique-without-partition-column';
import { rule as tsdbConcurrentIndexOnHypertable } from './tsdb-concurrent-index-on-hypertable';
import { rule as tsdbAlterCompressedHypertable } from './tsdb-alter-compressed-hypertable';
import { rule as tsdbContinuousAggregateWithData } from './tsdb-continuous-aggregate-with-data';
import { rule as tsdbDropChunks } from './tsdb-drop-chunks';

export const ALL_RULES = [
  syntaxError,
  columnTypeChange,
  addColumnVolatileDefault,
  addColumnRequired,
  setNotNull,
  constraintNotValid,
  uniqueConstraintWithoutIndex,
  createIndexNonConcurrently,
  dropIndexNonConcurrently,
  vacuumFull,
  cluster,
  reindexNonConcurrently,
  dropTable,
  dropColumn,
  dropSchema,
  dropDatabase,
  truncate,
  renameTable,
  renameColumn,
  updateWithoutWhere,
  deleteWithoutWhere,
  sqlxNeedsNoTransaction,
  sqlxNoTransactionSeveralStatements,
  sqlxTransactionControl,
  tsdbHypertableMigrateData,
  tsdbUniqueWithoutPartitionColumn,
  tsdbConcurrentIndexOnHypertable,
  tsdbAlterCompressedHypertable,
  tsdbContinuousAggregateWithData,
  tsdbDropChunks,
  // Last: on one statement the finding that names the lock comes before the one asking for lock_timeout.
  lockTimeoutMissing,
] as const;

/** The id of a lint rule: `drop-table`, `lock-timeout-missing` …  */
export type RuleId = (typeof ALL_RULES)[number]['id'];
