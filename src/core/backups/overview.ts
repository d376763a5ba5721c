/**
 * Everything the Backups view and the freshness status show for one stack, loaded together:
 * pgBackRest info, manual backups (with sidecars), pre-restore copies, Ofelia schedules and saved
 * runs, and the freshness computed from them. Parts that fail keep their error; the rest still shows.
 */
import { readArchiverStatus, type ArchiverStatus } from './archiver';
import { readDrillReports, type DrillReport } from './drill';
import type { ServerConnection } from './restore/run';
import type { StackConfig } from '../infra';
import type { ToolRuntime } from '../runtime';
import { listManualBackups, type ManualBackup } from './manual';
import { listPreRestoreCopies, type PreRestoreCopy } from './restore/pre-restore';
import { pgbackrestInfo, pgbackrestStopFile, type BackupSet, type StanzaInfo } from './pgbackrest';
import { readSidecar, type BackupSidecar } from './sidecar';
import {
  describePgbackrestEnvironment,
  pgbackrestEnvironmentWarnings,
  readPgbackrestEnvironment,
  type PgbackrestEnvironment,
  type PgbackrestEnvironmentRow,
  type PgbackrestEnvironmentWarning,
} from './pgbackrest-env';
import { repositoriesOf, type Repository } from './repositories';
import { listManualBackupsVia, readSidecarsVia } from './remote-files';
import { targetsOf, type BackupSettings, type StackBackupTargets } from './targets';
import { drillsHostDir, manualBackupHostDir, type Site } from '../stack/site';
import type { StackContext } from '../stack/context';
import { listSavedRuns, lastRunByJob, type OfeliaRun } from '../logs/ofelia-runs';
import { ofeliaJobs, ofeliaSettings, type JobBackupKind, type OfeliaJob } from '../schedule/ofelia';
import { computeFreshness, type BackupMoment, type Freshness } from '../schedule/freshness';
import { loadScheduler, type SchedulerFacts } from '../schedule/scheduler-load';
import type { SchedulerState } from '../schedule/scheduler-state';

export interface ManualBackupEntry extends ManualBackup {
  readonly sidecar?: BackupSidecar;
  readonly sidecarError?: string;
}

export interface BackupsOverview {
  readonly stack: StackConfig;
  readonly stanzaName: string;
  /** Where the stack's things are (with every source looked at); without a running container, read from the infra alone. */
  readonly site: Site;
  readonly targets?: StackBackupTargets;
  readonly stanza?: StanzaInfo;
  /** Why pgBackRest info is missing (container not running, pgBackRest error …). */
  readonly stanzaError?: Error;
  /** The stanza's stop file (`pgbackrest stop`: a restore runs, or one failed before `start`): backups are refused. */
  readonly stanzaStopFile?: string;
  readonly manual: ManualBackupEntry[];
  readonly preRestore: PreRestoreCopy[];
  readonly preRestoreError?: Error;
  readonly jobs: OfeliaJob[];
  /** Runs that happened: Ofelia's saved runs and its container log's, newest first. */
  readonly runs: OfeliaRun[];
  /** Whether anything runs the jobs: the scheduler container's state, why it is off, how to start it. */
  readonly scheduler: SchedulerState;
  readonly schedulerLogError?: string;
  readonly freshness: Freshness;
  readonly loadedAt: Date;
  /** pg_stat_archiver of the live server (the live recovery point, archiving failures). */
  readonly archiver?: ArchiverStatus;
  readonly archiverError?: string;
  /** Restore drill reports (infra/backups/drills), newest first. */
  readonly drills: DrillReport[];
  /** The pgBackRest environment where the tools run (PGBACKREST_*, config in effect, version), as rows. */
  readonly pgbackrestEnv?: PgbackrestEnvironment;
  readonly pgbackrestEnvRows: PgbackrestEnvironmentRow[];
  readonly pgbackrestEnvError?: string;
  /** Where that environment, the stack's stanza and the Ofelia jobs disagree (jobs running as root …). */
  readonly pgbackrestEnvWarnings: PgbackrestEnvironmentWarning[];
  /** pgBackRest repositories (config in effect joined with info; no secret option values). */
  readonly repositories: Repository[];
  /**
   * A first paint's overview (`engine: false`): only what the stack's folders hold; the engine, the container and
   * pgBackRest were not asked yet (no stanza and no stanzaError: the stanza is "loading").
   */
  readonly pending?: boolean;
}

/** Where drill reports go: `<infra>/backups/drills` (the stack context's answer, core/stack/site `drillsHostDir`). */
export function drillsDir(stack: StackConfig): string {
  return drillsHostDir(stack);
}

