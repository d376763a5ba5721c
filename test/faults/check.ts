/**
 * The drill-grade after-check of every cell (issue 29, item 4), and the checksum table it reads.
 *
 * Before a cell: `writeChecksum` fills `fault_checksum` (a known row count and sum) and `snapshot` records
 * what the stack has (databases, containers/volumes/networks of the project, files beside PGDATA and in
 * the container's temp folders, files in the infra folder). After it: `afterCheck` asks that the server
 * answers and is out of recovery; that the checksum rows are all there (or the operation's new rows are);
 * that `pg_amcheck` passes on every database; that nothing new is left (a container, volume, network,
 * database, spool or temp file, a `.partial` file); that the pgBackRest stanza is started and no process
 * holds a pgBackRest lock; and that no client session holds a lock in PostgreSQL.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { run } from '../support/proc';
import type { Stack } from '../support/stack';

export const CHECKSUM_TABLE = 'fault_checksum';
const DATA_PARENT = '/home/postgres/pgdata';

export interface Checksum {
  readonly table: string;
  readonly database?: string;
  readonly rows: number;
  readonly sum: string;
}

/** `rows` rows with a known sum (and `padBytes` of filler per row, to make the table as big as a cell needs). */
export async function writeChecksum(
  stack: Stack,
  opts: { rows: number; padBytes?: number; table?: string; database?: string },
): Promise<Checksum> {
  const table = opts.table ?? CHECKSUM_TABLE;
  const pad = opts.padBytes ?? 0;
  await stack.sql(`DROP TABLE IF EXISTS ${table}`, { database: opts.database });
  await stack.sql(
    `CREATE TABLE ${table} AS SELECT g AS id, (g * 7919)::bigint AS v, ` +
      // Distinct md5s per row: hex text, so compression gets about half off (a backup's size stays near the data's).
      `${pad > 0 ? `(SELECT string_agg(md5((g * 1000 + k)::text), '') FROM generate_series(1, ${Math.ceil(pad / 32)}) k)` : "''::text"} ` +
      `AS pad FROM generate_series(1, ${opts.rows}) g`,
    { database: opts.database },
  );
  await stack.sql(`ALTER TABLE ${table} ADD PRIMARY KEY (id)`, { database: opts.database });
  const [r] = await stack.sql<{ n: string; s: string }>(`SELECT count(*)::text AS n, sum(v)::text AS s FROM ${table}`, {
    database: opts.database,
  });
  if (Number(r!.n) !== opts.rows) throw new Error(`checksum table: ${r!.n} rows written, not ${opts.rows}`);
  return { table, database: opts.database, rows: opts.rows, sum: r!.s };
}

/** What the stack had before a cell: the after-check reports anything new as a leftover. */
export interface Snapshot {
  readonly databases: ReadonlySet<string>;
  readonly docker: ReadonlySet<string>;
  readonly containerFiles: ReadonlySet<string>;
  readonly hostFiles: ReadonlySet<string>;
}

/** Containers, volumes and networks on the engine that name the stack's project (labels or names). */
async function dockerThings(stack: Stack): Promise<Set<string>> {
  const out = new Set<string>();
  const list = async (kind: string, args: string[]) => {
    const r = await run('docker', args, { env: stack.dockerEnv, reject: false });
    for (const l of r.stdout.split('\n').filter(Boolean)) if (l.includes(stack.projectName)) out.add(`${kind} ${l}`);
  };
  await list('container', ['ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.Names}} {{.Labels}}']);
  await list('volume', ['volume', 'ls', '--format', '{{.Name}} {{.Labels}}']);
  await list('network', ['network', 'ls', '--no-trunc', '--format', '{{.ID}} {{.Name}} {{.Labels}}']);
  // Only the id and name count (labels carry times of nothing that matters).
  return new Set([...out].map((l) => l.split(' ').slice(0, 3).join(' ')));
}

/** Files beside PGDATA, in the container's temp folders and pgBackRest's spool. */
async function containerFiles(stack: Stack): Promise<Set<string>> {
  const r = await stack.exec(
    'timescaledb',
    [
      'sh',
      '-c',
      'for d in "$@"; do [ -d "$d" ] && find "$d" -mindepth 1 -maxdepth 1; done; exit 0',
      'sh',
      DATA_PARENT,
      '/tmp',
      '/var/tmp',
      '/var/spool/pgbackrest',
    ],
    { user: 'root', reject: false },
  );
  return new Set(r.stdout.split('\n').filter(Boolean));
}

/** Every file under the infra folder on this machine except PostgreSQL's own data and pgBackRest's repository and logs. */
function hostFiles(stack: Stack): Set<string> {
  const out = new Set<string>();
  const skip = new Set(['pgdata', 'logs', join('backups', 'backup'), join('backups', 'archive')]);
  const walk = (dir: string) => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e);
      const rel = relative(stack.infraDir, p);
      if (skip.has(rel)) continue;
      out.add(rel);
      try {
        if (statSync(p).isDirectory()) walk(p);
      } catch {
        // gone meanwhile
      }
    }
  };
  walk(stack.infraDir);
  return out;
}

