/**
 * Every cell of the fault matrix that runs, and every cell that cannot happen (with why). A cell in
 * neither list is not written yet (FAULTS.md says so). To add one: write a CellDef in cells/*.ts (see
 * cell.ts) and list it here.
 */
import type { CellDef } from './cell';
import {
  baseBackupDiskFull,
  dumpAllDiskFull,
  dumpDiskFull,
  dumpEngineRestarted,
  dumpKilled,
  dumpSecondWindow,
} from './cells/backups';
import {
  fullBackupDiskFull,
  fullBackupEngineRestarted,
  fullBackupKilled,
  fullBackupLocked,
  fullBackupSecondWindow,
} from './cells/backups-full';
import { drillEngineRestarted, drillKilled, drillLocked, drillSecondWindow } from './cells/drill';
import {
  migrateNoTxKilled,
  migrateTxEngineRestarted,
  migrateTxKilled,
  migrateTxSecondWindow,
  revertKilled,
  revertSecondWindow,
} from './cells/migrations';
import {
  dumpRestoreKilled,
  dumpRestoreOverKilled,
  restoreDataDiskFull,
  restoreLockedByBackup,
  restoreSecondWindow,
} from './cells/restores';
import {
  baseBackupRestorePostgresKilled,
  baseBackupRestoreSecondWindow,
  restoreHostKilled,
  restorePostgresKilled,
} from './cells/restores-killed';
// f29log: the logical restore rows × engine restarted, disk full (data), second window; pg_dumpall × postgres killed.
import {
  logicalDumpNewEngineRestarted,
  logicalDumpOverEngineRestarted,
  logicalDumpAllEngineRestarted,
  logicalDumpNewDiskFull,
  logicalDumpOverDiskFull,
  logicalDumpAllDiskFull,
  logicalDumpAllPostgresKilled,
  logicalDumpNewSecondWindow,
  logicalDumpOverSecondWindow,
  logicalDumpAllSecondWindow,
} from './cells/logical-restores';
// f29pt: the point-in-time and xid restore rows, and latest × engine restarted.
import {
  latestEngineRestarted,
  timeDataDiskFull,
  timeEngineRestarted,
  timeLockedByBackup,
  timePostgresKilled,
  timeSecondWindow,
  xidDataDiskFull,
  xidEngineRestarted,
  xidLockedByBackup,
  xidPostgresKilled,
  xidSecondWindow,
} from './cells/restores-target';
import {
  baseBackupRestoreHostKilled,
  dumpAllRestoreHostKilled,
  dumpNewHostKilled,
  dumpOverHostKilled,
  pitrTimeHostKilled,
  pitrXidHostKilled,
} from './cells/host-killed-restores';
import {
  baseBackupHostKilled,
  drillHostKilled,
  dumpAllHostKilled,
  dumpHostKilled,
  fullBackupHostKilled,
  migrateNoTxHostKilled,
  migrateTxHostKilled,
  revertHostKilled,
} from './cells/host-killed-more';
import {
  baseBackupRestoreSshCut,
  baseBackupSshCut,
  drillSshCut,
  dumpAllRestoreSshCut,
  dumpAllSshCut,
  dumpRestoreNewSshCut,
  dumpRestoreOverSshCut,
  dumpSshCut,
  fullBackupSshCut,
  oneOffRestoreSshCut,
  restoreLatestSshCut,
  restoreTimeSshCut,
  restoreXidSshCut,
} from './cells/ssh-cut';
import type { Impossible, RowId } from './table';
// f29mb: migrations, pg_dumpall, data disk full, drill report disk full
import {
  dumpAllDataDiskFull,
  dumpAllEngineRestarted,
  dumpAllKilled,
  dumpAllSecondWindow,
  dumpDataDiskFull,
  fullBackupDataDiskFull,
} from './cells/backups-mb';
import { drillReportDiskFull } from './cells/drill-mb';
import {
  migrateNoTxDataDiskFull,
  migrateNoTxEngineRestarted,
  migrateNoTxSecondWindow,
  migrateTxDataDiskFull,
  revertDataDiskFull,
  revertEngineRestarted,
} from './cells/migrations-mb';
// f29bb: the one-off container restore, pg_basebackup restore and pg_basebackup backup cells.
import {
  oneOffDataDiskFull,
  oneOffEngineRestarted,
  oneOffLocked,
  oneOffPostgresKilled,
  oneOffSecondWindow,
} from './cells/oneoff';
import {
  baseBackupRestoreDataDiskFull,
  baseBackupRestoreEngineRestarted,
  baseBackupRestoreLocked,
} from './cells/basebackup-restore';
import {
  baseBackupDataDiskFull,
  baseBackupEngineRestarted,
  baseBackupLocked,
  baseBackupPostgresKilled,
  baseBackupSecondWindow,
} from './cells/basebackup-backup';

