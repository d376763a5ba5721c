/**
 * activate(): reads settings, discovers one stack per workspace folder, hands it to the views,
 * status bar and diagnostics, registers the commands and returns the public API.
 * Nothing here talks to Docker or PostgreSQL; those modules load on first use.
 */
import './ui/load-mark';
import * as vscode from 'vscode';
import type { TsdbOpsApi } from './api';
import { createLog } from './ui/output/log';
import { StackRegistry } from './ui/stacks';
import { createContainersView } from './ui/views/containers';
import { registerContainerCommands } from './ui/commands/containers';
import { MigrationsProvider } from './ui/views/migrations';
import { BackupsProvider } from './ui/views/backups';
import { BackupsController } from './ui/backups/controller';
import { OfeliaChannel, PgBackRestChannel } from './ui/output/backup-channels';
import { BackupStatus } from './ui/status/backup-status';
import { registerBackupCommands } from './ui/commands/backups';
import { registerScheduleCommands } from './ui/commands/schedule';
import { StackStatus } from './ui/status/stack-status';
import { InfraDiagnostics } from './ui/diagnostics';
import { registerCommands } from './ui/commands';
import { configureCommands, register } from './ui/commands/register';
import { registerMigrationCommands } from './ui/commands/migrations';
import { registerRestoreCommands } from './ui/commands/restores';
import { RESTORE_CHANNEL } from './ui/commands/restore-support';
import { InterruptedRestoreWatcher } from './ui/backups/interrupted-restores';
import { registerDrillCommands } from './ui/commands/drills';
import { MigrationsController } from './ui/migrations/controller';
import { MigrationGuard } from './ui/migrations/guard';
import { MigrationsStatus } from './ui/status/migrations-status';
import { DockerService } from './ui/docker-service';
import { VIEW } from './ui/ids';
import { LintService } from './ui/lint/service';
import { registerLintCommands } from './ui/commands/lint';
import { registerTimeline } from './ui/timeline/panel';
import { registerDockerContextCommand } from './ui/commands/docker-context';
import { StackFocus } from './ui/status/focus';
import { registerStatusPinCommands } from './ui/commands/status-pin';
import { registerNightlyDrillCommand } from './ui/commands/nightly-drill';
import { WalkthroughProgress } from './ui/walkthrough';

performance.mark('tsdbOps.bundle.loaded');

