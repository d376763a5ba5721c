/**
 * A pg_dump restore as a pipeline of named phases, each undo next to its phase:
 *
 *   verify (read only) → create database (when missing; undo: drop it again)
 *   → pre-restore (TimescaleDB: timescaledb_pre_restore(); undo: timescaledb_post_restore())
 *   → restore (pg_restore; `--single-transaction` for an existing database: a failure changes nothing; undo: end
 *     pg_restore's session when it still runs, as after a lost engine connection)
 *
 * then timescaledb_post_restore() once the restore succeeded.
 */
import { errorText } from '../../../format';
import { ToolFailedError } from '../../../runtime';
import {
  backupInvalid,
  connEnv,
  psqlQuery,
  restoreFailed,
  runLogged,
  sqlIdent,
  sqlLiteral,
  type RestoreContext,
} from '../run';
import { isKind } from '../../../errors/error';
import { maskSecrets } from '../../../operations/queue';
import { PhasesFailedError, runPhases, type Phase } from '../../../operations/phases';
import { restoreCancelled } from '../../../errors/backups';

import {
  type DumpRestoreOptions,
  type DumpRestoreResult,
  type LogicalTarget,
  checkDatabaseName,
  verifyDump,
} from './types';
import { databaseExists, missingExtensions, timescaleVersions } from './server';
import {
  clearHalfRestored,
  dropHalfRestoredDatabases,
  holdNewDatabase,
  liveHalfRestore,
  markHalfRestored,
} from './half-restored';

/** What the phases of one pg_dump restore share. */
interface DumpRun {
  readonly t: LogicalTarget;
  readonly o: DumpRestoreOptions;
  readonly db: string;
  readonly warnings: string[];
  exists: boolean;
  useTs: boolean;
  serverTs?: string;
  created: boolean;
  preRestored: boolean;
  /** Ends this process's hold on the new database's half-restored mark. */
  release?: () => void;
  /** pg_restore sessions the restore's undo ended (it still ran after the engine connection was lost). */
  sessionsEnded?: number;
}

/** The dump is readable, the server has its extensions; says whether TimescaleDB's pre/post_restore apply. */
const verify: Phase<DumpRun> = {
  name: 'verify',
  run: async (s, ctx) => {
    const { t, o, db } = s;
    ctx.step('Verifying the dump');
    const dump = await verifyDump(t.rt, o.file, ctx);
    ctx.signal?.throwIfAborted();
    s.exists = await databaseExists(t, ctx, db);
    // A second window restoring into the same new database: refused, nothing changed.
    const live = s.exists ? await liveHalfRestore(t, ctx, db) : undefined;
    if (live)
      throw backupInvalid(
        `A restore of ${live.file} into the new database ${db} runs now (started ${live.started} by process ` +
          `${live.owner.pid} on ${live.owner.host}): wait until it ends; nothing was changed.`,
      );
    const ts = await timescaleVersions(t, ctx, s.exists ? db : undefined);
    s.useTs = dump.hasTimescaledb || Boolean(ts.installed);
    if (dump.hasTimescaledb && !ts.available) {
      throw backupInvalid(
        `${o.file} uses the timescaledb extension, but this server has none (pg_available_extensions): ` +
          `restore it into a TimescaleDB server; nothing was changed.`,
      );
    }
    const missing = await missingExtensions(t.rt, ctx, { ...t.conn }, dump.extensions);
    if (missing.length) {
      throw backupInvalid(
        `${o.file} needs extensions this server does not have (pg_available_extensions): ${missing.join(', ')}. ` +
          `Restore it on a server that has them; nothing was changed.`,
      );
    }
    s.serverTs = ts.installed ?? ts.available;
    if (o.dumpTimescaledbVersion && s.serverTs && o.dumpTimescaledbVersion !== s.serverTs) {
      const w =
        `The dump was made with TimescaleDB ${o.dumpTimescaledbVersion}, the server has ${s.serverTs}: ` +
        `TimescaleDB restores need the same version ` +
        `(install ${o.dumpTimescaledbVersion}, restore, then ALTER EXTENSION timescaledb UPDATE).`;
      s.warnings.push(w);
      ctx.line(`Warning: ${w}`);
    }
    ctx.line(
      s.useTs
        ? `TimescaleDB ${s.serverTs ?? '?'}: the restore runs between timescaledb_pre_restore() and timescaledb_post_restore().`
        : 'No TimescaleDB extension in the dump or the database: a plain pg_restore.',
    );
  },
};

