/** Cells of the backup rows. */
import { readdirSync } from 'node:fs';
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
export const dumpDiskFull: CellDef = {
  row: 'backup-dump',
  column: 'disk-full-backups',
  ci: true,
  injection:
    `manual_backup (the backups volume's dump folder, bind-mounted into the container) is a tmpfs of ${TMPFS_MB} MB ` +
    'mounted before the stack starts; the database holds about 25 MB of incompressible rows, so pg_dump starts ' +
    '(nothing refuses it) and the disk fills while it writes',
  async run(env) {
    const t0 = Date.now();
    const injected = `tmpfs size=${TMPFS_MB}m at backups/manual_backup; filled by pg_dump itself midway`;
    let own: Awaited<ReturnType<typeof stackWithMount>> | undefined;
    try {
      env.log('backup-dump × disk-full-backups: a stack with a tmpfs backups folder');
      own = await stackWithMount(join('backups', 'manual_backup'), TMPFS_MB);
      const { stack, mount } = own;
      const sum = await writeChecksum(stack, { rows: 60_000, padBytes: 384 });
      const before = await snapshot(stack);
      const ops = faultOps(stack);
      // The fault is the disk itself: it fires when pg_dump starts writing (the command line on the output).
      const trig = triggerAt(/^\$ pg_dump/, async () => undefined);
      const ended = await settle(ops.dump(stack.env.POSTGRES_DB!, { onLine: (l) => trig.ctx.line(l) }), trig.fired);
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
        problems.push(`the dump claims success on a full disk: ${message}`);
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
        row: 'backup-dump',
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
      return broken('backup-dump', 'disk-full-backups', injected, t0, e);
    } finally {
      await own?.stop();
    }
  },
};