async function databases(stack: Stack): Promise<Set<string>> {
  const rows = await stack.sql<{ d: string }>('SELECT datname AS d FROM pg_database');
  return new Set(rows.map((r) => r.d));
}

export async function snapshot(stack: Stack): Promise<Snapshot> {
  return {
    databases: await databases(stack),
    docker: await dockerThings(stack),
    containerFiles: await containerFiles(stack),
    hostFiles: hostFiles(stack),
  };
}

export interface AfterCheckOptions {
  /** The rows that must be there (the checksum table, or the operation's new rows). */
  readonly expect: readonly Checksum[];
  /** Things that may be new after the cell, and why (a pre-restore copy the product keeps as the way back). */
  readonly allowNew?: ReadonlyArray<{ readonly pattern: RegExp; readonly why: string }>;
  /** Seconds to wait for the server to answer (default 120). */
  readonly serverWaitS?: number;
}

export interface AfterCheck {
  readonly problems: string[];
  readonly leftovers: string[];
  readonly rowsLost: number;
  /** What was new but allowed (kept on purpose), for the note. */
  readonly kept: string[];
}

export async function afterCheck(stack: Stack, before: Snapshot, o: AfterCheckOptions): Promise<AfterCheck> {
  const problems: string[] = [];
  const leftovers: string[] = [];
  const kept: string[] = [];
  let rowsLost = 0;
  try {
    await stack.waitForPostgres((o.serverWaitS ?? 120) * 1000);
  } catch (e) {
    problems.push(`the server does not answer: ${String(e).split('\n')[0]}`);
    return { problems, leftovers, rowsLost: o.expect.reduce((n, c) => n + c.rows, 0), kept };
  }
  const [rec] = await stack.sql<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
  if (rec?.r) problems.push('the server is still in recovery');
  for (const c of o.expect) {
    try {
      const [r] = await stack.sql<{ n: string; s: string | null }>(
        `SELECT count(*)::text AS n, sum(v)::text AS s FROM ${c.table}`,
        { database: c.database },
      );
      const n = Number(r!.n);
      if (n < c.rows) rowsLost += c.rows - n;
      if (n !== c.rows || r!.s !== c.sum)
        problems.push(`${c.table}: ${n} rows (sum ${r!.s}), expected ${c.rows} rows (sum ${c.sum})`);
    } catch (e) {
      rowsLost += c.rows;
      problems.push(`${c.table} cannot be read: ${String(e).split('\n')[0]}`);
    }
  }
  const amcheck = await stack.exec(
    'timescaledb',
    ['pg_amcheck', '-h', '/var/run/postgresql', '-U', stack.env.POSTGRES_USER!, '--all', '--install-missing'],
    { reject: false, timeoutMs: 600_000 },
  );
  if (amcheck.exitCode !== 0) {
    const tail = (amcheck.stdout + amcheck.stderr).trim().split('\n').slice(-3).join(' / ');
    problems.push(`pg_amcheck exited ${amcheck.exitCode}: ${tail}`);
  }
  const allowed = (thing: string) => {
    const a = o.allowNew?.find((x) => x.pattern.test(thing));
    if (a) kept.push(`${thing} (${a.why})`);
    return Boolean(a);
  };
  const fresh = (now: Iterable<string>, was: ReadonlySet<string>, label: string) => {
    for (const x of now) if (!was.has(x) && !allowed(`${label} ${x}`)) leftovers.push(`${label} ${x}`);
  };
  const after = await snapshot(stack);
  fresh(after.databases, before.databases, 'database');
  fresh(after.docker, before.docker, 'docker');
  fresh(after.containerFiles, before.containerFiles, 'container file');
  fresh(after.hostFiles, before.hostFiles, 'file');
  // The stanza is started (no stop file) and no process holds a pgBackRest lock file.
  const locks = await stack.exec(
    'timescaledb',
    [
      'sh',
      '-c',
      'ls /tmp/pgbackrest/*.stop 2>/dev/null | sed "s/^/stop file /"; ' +
        'for f in /proc/[0-9]*/fd/*; do l=$(readlink "$f" 2>/dev/null) && ' +
        'case "$l" in *pgbackrest*.lock) echo "lock held $l by ${f%/fd/*}";; esac; done; exit 0',
    ],
    { user: 'root', reject: false },
  );
  for (const l of locks.stdout.split('\n').filter(Boolean)) problems.push(`pgBackRest: ${l}`);
  const pgLocks = await stack.sql<{ n: string }>(
    `SELECT count(*)::text AS n FROM pg_locks l JOIN pg_stat_activity a USING (pid)
      WHERE a.pid <> pg_backend_pid() AND a.backend_type = 'client backend' AND l.locktype IN ('relation', 'advisory')`,
  );
  if (Number(pgLocks[0]!.n) > 0) problems.push(`${pgLocks[0]!.n} lock(s) held by other client sessions in PostgreSQL`);
  if (leftovers.length) problems.push(`left behind: ${leftovers.join('; ')}`);
  return { problems, leftovers, rowsLost, kept };
}
