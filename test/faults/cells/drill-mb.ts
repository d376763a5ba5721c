/**
 * restore drill × disk full (backups volume): what a drill writes on the backups volume is its report
 * (`<backups folder>/drills`, written by the command's handler after runDrill: writeDrillReport). That
 * folder is a tmpfs of 1 MB, filled by another writer while the drill restores; the drill must still tell
 * its result, keep no half-written report, say "disk full" with the free space, and leave the live system
 * as it was.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readDrillReport, writeDrillReport } from '../../../src/core/backups/drill';
import { afterCheck, snapshot } from '../check';
import { broken, result, settle, type CellDef } from '../cell';
import { fillDisk, removeFiller, stackWithMount, triggerAt } from '../inject';
import { faultOps } from '../ops';
import type { Outcome } from '../table';
import { backupLabels } from './backups-full';
import { backedUp, drill, drillThings, liveState } from './drill';

const FILLER = '.fault-filler';

export const drillReportDiskFull: CellDef = {
  row: 'drill',
  column: 'disk-full-backups',
  injection:
    'the drills folder on the backups volume (backups/drills, where the command writes the drill’s report) is a tmpfs of ' +
    '1 MB mounted before the stack starts; a restore drill runs as Backups → Restore Drill does (runDrill, then ' +
    'writeDrillReport); at its step “Restoring … into the scratch container” another writer fills that disk (fallocate), ' +
    'so the report meets a full disk; the filler is removed once the drill answered',
  async run(env) {
    const t0 = Date.now();
    const injected = 'backups/drills (tmpfs 1 MB) filled at the drill’s step “Restoring …”';
    let own: Awaited<ReturnType<typeof stackWithMount>> | undefined;
    let filler: string | undefined;
    try {
      env.log('drill × disk-full-backups: a stack with a tmpfs drills folder');
      own = await stackWithMount(join('backups', 'drills'), 1);
      const { stack, mount } = own;
      const sum = await backedUp(stack);
      const labels = await backupLabels(stack);
      const live = await liveState(stack);
      const things = await drillThings(stack);
      const before = await snapshot(stack);
      const sc = await faultOps(stack).context();
      const trig = triggerAt(/^step: Restoring .* into the scratch container/, async () => {
        filler = fillDisk(mount.dir, 0);
      });
      const op = drill(stack, trig.ctx).then(async (report) => ({
        report,
        files: await writeDrillReport(sc.drillsDir, report),
      }));
      const ended = await settle(op, trig.fired);
      const faultAt = await Promise.race([trig.fired, Promise.resolve(undefined)]);
      if (filler) removeFiller(filler);
      filler = undefined;
      const problems: string[] = [];
      let outcome: Outcome;
      let message: string;
      const inDir = readdirSync(mount.dir).filter((f) => f !== FILLER);
      if (ended.kind === 'hung') {
        outcome = 'FAILED';
        message = '';
        problems.push('no message within 5 minutes of the disk filling');
      } else if (ended.kind === 'ok') {
        const r = ended.value.report;
        message = `Drill ${r.passed ? 'PASSED' : 'FAILED'}, report ${ended.value.files.json}`;
        outcome = 'new state';
        if (!(await readDrillReport(ended.value.files.json))) problems.push('the report written does not read back');
        for (const f of inDir) rmSync(join(mount.dir, f), { force: true });
      } else {
        message = ended.message;
        outcome = 'old state';
        if (!/disk full/i.test(message)) problems.push('the message does not say "disk full"');
        if (!/free there/i.test(message)) problems.push('the message does not give the free space');
        if (!/PASSED|FAILED/.test(message)) problems.push('the message does not give the drill’s own result');
        if (inDir.length) problems.push(`in the drills folder after the failure: ${inDir.join(', ')}`);
      }
      const liveAfter = await liveState(stack);
      for (const k of Object.keys(live))
        if (live[k] !== liveAfter[k])
          problems.push(`the drill changed the live system: ${k} was “${live[k]}”, is “${liveAfter[k]}”`);
      const labelsAfter = await backupLabels(stack);
      const gone = labels.filter((l) => !labelsAfter.includes(l));
      if (gone.length) problems.push(`backup sets gone from pgBackRest's list: ${gone.join(', ')}`);
      const left = (await drillThings(stack)).filter((x) => !things.includes(x));
      if (left.length) problems.push(`drill leftovers: ${left.join(', ')}`);
      const check = await afterCheck(stack, before, { expect: [sum] });
      return result({
        row: 'drill',
        column: 'disk-full-backups',
        outcome,
        message,
        injected,
        check: { ...check, leftovers: [...check.leftovers, ...left] },
        faultAt,
        messageAt: ended.at,
        t0,
        problems,
      });
    } catch (e) {
      return broken('drill', 'disk-full-backups', injected, t0, e);
    } finally {
      if (filler) removeFiller(filler);
      await own?.stop();
    }
  },
};
