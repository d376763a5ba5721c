/**
 * The transaction a migration ran in, for "restore to just before this migration"
 * (`recovery_target_xid` with `recovery_target_inclusive = off`).
 *
 * sqlx INSERTs the `_sqlx_migrations` row inside the migration's transaction, but then UPDATEs its
 * `execution_time` in a transaction of its own, after the commit. The live row's `xmin` is therefore
 * the UPDATE's transaction, which commits after the migration: a target just before it would keep the
 * migration. The migration's transaction is the `xmin` of the row version the UPDATE replaced (the oldest
 * version of the row's update chain, should the row have been updated again later). That version stays in
 * the table's page until VACUUM (or page pruning) removes it; pageinspect reads it (superuser), in a
 * transaction that is rolled back, so the extension is never left installed (an installed one is left as is).
 *
 * When the row was never updated (`execution_time = -1`: the process stopped after the commit), the live
 * row's `xmin` is the migration's transaction itself.
 */
import type { Client } from 'pg';
import { MigrationXidError } from '../errors/migrations';
export { MigrationXidError };

export interface MigrationTransaction {
  readonly version: bigint;
  /** The migration's transaction id (32-bit, as `recovery_target_xid` takes it). */
  readonly xid: string;
  /** `row`: the live row (never updated); `replacedVersion`: the version sqlx's UPDATE replaced. */
  readonly source: 'row' | 'replacedVersion';
  /** The live row's xmin (the UPDATE's transaction when there was one). */
  readonly rowXmin: string;
}

/**
 * Finds the transaction of an applied migration. Throws a MigrationXidError that says why when it
 * cannot be known (no such row, the replaced version was vacuumed away, no superuser / no pageinspect).
 */
export async function migrationTransaction(client: Client, version: bigint): Promise<MigrationTransaction> {
  const live = await client.query<{ xmin: string; ctid: string; execution_time: string }>(
    'SELECT xmin::text AS xmin, ctid::text AS ctid, execution_time::text AS execution_time FROM _sqlx_migrations WHERE version = $1',
    [version.toString()],
  );
  const row = live.rows[0];
  if (!row) throw new MigrationXidError(`_sqlx_migrations has no row for version ${version}.`);
  if (row.execution_time === '-1') return { version, xid: row.xmin, source: 'row', rowXmin: row.xmin };

  const m = /^\((\d+),(\d+)\)$/.exec(row.ctid);
  if (!m) throw new MigrationXidError(`Unexpected ctid ${row.ctid} of version ${version}.`);
  const block = Number(m[1]);
  await client.query('BEGIN');
  try {
    try {
      await client.query('CREATE EXTENSION IF NOT EXISTS pageinspect');
    } catch (e) {
      throw new MigrationXidError(
        `pageinspect is needed to read the migration's transaction and could not be loaded: ${(e as Error).message}`,
      );
    }
    // Walk the row's update chain back from the live version: the version an UPDATE replaced has t_xmax = that
    // UPDATE's xid (the newer version's xmin) and t_ctid = the newer version's ctid. The oldest version found is
    // the one the migration's INSERT wrote (sqlx's one UPDATE gives a chain of two; any later UPDATE of the row
    // only makes it longer). A HOT update keeps the old version in the same page; otherwise every page is read
    // (the table is small).
    const pages = await client.query<{ n: string }>(
      "SELECT (pg_relation_size('_sqlx_migrations') / current_setting('block_size')::int)::text AS n",
    );
    const count = Number(pages.rows[0]?.n ?? 0);
    let current = { xmin: row.xmin, ctid: row.ctid, block };
    let oldest: string | undefined;
    for (let step = 0; step < 1000; step++) {
      const order = [current.block, ...Array.from({ length: count }, (_, i) => i).filter((i) => i !== current.block)];
      let found: { xmin: string; ctid: string; block: number } | undefined;
      for (const blk of order) {
        const r = await client.query<{ xmin: string; lp: number }>(
          `SELECT t_xmin::text AS xmin, lp FROM heap_page_items(get_raw_page('_sqlx_migrations', $1::int))
            WHERE t_xmax::text = $2 AND t_ctid::text = $3`,
          [blk, current.xmin, current.ctid],
        );
        const hit = r.rows[0];
        if (hit) {
          found = { xmin: hit.xmin, ctid: `(${blk},${hit.lp})`, block: blk };
          break;
        }
      }
      if (!found) break;
      oldest = found.xmin;
      current = found;
    }
    if (oldest !== undefined) return { version, xid: oldest, source: 'replacedVersion', rowXmin: row.xmin };
    throw new MigrationXidError(
      `The row version that migration ${version}'s own transaction wrote is gone (VACUUM removed it after sqlx's ` +
        'execution_time UPDATE), so its transaction id is no longer known.',
    );
  } catch (e) {
    if (e instanceof MigrationXidError) throw e;
    throw new MigrationXidError(`Reading migration ${version}'s transaction failed: ${(e as Error).message}`);
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
}

/** The live row's xmin: for a migration that was updated, the transaction that ended its bookkeeping. */
export async function rowXmin(client: Client, version: bigint): Promise<string> {
  const r = await client.query<{ xmin: string }>('SELECT xmin::text AS xmin FROM _sqlx_migrations WHERE version = $1', [
    version.toString(),
  ]);
  const x = r.rows[0]?.xmin;
  if (!x) throw new MigrationXidError(`_sqlx_migrations has no row for version ${version}.`);
  return x;
}
