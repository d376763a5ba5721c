/** Cells of the backup rows. */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterCheck, snapshot, writeChecksum } from '../check';
import { broken, result, settle, type CellDef } from '../cell';
import { stackWithMount, triggerAt } from '../inject';
import { faultOps } from '../ops';

const TMPFS_MB = 8;

/**
 * pg_dump × disk full on the backups volume, midway: manual_backup is a tmpfs of 8 MB; the dump of the
 * checksum table is about 3× that, so the tool starts, writes, and runs out of space part way through.
 */
type Kind = 'backup-dump' | 'backup-dumpall' | 'backup-basebackup';
const TOOL: Record<Kind, string> = {
  'backup-dump': 'pg_dump',
  'backup-dumpall': 'pg_dumpall',
  'backup-basebackup': 'pg_basebackup',
};

const diskFullCell = (row: Kind, ci: boolean): CellDef => ({
  row,
  column: 'disk-full-backups',
  ci,
  injection:
    `manual_backup (the backups volume's dump folder, bind-mounted into the container) is a tmpfs of ${TMPFS_MB} MB ` +
    'mounted before the stack starts; the database holds about 25 MB of hard-to-compress rows, so ' +
    `${TOOL[row]} starts (nothing refuses it) and the disk fills while it writes`,
  async run(env) {
    const t0 = Date.now();
    const injected = `tmpfs size=${TMPFS_MB}m at backups/manual_backup; filled by ${TOOL[row]} itself midway`;
    let own: Awaited<ReturnType<typeof stackWithMount>> | undefined;
    try {
      env.log(`${row} × disk-full-backups: a stack with a tmpfs backups folder`);
      own = await stackWithMount(join('backups', 'manual_backup'), TMPFS_MB);
      const { stack, mount } = own;
      const sum = await writeChecksum(stack, { rows: 60_000, padBytes: 384 });
      const before = await snapshot(stack);
      const ops = faultOps(stack);
      // The fault is the disk itself: it fires when the tool starts writing (its command line on the output).
      const trig = triggerAt(new RegExp(`^\\$ ${TOOL[row]} `), async () => undefined);
      const c = { onLine: (l: string) => trig.ctx.line(l) };
      const op =
        row === 'backup-dump'
          ? ops.dump(stack.env.POSTGRES_DB!, c)
          : row === 'backup-dumpall'
            ? ops.dumpAll(c)
            : ops.baseBackup(c);
      const ended = await settle(op, trig.fired);
      const faultAt = await Promise.race([trig.fired, Promise.resolve(undefined)]);
      const problems: string[] = [];
      let outcome: 'old state' | 'new state' | 'FAILED' = 'old state';
      let message = '';
      if (ended.kind === 'hung') {
        problems.push('no message within 5 minutes of the disk filling');
        outcome = 'FAILED';
      } else if (ended.kind === 'ok') {
        message = `wrote ${ended.value.name} (${ended.value.sizeBytes} bytes)`;
        outcome = 'new state';
        // Not the product's fault: the backup fit, the disk never filled. Its files go, so the after-check judges the rest.
        problems.push(
          `the backup fit in the ${TMPFS_MB} MB tmpfs (${ended.value.sizeBytes} bytes): the disk never filled, the cell needs more data`,
        );
        rmSync(ended.value.path, { recursive: true, force: true });
        rmSync(ended.value.sidecarPath, { force: true });
      } else {
        message = ended.message;
        if (!/disk full/i.test(message)) problems.push('the message does not say "disk full"');
        if (!/\d+(\.\d+)?\s*(bytes|B|kB|KB|MB|GB|KiB|MiB|GiB)\b.*free|free.*\d/i.test(message))
          problems.push('the message does not give the free space');
      }
      const inFolder = readdirSync(mount.dir);
      if (inFolder.length) problems.push(`in manual_backup after the failure: ${inFolder.join(', ')}`);
      const check = await afterCheck(stack, before, { expect: [sum] });
      return result({
        row,
        column: 'disk-full-backups',
        outcome,
        message,
        injected,
        check,
        faultAt,
        messageAt: ended.at,
        t0,
        problems,
      });
    } catch (e) {
      return broken(row, 'disk-full-backups', injected, t0, e);
    } finally {
      await own?.stop();
    }
  },
});

export const dumpDiskFull = diskFullCell('backup-dump', true);
export const dumpAllDiskFull = diskFullCell('backup-dumpall', false);
export const baseBackupDiskFull = diskFullCell('backup-basebackup', false);
