/**
 * What a Recovery Timeline action restores, and the confirmation the user reads before it runs. The panel's
 * message handler and `tsdbOps.backup.timeline { action }` both call planTimelineAction; the ui maps `restore`
 * to its command and passes `args` (the recoverability args schema of core/backups/restore/target) with
 * `confirm: true` once the user confirmed.
 *
 * "Restore to just before migration X":
 * - X ran in a transaction: target that transaction, excluded (`--type=xid --target-exclusive`). It is the
 *   xmin of the row version sqlx's later execution_time UPDATE replaced (core/migrations/xid), not the live
 *   row's xmin. If it cannot be read any more, a time just before installed_on (sqlx's DEFAULT now(), the start
 *   of the migration's transaction), approximate.
 * - X is `-- no-transaction`: no single transaction marks it, so the target is approximate: the end of the
 *   previous migration's bookkeeping (its live row's xmin, included) when that one ran just before X in the
 *   same Run Pending, else a time before X began (installed_on minus its execution time).
 */
import type { Client } from 'pg';
import { basename } from 'node:path';
import type { TimelineManual, TimelineMigration, TimelineModel } from './timeline';
import { previousInSameRun } from './timeline';
import { formatTimeTarget } from './restore/pitr';
import { migrationTransaction, MigrationXidError, rowXmin } from '../migrations/xid';
import { connect, type ConnectionTarget } from '../postgres/connection';
import type { StackContext } from '../stack/context';
import { OpsError } from '../errors/error';

/** What the webview posts (and `tsdbOps.backup.timeline { action }` takes). */
export type TimelineAction =
  | { kind: 'restoreTime'; time: number }
  | { kind: 'restoreBeforeMigration'; version: string }
  | { kind: 'restoreSet'; label: string }
  | { kind: 'restoreManual'; path: string; backupKind: TimelineManual['kind'] };

/** The recoverability args of `tsdbOps.restore.pgbackrest` (without `confirm` and `folder`). */
export interface PgbackrestRestoreArgs {
  readonly target: 'set' | 'time' | 'xid';
  readonly set?: string;
  /** ISO 8601. */
  readonly time?: string;
  readonly xid?: string;
  readonly exclusive?: boolean;
}

export type TimelineRestorePlan = {
  /** The confirmation's first line (the modal's message). */
  readonly message: string;
  /** The confirmation's detail: the target, why it is that target, and the safety rules. */
  readonly detail: string;
  /** True when the target is not exactly "everything before the change" (the confirmation says so). */
  readonly approximate: boolean;
} & (
  | { readonly restore: 'pgbackrest'; readonly args: PgbackrestRestoreArgs }
  /** A manual backup: the restore command on that file, which asks its own options and confirmation. */
  | {
      readonly restore: 'dump' | 'dumpAll' | 'baseBackup';
      readonly backup: { readonly path: string; readonly database?: string };
    }
);

export const RESTORE_SAFETY =
  'The restore command checks the backup first, moves the current data folder aside as a pre-restore copy ' +
  '(the way back) and rolls back by itself if anything fails or you cancel.';

/** How the migration's restore target was found (the input of the confirmation text). */
export type MigrationTargetFound =
  /** The migration's own transaction. */
  | { readonly kind: 'ownTransaction'; readonly xid: string }
  /** Its transaction could not be read (why): a time just before installed_on. */
  | { readonly kind: 'ownTransactionUnknown'; readonly why: string }
  /** `-- no-transaction`, right after `prev` in the same run: prev's live row's xmin, included. */
  | { readonly kind: 'afterPrevious'; readonly prev: TimelineMigration; readonly xid: string }
  /** `-- no-transaction`, nothing right before it: a time before it began. */
  | { readonly kind: 'timeBefore' };

