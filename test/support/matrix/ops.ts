/**
 * The configuration matrix's ONE way into the product: it resolves a stack the way the extension does and
 * calls the core operations the commands call, so the matrix tests what a user's click runs.
 *
 * Today's API (before the stack context of issue 25): like src/ui/commands/*.ts and
 * src/ui/backups/controller.ts, each operation reads the stack (readStack), connects the engine from the
 * settings (resolveEngine: tsdbOps.docker.host, else DOCKER_HOST), finds the database container, and builds
 * what core takes: stackBackupTargets (backups, pg_dump), readRestoreSetup (restores, drills; the drill's
 * config path is `tsdbOps.backups.pgbackrestConfig ?? setup.configPath`, as in ui/commands/drills.ts),
 * restorePhysical / restoreInOneOff, restoreDump, and the migrator with resolveConnection.
 * When resolveStack lands, this file switches to it and nothing else in the matrix changes.
 */
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { runDrill, type DrillReport } from '../../../src/core/backups/drill';
import { drillCheckFiles } from '../../../src/core/backups/drill-checks';
import { createDump } from '../../../src/core/backups/dump';
import { pgbackrestBackup } from '../../../src/core/backups/pgbackrest';
import { restoreDump, type DumpRestoreResult } from '../../../src/core/backups/restore/logical';
import { restoreInOneOff } from '../../../src/core/backups/restore/oneoff';
import {
  restorePhysical,
  type PhysicalRestoreResult,
  type PhysicalSource,
} from '../../../src/core/backups/restore/physical';
import type { RestoreContext, ServerConnection } from '../../../src/core/backups/restore/run';
import { containerPath, readRestoreSetup } from '../../../src/core/backups/restore/stack';
import { stackBackupTargets } from '../../../src/core/backups/targets';
import { connectEngine, resolveEngine } from '../../../src/core/docker/engine-address';
import { projectContainers } from '../../../src/core/docker/find';
import { readStack, type StackConfig } from '../../../src/core/infra';
import { Migrator, type AppliedResult } from '../../../src/core/migrations/migrator';
import { connect, resolveConnection } from '../../../src/core/postgres/connection';
import { ContainerRuntime } from '../../../src/core/runtime';
import type { MatrixSettings } from './configs';

/** Where the stack is and what the user's settings say. */
export interface OpsInput {
  /** Workspace folder and infra folder (the compose file and .env are in infraDir). */
  readonly workspaceFolder: string;
  readonly infraDir: string;
  /** `tsdbOps.migrations.path`. */
  readonly migrationsPath: string;
  readonly settings: MatrixSettings;
  /** The process environment the extension would see (DOCKER_HOST of the bench's engine). */
  readonly environment: Readonly<Record<string, string | undefined>>;
}

export interface Ops {
  backupFull(ctx: RestoreContext): Promise<{ label: string; stanza: string }>;
  drillLatest(ctx: RestoreContext): Promise<DrillReport>;
  restoreLatest(ctx: RestoreContext): Promise<PhysicalRestoreResult>;
  restoreToTime(time: Date, ctx: RestoreContext): Promise<PhysicalRestoreResult>;
  /** pg_dump of POSTGRES_DB, then pg_restore of that file into `database` (created). */
  dumpAndRestore(database: string, ctx: RestoreContext): Promise<{ file: string; restore: DumpRestoreResult }>;
  runPending(): Promise<AppliedResult[]>;
  dispose(): void;
}

