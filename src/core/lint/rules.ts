/** The lint rules: id, category, default severity, why it hurts, the fix and squawk's equivalent (for the README table). */

export type Severity = 'error' | 'warning' | 'info';
export type RuleCategory = 'parse' | 'lock' | 'destructive' | 'sqlx' | 'timescaledb';

export interface RuleInfo {
  readonly id: string;
  readonly category: RuleCategory;
  readonly severity: Severity;
  /** What the rule finds. */
  readonly what: string;
  readonly why: string;
  readonly fix: string;
  /** squawk rules that find the same thing (their `-- squawk-ignore` names are honoured too). */
  readonly squawk: readonly string[];
}

const r = (
  id: string,
  category: RuleCategory,
  severity: Severity,
  what: string,
  why: string,
  fix: string,
  squawk: string[] = [],
): RuleInfo => ({ id, category, severity, what, why, fix, squawk });

export const RULES: readonly RuleInfo[] = [
  r(
    'syntax-error',
    'parse',
    'error',
    'A statement PostgreSQL cannot parse',
    'The migration fails at the first bad statement.',
    'Correct the SQL at the position shown.',
  ),
  // Locks and rewrites
  r(
    'column-type-change',
    'lock',
    'warning',
    '`ALTER COLUMN … TYPE`',
    'Most type changes rewrite the whole table and its indexes under an ACCESS EXCLUSIVE lock: no reads, no writes.',
    'Add a new column, backfill it in batches, switch the code, then drop the old column.',
    ['changing-column-type'],
  ),
  r(
    'add-column-volatile-default',
    'lock',
    'warning',
    '`ADD COLUMN` with a volatile default (random(), gen_random_uuid(), clock_timestamp(), nextval() …)',
    'A volatile default is computed per row: PostgreSQL rewrites the table under an ACCESS EXCLUSIVE lock.',
    'Add the column without a default (or with a constant one), set the default, backfill in batches.',
    ['adding-field-with-default'],
  ),
  r(
    'add-column-required',
    'lock',
    'warning',
    '`ADD COLUMN … NOT NULL` without a default',
    'It fails on a table that has rows, and every insert that does not name the column fails.',
    'Add the column nullable or with a constant default.',
    ['adding-required-field'],
  ),
  r(
    'set-not-null',
    'lock',
    'warning',
    '`ALTER COLUMN … SET NOT NULL`',
    'It scans the whole table under an ACCESS EXCLUSIVE lock.',
    'Add `CHECK (col IS NOT NULL) NOT VALID`, `VALIDATE` it in a later migration, then `SET NOT NULL` (no scan).',
    ['adding-not-nullable-field'],
  ),
  r(
    'constraint-not-valid',
    'lock',
    'warning',
    '`ADD CONSTRAINT` foreign key or check without `NOT VALID`',
    'Validating scans the whole table while writes are blocked (a foreign key locks the referenced table too).',
    'Add it `NOT VALID`, then `ALTER TABLE … VALIDATE CONSTRAINT` in a separate migration.',
    ['constraint-missing-not-valid', 'adding-foreign-key-constraint'],
  ),
  r(
    'unique-constraint-without-index',
    'lock',
    'warning',
    '`ADD CONSTRAINT … UNIQUE` / `PRIMARY KEY` building its own index',
    'The index is built under an ACCESS EXCLUSIVE lock.',
    '`CREATE UNIQUE INDEX CONCURRENTLY`, then `ADD CONSTRAINT … UNIQUE USING INDEX`.',
    ['disallowed-unique-constraint'],
  ),
  r(
    'create-index-non-concurrently',
    'lock',
    'warning',
    '`CREATE INDEX` without `CONCURRENTLY` on an existing table',
    'Writes to the table are blocked until the index is built.',
    '`CREATE INDEX CONCURRENTLY` in a `-- no-transaction` migration of its own.',
    ['require-concurrent-index-creation'],
  ),
  r(
    'drop-index-non-concurrently',
    'lock',
    'warning',
    '`DROP INDEX` without `CONCURRENTLY`',
    'It takes an ACCESS EXCLUSIVE lock on the table.',
    '`DROP INDEX CONCURRENTLY` in a `-- no-transaction` migration of its own.',
    ['require-concurrent-index-deletion'],
  ),
  r(
    'vacuum-full',
    'lock',
    'warning',
    '`VACUUM FULL`',
    'It rewrites the table under an ACCESS EXCLUSIVE lock (and cannot run in a transaction).',
    'Use plain `VACUUM`, or pg_repack, outside migrations.',
  ),
  r(
    'cluster',
    'lock',
    'warning',
    '`CLUSTER`',
    'It rewrites the table under an ACCESS EXCLUSIVE lock.',
    'Run it in a maintenance window outside migrations, or use pg_repack.',
  ),
  r(
    'reindex-non-concurrently',
    'lock',
    'warning',
    '`REINDEX` without `CONCURRENTLY`',
    'It blocks writes (and reads through the index) while it runs.',
    '`REINDEX … CONCURRENTLY` in a `-- no-transaction` migration of its own.',
  ),
  r(
    'lock-timeout-missing',
    'lock',
    'warning',
    'An ACCESS EXCLUSIVE statement with no `SET lock_timeout` before it',
    'Waiting for the lock queues every later query on the table behind it: a short lock becomes an outage.',
    "`SET lock_timeout = '5s';` at the top of the migration (retry if it times out).",
    ['require-lock-timeout'],
  ),
  // Destructive
  r(
    'drop-table',
    'destructive',
    'warning',
    '`DROP TABLE`',
    'The data is gone, and the running service may still use the table.',
    'Stop using it in the code first; keep a backup; suppress with a reason once that is done.',
    ['ban-drop-table'],
  ),
  r(
    'drop-column',
    'destructive',
    'warning',
    '`DROP COLUMN`',
    'The data is gone, and the running service may still read or write the column.',
    'Stop using it in the code first, deploy, then drop it.',
    ['ban-drop-column'],
  ),
  r(
    'drop-schema',
    'destructive',
    'warning',
    '`DROP SCHEMA`',
    'Every object in it (with CASCADE) is gone.',
    'Make sure nothing uses it; keep a backup.',
  ),
  r(
    'drop-database',
    'destructive',
    'error',
    '`DROP DATABASE`',
    'The whole database is gone (and it cannot run in a transaction).',
    'Do it by hand, never in a migration.',
    ['ban-drop-database'],
  ),
  r(
    'truncate',
    'destructive',
    'warning',
    '`TRUNCATE`',
    'Every row is gone (with CASCADE, the rows of every table referring to it too) under an ACCESS EXCLUSIVE lock.',
    'Name exactly the tables to empty, without CASCADE; consider `DELETE … WHERE`.',
    ['ban-truncate-cascade'],
  ),
  r(
    'rename-table',
    'destructive',
    'warning',
    '`ALTER TABLE … RENAME TO`',
    'The running service still uses the old name and fails until it is redeployed.',
    'Create the new table (or a view with the old name), move the code, then remove the old name.',
    ['renaming-table'],
  ),
  r(
    'rename-column',
    'destructive',
    'warning',
    '`ALTER TABLE … RENAME COLUMN`',
    'The running service still uses the old name and fails until it is redeployed.',
    'Add the new column, write both, move reads, then drop the old column.',
    ['renaming-column'],
  ),
  r(
    'update-without-where',
    'destructive',
    'warning',
    '`UPDATE` without `WHERE`',
    'It rewrites every row in one transaction: locks every row, bloats the table.',
    'Add a `WHERE`, or backfill in batches outside the migration.',
  ),
  r(
    'delete-without-where',
    'destructive',
    'warning',
    '`DELETE` without `WHERE`',
    'Every row is gone.',
    'Add a `WHERE` (or `TRUNCATE` on purpose, with a suppression and its reason).',
  ),
  // sqlx
  r(
    'sqlx-needs-no-transaction',
    'sqlx',
    'error',
    '`CREATE/DROP INDEX CONCURRENTLY`, `REINDEX CONCURRENTLY`, `VACUUM`, `CREATE/DROP DATABASE`, `ALTER SYSTEM`, ' +
      '`refresh_continuous_aggregate` in a migration without `-- no-transaction`',
    'sqlx runs the file inside a transaction: PostgreSQL refuses with "cannot run inside a transaction block".',
    'Put the statement alone in a migration whose first line is `-- no-transaction`.',
    ['ban-concurrent-index-creation-in-transaction'],
  ),
  r(
    'sqlx-no-transaction-several-statements',
    'sqlx',
    'warning',
    'A `-- no-transaction` migration with several statements',
    'A failure leaves it half applied and unrecorded; and the statements still share one implicit transaction, ' +
      'so a statement that needs none fails anyway.',
    'One statement per `-- no-transaction` migration.',
  ),
  r(
    'sqlx-transaction-control',
    'sqlx',
    'error',
    '`BEGIN` / `COMMIT` / `ROLLBACK` inside a transactional migration',
    'sqlx already opened a transaction: a COMMIT ends it early, so a later failure leaves the migration half applied.',
    'Remove them (sqlx wraps the file), or use `-- no-transaction` on purpose.',
  ),
  // TimescaleDB
  r(
    'tsdb-hypertable-migrate-data',
    'timescaledb',
    'warning',
    '`create_hypertable` on a table that may have rows, without `migrate_data => true`',
    'TimescaleDB refuses: `table "…" is not empty` (hint: migrate_data).',
    'Pass `migrate_data => true` (it locks and copies the table), or create the hypertable before loading data.',
  ),
  r(
    'tsdb-unique-without-partition-column',
    'timescaledb',
    'error',
    'A unique index or primary key on a hypertable without its partitioning column',
    'TimescaleDB refuses: `cannot create a unique index without the column "…" (used in partitioning)`.',
    'Include the partitioning (time) column in the key.',
  ),
  r(
    'tsdb-concurrent-index-on-hypertable',
    'timescaledb',
    'error',
    '`CREATE INDEX CONCURRENTLY` on a hypertable',
    'TimescaleDB refuses: `hypertables do not support concurrent index creation`.',
    '`CREATE INDEX … WITH (timescaledb.transaction_per_chunk)`: one chunk locked at a time.',
  ),
  r(
    'tsdb-alter-compressed-hypertable',
    'timescaledb',
    'error',
    '`ALTER TABLE` forms a hypertable with compression enabled does not allow (type change, SET NOT NULL, ' +
      'constraints, unique index, row level security)',
    'TimescaleDB refuses: `operation not supported on hypertables that have compression enabled`.',
    'Decompress the chunks and `SET (timescaledb.compress = false)` first, then re-enable it; or add a new column.',
  ),
  r(
    'tsdb-continuous-aggregate-with-data',
    'timescaledb',
    'error',
    'A continuous aggregate created `WITH DATA` (the default) inside a transaction',
    'TimescaleDB refuses: `CREATE MATERIALIZED VIEW … WITH DATA cannot run inside a transaction block`.',
    'Add `WITH NO DATA` and refresh it in a `-- no-transaction` migration (or let its policy refresh it).',
  ),
  r(
    'tsdb-drop-chunks',
    'timescaledb',
    'warning',
    '`drop_chunks` / `add_retention_policy`',
    'Chunks of data are deleted (now, or on a schedule from now on).',
    'Make sure the interval is right and a backup exists; suppress with a reason.',
  ),
];

export const RULE_BY_ID: ReadonlyMap<string, RuleInfo> = new Map(RULES.map((x) => [x.id, x]));

/** squawk rule name → our rule ids (for `-- squawk-ignore`). */
export const FROM_SQUAWK: ReadonlyMap<string, string[]> = (() => {
  const m = new Map<string, string[]>();
  for (const rule of RULES) for (const s of rule.squawk) m.set(s, [...(m.get(s) ?? []), rule.id]);
  return m;
})();
