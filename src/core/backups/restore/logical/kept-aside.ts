/**
 * The journal of a pg_dumpall restore, kept in the server itself: before a database of the dump is renamed aside,
 * its comment is set to a marker (`tsdbops:kept-aside {…}`: its name, when, from what, which process, the comment it
 * had). A comment belongs to the database, so the mark moves with the rename. The mark is taken off (the old comment
 * put back) when the restore succeeded (the copy stays kept aside, the way back the user deletes) and when the
 * restore's own rollback renamed it back. When the rollback cannot happen (the server was killed or the engine
 * restarted mid-restore), the marked databases are put back later, once the server answers: the database the
 * restore left under the old name (half restored) is dropped and the kept one gets its name back; by the next
 * pg_dumpall restore and by Recover Interrupted Restore (`putBackKeptAsideDatabases`). A mark whose restore still
 * runs (a live process of this machine) is left alone, and makes a second pg_dumpall restore refuse to start.
 */
import { hostname } from 'node:os';
import { errorText } from '../../../format';
import { backupInvalid, psqlQuery, sqlIdent, sqlLiteral, type RestoreContext, type ServerConnection } from '../run';
import { abandoned, halfRestored, holdNewDatabase, isHeld, type HalfRestoredMark } from './half-restored';
import { restartTimescaleWorkers } from './server';
import type { LogicalTarget } from './types';

export const KEPT_ASIDE_MARK = 'tsdbops:kept-aside ';

export interface KeptAsideMark {
  /** The database's own name (it is renamed aside under this mark). */
  readonly db: string;
  readonly started: string;
  readonly file: string;
  readonly owner: { readonly host: string; readonly pid: number };
  /** The comment the database had (put back with its name). */
  readonly comment: string | null;
}

const quiet = (ctx: RestoreContext): RestoreContext => ({ step: ctx.step, line: () => undefined });

async function setComment(t: LogicalTarget, conn: ServerConnection, ctx: RestoreContext, db: string, c: string | null) {
  await psqlQuery(
    t.rt,
    quiet(ctx),
    conn,
    `COMMENT ON DATABASE ${sqlIdent(db)} IS ${c === null ? 'NULL' : sqlLiteral(c)}`,
    {
      signal: null,
    },
  );
}

/** Marks `db` before it is renamed aside; holds it while this process restores. Returns the mark. */
export async function markKeptAside(
  t: LogicalTarget,
  conn: ServerConnection,
  ctx: RestoreContext,
  db: string,
  file: string,
): Promise<{ mark: KeptAsideMark; release: () => void }> {
  const [comment] = await psqlQuery(
    t.rt,
    quiet(ctx),
    conn,
    `SELECT coalesce(shobj_description(oid, 'pg_database'), '<null>') FROM pg_database WHERE datname = ${sqlLiteral(db)}`,
  );
  const mark: KeptAsideMark = {
    db,
    started: new Date().toISOString(),
    file,
    owner: { host: hostname(), pid: process.pid },
    comment: comment === undefined || comment === '<null>' ? null : comment,
  };
  const release = holdNewDatabase(db);
  await setComment(t, conn, ctx, db, KEPT_ASIDE_MARK + JSON.stringify(mark));
  return { mark, release };
}

/** Takes the mark off `current` (the kept copy after a success, or the database renamed back). */
export function unmarkKeptAside(
  t: LogicalTarget,
  conn: ServerConnection,
  ctx: RestoreContext,
  current: string,
  mark: KeptAsideMark,
): Promise<void> {
  return setComment(t, conn, ctx, current, mark.comment);
}

async function marked(t: LogicalTarget, conn: ServerConnection, ctx: RestoreContext) {
  const rows = await psqlQuery(
    t.rt,
    quiet(ctx),
    conn,
    "SELECT datname || '|' || shobj_description(oid, 'pg_database') FROM pg_database " +
      `WHERE shobj_description(oid, 'pg_database') LIKE ${sqlLiteral(`${KEPT_ASIDE_MARK}%`)}`,
    { signal: null },
  );
  const out: { current: string; mark: KeptAsideMark }[] = [];
  for (const row of rows) {
    const at = row.indexOf('|');
    if (at < 0) continue;
    try {
      out.push({
        current: row.slice(0, at),
        mark: JSON.parse(row.slice(at + 1 + KEPT_ASIDE_MARK.length)) as KeptAsideMark,
      });
    } catch {
      // not ours
    }
  }
  return out;
}

