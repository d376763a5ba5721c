/**
 * Migration commands that read or write files only: refresh, status, create, copy the sqlx CLI command,
 * set the password. Run Pending and Revert (they change the live database) are ./migrations-run.ts.
 */
import * as vscode from 'vscode';
import { relative } from 'node:path';
import { createMigration } from '../../core/migrations/source';
import { describeTarget } from '../../core/postgres/connection';
import type { MigrationStatus } from '../../core/migrations/status';
import { pickStack } from './args';
import type { Args } from './register';
import { COMMAND } from '../ids';
import { revert, runPending, type MigrationCommandContext } from './migrations-run';
import { OpsError } from '../../core/errors/error';

export type { MigrationCommandContext } from './migrations-run';

/** A migration as commands return it (JSON-friendly: versions as strings). */
function toResult(m: MigrationStatus) {
  return {
    version: m.version.toString(),
    description: m.description,
    state: m.state,
    file: m.file?.path,
    installedOn: m.applied?.installedOn.toISOString(),
    executionTimeNs: m.applied ? m.applied.executionTimeNs.toString() : undefined,
    hint: m.hint,
  };
}

/** tsdbOps.migrations.refresh */
async function migrationsRefresh(ctx: MigrationCommandContext) {
  await ctx.controller.refresh();
  return {
    stacks: ctx.controller
      .all()
      .map((s) => ({ folder: s.stack.workspaceFolder, summary: s.report?.summary, error: s.error?.message })),
  };
}

/** tsdbOps.migrations.status */
async function migrationsStatus(ctx: MigrationCommandContext, args: Args) {
  const stack = await pickStack(ctx.registry, args);
  if (!stack) return undefined;
  await ctx.controller.refresh();
  const s = ctx.controller.get(stack);
  if (s?.error) throw s.error;
  if (!s?.report)
    throw new OpsError('config', `No migrations folder for ${stack.projectName}: set tsdbOps.migrations.path.`);
  return {
    database: s.report.database,
    tableExists: s.report.tableExists,
    summary: s.report.summary,
    migrations: s.report.migrations.map(toResult),
    fileErrors: s.report.fileErrors.map((e) => e.message),
  };
}

/** tsdbOps.migrations.create */
async function migrationsCreate(ctx: MigrationCommandContext, args: Args) {
  const stack = await pickStack(ctx.registry, args);
  if (!stack) return undefined;
  if (!stack.migrationsDir)
    throw new OpsError('config', `No migrations folder for ${stack.projectName}: set tsdbOps.migrations.path.`);
  let name = typeof args?.name === 'string' ? args.name : undefined;
  if (!name) {
    if (args)
      throw new OpsError('config', 'tsdbOps.migrations.create needs { name }, e.g. { name: "add sensor kind" }.');
    name = await vscode.window.showInputBox({
      title: 'New migration',
      prompt: 'Description (sqlx turns spaces into _ in the file name)',
      placeHolder: 'add sensor kind',
      validateInput: (v) => (v.trim() ? undefined : 'A description is needed.'),
    });
    if (!name) return undefined;
  }
  const created = await createMigration(stack.migrationsDir, name, {
    reversible: typeof args?.reversible === 'boolean' ? args.reversible : undefined,
  });
  ctx.log.info(`Created ${created.files.join(', ')} (${created.versioning} versioning).`);
  if (args?.open !== false) await vscode.window.showTextDocument(vscode.Uri.file(created.files[0]!));
  ctx.controller.schedule(0);
  return created;
}

/** tsdbOps.migrations.copyCliCommand */
async function copyCliCommand(ctx: MigrationCommandContext, args: Args) {
  const stack = await pickStack(ctx.registry, args);
  if (!stack) return undefined;
  const action = args?.action === 'info' || args?.action === 'revert' ? args.action : 'run';
  const conn = await ctx.controller.target(stack).catch(() => undefined);
  const source = stack.migrationsDir ? relative(stack.workspaceFolder, stack.migrationsDir) || '.' : 'migrations';
  // The password never goes to the clipboard: sqlx reads it from DATABASE_URL in .env or the environment.
  const url = conn ? describeTarget(conn) : '$DATABASE_URL';
  const command = `sqlx migrate ${action} --source ${source} --database-url '${url}'`;
  await vscode.env.clipboard.writeText(command);
  if (!args) void vscode.window.showInformationMessage(`Copied: ${command}`);
  return { command };
}

/** tsdbOps.migrations.setPassword */
async function setPassword(ctx: MigrationCommandContext, args: Args) {
  const stack = await pickStack(ctx.registry, args);
  if (!stack) return undefined;
  const pw = typeof args?.password === 'string' ? args.password : undefined;
  if (args && pw === undefined) throw new OpsError('config', 'tsdbOps.migrations.setPassword needs { password }.');
  const t = await ctx.controller.askPassword(stack, pw);
  await ctx.controller.refresh();
  return t ? { stored: true, target: describeTarget(t) } : undefined;
}

export function registerMigrationCommands(ctx: MigrationCommandContext): vscode.Disposable[] {
  return [
    ctx.register(COMMAND.migrationsRefresh, () => migrationsRefresh(ctx)),
    ctx.register(COMMAND.migrationsStatus, (args) => migrationsStatus(ctx, args)),
    ctx.register(COMMAND.migrationsRunPending, (args) => runPending(ctx, args)),
    ctx.register(COMMAND.migrationsCreate, (args) => migrationsCreate(ctx, args)),
    ctx.register(COMMAND.migrationsRevert, (args) => revert(ctx, args)),
    ctx.register(COMMAND.migrationsCopyCliCommand, (args) => copyCliCommand(ctx, args)),
    ctx.register(COMMAND.migrationsSetPassword, (args) => setPassword(ctx, args)),
  ];
}