export const CELLS: readonly CellDef[] = [
  dumpDiskFull,
  dumpAllDiskFull,
  baseBackupDiskFull,
  dumpEngineRestarted,
  dumpKilled,
  dumpSecondWindow,
  fullBackupKilled,
  fullBackupLocked,
  fullBackupSecondWindow,
  fullBackupDiskFull,
  fullBackupEngineRestarted,
  drillKilled,
  drillLocked,
  drillSecondWindow,
  drillEngineRestarted,
  migrateTxKilled,
  migrateNoTxKilled,
  migrateTxSecondWindow,
  migrateTxEngineRestarted,
  revertKilled,
  revertSecondWindow,
  dumpRestoreKilled,
  dumpRestoreOverKilled,
  restoreLockedByBackup,
  restoreSecondWindow,
  restoreDataDiskFull,
  restoreHostKilled,
  restorePostgresKilled,
  baseBackupRestorePostgresKilled,
  baseBackupRestoreSecondWindow,
  // f29log
  logicalDumpNewEngineRestarted,
  logicalDumpOverEngineRestarted,
  logicalDumpAllEngineRestarted,
  logicalDumpNewDiskFull,
  logicalDumpOverDiskFull,
  logicalDumpAllDiskFull,
  logicalDumpAllPostgresKilled,
  logicalDumpNewSecondWindow,
  logicalDumpOverSecondWindow,
  logicalDumpAllSecondWindow,
  // f29pt
  latestEngineRestarted,
  timeEngineRestarted,
  timeDataDiskFull,
  timePostgresKilled,
  timeLockedByBackup,
  timeSecondWindow,
  xidEngineRestarted,
  xidDataDiskFull,
  xidPostgresKilled,
  xidLockedByBackup,
  xidSecondWindow,
  // f29mb
  migrateTxDataDiskFull,
  migrateNoTxEngineRestarted,
  migrateNoTxDataDiskFull,
  migrateNoTxSecondWindow,
  revertEngineRestarted,
  revertDataDiskFull,
  fullBackupDataDiskFull,
  dumpDataDiskFull,
  dumpAllEngineRestarted,
  dumpAllDataDiskFull,
  dumpAllKilled,
  dumpAllSecondWindow,
  drillReportDiskFull,
  // f29host: the "extension host killed" column (two-phase, host-killed-support.ts).
  pitrTimeHostKilled,
  pitrXidHostKilled,
  baseBackupRestoreHostKilled,
  dumpNewHostKilled,
  dumpOverHostKilled,
  dumpAllRestoreHostKilled,
  // In the CI subset: the cheapest cell of its column (the kill lands inside the migration's transaction).
  { ...migrateTxHostKilled, ci: true },
  migrateNoTxHostKilled,
  revertHostKilled,
  fullBackupHostKilled,
  dumpHostKilled,
  dumpAllHostKilled,
  baseBackupHostKilled,
  drillHostKilled,
  // f29bb
  oneOffEngineRestarted,
  oneOffDataDiskFull,
  oneOffPostgresKilled,
  oneOffLocked,
  oneOffSecondWindow,
  baseBackupRestoreEngineRestarted,
  baseBackupRestoreDataDiskFull,
  baseBackupRestoreLocked,
  baseBackupEngineRestarted,
  baseBackupDataDiskFull,
  baseBackupPostgresKilled,
  baseBackupLocked,
  baseBackupSecondWindow,
  // ssh:// connection cut (cells/ssh-cut.ts)
  restoreLatestSshCut,
  restoreTimeSshCut,
  restoreXidSshCut,
  baseBackupRestoreSshCut,
  // In the CI subset: the cheapest cell of its column (the cut lands while pg_restore runs in the container).
  { ...dumpRestoreNewSshCut, ci: true },
  dumpRestoreOverSshCut,
  dumpAllRestoreSshCut,
  oneOffRestoreSshCut,
  fullBackupSshCut,
  dumpSshCut,
  dumpAllSshCut,
  baseBackupSshCut,
  drillSshCut,
];

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
