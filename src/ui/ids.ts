/**
 * Every name the extension shares with package.json, in one place: command ids, view ids, the context keys
 * that `when` clauses test, and the context values of tree items (`viewItem`). A unit test checks them against
 * package.json, so a command or a menu clause that names something the code never produces fails there.
 */
import type { ContainerState } from '../core/docker/model';
import type { MigrationState } from '../core/migrations/status';
import type { BackupType } from '../core/backups/pgbackrest';
import type { ManualBackupKind } from '../core/backups/manual';
import type { JobFreshness } from '../core/schedule/freshness';

export const VIEW = {
  containers: 'tsdbOps.containers',
  migrations: 'tsdbOps.migrations',
  backups: 'tsdbOps.backups',
} as const;

/** Keys set with `setContext`, tested in `when` clauses. */
export const CONTEXT_KEY = {
  /** 'found' when a stack was discovered (see ui/stacks). */
  infraState: 'tsdbOps.infraState',
  /** DockerState of ui/docker-service. */
  dockerState: 'tsdbOps.dockerState',
  /** Where the engine address came from (setting, DOCKER_HOST, default). */
  dockerHostSource: 'tsdbOps.dockerHostSource',
  /** True while a container's logs are followed. */
  followingLogs: 'tsdbOps.followingLogs',
  /** The walkthrough's steps (ui/walkthrough): true once the real thing happened in a stack. */
  walkthroughStackRunning: 'tsdbOps.walkthrough.stackRunning',
  walkthroughMigrationsApplied: 'tsdbOps.walkthrough.migrationsApplied',
  walkthroughFullBackup: 'tsdbOps.walkthrough.fullBackup',
  walkthroughDrillPassed: 'tsdbOps.walkthrough.drillPassed',
} as const;

export const COMMAND = {
  refresh: 'tsdbOps.refresh',
  pickInfraFolder: 'tsdbOps.pickInfraFolder',
  openSettings: 'tsdbOps.openSettings',
  showOutput: 'tsdbOps.showOutput',
  openComposeFile: 'tsdbOps.openComposeFile',
  cancelOperation: 'tsdbOps.cancelOperation',

  dockerSwitchContext: 'tsdbOps.docker.switchContext',

  stackUp: 'tsdbOps.stack.up',
  stackDown: 'tsdbOps.stack.down',
  stackCleanStart: 'tsdbOps.stack.cleanStart',
  stackActions: 'tsdbOps.stack.actions',
  stackPinStatusBar: 'tsdbOps.stack.pinStatusBar',
  stackUnpinStatusBar: 'tsdbOps.stack.unpinStatusBar',
  containerStart: 'tsdbOps.container.start',
  containerStop: 'tsdbOps.container.stop',
  containerRestart: 'tsdbOps.container.restart',
  containerLogs: 'tsdbOps.container.logs',
  containerStopLogs: 'tsdbOps.container.stopLogs',
  containerShell: 'tsdbOps.container.shell',

  migrationsRefresh: 'tsdbOps.migrations.refresh',
  migrationsStatus: 'tsdbOps.migrations.status',
  migrationsRunPending: 'tsdbOps.migrations.runPending',
  migrationsCreate: 'tsdbOps.migrations.create',
  migrationsRevert: 'tsdbOps.migrations.revert',
  migrationsCopyCliCommand: 'tsdbOps.migrations.copyCliCommand',
  migrationsSetPassword: 'tsdbOps.migrations.setPassword',
  migrationsLint: 'tsdbOps.migrations.lint',

  backupNew: 'tsdbOps.backup.new',
  backupRefresh: 'tsdbOps.backup.refresh',
  backupPgbackrest: 'tsdbOps.backup.pgbackrest',
  backupDump: 'tsdbOps.backup.dump',
  backupDumpAll: 'tsdbOps.backup.dumpAll',
  backupBaseBackup: 'tsdbOps.backup.baseBackup',
  backupCheck: 'tsdbOps.backup.check',
  backupStanzaCreate: 'tsdbOps.backup.stanzaCreate',
  backupStanzaStart: 'tsdbOps.backup.stanzaStart',
  backupInfo: 'tsdbOps.backup.info',
  backupOpenLog: 'tsdbOps.backup.openLog',
  backupShowLog: 'tsdbOps.backup.showLog',
  backupTimeline: 'tsdbOps.backup.timeline',
  backupDrill: 'tsdbOps.backup.drill',
  backupCopyNightlyDrill: 'tsdbOps.backup.copyNightlyDrill',
  backupFixOfeliaUser: 'tsdbOps.backup.fixOfeliaUser',
  scheduleStart: 'tsdbOps.schedule.start',

  restorePgbackrest: 'tsdbOps.restore.pgbackrest',
  restoreDump: 'tsdbOps.restore.dump',
  restoreDumpAll: 'tsdbOps.restore.dumpAll',
  restoreBaseBackup: 'tsdbOps.restore.baseBackup',
  restoreDeletePreRestoreCopy: 'tsdbOps.restore.deletePreRestoreCopy',
  restoreRecover: 'tsdbOps.restore.recover',
} as const;

