/**
 * The journal of a pg_dumpall restore, kept in the server itself (as half-restored.ts does for a pg_dump restore into
 * a new database): each existing database the restore renames aside carries a comment `tsdbops:kept-aside {…}` (its
 * name before, the restore's start, the dump, which process, its own comment before) from just before the rename until
 * the restore ended. A restore that succeeds clears the marks (the copies stay, the way back the user drops when
 * satisfied); one that fails renames them back itself. When its process died midway (the window was killed), the marks
 * stay: Recover Interrupted Restore's Roll back (`rollBackKeptAside`) drops what the restore made under the old name and
 * renames the copy back. A restore whose process still runs on this machine is left alone.
 */
import { errorText } from '../../../format';
import { psqlQuery, sqlIdent, sqlLiteral, type RestoreContext, type ServerConnection } from '../run';
import { abandoned, halfRestored, heldHere, type HalfRestoredMark } from './half-restored';
import type { LogicalTarget } from './types';
import { restartTimescaleWorkers } from './server';
import { hostname } from 'node:os';

export const KEPT_ASIDE_MARK = 'tsdbops:kept-aside ';

export interface KeptAsideMark extends HalfRestoredMark {
  /** The database's name before the restore renamed it aside. */
  readonly original: string;
  /** Its comment before (put back with its name). */
  readonly comment: string | null;
}

const onPostgres = (t: LogicalTarget): ServerConnection => ({ ...t.conn, database: 'postgres' });

/** Marks `db` as about to be renamed aside by the restore of `file` (this process). */
export async function markKeptAside(t: LogicalTarget, ctx: RestoreContext, db: string, file: string): Promise<void> {
  const [comment] = await psqlQuery(
    t.rt,
    ctx,
    onPostgres(t),
    `SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = ${sqlLiteral(db)}`,
    { signal: null },
  );
  const mark: KeptAsideMark = {
    started: new Date().toISOString(),
    file,
    owner: { host: hostname(), pid: process.pid },
    original: db,
    comment: comment ? comment : null,
  };
  await psqlQuery(
    t.rt,
    ctx,
    onPostgres(t),
    `COMMENT ON DATABASE ${sqlIdent(db)} IS ${sqlLiteral(KEPT_ASIDE_MARK + JSON.stringify(mark))}`,
    { signal: null },
  );
}

/** The database's comment as it was before its mark (after the restore ended, either way). */
export async function clearKeptAside(t: LogicalTarget, ctx: RestoreContext, db: string): Promise<void> {
  const marks = await keptAside(t, ctx);
  const m = marks.find((x) => x.db === db);
  if (!m) return;
  await psqlQuery(
    t.rt,
    ctx,
    onPostgres(t),
    `COMMENT ON DATABASE ${sqlIdent(db)} IS ${m.mark.comment === null ? 'NULL' : sqlLiteral(m.mark.comment)}`,
    { signal: null },
  );
}

/** Every database marked kept aside, with its mark. */
export async function keptAside(t: LogicalTarget, ctx: RestoreContext): Promise<{ db: string; mark: KeptAsideMark }[]> {
  const rows = await psqlQuery(
    t.rt,
    { ...ctx, line: () => undefined },
    onPostgres(t),
    "SELECT datname || '|' || shobj_description(oid, 'pg_database') FROM pg_database " +
      `WHERE shobj_description(oid, 'pg_database') LIKE ${sqlLiteral(`${KEPT_ASIDE_MARK}%`)}`,
    { signal: null },
  );
  const out: { db: string; mark: KeptAsideMark }[] = [];
  for (const row of rows) {
    const at = row.indexOf('|');
    if (at < 0) continue;
    try {
      out.push({ db: row.slice(0, at), mark: JSON.parse(row.slice(at + 1 + KEPT_ASIDE_MARK.length)) as KeptAsideMark });
    } catch {
      // Not ours after all.
    }
  }
  return out;
}

