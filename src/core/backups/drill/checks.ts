/** The checks of a restored copy: connections, pg_amcheck, TimescaleDB, the sqlx history, the user's SQL. */
import { Readable } from 'node:stream';
import type { ToolRuntime } from '../../runtime';
import { errorText } from '../../format';
import { connEnv, psqlArgv, psqlQuery, runLogged, type RestoreContext, type ServerConnection } from '../restore/run';
import type { DrillCheckStatus, DrillTarget } from './types';

/** Rows of `psql -At` output: every `|`-separated field; a check fails on no row or a false value. */
export function judgeCheckOutput(lines: readonly string[]): { ok: boolean; message: string } {
  const rows = lines.filter((l) => l.length > 0);
  if (!rows.length) return { ok: false, message: 'returned no row' };
  const bad = rows.find((r) => r.split('|').some((f) => /^(f|false)$/i.test(f.trim())));
  if (bad) return { ok: false, message: `returned false: ${bad}` };
  return { ok: true, message: `${rows.length} row${rows.length === 1 ? '' : 's'}, no false` };
}

/** Compressed files under `dir` whose compression check fails (gzip/bzip2/lz4/zstd -t, when the tool is there). */
export async function damagedRepoFiles(rt: ToolRuntime, dir: string, ctx: RestoreContext): Promise<string[]> {
  const script =
    'find "$0" -type f \\( -name "*.gz" -o -name "*.bz2" -o -name "*.lz4" -o -name "*.zst" \\) | while read -r f; do ' +
    'case "$f" in *.gz) t=gzip;; *.bz2) t=bzip2;; *.lz4) t=lz4;; *.zst) t=zstd;; esac; ' +
    'command -v "$t" >/dev/null 2>&1 || continue; "$t" -t "$f" >/dev/null 2>&1 || echo "$f"; done';
  ctx.step('Looking for the damaged repository file');
  const r = await rt.run(['sh', '-c', script, dir], { signal: ctx.signal }).catch(() => undefined);
  return (r?.stdoutLines ?? []).filter(Boolean).slice(0, 20);
}

/** What every check of a restored copy uses: the scratch copy's and the live server's queries, the recorder. */
interface CheckEnv {
  readonly t: DrillTarget;
  readonly rt: ToolRuntime;
  readonly conn: ServerConnection;
  readonly ctx: RestoreContext;
  readonly check: (name: string, status: DrillCheckStatus, message: string) => void;
  /** A query on the scratch copy (not logged). */
  q(sql: string, database?: string): Promise<string[]>;
  /** A query on the live server (read only, not logged). */
  liveQ(sql: string, database?: string): Promise<string[]>;
}

export async function runChecks(
  t: DrillTarget,
  live: ToolRuntime,
  rt: ToolRuntime,
  conn: ServerConnection,
  ctx: RestoreContext,
  check: (name: string, status: DrillCheckStatus, message: string) => void,
  opts: { cores?: number } = {},
): Promise<void> {
  const quiet = { ...ctx, line: () => undefined };
  const env: CheckEnv = {
    t,
    rt,
    conn,
    ctx,
    check,
    q: (sql, database) => psqlQuery(rt, quiet, conn, sql, { database }),
    liveQ: (sql, database) =>
      psqlQuery(live, quiet, { ...t.conn, host: undefined, port: undefined }, sql, { database }),
  };
  const dbs = await checkConnections(env);
  await checkAmcheck(env, opts.cores ?? 1);
  for (const db of dbs) await checkTimescale(env, db);
  const db = t.conn.database ?? 'postgres';
  await checkSqlxHistory(env, db);
  await userChecks(env, db);
}

/** Every database accepts a connection; returns them. */
async function checkConnections({ q, check }: CheckEnv): Promise<string[]> {
  const dbs = await q("SELECT datname FROM pg_database WHERE datallowconn AND datname <> 'template1' ORDER BY 1");
  // One connection per database, all at once (each is a psql of its own).
  const failedConnect = (
    await Promise.all(
      dbs.map((db) =>
        q('SELECT 1', db).then(
          () => undefined,
          (e: unknown) => `${db}: ${errorText(e)}`,
        ),
      ),
    )
  ).filter((x): x is string => x !== undefined);
  check(
    'every database accepts a connection',
    failedConnect.length ? 'failed' : 'passed',
    failedConnect.length ? failedConnect.join('; ') : dbs.join(', '),
  );
  return dbs;
}