export type CommandId = (typeof COMMAND)[keyof typeof COMMAND];

/** `focus` commands VS Code makes for each view. */
export const focusCommand = (view: (typeof VIEW)[keyof typeof VIEW]): string => `${view}.focus`;

const MANUAL_ITEM = { pg_dump: 'dump', pg_dumpall: 'dumpAll', pg_basebackup: 'baseBackup', other: 'other' } as const;

/** Context values of tree items (`viewItem` in package.json). */
export const ITEM = {
  problem: 'problem',
  dockerUnreachable: 'dockerUnreachable',
  /** A service row from the compose file while the engine has not answered (no container actions). */
  containerPending: 'containerPending',
  container: (state: ContainerState, isDatabase: boolean) => `container.${state}${isDatabase ? '.database' : ''}`,

  migrationGroup: (label: string) => `migrationGroup.${label.toLowerCase()}`,
  migration: (state: MigrationState, reversible: boolean) => `migration.${state}${reversible ? '.reversible' : ''}`,
  migrationUnknown: 'migration.unknown',
  migrationsConnectionError: 'migrationsConnectionError',

  stanza: 'stanza',
  /** A stanza that cannot be read; with the action that fixes it (e.g. `stanzaCreate`) when there is one. */
  stanzaError: (action?: string) => (action ? `stanzaError.${action}` : 'stanzaError'),
  /** `pgbackrest stop` is in effect for the stanza (backups refused); its action runs `pgbackrest start`. */
  stanzaStopped: 'stanzaStopped',
  walRange: 'walRange',
  pitrWindow: 'pitrWindow',
  backupSet: (type: BackupType) => `backupSet.${type}`,
  /** A pgBackRest repository (shown when there are several); `repository.error` when unreachable or broken. */
  repository: (problem: boolean) => (problem ? 'repository.error' : 'repository'),
  manualBackups: 'manualBackups',
  manualBackup: (kind: ManualBackupKind) => `manualBackup.${MANUAL_ITEM[kind]}`,
  preRestoreCopies: 'preRestoreCopies',
  preRestoreCopy: 'preRestoreCopy',
  /** A physical restore that never finished (its journal beside PGDATA): a problem row with Finish / Roll back / Show. */
  interruptedRestore: 'interruptedRestore',
  /** The Drills node (its menu: run a drill, copy a nightly schedule). */
  drills: 'drills',
  /** The newest restore drill failed (a problem row under Drills; a click opens its report). */
  drillFailed: 'drillFailed',
  schedules: 'schedules',
  /** The scheduler is not running and can be started (the inline Start Scheduler action). */
  schedulesOff: 'schedules.off',
  /** The scheduler is missing, unhealthy, restarting, paused or unknown. */
  schedulesWarning: 'schedules.warning',
  scheduleRunFailed: 'scheduleRun.failed',
  schedule: (state: JobFreshness['state']) => `schedule.${state}`,
  scheduleInvalid: 'schedule.invalid',
  /** The pgBackRest environment of the database container (a row) and what disagrees in it. */
  pgbackrestEnv: 'pgbackrestEnv',
  pgbackrestEnvWarning: (code: string) =>
    `pgbackrestEnvWarning.${code.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())}`,
} as const;
