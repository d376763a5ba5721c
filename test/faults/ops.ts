/**
 * The fault matrix's way into the product: the stack resolved the way the extension resolves it, and the
 * core operations the command table's handlers call (ui/commands/backups.ts `manual` → createDump;
 * ui/commands/restores.ts → restorePhysical / restoreInOneOff / restoreDump; ui/commands/migrations-run.ts
 * → the Migrator on the context's connection). Nothing here decides a fact about the stack: like
 * test/support/matrix/ops.ts, it hands the context to core's helpers and their answers to the operations.
 */
import { join } from 'node:path';
import {
  createBaseBackup,
  createDump,
  createDumpAll,
  type BackupRunContext,
  type ManualBackupResult,
} from '../../src/core/backups/dump';
import { restoreDump, type DumpRestoreResult } from '../../src/core/backups/restore/logical';
import { restoreInOneOff } from '../../src/core/backups/restore/oneoff';
import {
  restorePhysical,
  type PhysicalRestoreResult,
  type PhysicalSource,
} from '../../src/core/backups/restore/physical';
import type { RestoreContext } from '../../src/core/backups/restore/run';
import { restoreSiteOf } from '../../src/core/backups/restore/stack';
import { targetsOf, type StackBackupTargets } from '../../src/core/backups/targets';
import { EngineRegistry } from '../../src/core/docker/engines';
import { readStack } from '../../src/core/infra';
import { Migrator } from '../../src/core/migrations/migrator';
import { connect } from '../../src/core/postgres/connection';
import { resolveStack, type StackContext, type StackSettings } from '../../src/core/stack/context';
import type { Stack } from '../support/stack';

type PgbackrestSource = Extract<PhysicalSource, { kind: 'pgbackrest' }>;

export interface FaultOps {
  context(): Promise<StackContext>;
  targets(): Promise<StackBackupTargets>;
  /** Backups → pg_dump (createDump of `database`, tar). */
  dump(database: string, ctx: BackupRunContext): Promise<ManualBackupResult>;
  /** Backups → pg_dumpall / pg_basebackup (createDumpAll / createBaseBackup). */
  dumpAll(ctx: BackupRunContext): Promise<ManualBackupResult>;
  baseBackup(ctx: BackupRunContext): Promise<ManualBackupResult>;
  /** Restores → pgBackRest (restorePhysical, or restoreInOneOff when PostgreSQL is the container's PID 1). */
  restorePgbackrest(
    src: Pick<PgbackrestSource, 'target' | 'time' | 'xid'>,
    ctx: RestoreContext,
  ): Promise<PhysicalRestoreResult>;
  /** Restores → pg_dump file (a path on this machine) into `database`. */
  restoreDumpFile(file: string, database: string, ctx: RestoreContext): Promise<DumpRestoreResult>;
  /** Migrations → Run Pending on the migrations folder `dir` (relative to the infra folder). */
  migrator(dir: string): Promise<Migrator>;
}

/**
 * `engine`: how the user reaches the stack's engine, when not the bench's own socket (the ssh:// column:
 * DOCKER_HOST=ssh://… in the environment, the key and known_hosts files in the settings).
 */
export function faultOps(
  stack: Stack,
  engine?: { readonly env: Record<string, string>; readonly docker?: StackSettings['docker'] },
): FaultOps {
  const environment = engine?.env ?? { DOCKER_HOST: stack.docker.host };
  const engines = new EngineRegistry(environment);
  const context = async (migrationsPath?: string): Promise<StackContext> => {
    const s = await readStack(
      { workspaceFolder: stack.dir, migrationsPath: migrationsPath ?? join(stack.infraDir, 'migrations') },
      stack.infraDir,
      join(stack.infraDir, 'docker-compose.yaml'),
      environment,
    );
    return resolveStack(s, engine?.docker ? { docker: engine.docker } : {}, { engines, processEnv: environment });
  };
  /** As ui/backups/controller.ts: targetsOf(stack, the tools' runtime, the context's site, the settings). */
  const targets = async (sc?: StackContext) => {
    const c = sc ?? (await context());
    return targetsOf(
      c.stack,
      c.runtimeKind.value === 'host' ? (await c.tools()).tools! : await c.databaseRuntime(),
      await c.site(),
      { ...c.settings.backups },
    );
  };
  return {
    context: () => context(),
    targets: () => targets(),
    async dump(database, ctx) {
      return createDump((await targets()).manual, { database, format: 'tar' }, ctx);
    },
    async dumpAll(ctx) {
      return createDumpAll((await targets()).manual, ctx);
    },
    async baseBackup(ctx) {
      return createBaseBackup((await targets()).manual, ctx);
    },
    async restorePgbackrest(src, ctx) {
      const sc = await context();
      const site = await restoreSiteOf(sc);
      const full: PgbackrestSource = { ...src, kind: 'pgbackrest', stanza: site.stanza, configPath: site.configPath };
      if (site.postgresIsPid1 && site.containerId)
        return restoreInOneOff(
          {
            docker: await sc.docker(),
            containerId: site.containerId,
            dataDir: site.dataDir,
            conn: site.conn,
            user: site.toolUser,
          },
          full,
          ctx,
        );
      return restorePhysical({ rt: site.rt, dataDir: site.dataDir, conn: site.conn }, full, ctx);
    },
    async restoreDumpFile(file, database, ctx) {
      const site = await restoreSiteOf(await context());
      return restoreDump({ rt: site.rt, conn: site.conn }, { file: site.toolPath(file), database }, ctx);
    },
    async migrator(dir) {
      const sc = await context(join(stack.infraDir, dir));
      if (!sc.stack.migrationsDir) throw new Error(`no migrations folder ${dir} for ${sc.stack.projectName}`);
      const target = await sc.connection();
      return new Migrator(sc.stack.migrationsDir, () => connect(target));
    },
  };
}
