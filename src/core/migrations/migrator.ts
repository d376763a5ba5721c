/**
 * The sqlx-compatible migrator: `status`, `run` and `revert` with sqlx's lock, statements, transactions,
 * checks (in sqlx's order) and messages, so the Rust service and this extension share one history.
 */
import type { Client } from 'pg';
import { CancelledError } from '../operations/cancel';
import { advisoryLockId } from './checksum';
import { folderError, loadMigrations, type LocalMigration } from './source';
import { concurrentIndexNames, NO_TX_FAILED_NOTE, refuseOverInvalidIndex } from './invalid-index';
import { computeStatus, summarize, type AppliedMigration, type MigrationStatus, type StatusSummary } from './status';
import { migrateError } from '../errors/migrations';
import { isDiskFullText } from '../errors/third-party';
import { formatRustDuration, MigrateError, SQL } from './sqlx';

export type ConnectFn = () => Promise<Client>;

export interface StatusReport {
  readonly migrations: MigrationStatus[];
  readonly summary: StatusSummary;
  /** File problems (invalid version prefix, invalid UTF-8): sqlx would refuse to run. */
  readonly fileErrors: Error[];
  /** False when `_sqlx_migrations` does not exist yet. */
  readonly tableExists: boolean;
  readonly database: string;
}

export interface RunOptions {
  /** Apply up to and including this version (sqlx `--target-version`). */
  readonly target?: bigint;
  readonly ignoreMissing?: boolean;
  readonly dryRun?: boolean;
  readonly signal?: AbortSignal;
  /** Each line sqlx would print (`Applied 1/migrate create users (7.6ms)`), plus ours about waiting. */
  readonly onLine?: (line: string) => void;
}

export interface AppliedResult {
  readonly version: bigint;
  readonly description: string;
  readonly elapsedNs: bigint;
}

function toApplied(r: Record<string, unknown>): AppliedMigration {
  return {
    version: BigInt(r.version as string),
    description: String(r.description ?? ''),
    installedOn: r.installed_on as Date,
    success: r.success as boolean,
    checksum: r.checksum as Buffer,
    executionTimeNs: BigInt(r.execution_time as string),
  };
}

/** 1-based line and column of a 1-based character position in a text. */
function positionIn(text: string, position: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, position - 1));
  const lines = before.split('\n');
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}

export class Migrator {
  constructor(
    readonly dir: string,
    private readonly connect: ConnectFn,
  ) {}

  /** Read-only: never creates the table. One query for the rows, plus hashing the files. */
  async status(): Promise<StatusReport> {
    const [{ migrations: local, errors }, db] = await Promise.all([loadMigrations(this.dir), this.readApplied()]);
    const migrations = computeStatus(local, db.applied);
    return {
      migrations,
      summary: summarize(migrations),
      fileErrors: errors,
      tableExists: db.tableExists,
      database: db.database,
    };
  }

