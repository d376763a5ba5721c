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
 */
import { errorText } from '../../format';
import { PassThrough, Transform } from 'node:stream';
import type { ToolRuntime } from '../../runtime';
import { ToolFailedError } from '../../runtime';
import { isCancelled } from '../../operations/cancel';
import {
  BackupVerifyError,
  connEnv,
  displayArgv,
  psqlArgv,
  psqlQuery,
  RestoreError,
  runLogged,
  runLoggedChecked,
  sqlIdent,
  sqlLiteral,
  type RestoreContext,
  type ServerConnection,
} from './run';
import { maskSecrets } from '../../operations/queue';

export interface LogicalTarget {
  /** Where pg_restore and psql run (the database container, or this machine). */
  readonly rt: ToolRuntime;
  /** How they reach the server; `database` is the maintenance database (default postgres). */
  readonly conn: ServerConnection;
}

export interface DumpRestoreOptions {
  /** The pg_dump file as the runtime sees it. */
  readonly file: string;
  /** The database to restore into (created when missing). */
  readonly database: string;
  /** `--clean --if-exists`: drop the dump's objects before recreating them. */
  readonly clean?: boolean;
  /** `--single-transaction` (all or nothing). Default: true when the database exists, else false. */
  readonly singleTransaction?: boolean;
  /** `--exit-on-error` (default true). */
  readonly exitOnError?: boolean;
  /** TimescaleDB version recorded with the dump (its sidecar), for the version check. */
  readonly dumpTimescaledbVersion?: string;
}

export interface DumpRestoreResult {
  readonly database: string;
  readonly created: boolean;
  readonly timescaledb: { readonly used: boolean; readonly serverVersion?: string; readonly dumpVersion?: string };
  readonly warnings: string[];
  readonly durationMs: number;
}

const DB_NAME_MAX = 63;

export function checkDatabaseName(name: unknown, field = 'database'): string {
  if (typeof name !== 'string' || !name.trim())
    throw new Error(`${field} must be a database name, not ${JSON.stringify(name)}.`);
  if (Buffer.byteLength(name) > DB_NAME_MAX) throw new Error(`${field} "${name}" is longer than ${DB_NAME_MAX} bytes.`);
  if (/[\0\n\r]/.test(name)) throw new Error(`${field} "${JSON.stringify(name)}" contains a control character.`);
  return name;
}

/** `pg_restore -l` lists the dump's table of contents: the dump is readable, and says whether it has TimescaleDB. */
export async function verifyDump(
  rt: ToolRuntime,
  file: string,
  ctx: RestoreContext,
): Promise<{ entries: number; hasTimescaledb: boolean }> {
  const r = await runLogged(rt, ctx, ['pg_restore', '-l', file], { quietStdout: true });
  if (r.exitCode !== 0) {
    throw new BackupVerifyError(
      `${file} is not a readable pg_dump archive (pg_restore -l exited ${r.exitCode}: ${r.stderrTail.slice(-3).join(' ')}); nothing was changed.`,
    );
  }
  const entries = r.stdoutLines.filter((l) => l && !l.startsWith(';')).length;
  const hasTimescaledb = r.stdoutLines.some((l) => /\bEXTENSION - timescaledb\b/.test(l));
  ctx.line(`${file}: ${entries} entries${hasTimescaledb ? ', with the timescaledb extension' : ''}.`);
  return { entries, hasTimescaledb };
}