/**
 * Roll back of a pg_dumpall restore whose process died: for each database kept aside by a restore that is over, what
 * the restore made under its old name is dropped and the copy gets its name (and comment) back. Returns the names put
 * back. Throws when the server cannot be asked.
 */
export async function rollBackKeptAside(t: LogicalTarget, ctx: RestoreContext): Promise<string[]> {
  const back: string[] = [];
  for (const { db, mark } of await keptAside(t, ctx)) {
    // Not yet renamed (the mark comes first), or still running in a live process: nothing to put back here.
    if (db === mark.original || heldHere(db) || !abandoned(mark)) continue;
    ctx.step(`Putting ${mark.original} back from ${db} (pg_dumpall restore of ${mark.file} started ${mark.started})`);
    try {
      await psqlQuery(t.rt, ctx, onPostgres(t), `DROP DATABASE IF EXISTS ${sqlIdent(mark.original)} WITH (FORCE)`, {
        signal: null,
      });
      await psqlQuery(t.rt, ctx, onPostgres(t), `ALTER DATABASE ${sqlIdent(db)} RENAME TO ${sqlIdent(mark.original)}`, {
        signal: null,
      });
      await clearKeptAside(t, ctx, mark.original);
      back.push(mark.original);
      ctx.line(`Put ${mark.original} back (it was kept aside as ${db} by an interrupted pg_dumpall restore).`);
    } catch (e) {
      ctx.line(`Could not put ${mark.original} back from ${db}: ${errorText(e)}`);
    }
  }
  // The rename stopped their TimescaleDB workers (as the restore's own rollback does, restart them).
  if (back.length)
    for (const w of (await restartTimescaleWorkers(t.rt, ctx, onPostgres(t), back).catch(() => undefined))?.warnings ??
      [])
      ctx.line(w);
  // A mark left on a database that was never renamed (the process died between the mark and the rename).
  for (const { db, mark } of await keptAside(t, ctx))
    if (db === mark.original && !heldHere(db) && abandoned(mark))
      await clearKeptAside(t, ctx, db).catch(() => undefined);
  return back;
}

/** A logical restore whose window died, as the next activation finds it in the server (its marks). */
export interface InterruptedLogicalRestore {
  readonly kind: 'half-restored' | 'kept-aside';
  /** The database that carries the mark (the half-restored new one, or the copy kept aside). */
  readonly database: string;
  readonly mark: HalfRestoredMark;
  /** What Roll back does, in a sentence. */
  readonly rollBack: string;
}

/** The marks of logical restores that are over (their process is gone) and were never finished nor rolled back. */
export async function interruptedLogicalRestores(
  t: LogicalTarget,
  ctx: RestoreContext,
): Promise<InterruptedLogicalRestore[]> {
  const out: InterruptedLogicalRestore[] = [];
  for (const { db, mark } of await halfRestored(t, ctx))
    if (!heldHere(db) && abandoned(mark))
      out.push({ kind: 'half-restored', database: db, mark, rollBack: `drop the half-restored database ${db}` });
  for (const { db, mark } of await keptAside(t, ctx))
    if (db !== mark.original && !heldHere(db) && abandoned(mark))
      out.push({
        kind: 'kept-aside',
        database: db,
        mark,
        rollBack: `put ${mark.original} back from ${db} (what the pg_dumpall restore made under that name is dropped)`,
      });
  return out;
}

/** One line per interrupted logical restore (Show What Happened). */
export function describeLogical(r: InterruptedLogicalRestore): string {
  return r.kind === 'half-restored'
    ? `A pg_dump restore of ${r.mark.file} into the new database ${r.database} started ${r.mark.started} did not finish ` +
        `(its process ${r.mark.owner.pid} on ${r.mark.owner.host} is gone). Roll back: ${r.rollBack}.`
    : `A pg_dumpall restore of ${r.mark.file} started ${r.mark.started} did not finish (its process ${r.mark.owner.pid} ` +
        `on ${r.mark.owner.host} is gone); it kept the previous database aside as ${r.database}. Roll back: ${r.rollBack}.`;
}
