/**
 * activate(): reads settings, discovers one stack per workspace folder, hands it to the views,
 * status bar and diagnostics, registers the commands and returns the public API.
 * Nothing here talks to Docker or PostgreSQL; those modules load on first use.
 */
import * as vscode from 'vscode';
import type { TsdbOpsApi } from './api';
import { createLog } from './ui/output/log';
import { StackRegistry } from './ui/stacks';
import { ContainersProvider } from './ui/views/containers';
import { MigrationsProvider } from './ui/views/migrations';
import { BackupsProvider } from './ui/views/backups';
import { StackStatus } from './ui/status/stack-status';
import { InfraDiagnostics } from './ui/diagnostics';
import { register, registerCommands } from './ui/commands';
import { registerMigrationCommands } from './ui/commands/migrations';
import { MigrationsController } from './ui/migrations/controller';
import { MigrationGuard } from './ui/migrations/guard';
import { MigrationsStatus } from './ui/status/migrations-status';
import { join } from 'node:path';
import { EngineService } from './ui/engine';

export function activate(context: vscode.ExtensionContext): TsdbOpsApi {
  const started = performance.now();
  const log = createLog();
  const registry = new StackRegistry(log);
  const engine = new EngineService();
  const containers = new ContainersProvider(registry);
  const migrationsController = new MigrationsController(registry, context.secrets, log);
  const migrationsOutput = vscode.window.createOutputChannel('TimescaleDB Ops: Migrations');
  const migrations = new MigrationsProvider(registry, migrationsController);
  const migrationsView = vscode.window.createTreeView('tsdbOps.migrations', { treeDataProvider: migrations });
  const updateBadge = () => {
    const pending = migrationsController.all().reduce((n, s) => n + (s.report?.summary.pending ?? 0), 0);
    migrationsView.badge = pending ? { value: pending, tooltip: `${pending} pending migration${pending > 1 ? 's' : ''}` } : undefined;
  };
  const backups = new BackupsProvider(registry);

  context.subscriptions.push(
    log,
    registry,
    engine,
    containers,
    migrations,
    backups,
    vscode.window.createTreeView('tsdbOps.containers', { treeDataProvider: containers, showCollapseAll: false }),
    migrationsController,
    migrationsOutput,
    migrationsView,
    migrationsController.onDidChange(updateBadge),
    new MigrationGuard(migrationsController, log),
    new MigrationsStatus(migrationsController),
    vscode.window.createTreeView('tsdbOps.backups', { treeDataProvider: backups }),
    new StackStatus(registry),
    new InfraDiagnostics(registry),
    ...registerCommands({ registry, log }),
    ...registerMigrationCommands({ registry, controller: migrationsController, log, output: migrationsOutput, register: (id, h) => register({ log }, id, h) }),
    watchStackFolders(registry, backups),
  );

  const activationTimeMs = performance.now() - started;
  log.info(`Activated in ${activationTimeMs.toFixed(1)} ms (TimescaleDB Ops ${context.extension.packageJSON.version as string}).`);
  return {
    activationTimeMs,
    ready: registry.ready,
    stacks: () => registry.summaries(),
    refresh: () => registry.refresh(),
  };
}

/** File watchers on each stack's manual backups folder, renewed when the stacks change (the migration controller watches migrations). */
function watchStackFolders(registry: StackRegistry, backups: BackupsProvider): vscode.Disposable {
  let watchers: vscode.Disposable[] = [];
  const renew = () => {
    for (const w of watchers) w.dispose();
    watchers = registry.stacks.map((s) => {
      const w = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(join(s.backupsDir, 'manual_backup')), '*'));
      const onChange = () => backups.refresh();
      w.onDidCreate(onChange);
      w.onDidDelete(onChange);
      w.onDidChange(onChange);
      return w;
    });
  };
  const sub = registry.onDidChange(renew);
  return new vscode.Disposable(() => {
    sub.dispose();
    for (const w of watchers) w.dispose();
  });
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