async function databaseExists(t: LogicalTarget, ctx: RestoreContext, db: string): Promise<boolean> {
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

export async function restoreDump(
  t: LogicalTarget,
  o: DumpRestoreOptions,
  ctx: RestoreContext,
): Promise<DumpRestoreResult> {
  const t0 = Date.now();
  const db = checkDatabaseName(o.database);
  const warnings: string[] = [];
  ctx.step('Verifying the dump');
  const dump = await verifyDump(t.rt, o.file, ctx);
  ctx.signal?.throwIfAborted();

  const exists = await databaseExists(t, ctx, db);
  const ts = await timescaleVersions(t, ctx, exists ? db : undefined);
  const useTs = dump.hasTimescaledb || Boolean(ts.installed);
  if (dump.hasTimescaledb && !ts.available) {
    throw new BackupVerifyError(
      `${o.file} uses the timescaledb extension, but this server has none (pg_available_extensions): ` +
        `restore it into a TimescaleDB server; nothing was changed.`,
    );
  }
  const serverTs = ts.installed ?? ts.available;
  if (o.dumpTimescaledbVersion && serverTs && o.dumpTimescaledbVersion !== serverTs) {
    const w =
      `The dump was made with TimescaleDB ${o.dumpTimescaledbVersion}, the server has ${serverTs}: ` +
      `TimescaleDB restores need the same version ` +
      `(install ${o.dumpTimescaledbVersion}, restore, then ALTER EXTENSION timescaledb UPDATE).`;
    warnings.push(w);
    ctx.line(`Warning: ${w}`);
  }
  ctx.line(
    useTs
      ? `TimescaleDB ${serverTs ?? '?'}: the restore runs between timescaledb_pre_restore() and timescaledb_post_restore().`
      : 'No TimescaleDB extension in the dump or the database: a plain pg_restore.',
  );

  let created = false;
  if (!exists) {
    ctx.step(`Creating database ${db}`);
    await psqlQuery(t.rt, ctx, t.conn, `CREATE DATABASE ${sqlIdent(db)}`);
    created = true;
  }
  const single = o.singleTransaction ?? exists;
  let preRestored = false;
  try {
    if (useTs) {
      ctx.step('Preparing TimescaleDB (timescaledb_pre_restore)');
      await psqlQuery(t.rt, ctx, t.conn, 'CREATE EXTENSION IF NOT EXISTS timescaledb', { database: db });
      await psqlQuery(t.rt, ctx, t.conn, 'SELECT timescaledb_pre_restore()', { database: db });
      preRestored = true;
    }
    ctx.step(`Restoring into ${db}`);
    // Never -j: parallel pg_restore does not restore the TimescaleDB catalogs correctly.
    const argv = [
      'pg_restore',
      '--verbose',
      ...(t.conn.host ? ['-h', t.conn.host] : []),
      ...(t.conn.port ? ['-p', String(t.conn.port)] : []),
      '-U',
      t.conn.user,
      '-d',
      db,
      ...(o.clean ? ['--clean', '--if-exists'] : []),
      ...(single ? ['--single-transaction'] : []),
      ...(o.exitOnError === false ? [] : ['--exit-on-error']),
      o.file,
    ];
    await runLoggedChecked(t.rt, ctx, argv, { env: connEnv(t.conn), secrets: [t.conn.password] });
  } catch (e) {
    const cancelled = isCancelled(e) || ctx.signal?.aborted;
    const quiet: RestoreContext = { step: ctx.step, line: ctx.line };
    if (preRestored)
      await psqlQuery(t.rt, quiet, t.conn, 'SELECT timescaledb_post_restore()', { database: db }).catch(
        () => undefined,
      );
    if (created) {
      ctx.step(`Dropping the half-restored new database ${db}`);
      await psqlQuery(t.rt, quiet, t.conn, `DROP DATABASE IF EXISTS ${sqlIdent(db)} WITH (FORCE)`).catch((x: unknown) =>
        ctx.line(`Could not drop ${db}: ${errorText(x)}`),
      );
    }
    const what = cancelled ? 'was cancelled' : `failed (${errorText(e)})`;
    const state = created
      ? `the new database ${db} was dropped again`
      : single
        ? `${db} is unchanged (single transaction)`
        : `${db} may hold part of the dump`;
    throw new RestoreError(`The restore of ${o.file} into ${db} ${what}; ${state}.`, created || single, e);
  }
  if (preRestored) {
    ctx.step('Finishing TimescaleDB (timescaledb_post_restore)');
    await psqlQuery(t.rt, { step: ctx.step, line: ctx.line }, t.conn, 'SELECT timescaledb_post_restore()', {
      database: db,
    });
  }
  return {
    database: db,
    created,
    timescaledb: { used: useTs, serverVersion: serverTs, dumpVersion: o.dumpTimescaledbVersion },
    warnings,
    durationMs: Date.now() - t0,
  };
}

// ---------- pg_dumpall ----------

export interface DumpAllRestoreResult {
  /** Databases the dump created. */
  readonly databases: string[];
  /** Existing databases renamed aside (kept; drop them when satisfied): old name → kept name. */
  readonly keptAside: Record<string, string>;
  /** Roles that existed, whose CREATE ROLE was skipped. */
  readonly existingRoles: string[];
  readonly durationMs: number;
}

/** `"My DB"` → `My DB`; `shop` → `shop`. */
export function unquoteIdent(s: string): string {
  return s.startsWith('"') ? s.slice(1, -1).replace(/""/g, '"') : s;
}

const IDENT = '("(?:[^"]|"")+"|[^\\s;"]+)';
const CREATE_DB = new RegExp(`^CREATE DATABASE ${IDENT}`);
const CREATE_ROLE = new RegExp(`^CREATE ROLE ${IDENT};$`);

/** What a pg_dumpall script creates: its databases and roles (from `CREATE DATABASE`/`CREATE ROLE` lines). */
export function dumpAllObjects(lines: readonly string[]): { databases: string[]; roles: string[] } {
  const databases: string[] = [];
  const roles: string[] = [];
  for (const l of lines) {
    const d = CREATE_DB.exec(l);
    if (d) databases.push(unquoteIdent(d[1]!));
    const r = CREATE_ROLE.exec(l);
    if (r) roles.push(unquoteIdent(r[1]!));
  }
  return { databases, roles };
}

/** A line filter that comments out `CREATE ROLE x;` for roles that exist (their ALTER ROLE still runs). */
export function skipExistingRoles(existing: ReadonlySet<string>): Transform {
  let rest = '';
  const map = (line: string) => {
    const m = CREATE_ROLE.exec(line);
    return m && existing.has(unquoteIdent(m[1]!)) ? `-- tsdb-ops: role ${m[1]} exists, CREATE ROLE skipped` : line;
  };
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      rest += chunk.toString('utf8');
      const parts = rest.split('\n');
      rest = parts.pop() ?? '';
      cb(null, parts.length ? parts.map(map).join('\n') + '\n' : '');
    },
    flush(cb) {
      cb(null, rest ? map(rest) : '');
    },
  });
}