export function matrixOps(input: OpsInput): Ops {
  const backups = { stanza: input.settings.stanza, pgbackrestConfig: input.settings.pgbackrestConfig };
  let engine: Promise<Dockerode> | undefined;

  const stackConfig = (): Promise<StackConfig> =>
    readStack(
      { workspaceFolder: input.workspaceFolder, migrationsPath: input.migrationsPath },
      input.infraDir,
      join(input.infraDir, 'docker-compose.yaml'),
      input.environment,
    );
  const docker = (): Promise<Dockerode> =>
    (engine ??= connectEngine(
      resolveEngine(input.settings.dockerHost, { ...input.environment } as NodeJS.ProcessEnv, {
        identityFiles: input.settings.sshKeyFile ? [input.settings.sshKeyFile] : undefined,
        knownHostsFiles: input.settings.knownHostsFile ? [input.settings.knownHostsFile] : undefined,
      }),
    ));
  const dbContainer = async (stack: StackConfig): Promise<{ id: string; name: string }> => {
    if (!stack.dbService) throw new Error(`${stack.composeFile} has no database service`);
    const list = await projectContainers(await docker(), stack.projectName, stack.dbService.name);
    const c = list.find((x) => x.State === 'running');
    if (!c) throw new Error(`The ${stack.dbService.name} container of ${stack.projectName} is not running`);
    return { id: c.Id, name: c.Names[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12) };
  };
  /** ui/backups/controller.ts: runtime + stackBackupTargets. */
  const targets = async (stack: StackConfig) => {
    const c = await dbContainer(stack);
    const rt = new ContainerRuntime(await docker(), c.id, `container ${c.name}`);
    return stackBackupTargets(stack, rt, backups);
  };
  /** ui/commands/restore-support.ts: credentials + readRestoreSetup. */
  const credentials = (stack: StackConfig): ServerConnection => {
    const svc = stack.dbService!;
    return {
      user: stack.env.user ?? svc.environment['POSTGRES_USER'] ?? 'postgres',
      password: stack.env.password ?? svc.environment['POSTGRES_PASSWORD'],
      database: stack.env.database ?? svc.environment['POSTGRES_DB'],
    };
  };
  const restoreSetup = async (stack: StackConfig) => {
    const c = await dbContainer(stack);
    const d = await docker();
    const setup = await readRestoreSetup({
      stack,
      docker: d,
      containerId: c.id,
      ...credentials(stack),
      settings: backups,
    });
    return { setup, docker: d, rt: new ContainerRuntime(d, setup.containerId, `container ${setup.containerName}`) };
  };
  type PgbackrestSource = Extract<PhysicalSource, { kind: 'pgbackrest' }>;
  const physical = async (
    src: Pick<PgbackrestSource, 'target' | 'time'>,
    ctx: RestoreContext,
  ): Promise<PhysicalRestoreResult> => {
    const stack = await stackConfig();
    const { setup, docker: d, rt } = await restoreSetup(stack);
    const full: PgbackrestSource = { ...src, kind: 'pgbackrest', stanza: setup.stanza, configPath: setup.configPath };
    return setup.postgresIsPid1
      ? restoreInOneOff(
          { docker: d, containerId: setup.containerId, dataDir: setup.dataDir, conn: setup.conn },
          full,
          ctx,
        )
      : restorePhysical({ rt, dataDir: setup.dataDir, conn: setup.conn }, full, ctx);
  };

  return {
    async backupFull(ctx) {
      const t = await targets(await stackConfig());
      const r = await pgbackrestBackup(t.pgbackrest, 'full', { signal: ctx.signal, onLine: ctx.line });
      return { label: r.label, stanza: t.pgbackrest.stanza };
    },

    async drillLatest(ctx) {
      const stack = await stackConfig();
      const { setup, docker: d } = await restoreSetup(stack);
      return runDrill(
        {
          docker: d,
          containerId: setup.containerId,
          project: stack.projectName,
          stanza: setup.stanza,
          configPath: backups.pgbackrestConfig ?? setup.configPath,
          dataDir: setup.dataDir,
          conn: setup.conn,
          checks: await drillCheckFiles(stack, []),
        },
        { kind: 'pgbackrest', target: 'latest' },
        ctx,
      );
    },

    restoreLatest: (ctx) => physical({ target: 'latest' }, ctx),
    restoreToTime: (time, ctx) => physical({ target: 'time', time }, ctx),

    async dumpAndRestore(database, ctx) {
      const stack = await stackConfig();
      const t = await targets(stack);
      const dump = await createDump(
        t.manual,
        { database: t.manual.maintenanceDb, format: 'tar' },
        { signal: ctx.signal, onLine: ctx.line },
      );
      const { setup, rt } = await restoreSetup(stack);
      const file = containerPath(stack.dbService!.volumes, dump.path);
      const restore = await restoreDump({ rt, conn: setup.conn }, { file, database }, ctx);
      return { file: dump.path, restore };
    },

    async runPending() {
      const stack = await stackConfig();
      if (!stack.migrationsDir) throw new Error(`no migrations folder for ${stack.projectName}`);
      const target = await resolveConnection(stack, input.environment);
      const r = await new Migrator(stack.migrationsDir, () => connect(target)).run();
      return r.applied;
    },

    dispose() {
      engine = undefined;
    },
  };
}
