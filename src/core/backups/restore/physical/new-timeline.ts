/**
 * A pg_basebackup restored as it is carries on the backup's timeline from the backup's end: the WAL it then writes
 * has the names of segments the archive already holds (the ones the server archived after the backup), so
 * `pgbackrest archive-push` refuses them ([045] "already exists in the repo1 archive with a different checksum"),
 * archiving stops, WAL piles up in pg_wal and every later pgBackRest backup times out ([082]).
 *
 * When the restored server archives to pgBackRest (its archive_command, read from the restored configuration), it
 * recovers instead: to the backup's end (`recovery_target = 'immediate'`, the WAL in the backup) with the archive's
 * `archive-get` as restore_command, so that at promotion PostgreSQL takes a new timeline whose number the archive's
 * history files leave free. Its WAL never collides with the archive's. The settings go again once it is up.
 */
import { posix } from 'node:path';
import { psqlQuery, runLoggedChecked, type RestoreContext } from '../run';
import type { PhysicalTarget } from './types';

const MARK = '# tsdb-ops: pg_basebackup restore onto a new timeline (removed once the server is up)';
const SETTINGS = ['restore_command', 'recovery_target', 'recovery_target_action'] as const;

/** The archive's `archive-get` for a pgBackRest archive_command (`… archive-push %p`), else undefined. */
export function archiveGetOf(archiveCommand: string): string | undefined {
  if (!/\bpgbackrest\b/.test(archiveCommand) || !/\barchive-push\b/.test(archiveCommand)) return undefined;
  return archiveCommand.replace(/\barchive-push\b(\s+("%p"|'%p'|%p))?/, 'archive-get %f "%p"');
}

/**
 * After the archives are extracted (the server not running): when the restored configuration archives to
 * pgBackRest, writes recovery.signal and the recovery settings. Returns whether it did (then `resetRecoverySettings`
 * runs once the server is up).
 */
export async function recoverOntoNewTimeline(t: PhysicalTarget, ctx: RestoreContext): Promise<boolean> {
  const r = await runLoggedChecked(t.rt, ctx, ['postgres', '-D', t.dataDir, '-C', 'archive_command'], {
    quietStdout: true,
  });
  const restore = archiveGetOf(r.stdoutLines.join(' ').trim());
  if (!restore) return false;
  ctx.line(`The restored server archives to pgBackRest: it recovers to the backup's end and takes a new timeline.`);
  const q = (v: string) => `'${v.replace(/'/g, "''")}'`;
  const text = [
    '',
    MARK,
    `restore_command = ${q(restore)}`,
    `recovery_target = 'immediate'`,
    `recovery_target_action = 'promote'`,
    '',
  ].join('\n');
  await runLoggedChecked(t.rt, ctx, [
    'sh',
    '-c',
    'printf "%s" "$2" >> "$1/postgresql.auto.conf" && : > "$1/recovery.signal"',
    'new-timeline',
    posix.join(t.dataDir),
    text,
  ]);
  return true;
}

/** Once the restored server is up (promoted): the recovery settings go from postgresql.auto.conf (ALTER SYSTEM). */
export async function resetRecoverySettings(t: PhysicalTarget, ctx: RestoreContext): Promise<void> {
  for (const s of SETTINGS) await psqlQuery(t.rt, ctx, t.conn, `ALTER SYSTEM RESET ${s}`, { signal: null });
}
