/** The server side of a logical restore: databases, the TimescaleDB versions and workers, missing extensions. */
import { errorText } from '../../../format';
import type { ToolRuntime } from '../../../runtime';
import { psqlQuery, sqlIdent, sqlLiteral, type RestoreContext, type ServerConnection } from '../run';

import { type LogicalTarget } from './types';

export async function databaseExists(t: LogicalTarget, ctx: RestoreContext, db: string): Promise<boolean> {
  const rows = await psqlQuery(t.rt, ctx, t.conn, `SELECT 1 FROM pg_database WHERE datname = ${sqlLiteral(db)}`);
  return rows.includes('1');
}

/** The timescaledb version available on the server and installed in `db` (when it exists). */
export async function timescaleVersions(
  t: LogicalTarget,
  ctx: RestoreContext,
  db?: string,
): Promise<{ available?: string; installed?: string }> {
  const [available] = await psqlQuery(
    t.rt,
    ctx,
    t.conn,
    "SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'",
  );
  const installed = db
    ? (
        await psqlQuery(t.rt, ctx, t.conn, "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'", {
          database: db,
        })
      )[0]
    : undefined;
  return { available: available || undefined, installed: installed || undefined };
}

/** Extensions a dump needs that the server cannot install (pg_available_extensions), sorted. */
export async function missingExtensions(
  rt: ToolRuntime,
  ctx: RestoreContext,
  conn: ServerConnection,
  needed: readonly string[],
): Promise<string[]> {
  if (!needed.length) return [];
  const available = new Set(await psqlQuery(rt, ctx, conn, 'SELECT name FROM pg_available_extensions'));
  return [...new Set(needed)].filter((e) => !available.has(e)).sort();
}

const SCHEDULER = 'TimescaleDB Background Worker Scheduler';

/**
 * Renaming a TimescaleDB database stops its background workers ("you need to manually restart any
 * running background workers"). For each database that has the extension: restart them with the
 * installed version's function (`_timescaledb_functions.` from 2.12, `_timescaledb_internal.` before),
 * then check that its scheduler runs again. Returns warnings for what could not be confirmed.
 */
export async function restartTimescaleWorkers(
  rt: ToolRuntime,
  ctx: RestoreContext,
  conn: ServerConnection,
  databases: readonly string[],
  opts: { waitMs?: number } = {},
): Promise<{ restarted: string[]; warnings: string[] }> {
  const restarted: string[] = [];
  const warnings: string[] = [];
  const quiet: RestoreContext = { step: ctx.step, line: ctx.line };
  for (const db of databases) {
    const [schema] = await psqlQuery(
      rt,
      quiet,
      conn,
      "SELECT n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proname = 'restart_background_workers' " +
        "AND n.nspname IN ('_timescaledb_functions', '_timescaledb_internal') ORDER BY n.nspname = '_timescaledb_functions' DESC LIMIT 1",
      { database: db, signal: null },
    ).catch(() => [] as string[]);
    if (!schema) continue; // not a TimescaleDB database (or gone)
    ctx.step(`Restarting the TimescaleDB background workers of ${db}`);
    try {
      await psqlQuery(rt, quiet, conn, `SELECT ${sqlIdent(schema)}.restart_background_workers()`, {
        database: db,
        signal: null,
      });
      restarted.push(db);
    } catch (e) {
      warnings.push(
        `The TimescaleDB background workers of ${db} could not be restarted (${errorText(e)}): ` +
          `run SELECT ${schema}.restart_background_workers(); in ${db}, or restart the database container.`,
      );
      continue;
    }
    // The scheduler exists only where the library is preloaded and workers are allowed.
    const [workers] = await psqlQuery(
      rt,
      quiet,
      conn,
      "SELECT coalesce(current_setting('timescaledb.max_background_workers', true), '')",
      { database: db, signal: null },
    ).catch(() => ['']);
    if (!workers || workers === '0') {
      const why =
        workers === '0'
          ? 'timescaledb.max_background_workers is 0'
          : 'TimescaleDB is not preloaded (shared_preload_libraries)';
      ctx.line(`${db}: ${why}: no scheduler to check.`);
      continue;
    }
    const deadline = Date.now() + (opts.waitMs ?? 15_000);
    let running = false;
    for (;;) {
      const [n] = await psqlQuery(
        rt,
        quiet,
        conn,
        `SELECT count(*) FROM pg_stat_activity WHERE datname = ${sqlLiteral(db)} ` +
          `AND (backend_type = ${sqlLiteral(SCHEDULER)} OR application_name = ${sqlLiteral(SCHEDULER)})`,
        { signal: null },
      ).catch(() => ['0']);
      if (Number(n) > 0) {
        running = true;
        break;
      }
      if (Date.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    if (running) ctx.line(`${db}: the TimescaleDB scheduler runs again.`);
    else
      warnings.push(
        `The TimescaleDB scheduler of ${db} is not running after the restart: its jobs (policies, continuous aggregate refreshes) ` +
          `are stopped. Run SELECT ${schema}.restart_background_workers(); in ${db} or restart the database container, then check ` +
          `timescaledb_information.job_stats.`,
      );
  }
  for (const w of warnings) ctx.line(`Warning: ${w}`);
  return { restarted, warnings };
}