/** The plan and confirmation text of "restore to just before migration m" for a found target. */
export function restoreBeforeMigrationPlan(
  project: string,
  m: TimelineMigration,
  found: MigrationTargetFound,
): TimelineRestorePlan {
  const name = `${m.version} ${m.description}`;
  const message = `Restore ${project} to just before migration ${name}?`;
  switch (found.kind) {
    case 'ownTransaction':
      return {
        restore: 'pgbackrest',
        args: { target: 'xid', xid: found.xid, exclusive: true },
        message,
        detail:
          `Target: the migration's transaction ${found.xid}, excluded (--type=xid --target-exclusive). Everything committed ` +
          `before it stays, also migrations applied earlier in the same run. ${RESTORE_SAFETY}`,
        approximate: false,
      };
    case 'ownTransactionUnknown': {
      const time = m.installedOn - 1;
      return {
        restore: 'pgbackrest',
        args: { target: 'time', time: new Date(time).toISOString() },
        message: `${message} (approximate)`,
        detail:
          `${found.why} The target is therefore approximate: just before the migration's transaction began ` +
          `(${formatTimeTarget(new Date(time))}: installed_on, the now() of that transaction, minus 1 ms); commits made ` +
          `by other sessions while it ran are not kept. ${RESTORE_SAFETY}`,
        approximate: true,
      };
    }
    case 'afterPrevious': {
      const p = found.prev;
      return {
        restore: 'pgbackrest',
        args: { target: 'xid', xid: found.xid, exclusive: false },
        message: `${message} (approximate)`,
        detail:
          `${name} is a -- no-transaction migration: no single transaction marks it, so the target is approximate: just ` +
          `after the previous migration ${p.version} ${p.description} finished in the same run (transaction ${found.xid}, ` +
          `included). Commits made by other sessions while ${m.version} ran are not kept. ${RESTORE_SAFETY}`,
        approximate: true,
      };
    }
    case 'timeBefore': {
      if (m.restore.kind !== 'time')
        throw new OpsError('config', `Migration ${m.version} ran in a transaction: target it instead.`);
      return {
        restore: 'pgbackrest',
        args: { target: 'time', time: new Date(m.restore.time).toISOString() },
        message: `${message} (approximate)`,
        detail: `The target is approximate: ${m.restore.why}. ${RESTORE_SAFETY}`,
        approximate: true,
      };
    }
  }
}

/** Finds the restore target of "just before migration m" in the database (see the module comment). */
export async function findMigrationTarget(
  client: Client,
  migrations: readonly TimelineMigration[],
  m: TimelineMigration,
): Promise<MigrationTargetFound> {
  if (m.restore.kind === 'xid') {
    try {
      return { kind: 'ownTransaction', xid: (await migrationTransaction(client, BigInt(m.version))).xid };
    } catch (e) {
      if (e instanceof MigrationXidError) return { kind: 'ownTransactionUnknown', why: e.message };
      throw e;
    }
  }
  const prev = previousInSameRun(migrations, m);
  if (prev) {
    try {
      return { kind: 'afterPrevious', prev, xid: await rowXmin(client, BigInt(prev.version)) };
    } catch (e) {
      if (!(e instanceof MigrationXidError)) throw e;
    }
  }
  return { kind: 'timeBefore' };
}

/**
 * Turns a timeline action into the restore it runs and its confirmation. The stack's database is reached
 * through the stack context's connection (only a migration tick needs one; it is closed before returning).
 * `open` opens the client (default core/postgres/connection; a unit test hands in its own).
 */
export async function planTimelineAction(
  model: TimelineModel,
  a: TimelineAction,
  context: Pick<StackContext, 'connection'>,
  open: (target: ConnectionTarget) => Promise<Client> = connect,
): Promise<TimelineRestorePlan> {
  const project = model.project;
  switch (a.kind) {
    case 'restoreSet':
      return {
        restore: 'pgbackrest',
        args: { target: 'set', set: a.label },
        message: `Restore ${project} to exactly backup set ${a.label}?`,
        detail: `The data as it was when ${a.label} ended (no WAL replayed after it). ${RESTORE_SAFETY}`,
        approximate: false,
      };
    case 'restoreTime': {
      const at = formatTimeTarget(new Date(a.time));
      return {
        restore: 'pgbackrest',
        args: { target: 'time', time: new Date(a.time).toISOString() },
        message: `Restore ${project} to the moment ${at}?`,
        detail: `pgBackRest point-in-time recovery: the newest set that ended before it, plus the archived WAL up to ${at}. ${RESTORE_SAFETY}`,
        approximate: false,
      };
    }
    case 'restoreManual': {
      const m = model.manual.find((x) => x.path === a.path);
      return {
        restore: a.backupKind === 'pg_dump' ? 'dump' : a.backupKind === 'pg_dumpall' ? 'dumpAll' : 'baseBackup',
        backup: { path: a.path, database: m?.database },
        message: `Restore ${project} from ${basename(a.path)}?`,
        detail: 'The restore command asks its options and confirms what it replaces.',
        approximate: false,
      };
    }
    case 'restoreBeforeMigration': {
      const m = model.migrations.find((x) => x.version === a.version);
      if (!m)
        throw new OpsError(
          'config',
          `Migration ${a.version} is not on the timeline of ${project} (applied migrations only).`,
        );
      const client = await open(await context.connection());
      try {
        return restoreBeforeMigrationPlan(project, m, await findMigrationTarget(client, model.migrations, m));
      } finally {
        await client.end().catch(() => undefined);
      }
    }
  }
}
