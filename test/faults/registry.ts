/**
 * Every cell of the fault matrix that runs, and every cell that cannot happen (with why). A cell in
 * neither list is not written yet (FAULTS.md says so). To add one: export a CellDef from a module of cells/*.ts
 * (see cell.ts) listed in MODULES.
 */
import type { CellDef } from './cell';
import * as backupsCells from './cells/backups';
import * as backupsFullCells from './cells/backups-full';
import * as backupsMbCells from './cells/backups-mb';
import * as basebackupBackupCells from './cells/basebackup-backup';
import * as basebackupRestoreCells from './cells/basebackup-restore';
import * as drillCells from './cells/drill';
import * as drillMbCells from './cells/drill-mb';
import * as hostKilledMoreCells from './cells/host-killed-more';
import * as hostKilledRestoresCells from './cells/host-killed-restores';
import * as logicalRestoresCells from './cells/logical-restores';
import * as migrationsCells from './cells/migrations';
import * as migrationsMbCells from './cells/migrations-mb';
import * as oneoffCells from './cells/oneoff';
import * as oneoffHostKilledCells from './cells/oneoff-host-killed';
import * as restoresCells from './cells/restores';
import * as restoresKilledCells from './cells/restores-killed';
import * as restoresTargetCells from './cells/restores-target';
import * as sshCutCells from './cells/ssh-cut';
import { COLUMNS, ROWS, type Impossible, type RowId } from './table';

/** Every module of cells: each CellDef it exports is a cell of the matrix. */
const MODULES: readonly Record<string, unknown>[] = [
  backupsCells,
  backupsFullCells,
  backupsMbCells,
  basebackupBackupCells,
  basebackupRestoreCells,
  drillCells,
  drillMbCells,
  hostKilledMoreCells,
  hostKilledRestoresCells,
  logicalRestoresCells,
  migrationsCells,
  migrationsMbCells,
  oneoffCells,
  oneoffHostKilledCells,
  restoresCells,
  restoresKilledCells,
  restoresTargetCells,
  sshCutCells,
];

const isCell = (x: unknown): x is CellDef =>
  typeof x === 'object' &&
  x !== null &&
  typeof (x as CellDef).row === 'string' &&
  typeof (x as CellDef).column === 'string' &&
  typeof (x as CellDef).run === 'function';

/**
 * Cells in the CI subset besides those their module marks `ci`: the cheapest of their column (Run Pending killed
 * inside its migration's transaction; the ssh:// cut while pg_restore runs in the container).
 */
const ALSO_IN_CI = new Set(['migrate-tx:host-killed', 'restore-dump-new:ssh-cut']);

const order = (c: CellDef) =>
  ROWS.findIndex((r) => r.id === c.row) * COLUMNS.length + COLUMNS.findIndex((k) => k.id === c.column);

/** Every cell, in the table's order (rows, then columns); two cells of one row and column are a mistake. */
export const CELLS: readonly CellDef[] = MODULES.flatMap((m) => Object.values(m).filter(isCell))
  .map((c) => (ALSO_IN_CI.has(`${c.row}:${c.column}`) ? { ...c, ci: true } : c))
  .sort((a, b) => order(a) - order(b));

const seen = new Set<string>();
for (const c of CELLS) {
  const key = `${c.row}:${c.column}`;
  if (seen.has(key)) throw new Error(`fault matrix: two cells for ${key} (test/faults/cells)`);
  seen.add(key);
}

/** Fault columns with cells but none in the CI subset, and why (none: every column has a cell there). */
export const CI_EXCLUDED: ReadonlyArray<{ readonly column: Impossible['column']; readonly why: string }> = [];

const readsBackups = 'the operation only reads the backups volume (a full disk there cannot stop a read)';
const noBackupsWrite = 'the operation writes nothing to the backups volume';
const noPgbackrest =
  'the operation takes no pgBackRest lock and leaves the stanza alone: a scheduled backup runs beside it as on any other day';

const each = (rows: readonly RowId[], column: Impossible['column'], why: string): Impossible[] =>
  rows.map((row) => ({ row, column, why }));

export const IMPOSSIBLE: readonly Impossible[] = [
  {
    row: 'drill',
    column: 'disk-full-data',
    why:
      'a drill writes nothing on the live data volume: the scratch copy’s data is in an engine volume of its own and the ' +
      'live data mount is not carried into the scratch container',
  },
  ...each(
    [
      'restore-pgbackrest-latest',
      'restore-pgbackrest-time',
      'restore-pgbackrest-xid',
      'restore-basebackup',
      'restore-dump-new',
      'restore-dump-over',
      'restore-dumpall',
      'restore-oneoff',
    ],
    'disk-full-backups',
    readsBackups,
  ),
  ...each(['migrate-tx', 'migrate-notx', 'revert'], 'disk-full-backups', noBackupsWrite),
  ...each(
    [
      'restore-dump-new',
      'restore-dump-over',
      'restore-dumpall',
      'migrate-tx',
      'migrate-notx',
      'revert',
      'backup-dump',
      'backup-dumpall',
    ],
    'pgbackrest-lock',
    noPgbackrest,
  ),
  // ssh:// connection cut: migrations never go through the engine.
  ...each(
    ['migrate-tx', 'migrate-notx', 'revert'],
    'ssh-cut',
    'Run Pending and Revert never use the Docker engine: the built-in runner connects to PostgreSQL from this machine ' +
      '(src/core/migrations/migrator.ts through the stack context’s connection(), src/core/postgres/connection.ts ' +
      'resolveConnection: DATABASE_URL or the published port), the `command` runner runs the user’s binary here with ' +
      'DATABASE_URL (src/core/migrations/command-runner.ts); no ssh:// connection is open to be cut',
  ),
];
