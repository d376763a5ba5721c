/**
 * A pg_dumpall restore as a pipeline of named phases, each undo next to its phase:
 *
 *   verify (read only) → rename aside (the dump's databases that exist become `<db>_pre_restore_<stamp>`:
 *   the way back; undo: rename them back) → psql (the script, CREATE ROLE of existing roles skipped,
 *   TimescaleDB databases between pre_restore and post_restore; undo: post_restore, drop what it created)
 *
 * then the TimescaleDB workers of the restored databases are checked. After a rollback the renamed-back
 * databases get their workers restarted (a rename stops them).
 */
import { errorText } from '../../../format';
import { runPipeline } from '../../../runtime';
import {
  backupInvalid,
  connEnv,
  displayArgv,
  psqlArgv,
  psqlQuery,
  restoreFailed,
  sqlIdent,
  sqlLiteral,
  type RestoreContext,
  type ServerConnection,
} from '../run';
import { maskSecrets } from '../../../operations/queue';
import { PhasesFailedError, runPhases, type Phase } from '../../../operations/phases';
import { restoreCancelled } from '../../../errors/backups';

import { type LogicalTarget } from './types';
import { holdNewDatabase } from './half-restored';
import { clearKeptAside, markKeptAside } from './kept-aside';
import { missingExtensions, restartTimescaleWorkers } from './server';
import { asideName, dumpAllFilter, verifyDumpAll, type DumpAllContents } from './dumpall-script';
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
/** What the phases of one pg_dumpall restore share. */
interface DumpAllRun {
  readonly t: LogicalTarget;
  readonly file: string;
  readonly now: Date;
  /** Everything runs from the `postgres` database: the dump's databases are renamed and recreated. */
  readonly conn: ServerConnection;
  objects?: DumpAllContents;
  /** Databases and roles before the restore. */
  dbs: Set<string>;
  existingRoles: string[];
  /** Existing databases renamed aside: old name → kept name. */
  readonly keptAside: Record<string, string>;
  /** Databases whose timescaledb_pre_restore() went to psql, with the extension's schema. */
  readonly preRestored: Map<string, string>;
  /** Ends this process's holds on the marked databases (kept-aside.ts). */
  readonly holds: Array<() => void>;
}

const quiet = (ctx: RestoreContext): RestoreContext => ({ step: ctx.step, line: ctx.line });

const verify: Phase<DumpAllRun> = {
  name: 'verify',
  run: async (s, ctx) => {
    const { t, conn } = s;
    ctx.step('Verifying the dump');
    const objects = await verifyDumpAll(t.rt, s.file, ctx);
    s.objects = objects;
    ctx.signal?.throwIfAborted();
    const missing = await missingExtensions(t.rt, ctx, conn, objects.extensions);
    if (missing.length) {
      throw backupInvalid(
        `${s.file} needs extensions this server does not have (pg_available_extensions): ${missing.join(', ')}. ` +
          `Restore it on a server that has them (the same TimescaleDB version for timescaledb); nothing was changed.`,
      );
    }
    s.dbs = new Set(await psqlQuery(t.rt, ctx, conn, 'SELECT datname FROM pg_database'));
    const roles = new Set(await psqlQuery(t.rt, ctx, conn, 'SELECT rolname FROM pg_roles'));
    s.existingRoles = objects.roles.filter((r) => roles.has(r));
  },
};

const renameAside: Phase<DumpAllRun> = {
  name: 'rename aside',
  run: async (s, ctx) => {
    const { t, conn } = s;
    const at = s.now;
    const p = (n: number) => String(n).padStart(2, '0');
    const day = `${at.getUTCFullYear()}${p(at.getUTCMonth() + 1)}${p(at.getUTCDate())}`;
    const stamp = `${day}_${p(at.getUTCHours())}${p(at.getUTCMinutes())}${p(at.getUTCSeconds())}`;
    for (const db of s.objects!.databases) {
      if (!s.dbs.has(db)) continue;
      const aside = asideName(db, stamp);
      ctx.step(`Renaming ${db} aside to ${aside}`);
      // Renaming needs the database free: end its sessions first.
      await psqlQuery(
        t.rt,
        ctx,
        conn,
        `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = ${sqlLiteral(db)} AND pid <> pg_backend_pid()`,
      );
      // The journal, on the database itself: a window that dies from here on leaves it for Roll back (kept-aside.ts).
      s.holds.push(holdNewDatabase(db), holdNewDatabase(aside));
      await markKeptAside(t, ctx, db, s.file);
      await psqlQuery(t.rt, ctx, conn, `ALTER DATABASE ${sqlIdent(db)} RENAME TO ${sqlIdent(aside)}`);
      s.keptAside[db] = aside;
    }
  },
  undo: async (s, ctx) => {
    for (const [db, aside] of Object.entries(s.keptAside)) {
      await psqlQuery(s.t.rt, quiet(ctx), s.conn, `ALTER DATABASE ${sqlIdent(aside)} RENAME TO ${sqlIdent(db)}`, {
        signal: null,
      });
      await clearKeptAside(s.t, quiet(ctx), db).catch(() => undefined);
    }
  },
  undoWhenFailed: true,
};