const MANUAL_KIND: Readonly<Record<ManualBackup['kind'], JobBackupKind>> = {
  pg_dump: 'dump',
  pg_dumpall: 'dumpAll',
  pg_basebackup: 'baseBackup',
  other: 'other',
};

export function manualMoments(manual: readonly ManualBackupEntry[]): BackupMoment[] {
  return manual
    .filter((m) => m.kind !== 'other')
    .map((m) => ({
      name: m.name,
      kind: MANUAL_KIND[m.kind],
      at: m.sidecar ? new Date(m.sidecar.created) : m.modified,
    }));
}

/** What the overview needs of the stack context: the stack and where its things are. */
export type OverviewContext = Pick<StackContext, 'stack' | 'site' | 'infraSite'>;

/** What the pgBackRest part of a first paint's overview (`engine: false`) throws: not an error, not asked. */
const NOT_ASKED = Symbol('not asked');

export async function loadBackupsOverview(input: {
  /** The stack context (core/stack/context): the site comes from it, not read here. */
  context: OverviewContext;
  /** Where the tools run; a function so a stopped container is an error of the pgBackRest part only. */
  runtime: () => Promise<ToolRuntime>;
  settings?: BackupSettings;
  now?: Date;
  graceMs?: number;
  signal?: AbortSignal;
  /** The engine is remote: the manual backups folder is read through the database container. */
  remoteFiles?: boolean;
  /** The engine's view of the scheduler container, the setting naming it, its log (may still be coming). */
  scheduler?: SchedulerFacts | Promise<SchedulerFacts>;
  /**
   * false: read only the stack's folders (manual backups here, drill reports, Ofelia's saved runs, the compose
   * file's jobs), asking neither the engine nor pgBackRest: a first paint while they answer (`pending`).
   */
  engine?: boolean;
}): Promise<BackupsOverview> {
  const { stack } = input.context;
  const filesOnly = input.engine === false;
  const now = input.now ?? new Date();
  const withSidecars = (list: ManualBackup[], read: (path: string) => Promise<BackupSidecar | undefined>) =>
    Promise.all(
      list.map(async (m): Promise<ManualBackupEntry> => {
        try {
          return { ...m, sidecar: await read(m.path) };
        } catch (e) {
          return { ...m, sidecarError: (e as Error).message };
        }
      }),
    );
  const local = listManualBackups(manualBackupHostDir(stack)).then((list) => withSidecars(list, readSidecar));
  // On a remote engine the folder is on the engine's machine: read it through the database container
  // (dumps streamed here are in this machine's folder: both are listed, newest first).
  const manualPromise =
    input.remoteFiles && !filesOnly
      ? Promise.all([
          input.runtime().then(async (rt) => {
            const dir = (await input.context.site()).manualRuntimeDir;
            const list = await listManualBackupsVia(rt, dir, input.signal);
            const sidecars = await readSidecarsVia(
              rt,
              list.map((m) => m.path),
              input.signal,
            );
            return list.map((m): ManualBackupEntry => {
              const s = sidecars.get(m.path);
              return s instanceof Error ? { ...m, sidecarError: s.message } : { ...m, sidecar: s };
            });
          }),
          local,
        ]).then(([remote, here]) => [...remote, ...here].sort((a, b) => b.modified.getTime() - a.modified.getTime()))
      : local;
  const runsPromise = listSavedRuns(stack.ofeliaLogDir).then((r) => r.runs);
  let targets: StackBackupTargets | undefined;
  let stanza: StanzaInfo | undefined;
  let stanzaError: Error | undefined;
  let preRestore: PreRestoreCopy[] = [];
  let preRestoreError: Error | undefined;
  let site: Site | undefined;
  let archiver: ArchiverStatus | undefined;
  let archiverError: string | undefined;
  let pgbackrestEnv: PgbackrestEnvironment | undefined;
  let pgbackrestEnvError: string | undefined;
  let stanzaStopFile: string | undefined;
  const drillsPromise = readDrillReports(drillsDir(stack));
  // A first paint asks no tool: the pgBackRest part is left out (neither a stanza nor an error).
  const runtime = filesOnly ? () => Promise.reject(NOT_ASKED) : input.runtime;
  try {
    const rt = await runtime();
    site = await input.context.site();
    targets = targetsOf(stack, rt, site, input.settings);
    const m = targets.manual;
    const conn: ServerConnection =
      rt.kind === 'container'
        ? { user: m.user, database: m.maintenanceDb }
        : {
            user: m.user,
            database: m.maintenanceDb,
            host: m.connArgs?.[1],
            port: m.connArgs?.[3] ? Number(m.connArgs[3]) : undefined,
            password: m.env?.['PGPASSWORD'],
          };
    const [info, copies, arch, envRead, stop] = await Promise.allSettled([
      pgbackrestInfo(targets.pgbackrest, input.signal, now),
      listPreRestoreCopies(rt, targets.dataDir, input.signal),
      readArchiverStatus(rt, conn),
      readPgbackrestEnvironment(targets.pgbackrest.runtime, input.signal),
      pgbackrestStopFile(targets.pgbackrest, input.signal),
    ]);
    if (envRead.status === 'fulfilled') pgbackrestEnv = envRead.value;
    else pgbackrestEnvError = (envRead.reason as Error).message;
    if (stop.status === 'fulfilled') stanzaStopFile = stop.value;
    if (arch.status === 'fulfilled') archiver = arch.value;
    else archiverError = (arch.reason as Error).message;
    if (info.status === 'fulfilled') {
      stanza = info.value;
      // The point-in-time window ends at the newest archived WAL (not "now").
      const last = archiver?.lastArchivedTime;
      if (stanza.pitr && last) {
        const newestStop = stanza.backups[stanza.backups.length - 1]?.stop;
        const to = newestStop && newestStop > last ? newestStop : last;
        stanza = { ...stanza, pitr: { ...stanza.pitr, to } };
      }
    } else stanzaError = info.reason as Error;
    if (copies.status === 'fulfilled') preRestore = copies.value;
    else preRestoreError = copies.reason as Error;
  } catch (e) {
    if (e !== NOT_ASKED) stanzaError = e as Error;
  }
  const jobs = ofeliaJobs(stack.compose, ofeliaSettings(stack.compose));
  const [manual, { runs, scheduler, logError: schedulerLogError }] = await Promise.all([
    manualPromise,
    runsPromise.then(async (savedRuns) =>
      loadScheduler({ stack, jobs, savedRuns, facts: await input.scheduler, signal: input.signal }),
    ),
  ]);
  const freshness = computeFreshness({
    jobs,
    backups: backupMoments(stanza?.backups ?? [], manualMoments(manual)),
    lastRuns: lastRunByJob(runs),
    now,
    graceMs: input.graceMs ?? 15 * 60_000,
    pgbackrestUnknown: stanzaError?.message ?? (filesOnly ? 'pgBackRest not asked yet' : undefined),
    schedulerCause: scheduler.scheduling === 'no' ? scheduler.cause : undefined,
  });
  // Without a running container: what the infra alone says.
  site ??= await (filesOnly ? input.context.infraSite() : input.context.site().catch(() => input.context.infraSite()));
  const repositories = repositoriesOf({
    conf: site.conf,
    stanza: site.stanza,
    info: stanza,
    now,
    lastArchived: archiver?.lastArchivedTime,
  });
  return {
    pgbackrestEnv,
    pgbackrestEnvRows: pgbackrestEnv ? describePgbackrestEnvironment(pgbackrestEnv, jobs) : [],
    pgbackrestEnvError,
    pgbackrestEnvWarnings: pgbackrestEnv ? pgbackrestEnvironmentWarnings(pgbackrestEnv, jobs, site.stanza) : [],
    stack,
    stanzaName: site.stanza,
    site,
    targets,
    stanza,
    stanzaError,
    stanzaStopFile,
    manual,
    preRestore,
    preRestoreError,
    jobs,
    runs,
    scheduler,
    schedulerLogError,
    freshness,
    loadedAt: now,
    archiver,
    archiverError,
    drills: await drillsPromise,
    repositories,
    ...(filesOnly ? { pending: true } : {}),
  };
}

/** Every backup with its time, newest first: the pgBackRest sets and the manual backups. */
export function backupMoments(sets: readonly BackupSet[], manual: readonly BackupMoment[] = []): BackupMoment[] {
  return [...sets.map((s) => ({ name: s.label, kind: s.type, at: s.stop })), ...manual].sort(
    (a, b) => b.at.getTime() - a.at.getTime(),
  );
}

/** The freshness of a loaded overview at another time (the status item ticks without reloading). */
export function freshnessAt(o: BackupsOverview, now: Date, graceMs: number): Freshness {
  return computeFreshness({
    jobs: o.jobs,
    backups: backupMoments(o.stanza?.backups ?? [], manualMoments(o.manual)),
    lastRuns: lastRunByJob(o.runs),
    now,
    graceMs,
    pgbackrestUnknown: o.stanzaError?.message,
    schedulerCause: o.scheduler.scheduling === 'no' ? o.scheduler.cause : undefined,
  });
}
