/**
 * The configuration matrix's ONE way into the product: it resolves a stack the way the extension does and
 * calls the core operations the commands call, so the matrix tests what a user's click runs.
 *
 * Every operation starts from the stack context (core/stack/context: `resolveStack(stack, settings, deps)`,
 * issue 25): the engine from the settings (tsdbOps.docker.*, else DOCKER_HOST) through an EngineRegistry;
 * the database container, where the tools run and as which OS user (`tools()`); PGDATA, the stanza and the
 * manual backups folder (`site()`); the pgBackRest config in effect, read once (`pgbackrest()`, the drill
 * requires it); the tools' connection (`toolConnection`) and this machine's (`connection()`, Run Pending).
 * Nothing here decides a fact about the stack: like the commands, it hands the context to core's helpers
 * (targetsOf with the context's site, drillTargetOf, restoreSiteOf) and their answers to the operations
 * (pgbackrestBackup, runDrill, restorePhysical / restoreInOneOff, createDump, restoreDump, the migrator).
 */
import { join } from 'node:path';
import { runDrill, type DrillReport } from '../../../src/core/backups/drill';
import { drillCheckFiles } from '../../../src/core/backups/drill-checks';
import { drillTargetOf } from '../../../src/core/backups/drill-target';
import { createDump } from '../../../src/core/backups/dump';
import { pgbackrestBackup } from '../../../src/core/backups/pgbackrest';
import { restoreDump, type DumpRestoreResult } from '../../../src/core/backups/restore/logical';
import { restoreInOneOff } from '../../../src/core/backups/restore/oneoff';
import {
  restorePhysical,
  type PhysicalRestoreResult,
  type PhysicalSource,
} from '../../../src/core/backups/restore/physical';
import type { RestoreContext } from '../../../src/core/backups/restore/run';
import { restoreSiteOf } from '../../../src/core/backups/restore/stack';
import { targetsOf } from '../../../src/core/backups/targets';
import { EngineRegistry } from '../../../src/core/docker/engines';
import { readStack } from '../../../src/core/infra';
import { Migrator, type AppliedResult } from '../../../src/core/migrations/migrator';
import { connect } from '../../../src/core/postgres/connection';
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
  /** As ui/backups/controller.ts: targetsOf(stack, the tools' runtime, the context's site, the settings). */
  const targets = async (sc: StackContext) =>
    targetsOf(
      sc.stack,
      sc.runtimeKind.value === 'host' ? (await sc.tools()).tools! : await sc.databaseRuntime(),
      await sc.site(),
      { ...sc.settings.backups },
    );
  /** As ui/commands/restore-support.ts: where the restore runs from restoreSiteOf(context). */
  const physical = async (
    src: Pick<PgbackrestSource, 'target' | 'time'>,
    ctx: RestoreContext,
  ): Promise<PhysicalRestoreResult> => {
    const sc = await context();
    const site = await restoreSiteOf(sc);
    const full: PgbackrestSource = { ...src, kind: 'pgbackrest', stanza: site.stanza, configPath: site.configPath };
    if (site.postgresIsPid1 && site.containerId)
      return restoreInOneOff(
        { docker: await sc.docker(), containerId: site.containerId, dataDir: site.dataDir, conn: site.conn },
        full,
        ctx,
      );
    return restorePhysical({ rt: site.rt, dataDir: site.dataDir, conn: site.conn }, full, ctx);
  };

  return {
    async backupFull(ctx) {
      const t = (await targets(await context())).pgbackrest;
      const r = await pgbackrestBackup(t, 'full', { signal: ctx.signal, onLine: ctx.line });
      return { label: r.label, stanza: t.stanza };
    },

    async drillLatest(ctx) {
      const sc = await context();
      // As ui/commands/drills.ts: the target from the context (the config in effect and its text, read once).
      const checks = await drillCheckFiles(sc.stack, [...(sc.settings.drill?.checks ?? [])]);
      return runDrill(
        await drillTargetOf(sc, { pgbackrest: true, checks }),
        { kind: 'pgbackrest', target: 'latest' },
        ctx,
      );
    },

    restoreLatest: (ctx) => physical({ target: 'latest' }, ctx),
    restoreToTime: (time, ctx) => physical({ target: 'time', time }, ctx),

    async dumpAndRestore(database, ctx) {
      const sc = await context();
      const t = (await targets(sc)).manual;
      const dump = await createDump(
        t,
        { database: t.maintenanceDb, format: 'tar' },
        { signal: ctx.signal, onLine: ctx.line },
      );
      const site = await restoreSiteOf(sc);
      const restore = await restoreDump(
        { rt: site.rt, conn: site.conn },
        { file: site.toolPath(dump.path), database },
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
