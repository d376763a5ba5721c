/** Reading a pg_dumpall script: its databases, roles, sections, and the filter psql reads it through. */
import { Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { ToolRuntime } from '../../../runtime';
import { backupInvalid, runLogged, type RestoreContext } from '../run';
import { DB_NAME_MAX } from './types';

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

export function asideName(db: string, stamp: string): string {
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
  if (head.exitCode !== 0) throw backupInvalid(`Cannot read ${file}: ${head.stderrTail.join(' ')}`);
  if (!head.stdoutLines.some((l) => /PostgreSQL database cluster dump/.test(l))) {
    throw backupInvalid(
      `${file} is not a pg_dumpall script (no "PostgreSQL database cluster dump" header); nothing was changed.`,
    );
  }
  const tail = await runLogged(rt, ctx, ['tail', '-n', '5', file], { quietStdout: true });
  if (!tail.stdoutLines.some((l) => /PostgreSQL database cluster dump complete/.test(l))) {
    throw backupInvalid(
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
    throw backupInvalid(
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
