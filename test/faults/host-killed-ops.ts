/**
 * The operation of each row of the fault matrix, as the command handler runs it (through ops.ts), for the
 * two-phase "extension host killed" cells: child-op.ts runs one of these in a process of its own, printing
 * every step and line, and the harness `kill -9`s that process at a named step. Parameters are strings (they
 * cross the process boundary as JSON): a backup path, a target time, a migrations folder.
 */
import { pgbackrestBackup } from '../../src/core/backups/pgbackrest';
import { drillCheckFiles } from '../../src/core/backups/drill-checks';
import { drillTargetOf } from '../../src/core/backups/drill-target';
import { runDrill } from '../../src/core/backups/drill';
import { restoreDumpAll } from '../../src/core/backups/restore/logical';
import { restorePhysical } from '../../src/core/backups/restore/physical';
import type { RestoreContext } from '../../src/core/backups/restore/run';
import { restoreSiteOf } from '../../src/core/backups/restore/stack';
import type { FaultOps } from './ops';
import type { RowId } from './table';

export type OpParams = Readonly<Record<string, string>>;
type RowOp = (ops: FaultOps, p: OpParams, ctx: RestoreContext) => Promise<unknown>;

const need = (p: OpParams, k: string): string => {
  const v = p[k];
  if (v === undefined) throw new Error(`the child operation needs the parameter ${k}`);
  return v;
};

/** Backups' runs take `onLine` only: steps and lines both go to the context's line. */
const backupCtx = (ctx: RestoreContext) => ({ onLine: (l: string) => ctx.line(l) });

export const ROW_OPS: Partial<Record<RowId, RowOp>> = {
  'restore-pgbackrest-latest': (ops, _p, ctx) => ops.restorePgbackrest({ target: 'latest' }, ctx),
  'restore-pgbackrest-time': (ops, p, ctx) =>
    ops.restorePgbackrest({ target: 'time', time: new Date(need(p, 'time')) }, ctx),
  'restore-pgbackrest-xid': (ops, p, ctx) => ops.restorePgbackrest({ target: 'xid', xid: need(p, 'xid') }, ctx),
  // PostgreSQL is PID 1: ops.ts decides the one-off container (restoreInOneOff), as ui/commands/restores.ts does.
  'restore-oneoff': (ops, _p, ctx) => ops.restorePgbackrest({ target: 'latest' }, ctx),
  // As ui/commands/restores.ts restoreBaseBackup: the folder as the tools see it, restorePhysical on the site.
  'restore-basebackup': async (ops, p, ctx) => {
    const site = await restoreSiteOf(await ops.context());
    return restorePhysical(
      { rt: site.rt, dataDir: site.dataDir, conn: site.conn },
      { kind: 'baseBackup', dir: site.toolPath(need(p, 'path')) },
      ctx,
    );
  },
  'restore-dump-new': (ops, p, ctx) => ops.restoreDumpFile(need(p, 'file'), need(p, 'database'), ctx),
  'restore-dump-over': (ops, p, ctx) => ops.restoreDumpFile(need(p, 'file'), need(p, 'database'), ctx),
  'restore-dumpall': async (ops, p, ctx) => {
    const site = await restoreSiteOf(await ops.context());
    return restoreDumpAll({ rt: site.rt, conn: site.conn }, { file: site.toolPath(need(p, 'file')) }, ctx);
  },
  'migrate-tx': async (ops, p, ctx) => (await ops.migrator(need(p, 'dir'))).run({ onLine: ctx.line }),
  'migrate-notx': async (ops, p, ctx) => (await ops.migrator(need(p, 'dir'))).run({ onLine: ctx.line }),
  revert: async (ops, p, ctx) => (await ops.migrator(need(p, 'dir'))).revert({ onLine: ctx.line }),
  'backup-full': async (ops, _p, ctx) => pgbackrestBackup((await ops.targets()).pgbackrest, 'full', backupCtx(ctx)),
  'backup-dump': (ops, p, ctx) => ops.dump(need(p, 'database'), backupCtx(ctx)),
  'backup-dumpall': (ops, _p, ctx) => ops.dumpAll(backupCtx(ctx)),
  'backup-basebackup': (ops, _p, ctx) => ops.baseBackup(backupCtx(ctx)),
  // As ui/commands/drills.ts: the target from the stack context, a drill of the newest set to the latest state.
  drill: async (ops, _p, ctx) => {
    const sc = await ops.context();
    const checks = await drillCheckFiles(sc.stack, [...(sc.settings.drill?.checks ?? [])]);
    return runDrill(
      await drillTargetOf(sc, { pgbackrest: true, checks }),
      { kind: 'pgbackrest', target: 'latest' },
      ctx,
    );
  },
};
