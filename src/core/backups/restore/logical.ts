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
import { Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { ToolRuntime } from '../../runtime';
import { runPipeline, ToolFailedError } from '../../runtime';
import { isCancelled } from '../../operations/cancel';
import {
  BackupVerifyError,
  connEnv,
  displayArgv,
  psqlArgv,
  psqlQuery,
  RestoreError,
  runLogged,
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
): Promise<{ entries: number; hasTimescaledb: boolean; extensions: string[] }> {
  const r = await runLogged(rt, ctx, ['pg_restore', '-l', file], { quietStdout: true });
  if (r.exitCode !== 0) {
    throw new BackupVerifyError(
      `${file} is not a readable pg_dump archive (pg_restore -l exited ${r.exitCode}: ${r.stderrTail.slice(-3).join(' ')}); nothing was changed.`,
    );
  }
  const entries = r.stdoutLines.filter((l) => l && !l.startsWith(';')).length;
  const extensions = [
    ...new Set(
      r.stdoutLines
        .filter((l) => !l.startsWith(';'))
        .map((l) => /\bEXTENSION - (\S+)/.exec(l)?.[1])
        .filter((x): x is string => Boolean(x)),
    ),
  ].sort();
  const hasTimescaledb = extensions.includes('timescaledb');
  ctx.line(
    `${file}: ${entries} entries${extensions.length ? `, extensions ${extensions.join(', ')}` : ''}` +
      `${hasTimescaledb ? ' (with the timescaledb extension)' : ''}.`,
  );
  return { entries, hasTimescaledb, extensions };
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
  const missing = await missingExtensions(t.rt, ctx, { ...t.conn }, dump.extensions);
  if (missing.length) {
    throw new BackupVerifyError(
      `${o.file} needs extensions this server does not have (pg_available_extensions): ${missing.join(', ')}. ` +
        `Restore it on a server that has them; nothing was changed.`,
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
    const errors: string[] = [];
    const r = await runLogged(t.rt, ctx, argv, {
      env: connEnv(t.conn),
      secrets: [t.conn.password],
      onStderr: (l) => {
        if (/^pg_restore: error: /.test(l) && errors.length < 50) errors.push(maskSecrets(l, [t.conn.password]));
      },
    });
    const ignored = r.stderrTail.map((l) => /errors ignored on restore: (\d+)/.exec(l)).find(Boolean);
    if (r.exitCode === 1 && ignored && o.exitOnError === false) {
      // Not a success: the restore went on past errors. Say how many and which.
      const w =
        `pg_restore ignored ${ignored[1]} error(s) while restoring into ${db}; the database may miss what failed:\n` +
        errors.join('\n');
      warnings.push(w);
      ctx.line(`Warning: ${w}`);
    } else if (r.exitCode !== 0) {
      throw new ToolFailedError(
        argv,
        r.exitCode,
        r.stderrTail.map((l) => maskSecrets(l, [t.conn.password])),
        t.rt.description,
      );
    }
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
  /** Databases restored between timescaledb_pre_restore() and timescaledb_post_restore(). */
  readonly timescaleDatabases: string[];
  /** What needs a look: TimescaleDB schedulers that did not come back. */
  readonly warnings: string[];
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
  return dumpAllFilter({ existingRoles: existing });
}

const CONNECT_PLAIN = /^\\connect (?!-)(.+)$/;
const CONNECT_REUSE = /^\\connect -reuse-previous=on "dbname='((?:[^']|'')*)'"$/;
const CREATE_EXT = new RegExp(`^CREATE EXTENSION (?:IF NOT EXISTS )?${IDENT}(?: WITH SCHEMA ${IDENT})?`);
const CLUSTER_DUMP_END = /^-- PostgreSQL database cluster dump complete/;

/** The database a pg_dumpall `\connect` line switches to, if it is one. */
export function connectTarget(line: string): string | undefined {
  const r = CONNECT_REUSE.exec(line);
  if (r) return r[1]!.replace(/''/g, "'");
  const p = CONNECT_PLAIN.exec(line);
  return p ? unquoteIdent(p[1]!.trim()) : undefined;
}

/** Per database section of a pg_dumpall script: the extensions it creates and whether it loads TimescaleDB catalog data. */
export interface DumpAllSection {
  readonly database: string;
  readonly extensions: string[];
  /** `COPY _timescaledb_catalog.…` lines: TimescaleDB catalog rows are restored in this section. */
  readonly timescaleCatalogData: boolean;
}

/** The sections of a pg_dumpall script from its `\connect`, `CREATE EXTENSION` and `COPY _timescaledb_catalog.` lines. */
export function dumpAllSections(lines: readonly string[]): DumpAllSection[] {
  const out: { database: string; extensions: string[]; timescaleCatalogData: boolean }[] = [];
  for (const l of lines) {
    const db = connectTarget(l);
    if (db !== undefined) {
      out.push({ database: db, extensions: [], timescaleCatalogData: false });
      continue;
    }
    const cur = out[out.length - 1];
    if (!cur) continue;
    const ext = CREATE_EXT.exec(l);
    if (ext) cur.extensions.push(unquoteIdent(ext[1]!));
    if (l.startsWith('COPY _timescaledb_catalog.')) cur.timescaleCatalogData = true;
  }
  return out;
}

/**
 * The filter a pg_dumpall script goes through on its way to psql:
 *  - `CREATE ROLE x;` of roles that exist is commented out (their `ALTER ROLE` still runs);
 *  - with `timescaledb`, each database section that creates the timescaledb extension gets
 *    `SELECT <schema>.timescaledb_pre_restore();` right after its `CREATE EXTENSION` and
 *    `SELECT <schema>.timescaledb_post_restore();` at the section's end (before the next `\connect`
 *    or the end of the script), TimescaleDB's documented restore procedure, one database at a time.
 * `onPreRestore` is told each database whose pre_restore was sent (to undo it after a failure).
 */
export function dumpAllFilter(opts: {
  existingRoles?: ReadonlySet<string>;
  timescaledb?: boolean;
  onPreRestore?: (database: string, schema: string) => void;
}): Transform {
  let rest = '';
  const decoder = new StringDecoder('utf8');
  let db: string | undefined;
  let postRestore: string | undefined;
  const closeSection = (out: string[]) => {
    if (postRestore) out.push(`-- tsdb-ops: end of ${db ?? '?'}`, postRestore);
    postRestore = undefined;
  };
  const map = (line: string, out: string[]) => {
    const target = connectTarget(line);
    if (target !== undefined || CLUSTER_DUMP_END.test(line)) {
      closeSection(out);
      if (target !== undefined) db = target;
      out.push(line);
      return;
    }
    const role = CREATE_ROLE.exec(line);
    if (role && opts.existingRoles?.has(unquoteIdent(role[1]!))) {
      out.push(`-- tsdb-ops: role ${role[1]} exists, CREATE ROLE skipped`);
      return;
    }
    out.push(line);
    const ext = opts.timescaledb ? CREATE_EXT.exec(line) : null;
    if (ext && unquoteIdent(ext[1]!) === 'timescaledb' && db !== undefined && !postRestore) {
      const schema = ext[2] ?? 'public';
      out.push(`-- tsdb-ops: TimescaleDB restore procedure for ${db}`, `SELECT ${schema}.timescaledb_pre_restore();`);
      postRestore = `SELECT ${schema}.timescaledb_post_restore();`;
      opts.onPreRestore?.(db, unquoteIdent(schema));
    }
  };
  const mapAll = (lines: string[]) => {
    const out: string[] = [];
    for (const l of lines) map(l, out);
    return out;
  };
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      // A character split between two chunks is decoded whole.
      rest += decoder.write(chunk);
      const parts = rest.split('\n');
      rest = parts.pop() ?? '';
      cb(null, parts.length ? mapAll(parts).join('\n') + '\n' : '');
    },
    flush(cb) {
      rest += decoder.end();
      const out = rest ? mapAll([rest]) : [];
      closeSection(out);
      cb(null, out.length ? out.join('\n') + (rest ? '' : '\n') : '');
    },
  });
}