function asideName(db: string, stamp: string): string {
  const suffix = `_pre_restore_${stamp}`;
  let base = db;
  while (Buffer.byteLength(base + suffix) > DB_NAME_MAX) base = base.slice(0, -1);
  return base + suffix;
}

export async function verifyDumpAll(
  rt: ToolRuntime,
  file: string,
  ctx: RestoreContext,
): Promise<{ databases: string[]; roles: string[] }> {
  const head = await runLogged(rt, ctx, ['head', '-n', '5', file], { quietStdout: true });
  if (head.exitCode !== 0) throw new BackupVerifyError(`Cannot read ${file}: ${head.stderrTail.join(' ')}`);
  if (!head.stdoutLines.some((l) => /PostgreSQL database cluster dump/.test(l))) {
    throw new BackupVerifyError(
      `${file} is not a pg_dumpall script (no "PostgreSQL database cluster dump" header); nothing was changed.`,
    );
  }
  const tail = await runLogged(rt, ctx, ['tail', '-n', '5', file], { quietStdout: true });
  if (!tail.stdoutLines.some((l) => /PostgreSQL database cluster dump complete/.test(l))) {
    throw new BackupVerifyError(
      `${file} is incomplete (no "PostgreSQL database cluster dump complete" at its end): the dump was cut short; nothing was changed.`,
    );
  }
  const g = await runLogged(rt, ctx, ['grep', '-E', '^CREATE (DATABASE|ROLE) ', file], { quietStdout: true });
  const objects = dumpAllObjects(g.stdoutLines);
  ctx.line(
    `${file}: databases ${objects.databases.join(', ') || '(none besides postgres/template1)'}; roles ${objects.roles.join(', ') || '(none)'}.`,
  );
  return objects;
}

