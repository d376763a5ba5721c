/**
 * The journal of a pg_dump restore into a NEW database, kept in the database itself: right after CREATE DATABASE the
 * restore sets its comment to a marker (`tsdbops:half-restored {…}`: when, from what, which process); the comment is
 * cleared once the restore succeeded, and the database is dropped when it failed. When the drop cannot happen right
 * away (the server was killed mid-restore and is not back), the marked database is dropped later, once the server
 * answers: by the next pg_dump restore, and by Recover Interrupted Restore (`dropHalfRestoredDatabases`). A database
 * whose restore still runs in a live process of this machine is left alone.
 */
import { hostname } from 'node:os';
import { errorText } from '../../../format';
import { psqlQuery, sqlIdent, sqlLiteral, type RestoreContext } from '../run';
import type { LogicalTarget } from './types';

export const HALF_RESTORED_MARK = 'tsdbops:half-restored ';

export interface HalfRestoredMark {
  readonly started: string;
  readonly file: string;
  readonly owner: { readonly host: string; readonly pid: number };
}

export async function markHalfRestored(t: LogicalTarget, ctx: RestoreContext, db: string, file: string): Promise<void> {
  const mark: HalfRestoredMark = {
    started: new Date().toISOString(),
    file,
    owner: { host: hostname(), pid: process.pid },
  };
  await psqlQuery(
    t.rt,
    ctx,
    t.conn,
    `COMMENT ON DATABASE ${sqlIdent(db)} IS ${sqlLiteral(HALF_RESTORED_MARK + JSON.stringify(mark))}`,
    {
      signal: null,
    },
  );
}

export async function clearHalfRestored(t: LogicalTarget, ctx: RestoreContext, db: string): Promise<void> {
  await psqlQuery(t.rt, ctx, t.conn, `COMMENT ON DATABASE ${sqlIdent(db)} IS NULL`, { signal: null });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A marked database whose restore is over: its process is gone, it is this process (whose restores in progress are
 * held, see holdNewDatabase), or another machine's.
 */
export function abandoned(mark: HalfRestoredMark): boolean {
  const o = mark.owner;
  return o.host !== hostname() || o.pid === process.pid || !alive(o.pid);
}

/** Restores into a new database running in this process now (their marks are not abandoned). */
const runningHere = new Set<string>();
export function holdNewDatabase(db: string): () => void {
  runningHere.add(db);
  return () => void runningHere.delete(db);
}
/** A restore of this process holds `db` now. */
export const isHeld = (db: string): boolean => runningHere.has(db);

/** A restore of this process is working on `db` now (held with holdNewDatabase). */
export const heldHere = (db: string): boolean => runningHere.has(db);

/**
 * Drops every database marked half-restored whose restore is over (said in the output, one line each). Returns the
 * names dropped. Throws when the server cannot be asked.
 */
export async function dropHalfRestoredDatabases(t: LogicalTarget, ctx: RestoreContext): Promise<string[]> {
  const dropped: string[] = [];
  for (const { db, mark } of await halfRestored(t, ctx)) {
    if (runningHere.has(db) || !abandoned(mark)) continue;
    ctx.step(`Dropping ${db}, half restored from ${mark.file} (restore started ${mark.started})`);
    try {
      await psqlQuery(t.rt, ctx, t.conn, `DROP DATABASE IF EXISTS ${sqlIdent(db)} WITH (FORCE)`, { signal: null });
      dropped.push(db);
      ctx.line(`Dropped the half-restored database ${db} (its restore from ${mark.file} failed).`);
    } catch (e) {
      ctx.line(`Could not drop the half-restored database ${db}: ${errorText(e)}`);
    }
  }
  return dropped;
}

/** The half-restored mark of `db` when a restore into it runs now (this process's, or a live one's on this machine). */
export async function liveHalfRestore(
  t: LogicalTarget,
  ctx: RestoreContext,
  db: string,
): Promise<HalfRestoredMark | undefined> {
  const [c] = await psqlQuery(
    t.rt,
    { ...ctx, line: () => undefined },
    t.conn,
    `SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = ${sqlLiteral(db)}`,
    { signal: null },
  );
  if (!c?.startsWith(HALF_RESTORED_MARK)) return undefined;
  try {
    const mark = JSON.parse(c.slice(HALF_RESTORED_MARK.length)) as HalfRestoredMark;
    return runningHere.has(db) || !abandoned(mark) ? mark : undefined;
  } catch {
    return undefined;
  }
}

/** Every database marked half-restored, with its mark. */
export async function halfRestored(
  t: LogicalTarget,
  ctx: RestoreContext,
): Promise<{ db: string; mark: HalfRestoredMark }[]> {
  const rows = await psqlQuery(
    t.rt,
    { ...ctx, line: () => undefined },
    t.conn,
    "SELECT datname || '|' || shobj_description(oid, 'pg_database') FROM pg_database " +
      `WHERE shobj_description(oid, 'pg_database') LIKE ${sqlLiteral(`${HALF_RESTORED_MARK}%`)}`,
    { signal: null },
  );
  const out: { db: string; mark: HalfRestoredMark }[] = [];
  for (const row of rows) {
    const at = row.indexOf('|');
    if (at < 0) continue;
    try {
      out.push({
        db: row.slice(0, at),
        mark: JSON.parse(row.slice(at + 1 + HALF_RESTORED_MARK.length)) as HalfRestoredMark,
      });
    } catch {
      // Not ours after all.
    }
  }
  return out;
}
