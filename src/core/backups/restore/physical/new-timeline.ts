/**
 * A pg_basebackup restored as it is carries on the backup's timeline from the backup's end: the WAL it then writes
 * has the names of segments the archive already holds (the ones the server archived after the backup), so
 * `pgbackrest archive-push` refuses them ([045] "already exists in the repo1 archive with a different checksum"),
 * archiving stops, WAL piles up in pg_wal and every later pgBackRest backup times out ([082]).
 *
 * When the restored server archives to pgBackRest (its archive_command, read from the restored configuration), it
 * recovers instead: to the backup's end (`recovery_target = 'immediate'`, the WAL in the backup) with the archive's
 * `archive-get` as restore_command, so that at promotion PostgreSQL takes a new timeline whose number the archive's
 * history files leave free. Its WAL never collides with the archive's. `recovery_target_timeline = 'current'`: the
 * backup's own timeline, not the newest of the archive (the default 'latest' would follow a timeline a later
 * restore made, which the backup is not on, and recovery would refuse to start). The recovery targets a past
 * point-in-time restore left in postgresql.auto.conf (pgBackRest writes `recovery_target_time` there) are emptied
 * first, else PostgreSQL refuses to start ("multiple recovery targets specified"). Once it is up the settings are
 * reset and the restore_command the backup had is set again (ALTER SYSTEM).
 */
import { psqlQuery, runLoggedChecked, sqlLiteral, type RestoreContext } from '../run';
import type { PhysicalTarget } from './types';

const MARK = '# tsdb-ops: pg_basebackup restore onto a new timeline (removed once the server is up)';
/** Emptied before `recovery_target` is set: at most one recovery target may be set. */
const OTHER_TARGETS = ['recovery_target_time', 'recovery_target_xid', 'recovery_target_lsn', 'recovery_target_name'];
const SETTINGS = [
  'restore_command',
  'recovery_target',
  'recovery_target_action',
  'recovery_target_timeline',
  ...OTHER_TARGETS,
] as const;

/** What `resetRecoverySettings` puts back: the restore_command the restored configuration had ('' when none). */
export interface NewTimeline {
  readonly previousRestoreCommand: string;
}

/** The archive's `archive-get` for a pgBackRest archive_command (`… archive-push %p`), else undefined. */
export function archiveGetOf(archiveCommand: string): string | undefined {
  if (!/\bpgbackrest\b/.test(archiveCommand) || !/\barchive-push\b/.test(archiveCommand)) return undefined;
  return archiveCommand.replace(/\barchive-push\b(\s+("%p"|'%p'|%p))?/, 'archive-get %f "%p"');
}

/**
 * After the archives are extracted into `dir` (the server not running): when the restored configuration archives to
 * pgBackRest, writes recovery.signal and the recovery settings. Returns what to put back once the server is up
 * (`resetRecoverySettings`), or undefined when it changed nothing.
 */
export async function recoverOntoNewTimeline(
  t: PhysicalTarget,
  ctx: RestoreContext,
  dir: string,
): Promise<NewTimeline | undefined> {
  const setting = async (name: string) =>
    (await runLoggedChecked(t.rt, ctx, ['postgres', '-D', dir, '-C', name], { quietStdout: true })).stdoutLines
      .join(' ')
      .trim();
  const restore = archiveGetOf(await setting('archive_command'));
  if (!restore) return undefined;
  const previousRestoreCommand = await setting('restore_command');
  ctx.line(`The restored server archives to pgBackRest: it recovers to the backup's end and takes a new timeline.`);
  const q = (v: string) => `'${v.replace(/'/g, "''")}'`;
  const text = [
    '',
    MARK,
    ...OTHER_TARGETS.map((n) => `${n} = ''`),
    `restore_command = ${q(restore)}`,
    `recovery_target = 'immediate'`,
    `recovery_target_action = 'promote'`,
    `recovery_target_timeline = 'current'`,
    '',
  ].join('\n');
  await runLoggedChecked(t.rt, ctx, [
    'sh',
    '-c',
    'printf "%s" "$2" >> "$1/postgresql.auto.conf" && : > "$1/recovery.signal"',
    'new-timeline',
    dir,
    text,
  ]);
  return { previousRestoreCommand };
}

/**
 * Once the restored server is up (promoted): the recovery settings go from postgresql.auto.conf (ALTER SYSTEM), and the
 * restore_command the backup's configuration had is set again.
 */
export async function resetRecoverySettings(t: PhysicalTarget, ctx: RestoreContext, nt: NewTimeline): Promise<void> {
  for (const s of SETTINGS) await psqlQuery(t.rt, ctx, t.conn, `ALTER SYSTEM RESET ${s}`, { signal: null });
  if (nt.previousRestoreCommand)
    await psqlQuery(t.rt, ctx, t.conn, `ALTER SYSTEM SET restore_command = ${sqlLiteral(nt.previousRestoreCommand)}`, {
      signal: null,
    });
  // restore_command applies at a reload; the recovery targets are read at the next start only (and unused outside recovery).
  await psqlQuery(t.rt, ctx, t.conn, 'SELECT pg_reload_conf()', { signal: null });
}