export async function restoreDumpAll(
  t: LogicalTarget,
  o: { file: string; now?: Date },
  ctx: RestoreContext,
): Promise<DumpAllRestoreResult> {
  const t0 = Date.now();
  ctx.step('Verifying the dump');
  const objects = await verifyDumpAll(t.rt, o.file, ctx);
  ctx.signal?.throwIfAborted();
  // Everything below runs from the `postgres` database: the dump's databases are renamed and recreated.
  const conn: ServerConnection = { ...t.conn, database: 'postgres' };
  const dbs = new Set(await psqlQuery(t.rt, ctx, conn, 'SELECT datname FROM pg_database'));
  const roles = new Set(await psqlQuery(t.rt, ctx, conn, 'SELECT rolname FROM pg_roles'));
  const existingRoles = objects.roles.filter((r) => roles.has(r));
  const at = o.now ?? new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${at.getUTCFullYear()}${p(at.getUTCMonth() + 1)}${p(at.getUTCDate())}_${p(at.getUTCHours())}${p(at.getUTCMinutes())}${p(at.getUTCSeconds())}`;
  const keptAside: Record<string, string> = {};
  const quiet: RestoreContext = { step: ctx.step, line: ctx.line };

  const putBack = async () => {
    for (const db of objects.databases) {
      if (keptAside[db] || !dbs.has(db)) {
        await psqlQuery(t.rt, quiet, conn, `DROP DATABASE IF EXISTS ${sqlIdent(db)} WITH (FORCE)`).catch((x: unknown) =>
          ctx.line(`Could not drop ${db}: ${errorText(x)}`),
        );
      }
    }
    for (const [db, aside] of Object.entries(keptAside)) {
      await psqlQuery(t.rt, quiet, conn, `ALTER DATABASE ${sqlIdent(aside)} RENAME TO ${sqlIdent(db)}`);
    }
  };

  try {
    for (const db of objects.databases) {
      if (!dbs.has(db)) continue;
      const aside = asideName(db, stamp);
      ctx.step(`Renaming ${db} aside to ${aside}`);
      // Renaming needs the database free: end its sessions first.
      await psqlQuery(
        t.rt,
        ctx,
        conn,
        `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = ${sqlLiteral(db)} AND pid <> pg_backend_pid()`,
      );
      await psqlQuery(t.rt, ctx, conn, `ALTER DATABASE ${sqlIdent(db)} RENAME TO ${sqlIdent(aside)}`);
      keptAside[db] = aside;
    }
    ctx.step('Running the dump through psql (ON_ERROR_STOP)');
    if (existingRoles.length)
      ctx.line(`Roles that exist (CREATE ROLE skipped, ALTER ROLE applied): ${existingRoles.join(', ')}`);
    const argv = [...psqlArgv(conn, 'postgres'), '-f', '-'];
    const cat = ['cat', o.file];
    ctx.line(
      `$ ${displayArgv(cat)} | (CREATE ROLE of existing roles skipped) | ${maskSecrets(displayArgv(argv), [conn.password])}`,
    );
    const pipe = new PassThrough();
    const filtered = pipe.pipe(skipExistingRoles(new Set(existingRoles)));
    const feeding = t.rt.run(cat, { stdout: pipe, signal: ctx.signal }).then((r) => {
      pipe.end();
      if (r.exitCode !== 0) throw new ToolFailedError(cat, r.exitCode, r.stderrTail, t.rt.description);
    });
    feeding.catch(() => pipe.end());
    const r = await t.rt.run(argv, {
      env: connEnv(conn),
      stdin: filtered,
      signal: ctx.signal,
      onStdoutLine: () => undefined, // SET / CREATE TABLE … echo lines: too many to log
      onStderrLine: (l) => ctx.line(maskSecrets(l, [conn.password])),
    });
    await feeding;
    if (r.exitCode !== 0) throw new ToolFailedError(argv, r.exitCode, r.stderrTail, t.rt.description);
  } catch (e) {
    const cancelled = isCancelled(e) || ctx.signal?.aborted;
    ctx.step('Rolling back');
    try {
      await putBack();
    } catch (rb) {
      throw new RestoreError(
        `The pg_dumpall restore ${cancelled ? 'was cancelled' : `failed (${errorText(e)})`} ` +
          `and putting the databases back failed (${errorText(rb)}): ` +
          `the previous databases are kept as ${Object.values(keptAside).join(', ')}.`,
        false,
        e,
      );
    }
    throw new RestoreError(
      `The pg_dumpall restore ${cancelled ? 'was cancelled' : `failed (${errorText(e)})`}; the databases are as before` +
        `${existingRoles.length || objects.roles.length ? ' (roles the dump created remain)' : ''}.`,
      true,
      e,
    );
  }
  if (Object.keys(keptAside).length) {
    ctx.line(
      `Kept the previous databases: ${Object.entries(keptAside)
        .map(([a, b]) => `${a} → ${b}`)
        .join(', ')} (drop them when you no longer need them).`,
    );
  }
  return { databases: objects.databases, keptAside, existingRoles, durationMs: Date.now() - t0 };
}