/** Tries of the undo's DROP DATABASE, 2 s apart (a server that restarts after a crash answers within that). */
const DROP_RETRIES = 15;

const createDatabase: Phase<DumpRun> = {
  name: 'create database',
  when: (s) => !s.exists,
  run: async (s, ctx) => {
    ctx.step(`Creating database ${s.db}`);
    s.release = holdNewDatabase(s.db);
    await psqlQuery(s.t.rt, ctx, s.t.conn, `CREATE DATABASE ${sqlIdent(s.db)}`);
    s.created = true;
    // The journal, in the database itself: dropped later if this process cannot drop it (half-restored.ts).
    await markHalfRestored(s.t, ctx, s.db, s.o.file);
  },
  undo: async (s, ctx) => {
    ctx.step(`Dropping the half-restored new database ${s.db}`);
    const drop = () => psqlQuery(s.t.rt, ctx, s.t.conn, `DROP DATABASE IF EXISTS ${sqlIdent(s.db)} WITH (FORCE)`);
    // The server may be restarting (it crashed or was killed mid-restore): wait for it a while, then drop.
    for (let i = 0; ; i++) {
      try {
        await drop();
        return;
      } catch (x) {
        if (i >= DROP_RETRIES) throw x;
        ctx.line(`Could not drop ${s.db} yet (${errorText(x).split('\n')[0]}); trying again in 2 s.`);
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  },
};

const preRestore: Phase<DumpRun> = {
  name: 'pre-restore',
  when: (s) => s.useTs,
  run: async (s, ctx) => {
    ctx.step('Preparing TimescaleDB (timescaledb_pre_restore)');
    await psqlQuery(s.t.rt, ctx, s.t.conn, 'CREATE EXTENSION IF NOT EXISTS timescaledb', { database: s.db });
    await psqlQuery(s.t.rt, ctx, s.t.conn, 'SELECT timescaledb_pre_restore()', { database: s.db });
    s.preRestored = true;
  },
  undo: async (s, ctx) => {
    await psqlQuery(s.t.rt, ctx, s.t.conn, 'SELECT timescaledb_post_restore()', { database: s.db }).catch(
      () => undefined,
    );
  },
};

/** pg_restore, never -j: parallel pg_restore does not restore the TimescaleDB catalogs correctly. */
const restore: Phase<DumpRun> = {
  name: 'restore',
  run: async (s, ctx) => {
    const { t, o, db } = s;
    ctx.step(`Restoring into ${db}`);
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
      ...(singleTransaction(s) ? ['--single-transaction'] : []),
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
      s.warnings.push(w);
      ctx.line(`Warning: ${w}`);
    } else if (r.exitCode !== 0) {
      throw new ToolFailedError(
        argv,
        r.exitCode,
        r.stderrTail.map((l) => maskSecrets(l, [t.conn.password])),
        t.rt.description,
      );
    }
  },
  // The engine connection lost mid-restore (docker exec's stream cut): pg_restore still runs in the container.
  // Its session is ended, so what the failure says is true (one transaction: rolled back, nothing changed).
  undo: async (s, ctx) => {
    s.sessionsEnded = await endRestoreSessions(s, ctx).catch(() => undefined);
  },
  undoWhenFailed: true,
};

/** Ends pg_restore's sessions in the run's database (its application_name), waiting up to 10 s for each to end. */
async function endRestoreSessions(s: DumpRun, ctx: RestoreContext): Promise<number> {
  const [n] = await psqlQuery(
    s.t.rt,
    ctx,
    s.t.conn,
    `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000)) FROM pg_stat_activity ` +
      `WHERE datname = ${sqlLiteral(s.db)} AND application_name = 'pg_restore' AND pid <> pg_backend_pid()`,
    { signal: null },
  );
  const ended = Number(n ?? 0);
  if (ended > 0)
    ctx.line(`pg_restore still ran in ${s.db} after the connection to it was lost: its session was ended.`);
  return ended;
}

const singleTransaction = (s: DumpRun) => s.o.singleTransaction ?? s.exists;

export const DUMP_RESTORE_PHASES: readonly Phase<DumpRun>[] = [verify, createDatabase, preRestore, restore];

export async function restoreDump(
  t: LogicalTarget,
  o: DumpRestoreOptions,
  ctx: RestoreContext,
): Promise<DumpRestoreResult> {
  const t0 = Date.now();
  const s: DumpRun = {
    t,
    o,
    db: checkDatabaseName(o.database),
    warnings: [],
    exists: false,
    useTs: false,
    created: false,
    preRestored: false,
  };
  // A new database a failed restore could not drop (the server was down): the server answers now, so it goes.
  await dropHalfRestoredDatabases(t, ctx).catch(() => []);
  try {
    // Nothing changed before the new database exists: those failures are thrown as they are.
    await runPhases(DUMP_RESTORE_PHASES, s, ctx, {
      onFailure: (_e, { phase }) => phase !== 'verify' && phase !== 'create database',
    });
  } catch (e) {
    s.release?.();
    if (!(e instanceof PhasesFailedError)) throw e;
    if (!e.undone) throw e.cause;
    const what = e.cancelled ? 'was cancelled' : `failed (${errorText(e.cause)})`;
    const single = singleTransaction(s);
    const notDropped = e.undoFailures.find((f) => f.phase === 'create database');
    // The result of a pg_restore whose engine connection was lost is known only when its session was found and ended.
    const unknown = isKind(e.cause, 'connection-lost') && !s.sessionsEnded;
    const state = s.created
      ? notDropped
        ? `the new database ${s.db} is half restored and could not be dropped yet (${errorText(notDropped.error).split('\n')[0]}): ` +
          `it is marked half-restored (its comment) and is dropped once the server answers again, by the next restore or ` +
          `by "TimescaleDB Ops: Recover Interrupted Restore"; nothing else changed`
        : `the new database ${s.db} was dropped again`
      : single
        ? unknown
          ? `${s.db} is unchanged unless pg_restore committed before the connection was lost (no pg_restore session was ` +
            `left in ${s.db}): check its tables`
          : `${s.db} is unchanged (single transaction)`
        : `${s.db} may hold part of the dump`;
    const message = `The restore of ${o.file} into ${s.db} ${what}; ${state}.`;
    // A cancel that left the database as it was is a cancel, not a failure.
    if (e.cancelled && (s.created || single)) throw restoreCancelled(message);
    throw restoreFailed(message, s.created || (single && !unknown), e.cause);
  }
  try {
    if (s.preRestored) {
      ctx.step('Finishing TimescaleDB (timescaledb_post_restore)');
      await psqlQuery(t.rt, { step: ctx.step, line: ctx.line }, t.conn, 'SELECT timescaledb_post_restore()', {
        database: s.db,
      });
    }
    // Restored: the new database is no longer half restored.
    if (s.created) await clearHalfRestored(t, ctx, s.db);
  } finally {
    s.release?.();
  }
  return {
    database: s.db,
    created: s.created,
    timescaledb: { used: s.useTs, serverVersion: s.serverTs, dumpVersion: o.dumpTimescaledbVersion },
    warnings: s.warnings,
    durationMs: Date.now() - t0,
  };
}