const psql: Phase<DumpAllRun> = {
  name: 'psql',
  run: async (s, ctx) => {
    const { t, conn } = s;
    const objects = s.objects!;
    const useTs = objects.timescaleDatabases.length > 0;
    ctx.step('Running the dump through psql (ON_ERROR_STOP)');
    if (s.existingRoles.length)
      ctx.line(`Roles that exist (CREATE ROLE skipped, ALTER ROLE applied): ${s.existingRoles.join(', ')}`);
    if (useTs)
      ctx.line(
        `TimescaleDB in ${objects.timescaleDatabases.join(', ')}: each of these is restored between ` +
          `timescaledb_pre_restore() and timescaledb_post_restore(), one database at a time.`,
      );
    const argv = [...psqlArgv(conn, 'postgres'), '-f', '-'];
    const cat = ['cat', s.file];
    ctx.line(
      `$ ${displayArgv(cat)} | (CREATE ROLE of existing roles skipped${useTs ? '; TimescaleDB pre/post_restore added' : ''}) | ` +
        maskSecrets(displayArgv(argv), [conn.password]),
    );
    const filter = dumpAllFilter({
      existingRoles: new Set(s.existingRoles),
      timescaledb: useTs,
      onPreRestore: (db, schema) => s.preRestored.set(db, schema),
    });
    await runPipeline(t.rt, cat, filter, argv, {
      env: connEnv(conn),
      signal: ctx.signal,
      onStdoutLine: () => undefined, // SET / CREATE TABLE … echo lines: too many to log
      onStderrLine: (l) => ctx.line(maskSecrets(l, [conn.password])),
    });
  },
  /** TimescaleDB first (a database left with timescaledb.restoring on keeps its jobs stopped), then what the dump created. */
  undo: async (s, ctx) => {
    const { t, conn } = s;
    for (const [db, schema] of s.preRestored) {
      await psqlQuery(t.rt, quiet(ctx), conn, `SELECT ${sqlIdent(schema)}.timescaledb_post_restore()`, {
        database: db,
        signal: null,
      }).catch(() => undefined);
    }
    for (const db of s.objects!.databases) {
      if (s.keptAside[db] || !s.dbs.has(db)) {
        await psqlQuery(t.rt, quiet(ctx), conn, `DROP DATABASE IF EXISTS ${sqlIdent(db)} WITH (FORCE)`, {
          signal: null,
        }).catch((x: unknown) => ctx.line(`Could not drop ${db}: ${errorText(x)}`));
      }
    }
  },
  undoWhenFailed: true,
};

export const DUMPALL_RESTORE_PHASES: readonly Phase<DumpAllRun>[] = [verify, renameAside, psql];

export async function restoreDumpAll(
  t: LogicalTarget,
  o: { file: string; now?: Date },
  ctx: RestoreContext,
): Promise<DumpAllRestoreResult> {
  const t0 = Date.now();
  const s: DumpAllRun = {
    t,
    file: o.file,
    now: o.now ?? new Date(),
    conn: { ...t.conn, database: 'postgres' },
    dbs: new Set(),
    existingRoles: [],
    keptAside: {},
    preRestored: new Map(),
    holds: [],
  };
  try {
    await runPhases(DUMPALL_RESTORE_PHASES, s, ctx, {
      onFailure: (_e, { phase }) => {
        if (phase === 'verify') return false; // nothing changed
        ctx.step('Rolling back');
      },
    });
    // Restored: the copies kept aside are the way back the user drops, no longer an interrupted restore's.
    for (const aside of Object.values(s.keptAside)) await clearKeptAside(t, quiet(ctx), aside);
  } catch (e) {
    if (!(e instanceof PhasesFailedError)) throw e;
    throw e.undone ? await rolledBack(s, e, ctx) : e.cause;
  } finally {
    for (const release of s.holds) release();
  }
  const objects = s.objects!;
  const useTs = objects.timescaleDatabases.length > 0;
  // post_restore restarted the workers of the restored TimescaleDB databases; check that they run.
  // The copies kept aside keep theirs stopped: their jobs would work on data that is no longer live.
  const workers = useTs
    ? await restartTimescaleWorkers(t.rt, ctx, s.conn, objects.timescaleDatabases)
    : { restarted: [], warnings: [] };
  if (Object.keys(s.keptAside).length) {
    ctx.line(
      `Kept the previous databases: ${Object.entries(s.keptAside)
        .map(([a, b]) => `${a} → ${b}`)
        .join(', ')} (drop them when you no longer need them` +
        `${useTs ? '; the background jobs of kept TimescaleDB copies stay stopped' : ''}).`,
    );
  }
  return {
    databases: objects.databases,
    keptAside: s.keptAside,
    existingRoles: s.existingRoles,
    timescaleDatabases: objects.timescaleDatabases,
    warnings: workers.warnings,
    durationMs: Date.now() - t0,
  };
}

/** The error after a rollback: the databases are as before (their workers restarted), or what is kept where. */
async function rolledBack(s: DumpAllRun, f: PhasesFailedError, ctx: RestoreContext): Promise<Error> {
  const what = f.cancelled ? 'was cancelled' : `failed (${errorText(f.cause)})`;
  const rb = f.undoFailures[0];
  if (rb)
    return restoreFailed(
      `The pg_dumpall restore ${what} and putting the databases back failed (${errorText(rb.error)}): ` +
        `the previous databases are kept as ${Object.values(s.keptAside).join(', ')}.`,
      false,
      f.cause,
    );
  // The databases that have their names back had their TimescaleDB workers stopped by the rename.
  const workers = await restartTimescaleWorkers(s.t.rt, ctx, s.conn, Object.keys(s.keptAside));
  const objects = s.objects!;
  const message =
    `The pg_dumpall restore ${what}; the databases are as before` +
    `${s.existingRoles.length || objects.roles.length ? ' (roles the dump created remain)' : ''}.` +
    (workers.warnings.length ? ` ${workers.warnings.join(' ')}` : '');
  // A cancel that put everything back is a cancel, not a failure.
  return f.cancelled ? restoreCancelled(message) : restoreFailed(message, true, f.cause);
}
