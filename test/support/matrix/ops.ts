/**
 * The configuration matrix's ONE way into the product: it resolves a stack the way the extension does and
 * calls the core operations the commands call, so the matrix tests what a user's click runs.
 *
 * Every operation starts from the stack context (core/stack/context: `resolveStack(stack, settings, deps)`,
 * issue 25): the engine from the settings (tsdbOps.docker.*, else DOCKER_HOST) through an EngineRegistry;
 * the database container, where the tools run and as which OS user (`tools()`); PGDATA, the stanza and the
 * manual backups folder (`site()`); the pgBackRest config in effect, read once (`pgbackrest()`, the drill
 * requires it); the tools' connection (`toolConnection`) and this machine's (`connection()`, Run Pending).
 * Nothing here decides a fact about the stack: it only hands the context's answers to the core operations
 * (pgbackrestBackup, runDrill, restorePhysical / restoreInOneOff, createDump, restoreDump, the migrator).
 */
import { join } from 'node:path';
import { runDrill, type DrillReport } from '../../../src/core/backups/drill';
import { drillCheckFiles } from '../../../src/core/backups/drill-checks';
import { createDump, type ManualBackupTarget } from '../../../src/core/backups/dump';
import { pgbackrestBackup, type PgBackRestTarget } from '../../../src/core/backups/pgbackrest';
import { restoreDump, type DumpRestoreResult } from '../../../src/core/backups/restore/logical';
import { restoreInOneOff } from '../../../src/core/backups/restore/oneoff';
import {
  restorePhysical,
  type PhysicalRestoreResult,
  type PhysicalSource,
} from '../../../src/core/backups/restore/physical';
import type { RestoreContext, ServerConnection } from '../../../src/core/backups/restore/run';
import { EngineRegistry } from '../../../src/core/docker/engines';
import { readStack } from '../../../src/core/infra';
import { Migrator, type AppliedResult } from '../../../src/core/migrations/migrator';
import { connect } from '../../../src/core/postgres/connection';
import type { ToolRuntime } from '../../../src/core/runtime';
import { resolveStack, type StackContext, type StackSettings } from '../../../src/core/stack/context';
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
}

type PgbackrestSource = Extract<PhysicalSource, { kind: 'pgbackrest' }>;

export function matrixOps(input: OpsInput): Ops {
  // Its clients are dropped with the suite (disposeSshEngines closes the SSH connections of every registry).
  const engines = new EngineRegistry(input.environment);
  const settings: StackSettings = {
    backups: { stanza: input.settings.stanza, pgbackrestConfig: input.settings.pgbackrestConfig },
    docker: {
      host: input.settings.dockerHost,
      sshKeyFile: input.settings.sshKeyFile,
      knownHostsFile: input.settings.knownHostsFile,
    },
  };

  /** The stack as the extension reads it, and its context (a new one per operation, as a command does). */
  const context = async (): Promise<StackContext> => {
    const stack = await readStack(
      { workspaceFolder: input.workspaceFolder, migrationsPath: input.migrationsPath },
      input.infraDir,
      join(input.infraDir, 'docker-compose.yaml'),
      input.environment,
    );
    return resolveStack(stack, settings, { engines, processEnv: input.environment });
  };
  const tools = async (sc: StackContext): Promise<ToolRuntime> => {
    const place = await sc.tools();
    if (!place.tools) throw new Error(`the tools of ${sc.stack.projectName} have no runtime (${place.where})`);
    return place.tools;
  };
  /** The tools' connection (user, database, password) as the context answers it. */
  const conn = (sc: StackContext): ServerConnection => ({
    user: sc.toolConnection.user.value,
    database: sc.toolConnection.database.value,
    password: sc.toolConnection.password.value,
  });
  const pgbackrestTarget = async (sc: StackContext): Promise<PgBackRestTarget> => {
    const pg = await sc.pgbackrest();
    return { runtime: await tools(sc), stanza: pg.stanza.value, configPath: pg.option };
  };
  const manualTarget = async (sc: StackContext): Promise<ManualBackupTarget> => {
    const site = await sc.site();
    const c = conn(sc);
    return {
      runtime: await tools(sc),
      hostDir: site.manualHostDir,
      runtimeDir: site.manualRuntimeDir,
      user: c.user,
      connArgs: [],
      env: c.password ? { PGPASSWORD: c.password } : {},
      maintenanceDb: c.database ?? c.user,
    };
  };
  const physical = async (
    src: Pick<PgbackrestSource, 'target' | 'time'>,
    ctx: RestoreContext,
  ): Promise<PhysicalRestoreResult> => {
    const sc = await context();
    const [place, site, pg] = await Promise.all([sc.tools(), sc.site(), sc.pgbackrest()]);
    const full: PgbackrestSource = { ...src, kind: 'pgbackrest', stanza: pg.stanza.value, configPath: pg.option };
    if (place.restore.value === 'one-off') {
      const db = await sc.database();
      return restoreInOneOff(
        { docker: await sc.docker(), containerId: db.id, dataDir: site.dataDir, conn: conn(sc) },
        full,
        ctx,
      );
    }
    return restorePhysical({ rt: await tools(sc), dataDir: site.dataDir, conn: conn(sc) }, full, ctx);
  };

  return {
    async backupFull(ctx) {
      const t = await pgbackrestTarget(await context());
      const r = await pgbackrestBackup(t, 'full', { signal: ctx.signal, onLine: ctx.line });
      return { label: r.label, stanza: t.stanza };
    },

    async drillLatest(ctx) {
      const sc = await context();
      // The config in effect, read once by the context: a file the tools cannot read is an error naming it.
      const pg = await sc.requirePgBackRestConfig();
      const [db, site] = await Promise.all([sc.runningDatabase(), sc.site()]);
      return runDrill(
        {
          docker: await sc.docker(),
          containerId: db.id,
          project: sc.stack.projectName,
          stanza: pg.stanza.value,
          configPath: pg.file.value,
          dataDir: site.dataDir,
          conn: conn(sc),
          checks: await drillCheckFiles(sc.stack, [...(sc.settings.drill?.checks ?? [])]),
        },
        { kind: 'pgbackrest', target: 'latest' },
        ctx,
      );
    },

    restoreLatest: (ctx) => physical({ target: 'latest' }, ctx),
    restoreToTime: (time, ctx) => physical({ target: 'time', time }, ctx),

    async dumpAndRestore(database, ctx) {
      const sc = await context();
      const t = await manualTarget(sc);
      const dump = await createDump(
        t,
        { database: t.maintenanceDb, format: 'tar' },
        { signal: ctx.signal, onLine: ctx.line },
      );
      const place = await sc.tools();
      const restore = await restoreDump(
        { rt: await tools(sc), conn: conn(sc) },
        { file: place.toolPath(dump.path), database },
        ctx,
      );
      return { file: dump.path, restore };
    },

    async runPending() {
      const sc = await context();
      if (!sc.stack.migrationsDir) throw new Error(`no migrations folder for ${sc.stack.projectName}`);
      const target = await sc.connection();
      const r = await new Migrator(sc.stack.migrationsDir, () => connect(target)).run();
      return r.applied;
    },
  };
}