export function activate(context: vscode.ExtensionContext): TsdbOpsApi {
  const started = performance.now();
  // Marks the bench reads in the extension host (bench/host): activate() from here to the views registered.
  performance.mark('tsdbOps.activate.start');
  const log = createLog();
  const registry = new StackRegistry(log);
  const engine = new DockerService(registry, log);
  configureCommands({ registry, contextOf: (s) => engine.contextOf(s) });
  registry.engineOf = (s) => ({ label: engine.engineLabelOf(s), context: engine.contextOf(s) });
  const restoreOutput = vscode.window.createOutputChannel(RESTORE_CHANNEL);
  const containers = createContainersView(registry, engine);
  const focus = new StackFocus(registry, context.workspaceState);
  const stackStatus = new StackStatus(registry, engine, focus);
  const migrationsController = new MigrationsController(registry, context.secrets, log);
  const migrationsOutput = vscode.window.createOutputChannel('TimescaleDB Ops: Migrations');
  const migrations = new MigrationsProvider(registry, migrationsController);
  const migrationsView = vscode.window.createTreeView(VIEW.migrations, { treeDataProvider: migrations });
  const lint = new LintService(migrationsController, log);
  migrations.setLint((path) => lint.findingsOf(path), lint.onDidChange);
  const updateBadge = () => {
    const pending = migrationsController.all().reduce((n, s) => n + (s.report?.summary.pending ?? 0), 0);
    migrationsView.badge = pending
      ? { value: pending, tooltip: `${pending} pending migration${pending > 1 ? 's' : ''}` }
      : undefined;
  };
  const backupsController = new BackupsController(registry, engine);
  const backups = new BackupsProvider(registry, backupsController);
  const interrupted = new InterruptedRestoreWatcher(registry, log, restoreOutput, engine);
  backups.showInterruptedLogical(interrupted);
  const pgbackrestChannel = new PgBackRestChannel(registry, backupsController);
  const ofeliaChannel = new OfeliaChannel(registry, engine);
  const backupStatus = new BackupStatus(backupsController, undefined, focus);

  context.subscriptions.push(
    log,
    registry,
    engine,
    containers.disposable,
    migrations,
    backups,
    migrationsController,
    migrationsOutput,
    migrationsView,
    migrationsController.onDidChange(updateBadge),
    new MigrationGuard(migrationsController, log),
    new MigrationsStatus(migrationsController, focus),
    vscode.window.createTreeView(VIEW.backups, { treeDataProvider: backups }),
    stackStatus,
    focus,
    ...registerStatusPinCommands({ registry, focus, log }),
    new InfraDiagnostics(registry),
    ...registerCommands({ registry, log, engine }),
    ...registerContainerCommands({ registry, engine, log }),
    registerDockerContextCommand({ engine, log }),
    ...registerMigrationCommands({
      registry,
      controller: migrationsController,
      log,
      output: migrationsOutput,
      register: (id, h) => register({ log }, id, h),
      lint,
      queueFor: (s) => engine.queueFor(s),
    }),
    lint,
    ...registerLintCommands({
      registry,
      controller: migrationsController,
      lint,
      register: (id, h) => register({ log }, id, h),
    }),
    ...registerRestoreCommands({ registry, engine, log, output: restoreOutput }),
    interrupted,
    ...registerDrillCommands({ registry, engine, log, output: restoreOutput }),
    registerNightlyDrillCommand({ registry, log }),
    new WalkthroughProgress(registry, engine, migrationsController, backupsController),
    restoreOutput,
    backupsController,
    pgbackrestChannel,
    ofeliaChannel,
    backupStatus,
    ...registerBackupCommands({
      registry,
      engine,
      controller: backupsController,
      log,
      pgbackrestChannel,
      ofeliaChannel,
    }),
    ...registerScheduleCommands({ registry, engine, controller: backupsController, log }),
    ...registerTimeline({
      registry,
      backups: backupsController,
      migrations: migrationsController,
      log,
      extensionUri: context.extensionUri,
    }),
  );

  const activationTimeMs = performance.now() - started;
  performance.mark('tsdbOps.activate.end');
  log.info(
    `Activated in ${activationTimeMs.toFixed(1)} ms (TimescaleDB Ops ${context.extension.packageJSON.version as string}).`,
  );
  const rootsOf = async (p: { getChildren(): Promise<Array<{ item: vscode.TreeItem }>> }) =>
    (await p.getChildren()).map(({ item }) => ({
      label: typeof item.label === 'string' ? item.label : (item.label?.label ?? ''),
      description: typeof item.description === 'string' ? item.description : undefined,
    }));
  return {
    activationTimeMs,
    viewRoots: (view) =>
      rootsOf(view === 'containers' ? containers.provider : view === 'migrations' ? migrations : backups),
    ready: registry.ready,
    stacks: () => registry.summaries(),
    refresh: () => registry.refresh(),
    containers: {
      items: async () => {
        const roots = await containers.provider.getChildren();
        const nodes = (await Promise.all(roots.map(async (n) => (n.children ? n.children() : [n])))).flat();
        return nodes.map((n) => ({
          label: typeof n.item.label === 'string' ? n.item.label : (n.item.label?.label ?? ''),
          description: typeof n.item.description === 'string' ? n.item.description : undefined,
          contextValue: n.item.contextValue,
          tooltip: typeof n.item.tooltip === 'string' ? n.item.tooltip : n.item.tooltip?.value,
        }));
      },
      statusBar: () => stackStatus.snapshot(),
      reachability: () => engine.reachability,
    },
    migrations: {
      items: async () => {
        const roots = await migrations.getChildren();
        const nodes = (await Promise.all(roots.map(async (n) => (n.children ? n.children() : [n])))).flat();
        return nodes.map((n) => ({
          label: typeof n.item.label === 'string' ? n.item.label : (n.item.label?.label ?? ''),
        }));
      },
    },
    backups: {
      rows: () => backups.rows(),
      statusBar: (at) => backupStatus.update(at ? new Date(at) : undefined),
      channel: (name) => [...(name === 'Ofelia' ? ofeliaChannel : pgbackrestChannel).printed],
    },
  };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