  private async readApplied(): Promise<{ applied: AppliedMigration[]; tableExists: boolean; database: string }> {
    const client = await this.connect();
    try {
      const head = await client.query(`${SQL.tableExists}, current_database() AS db`);
      const tableExists = head.rows[0].exists === true;
      const database = String(head.rows[0].db);
      if (!tableExists) return { applied: [], tableExists, database };
      const rows = await client.query(SQL.listAppliedFull);
      return { applied: rows.rows.map(toApplied), tableExists, database };
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** `sqlx migrate run` with the library's lock: the checks in sqlx's order, then each pending migration in its own transaction. */
  async run(opts: RunOptions = {}): Promise<{ applied: AppliedResult[]; skipped: bigint[] }> {
    const { migrations: local, errors } = await loadMigrations(this.dir);
    // A folder sqlx would not run as it is is refused before anything is applied.
    const problem = folderError(this.dir, errors);
    if (problem) throw problem;
    const ups = local.filter((m) => m.type !== 'down');
    if (opts.target !== undefined && !ups.some((m) => m.version === opts.target))
      throw migrateError.notPresent(opts.target);

    return this.locked(opts, async (client) => {
      await client.query(SQL.ensureTable);
      const dirty = await client.query(SQL.dirty);
      if (dirty.rows.length) throw migrateError.dirty(BigInt(dirty.rows[0].version));
      const appliedRows = (await client.query(SQL.listApplied)).rows.map((r) => ({
        version: BigInt(r.version),
        checksum: r.checksum as Buffer,
      }));
      if (!opts.ignoreMissing) {
        const localVersions = new Set(ups.map((m) => m.version));
        const missing = appliedRows.find((a) => !localVersions.has(a.version));
        if (missing) throw migrateError.missing(missing.version);
      }
      const latest = appliedRows.at(-1)?.version;
      if (opts.target !== undefined && latest !== undefined && opts.target < latest)
        throw migrateError.tooOld(opts.target, latest);

      const applied = new Map(appliedRows.map((a) => [a.version, a.checksum]));
      const done: AppliedResult[] = [];
      const skipped: bigint[] = [];
      for (const m of ups) {
        const checksum = applied.get(m.version);
        if (checksum) {
          if (!m.checksum.equals(checksum)) throw migrateError.mismatch(m.version);
          continue;
        }
        if (opts.target !== undefined && m.version > opts.target) {
          skipped.push(m.version);
          opts.onLine?.(`Skipped ${m.version}/migrate ${m.description} (0ns)`);
          continue;
        }
        if (opts.dryRun) {
          opts.onLine?.(`Can apply ${m.version}/migrate ${m.description} (0ns)`);
          continue;
        }
        if (opts.signal?.aborted) throw new CancelledError();
        const elapsedNs = await this.apply(client, m, opts.signal);
        opts.onLine?.(`Applied ${m.version}/migrate ${m.description} (${formatRustDuration(elapsedNs)})`);
        done.push({ version: m.version, description: m.description, elapsedNs });
      }
      return { applied: done, skipped };
    });
  }

  /**
   * `sqlx migrate revert`: the highest applied migration with a local `.down.sql` (or, with `target`,
   * every applied version above it, newest first). Checksums are not validated, as in sqlx.
   */
  async revert(opts: RunOptions = {}): Promise<{ reverted: AppliedResult[] }> {
    const { migrations: local, errors } = await loadMigrations(this.dir);
    // A folder sqlx would not run as it is is refused before anything is applied.
    const problem = folderError(this.dir, errors);
    if (problem) throw problem;
    const downs = new Map(local.filter((m) => m.type === 'down').map((m) => [m.version, m]));
    if (opts.target !== undefined && opts.target !== 0n && !local.some((m) => m.version === opts.target))
      throw migrateError.notPresent(opts.target);

    return this.locked(opts, async (client) => {
      await client.query(SQL.ensureTable);
      const dirty = await client.query(SQL.dirty);
      if (dirty.rows.length) throw migrateError.dirty(BigInt(dirty.rows[0].version));
      const appliedVersions = (await client.query(SQL.listApplied)).rows.map((r) => BigInt(r.version)).reverse();
      const latest = appliedVersions[0];
      if (opts.target !== undefined && latest !== undefined && opts.target > latest)
        throw migrateError.tooNew(opts.target, latest);
      const reverted: AppliedResult[] = [];
      for (const version of appliedVersions) {
        const down = downs.get(version);
        if (!down) continue;
        if (opts.target !== undefined && version <= opts.target) break;
        if (opts.signal?.aborted) throw new CancelledError();
        if (opts.dryRun) {
          opts.onLine?.(`Can apply ${version}/revert ${down.description} (0ns)`);
        } else {
          const elapsedNs = await this.revertOne(client, down, opts.signal);
          opts.onLine?.(`Applied ${version}/revert ${down.description} (${formatRustDuration(elapsedNs)})`);
          reverted.push({ version, description: down.description, elapsedNs });
        }
        if (opts.target === undefined) break; // the CLI reverts one
      }
      if (reverted.length === 0 && !opts.dryRun) opts.onLine?.('No migrations available to revert');
      return { reverted };
    });
  }

  /** Takes sqlx's advisory lock first and always releases it (sqlx itself leaks it on errors: sqlx#1871). */
  private async locked<T>(opts: RunOptions, body: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.connect();
    const cancel = () => void this.cancelBackend(client);
    opts.signal?.addEventListener('abort', cancel, { once: true });
    let lockId: bigint | undefined;
    try {
      // sqlx's session settings, so migrations behave as they do under the Rust service.
      await client.query(
        "SET DateStyle = 'ISO, MDY'; SET TimeZone = 'UTC'; SET extra_float_digits = 2; SET client_encoding = 'UTF8'",
      );
      const db = String((await client.query(SQL.currentDatabase)).rows[0].current_database);
      const id = advisoryLockId(db);
      const tried = await client.query('SELECT pg_try_advisory_lock($1) AS ok', [id.toString()]);
      if (tried.rows[0].ok !== true) {
        opts.onLine?.(
          `Waiting for the migration lock ${id} on database "${db}": another runner is applying migrations…`,
        );
        await waitForLock(client, id, opts.signal);
      }
      lockId = id;
      if (opts.signal?.aborted) throw new CancelledError();
      return await body(client);
    } catch (e) {
      if (
        opts.signal?.aborted &&
        !(e instanceof CancelledError) &&
        !(e instanceof MigrateError && e.sqlxKind !== 'ExecuteMigration')
      )
        throw new CancelledError();
      throw e;
    } finally {
      opts.signal?.removeEventListener('abort', cancel);
      if (lockId !== undefined) {
        await client.query(SQL.unlock, [lockId.toString()]).catch(() => undefined);
        await client.query('SELECT pg_notify($1, $2)', [LOCK_CHANNEL, lockId.toString()]).catch(() => undefined);
      }
      await client.end().catch(() => undefined);
    }
  }

  private async cancelBackend(client: Client): Promise<void> {
    const pid = (client as unknown as { processID?: number }).processID;
    if (!pid) return;
    const other = await this.connect().catch(() => undefined);
    if (!other) return;
    await other.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
    await other.end().catch(() => undefined);
  }

  /** Applies an up/simple migration: script and bookkeeping INSERT in one transaction, the execution time after. */
  private async apply(client: Client, m: LocalMigration, signal?: AbortSignal): Promise<bigint> {
    await refuseOverInvalidIndex(client, m);
    const elapsed = await this.execute(client, m, signal, () =>
      client.query(SQL.insert, [m.version.toString(), m.description, m.checksum]),
    );
    await client.query(SQL.updateTime, [elapsed.toString(), m.version.toString()]);
    return elapsed;
  }

  /** Reverts with a down file: script and DELETE of the row in one transaction (sqlx stores no time). */
  private revertOne(client: Client, down: LocalMigration, signal?: AbortSignal): Promise<bigint> {
    return this.execute(client, down, signal, () => client.query(SQL.delete, [down.version.toString()]));
  }

  /**
   * BEGIN (unless `-- no-transaction`); the file as one simple-protocol Query (so multi-statement files work);
   * the bookkeeping statement; COMMIT. On error: ROLLBACK, and sqlx's message with the position in the file.
   */
  private async execute(
    client: Client,
    m: LocalMigration,
    signal: AbortSignal | undefined,
    bookkeeping: () => Promise<unknown>,
  ): Promise<bigint> {
    const start = process.hrtime.bigint();
    try {
      if (!m.noTx) await client.query('BEGIN');
      await client.query(m.sql);
      await bookkeeping();
      if (!m.noTx) await client.query('COMMIT');
    } catch (e) {
      if (!m.noTx) await client.query('ROLLBACK').catch(() => undefined);
      if (signal?.aborted) throw new CancelledError();
      const pos = Number((e as { position?: string }).position);
      const err = migrateError.execute(m.version, e, {
        file: m.path,
        ...(Number.isFinite(pos) && pos > 0 ? positionIn(m.sql, pos) : { line: 1, column: 1 }),
      });
      if (isDiskFullText(e) || (e as { code?: string }).code === '53100') err.message += diskFullNote(m.noTx);
      if (m.noTx && concurrentIndexNames(m.sql).length) err.message += NO_TX_FAILED_NOTE;
      throw err;
    }
    return process.hrtime.bigint() - start;
  }
}

/** A migration that ran out of disk on the database server: what happened to it, and what to do. */
const diskFullNote = (noTx: boolean) =>
  ' (Disk full: the database server’s data volume has no space left. ' +
  (noTx ? '' : 'The migration ran in one transaction and was rolled back: nothing of it stays. ') +
  'Free space on the data volume, or give it a bigger disk, then run it again.)';

/** Where a runner of this extension says it released the migration lock (NOTIFY), for the ones waiting. */
const LOCK_CHANNEL = 'tsdbops_migration_lock';
/** A waiter tries again after this long without a NOTIFY (sqlx's own runners and a crashed session send none). */
const LOCK_RETRY_MS = 2000;

/**
 * Waits for the migration lock without a query running while it waits. A blocking `pg_advisory_lock` holds a
 * snapshot the whole time, and CREATE INDEX CONCURRENTLY (a `-- no-transaction` migration of the lock's holder)
 * waits for every older snapshot to end before it completes: the holder waits for the waiter, the waiter for
 * the holder, and PostgreSQL's deadlock check fails the index build, leaving it INVALID (found by the fault
 * matrix: Run Pending (`-- no-transaction`) × second window). Here each try is a short `pg_try_advisory_lock`;
 * between tries the session is idle, woken by the holder's NOTIFY or after LOCK_RETRY_MS.
 */
async function waitForLock(client: Client, id: bigint, signal?: AbortSignal): Promise<void> {
  await client.query(`LISTEN ${LOCK_CHANNEL}`);
  try {
    for (;;) {
      if (signal?.aborted) throw new CancelledError();
      const r = await client.query('SELECT pg_try_advisory_lock($1) AS ok', [id.toString()]);
      if (r.rows[0].ok === true) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          client.off('notification', done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, LOCK_RETRY_MS);
        client.on('notification', done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  } finally {
    await client.query(`UNLISTEN ${LOCK_CHANNEL}`).catch(() => undefined);
  }
}