async function checkAmcheck({ rt, ctx, conn, check }: CheckEnv, cores: number): Promise<void> {
  // pg_amcheck: heap and B-tree of every database; amcheck is created in the scratch copy only. One connection
  // per core of the engine's host (at most 4): the relations are checked side by side.
  const jobs = Math.max(1, Math.min(4, Math.floor(cores)));
  const am = await runLogged(
    rt,
    ctx,
    [
      'pg_amcheck',
      '-h',
      conn.host!,
      '-p',
      String(conn.port),
      '-U',
      conn.user,
      '--all',
      '--install-missing',
      ...(jobs > 1 ? [`--jobs=${jobs}`] : []),
    ],
    {
      env: connEnv(conn),
      secrets: [conn.password],
    },
  );
  check(
    'pg_amcheck (heap and B-tree, every database)',
    am.exitCode === 0 ? 'passed' : 'failed',
    am.exitCode === 0
      ? 'no corruption found'
      : `exit ${am.exitCode}: ${[...am.stdoutLines, ...am.stderrTail].slice(-5).join(' ')}`,
  );
}

/** TimescaleDB, where installed: the same version as live, every hypertable readable, every continuous aggregate queryable. */
async function checkTimescale({ q, liveQ, check }: CheckEnv, db: string): Promise<void> {
  const [ver] = await q("SELECT coalesce((SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'), '')", db);
  if (!ver) return;
  const problems: string[] = [];
  const [liveVer] = await liveQ(
    "SELECT coalesce((SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'), '')",
    db,
  ).catch(() => ['']);
  if (liveVer && liveVer !== ver) problems.push(`extension ${ver} in the backup, ${liveVer} live`);
  const hts = await q(
    "SELECT format('%I.%I', hypertable_schema, hypertable_name) || '|' || num_chunks FROM timescaledb_information.hypertables ORDER BY 1",
    db,
  );
  for (const h of hts) {
    const ht = h.split('|')[0]!;
    await q(`SELECT count(*) FROM ${ht}`, db).catch((e: unknown) => problems.push(`${ht} unreadable: ${errorText(e)}`));
  }
  const caggs = await q(
    "SELECT format('%I.%I', view_schema, view_name) FROM timescaledb_information.continuous_aggregates",
    db,
  );
  for (const c of caggs)
    await q(`SELECT 1 FROM ${c} LIMIT 1`, db).catch((e: unknown) =>
      problems.push(`${c} not queryable: ${errorText(e)}`),
    );
  const [jobs] = await q('SELECT count(*) FROM timescaledb_information.jobs', db);
  check(
    `TimescaleDB in ${db}`,
    problems.length ? 'failed' : 'passed',
    problems.length
      ? problems.join('; ')
      : `version ${ver}; ${hts.length} hypertables (${hts.map((h) => h.replace('|', ': ') + ' chunks').join(', ') || 'none'}); ` +
          `${caggs.length} continuous aggregates; ${jobs} jobs`,
  );
}

async function checkSqlxHistory({ q, liveQ, check }: CheckEnv, db: string): Promise<void> {
  // The sqlx history: newest applied migration in the backup vs live.
  const newestSql =
    "SELECT coalesce((SELECT max(version)::text FROM _sqlx_migrations WHERE success), '') WHERE to_regclass('_sqlx_migrations') IS NOT NULL";
  const [mine] = await q(newestSql, db).catch(() => [] as string[]);
  if (mine === undefined) check('sqlx history', 'skipped', `no _sqlx_migrations table in ${db}`);
  else {
    const newer = await liveQ(
      `SELECT version || ' ' || description FROM _sqlx_migrations WHERE success AND version > ${mine ? Number(mine) : 0} ORDER BY version`,
      db,
    ).catch(() => [] as string[]);
    check(
      'sqlx history',
      'passed',
      `newest applied migration in the backup: ${mine || 'none'}` +
        (newer.length ? `; it predates ${newer.length} applied live: ${newer.join(', ')}` : '; the same as live'),
    );
  }
}

async function userChecks({ t, rt, ctx, conn, check }: CheckEnv, db: string): Promise<void> {
  // User checks: each query must return at least one row and no false.
  for (const c of t.checks ?? []) {
    const r = await runLogged(rt, ctx, [...psqlArgv(conn, db), '-f', '-'], {
      env: connEnv(conn),
      secrets: [conn.password],
      quietStdout: true,
      stdin: Readable.from([c.sql]),
    });
    if (r.exitCode !== 0)
      check(`check ${c.name}`, 'failed', `psql exited ${r.exitCode}: ${r.stderrTail.slice(-3).join(' ')}`);
    else {
      const j = judgeCheckOutput(r.stdoutLines);
      check(`check ${c.name}`, j.ok ? 'passed' : 'failed', j.message);
    }
  }
}