const running = (m: KeptAsideMark) => isHeld(m.db) || !abandoned(m);

/** Refuses when a pg_dumpall restore runs on this server now (a second window's, or this one's). */
export async function refuseWhileKeptAsideRunning(
  t: LogicalTarget,
  conn: ServerConnection,
  ctx: RestoreContext,
): Promise<void> {
  const live = (await marked(t, conn, ctx)).filter((m) => running(m.mark));
  if (live.length) {
    const m = live[0]!.mark;
    throw backupInvalid(
      `A pg_dumpall restore of ${m.file} runs on this server now (started ${m.started} by process ${m.owner.pid} on ` +
        `${m.owner.host}; ${live.map((x) => `${x.mark.db} is kept aside as ${x.current}`).join(', ')}): wait until it ` +
        `ends, then start this one; nothing was changed.`,
    );
  }
}

/**
 * Puts back every database a pg_dumpall restore kept aside and could not rename back (its restore is over): the
 * database under the old name (what the interrupted restore created) is dropped, the kept one renamed back and
 * unmarked. Returns the names put back. Throws when the server cannot be asked.
 */
export async function putBackKeptAsideDatabases(t: LogicalTarget, ctx: RestoreContext): Promise<string[]> {
  const conn = { ...t.conn, database: 'postgres' };
  const back: string[] = [];
  for (const { current, mark } of await marked(t, conn, ctx)) {
    if (running(mark)) continue;
    try {
      if (current !== mark.db) {
        ctx.step(
          `Putting back ${mark.db} (kept aside as ${current} by the pg_dumpall restore started ${mark.started})`,
        );
        await psqlQuery(t.rt, quiet(ctx), conn, `DROP DATABASE IF EXISTS ${sqlIdent(mark.db)} WITH (FORCE)`, {
          signal: null,
        });
        await psqlQuery(t.rt, quiet(ctx), conn, `ALTER DATABASE ${sqlIdent(current)} RENAME TO ${sqlIdent(mark.db)}`, {
          signal: null,
        });
      }
      await unmarkKeptAside(t, conn, ctx, mark.db, mark);
      back.push(mark.db);
      // A rename stops a TimescaleDB database's background workers.
      await restartTimescaleWorkers(t.rt, ctx, conn, [mark.db]).catch(() => undefined);
      ctx.line(
        `Put back ${mark.db}${current !== mark.db ? ` (it was kept aside as ${current}; the half-restored ${mark.db} is dropped)` : ''}.`,
      );
    } catch (e) {
      ctx.line(`Could not put back ${mark.db} (kept aside as ${current}): ${errorText(e)}`);
    }
  }
  return back;
}

/** Recover Interrupted Restore's Roll back of the pg_dumpall restores whose window died (putBackKeptAsideDatabases). */
export const rollBackKeptAside = putBackKeptAsideDatabases;

/** A logical restore whose window died, as the next activation finds it in the server (its marks). */
export interface InterruptedLogicalRestore {
  readonly kind: 'half-restored' | 'kept-aside';
  /** The database that carries the mark (the half-restored new one, or the copy kept aside). */
  readonly database: string;
  readonly mark: HalfRestoredMark | KeptAsideMark;
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
    if (!isHeld(db) && abandoned(mark))
      out.push({ kind: 'half-restored', database: db, mark, rollBack: `drop the half-restored database ${db}` });
  for (const { current, mark } of await marked(t, { ...t.conn, database: 'postgres' }, ctx))
    if (current !== mark.db && !running(mark))
      out.push({
        kind: 'kept-aside',
        database: current,
        mark,
        rollBack: `put ${mark.db} back from ${current} (what the pg_dumpall restore made under that name is dropped)`,
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
