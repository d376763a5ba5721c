/**
 * Cells of the pg_basebackup restore row (Restores → pg_basebackup: restorePhysical of the backup folder as the
 * tools see it, as ui/commands/restores.ts restoreBaseBackup runs it): the Docker engine restarted while the
 * backup's archives are extracted, the data volume filling midway, and the scheduled pgBackRest backup firing
 * during the restore.
 */
import { fireOfeliaJob, ofeliaJobs } from '../inject';
import { dataDiskFullRun, restoreCell, rollBackAsCommand, stackOnThrowawayWhenFree } from '../physical-support';
import { BASE_BACKUP } from './restores-killed';
import { errorText } from '../../../src/core/format';

export const baseBackupRestoreEngineRestarted = restoreCell({
  row: 'restore-basebackup',
  column: 'engine-restarted',
  source: BASE_BACKUP,
  rows: 200_000,
  injection:
    'the stack runs on a throwaway Docker engine of its own (the test image loaded into it); when the restore extracts ' +
    'the backup’s base archive (the step “Extracting base.tar.gz”) the engine is restarted (SIGTERM to dockerd, which ' +
    'stops the container and the tar in it, then dockerd again); then what the user does: Start (`up -d`) and Recover ' +
    'Interrupted Restore → Roll back (the journal beside PGDATA), then the after-check',
  injected: 'the engine restarted at the step “Extracting base.tar.gz”',
  at: /^step: Extracting base/,
  async setUp(env) {
    const own = await stackOnThrowawayWhenFree(env.log);
    return {
      stack: own.stack,
      stop: own.stop,
      fault: (log) => own.engine.restart(log),
      async after(ended, problems) {
        if (ended.kind === 'error' && !/docker|engine|connect|socket|ECONNRESET|EPIPE|container/i.test(ended.message))
          problems.push('the message does not say that the engine or the container went away');
        await own.stack.compose(['up', '-d']);
        try {
          const j = await rollBackAsCommand(own.stack);
          return `then Start and Recover Interrupted Restore → Roll back: ${j ? `rolled back the restore started ${j.started}` : 'nothing to roll back'}`;
        } catch (e) {
          problems.push(`Recover Interrupted Restore → Roll back failed: ${errorText(e).slice(0, 300)}`);
          return undefined;
        }
      },
    };
  },
});

const DATA_MB = 320;

export const baseBackupRestoreDataDiskFull = restoreCell({
  row: 'restore-basebackup',
  column: 'disk-full-data',
  source: BASE_BACKUP,
  rows: 100_000,
  injection:
    `the data folder (PG_DATA, mounted at /home/postgres/pgdata) is a tmpfs of ${DATA_MB} MB mounted before the stack ` +
    'starts, so the restore’s free-space check passes; when the restore extracts the base archive (the step “Extracting ' +
    'base.tar.gz”) another writer fills the disk to 2 MB free (fallocate); the filler is removed once the restore has ' +
    'answered, before the after-check',
  injected: `tmpfs size=${DATA_MB}m at pgdata; filled to 2 MB free at the step “Extracting base.tar.gz”`,
  at: /^step: Extracting base/,
  setUp(env) {
    env.log('restore-basebackup × disk-full-data: a stack with a tmpfs data folder');
    return dataDiskFullRun(DATA_MB, false);
  },
});

export const baseBackupRestoreLocked = restoreCell({
  row: 'restore-basebackup',
  column: 'pgbackrest-lock',
  source: BASE_BACKUP,
  injection:
    'when the restore extracts the base archive (the step “Extracting base.tar.gz”: PostgreSQL is stopped, PGDATA moved ' +
    'aside), the Ofelia full-backup job’s own command (from the compose labels, as its user) runs in the container, the ' +
    'way Ofelia’s job-exec fires it; after the restore, a full backup again (what the next schedule does)',
  injected: 'the pgbackrest-full-backup job fired at the step “Extracting base.tar.gz”',
  at: /^step: Extracting base/,
  async setUp(env) {
    const stack = await env.sharedStack();
    const job = ofeliaJobs(stack).find((j) => /--type=full/.test(j.command));
    if (!job) throw new Error('no Ofelia full-backup job in the compose labels');
    let backup: Promise<{ exitCode: number; output: string }> | undefined;
    return {
      stack,
      fault: async () => (backup = fireOfeliaJob(stack, job)),
      async judge(_ended, problems) {
        const b = backup ? await backup : undefined;
        if (!b) return 'the scheduled backup never fired';
        // The next scheduled backup must work on the restored server (no stale lock, the stanza started).
        const next = await fireOfeliaJob(stack, job);
        if (next.exitCode !== 0)
          problems.push(`a full backup after the restore fails: ${next.output.split('\n').slice(-2).join(' / ')}`);
        return (
          `the scheduled backup exited ${b.exitCode}: ${b.output.split('\n').filter(Boolean).slice(-1)[0] ?? ''}; ` +
          `the next full backup exited ${next.exitCode}`
        );
      },
    };
  },
});