function asideName(db: string, stamp: string): string {
  const suffix = `_pre_restore_${stamp}`;
  let base = db;
  while (Buffer.byteLength(base + suffix) > DB_NAME_MAX) base = base.slice(0, -1);
  return base + suffix;
}

export interface DumpAllContents {
  readonly databases: string[];
  readonly roles: string[];
  /** One entry per `\\connect` section (template1, postgres and each database). */
  readonly sections: DumpAllSection[];
  /** Every extension the script creates (any section), sorted. */
  readonly extensions: string[];
  /** Sections that create the timescaledb extension (restored between pre_restore and post_restore). */
  readonly timescaleDatabases: string[];
}

export async function verifyDumpAll(rt: ToolRuntime, file: string, ctx: RestoreContext): Promise<DumpAllContents> {
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
  const g = await runLogged(
    rt,
    ctx,
    ['grep', '-E', '^(CREATE (DATABASE|ROLE|EXTENSION) |\\\\connect |COPY _timescaledb_catalog\\.)', file],
    { quietStdout: true },
  );
  const objects = dumpAllObjects(g.stdoutLines);
  const sections = dumpAllSections(g.stdoutLines);
  const extensions = [...new Set(sections.flatMap((x) => x.extensions))].sort();
  const timescaleDatabases = sections.filter((x) => x.extensions.includes('timescaledb')).map((x) => x.database);
  // Catalog rows without CREATE EXTENSION (a data-only dump): pre_restore cannot be placed before them.
  const dataOnly = sections.filter((x) => x.timescaleCatalogData && !x.extensions.includes('timescaledb'));
  if (dataOnly.length) {
    throw new BackupVerifyError(
      `${file} loads TimescaleDB catalog data into ${dataOnly.map((x) => x.database).join(', ')} without creating the ` +
        `timescaledb extension there (a data-only pg_dumpall?): it cannot be replayed safely. Restore those databases ` +
        `one at a time from a pg_dump of each (Restore a pg_dump file), which runs timescaledb_pre_restore() and ` +
        `timescaledb_post_restore() around pg_restore; nothing was changed.`,
    );
  }
  ctx.line(
    `${file}: databases ${objects.databases.join(', ') || '(none besides postgres/template1)'}; roles ${objects.roles.join(', ') || '(none)'}` +
      `${extensions.length ? `; extensions ${extensions.join(', ')}` : ''}` +
      `${timescaleDatabases.length ? `; TimescaleDB in ${timescaleDatabases.join(', ')}` : ''}.`,
  );
  return { ...objects, sections, extensions, timescaleDatabases };
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
  const missing = await missingExtensions(t.rt, ctx, conn, objects.extensions);
  if (missing.length) {
    throw new BackupVerifyError(
      `${o.file} needs extensions this server does not have (pg_available_extensions): ${missing.join(', ')}. ` +
        `Restore it on a server that has them (the same TimescaleDB version for timescaledb); nothing was changed.`,
    );
  }
  const dbs = new Set(await psqlQuery(t.rt, ctx, conn, 'SELECT datname FROM pg_database'));
  const roles = new Set(await psqlQuery(t.rt, ctx, conn, 'SELECT rolname FROM pg_roles'));
  const existingRoles = objects.roles.filter((r) => roles.has(r));
  const at = o.now ?? new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${at.getUTCFullYear()}${p(at.getUTCMonth() + 1)}${p(at.getUTCDate())}_${p(at.getUTCHours())}${p(at.getUTCMinutes())}${p(at.getUTCSeconds())}`;
  const keptAside: Record<string, string> = {};
  const quiet: RestoreContext = { step: ctx.step, line: ctx.line };
  const useTs = objects.timescaleDatabases.length > 0;
  /** Databases whose timescaledb_pre_restore() went to psql, with the extension's schema. */
  const preRestored = new Map<string, string>();

  const putBack = async () => {
    // TimescaleDB first: a database left with timescaledb.restoring on would keep its jobs stopped.
    for (const [db, schema] of preRestored) {
      await psqlQuery(t.rt, quiet, conn, `SELECT ${sqlIdent(schema)}.timescaledb_post_restore()`, {
        database: db,
        signal: null,
      }).catch(() => undefined);
    }
    for (const db of objects.databases) {
      if (keptAside[db] || !dbs.has(db)) {
        await psqlQuery(t.rt, quiet, conn, `DROP DATABASE IF EXISTS ${sqlIdent(db)} WITH (FORCE)`, {
          signal: null,
        }).catch((x: unknown) => ctx.line(`Could not drop ${db}: ${errorText(x)}`));
      }
    }
    for (const [db, aside] of Object.entries(keptAside)) {
      await psqlQuery(t.rt, quiet, conn, `ALTER DATABASE ${sqlIdent(aside)} RENAME TO ${sqlIdent(db)}`, {
        signal: null,
      });
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
    if (useTs)
      ctx.line(
        `TimescaleDB in ${objects.timescaleDatabases.join(', ')}: each of these is restored between ` +
          `timescaledb_pre_restore() and timescaledb_post_restore(), one database at a time.`,
      );
    const argv = [...psqlArgv(conn, 'postgres'), '-f', '-'];
    const cat = ['cat', o.file];
    ctx.line(
      `$ ${displayArgv(cat)} | (CREATE ROLE of existing roles skipped${useTs ? '; TimescaleDB pre/post_restore added' : ''}) | ` +
        maskSecrets(displayArgv(argv), [conn.password]),
    );
    const filter = dumpAllFilter({
      existingRoles: new Set(existingRoles),
      timescaledb: useTs,
      onPreRestore: (db, schema) => preRestored.set(db, schema),
    });
    await runPipeline(t.rt, cat, filter, argv, {
      env: connEnv(conn),
      signal: ctx.signal,
      onStdoutLine: () => undefined, // SET / CREATE TABLE … echo lines: too many to log
      onStderrLine: (l) => ctx.line(maskSecrets(l, [conn.password])),
    });
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
    // The databases that have their names back had their TimescaleDB workers stopped by the rename.
    const workers = await restartTimescaleWorkers(t.rt, ctx, conn, Object.keys(keptAside));
    throw new RestoreError(
      `The pg_dumpall restore ${cancelled ? 'was cancelled' : `failed (${errorText(e)})`}; the databases are as before` +
        `${existingRoles.length || objects.roles.length ? ' (roles the dump created remain)' : ''}.` +
        (workers.warnings.length ? ` ${workers.warnings.join(' ')}` : ''),
      true,
      e,
    );
  }
  // post_restore restarted the workers of the restored TimescaleDB databases; check that they run.
  // The copies kept aside keep theirs stopped: their jobs would work on data that is no longer live.
  const workers = useTs
    ? await restartTimescaleWorkers(t.rt, ctx, conn, objects.timescaleDatabases)
    : { restarted: [], warnings: [] };
  if (Object.keys(keptAside).length) {
    ctx.line(
      `Kept the previous databases: ${Object.entries(keptAside)
        .map(([a, b]) => `${a} → ${b}`)
        .join(', ')} (drop them when you no longer need them` +
        `${useTs ? '; the background jobs of kept TimescaleDB copies stay stopped' : ''}).`,
    );
  }
  return {
    databases: objects.databases,
    keptAside,
    existingRoles,
    timescaleDatabases: objects.timescaleDatabases,
    warnings: workers.warnings,
    durationMs: Date.now() - t0,
  };
}
