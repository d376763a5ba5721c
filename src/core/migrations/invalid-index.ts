/**
 * A `-- no-transaction` migration interrupted midway keeps what it did (issue 29: one of the three cells
 * that may end partial). The usual trace is an INVALID index: CREATE INDEX CONCURRENTLY commits the index
 * to the catalog before it builds it, so a crash, a killed server or a cancel leaves it, and the next run
 * fails with "relation … already exists" (or, with IF NOT EXISTS, silently keeps the broken index).
 * Before such a migration runs again, the indexes it creates are looked up: an INVALID one refuses the run
 * with the way back (`DROP INDEX CONCURRENTLY`), which the user runs, then Run Pending again.
 */
import type { Client } from 'pg';
import { migrateError } from '../errors/migrations';
import type { LocalMigration } from './source';
import { OpsError } from '../errors/error';

/** The indexes a migration creates concurrently (`CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] name`). */
export function concurrentIndexes(sql: string): { name: string; ifNotExists: boolean }[] {
  const re =
    /\bCREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(IF\s+NOT\s+EXISTS\s+)?("(?:[^"]|"")+"|[A-Za-z_][\w$]*)/gi;
  const out: { name: string; ifNotExists: boolean }[] = [];
  for (const m of sql.matchAll(re)) {
    const raw = m[2]!;
    out.push({
      name: raw.startsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw.toLowerCase(),
      ifNotExists: Boolean(m[1]),
    });
  }
  return out;
}

/** The index names a migration creates concurrently. */
export function concurrentIndexNames(sql: string): string[] {
  return concurrentIndexes(sql).map((x) => x.name);
}

const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;

/**
 * Refuses a `-- no-transaction` migration whose concurrent index is already there and INVALID, naming the way back.
 * Also a VALID one the migration creates without IF NOT EXISTS: the build of an earlier run finished after its window
 * died (the server ran the statement on; nothing recorded the migration), and the run would only fail with
 * "already exists".
 */
export async function refuseOverInvalidIndex(client: Client, m: LocalMigration): Promise<void> {
  if (!m.noTx) return;
  const created = concurrentIndexes(m.sql);
  if (!created.length) return;
  const strict = created.filter((x) => !x.ifNotExists).map((x) => x.name);
  const r = await client.query<{ schema: string; name: string; valid: boolean }>(
    `SELECT n.nspname AS schema, c.relname AS name, i.indisvalid AS valid FROM pg_index i
       JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE (NOT i.indisvalid OR c.relname = ANY($2::text[]))
        AND c.relname = ANY($1::text[]) AND n.nspname = ANY(current_schemas(false))`,
    [created.map((x) => x.name), strict],
  );
  if (!r.rows.length) return;
  const drops = r.rows.map((x) => `DROP INDEX CONCURRENTLY ${quote(x.schema)}.${quote(x.name)};`);
  const invalid = r.rows.filter((x) => !x.valid).map((x) => `${x.schema}.${x.name}`);
  const valid = r.rows.filter((x) => x.valid).map((x) => `${x.schema}.${x.name}`);
  const what = [
    invalid.length ? `${invalid.join(', ')} ${invalid.length > 1 ? 'are' : 'is'} INVALID` : '',
    valid.length
      ? `${valid.join(', ')} ${valid.length > 1 ? 'exist' : 'exists'} (valid) although this migration is not applied`
      : '',
  ]
    .filter(Boolean)
    .join('; ');
  throw migrateError.execute(
    m.version,
    new OpsError(
      'migration',
      `${what}: an earlier run of this -- no-transaction migration was interrupted after CREATE INDEX CONCURRENTLY had begun ` +
        `(without a transaction, what it did stays). Nothing was run now. The way back: ${drops.join(' ')} ` +
        `then Run Pending again.`,
    ),
  );
}

/** The sentence added to a failed `-- no-transaction` migration's error: what may be left, and what the next run does. */
export const NO_TX_FAILED_NOTE =
  ' (This migration runs without a transaction: what it did before the failure stays. ' +
  'An interrupted CREATE INDEX CONCURRENTLY leaves an INVALID index; Run Pending names it and its DROP INDEX CONCURRENTLY.)';
