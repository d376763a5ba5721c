/**
 * Every command in one place. A command takes an optional args object; with args it asks nothing
 * and returns a result; from the palette or a view it prompts for what is missing.
 */
import * as vscode from 'vscode';
import { isAbsolute, join, relative } from 'node:path';
import { COMPOSE_FILE_NAMES } from '../../core/infra';
import { existsSync } from 'node:fs';
import type { StackRegistry } from '../stacks';
import type { DockerService } from '../docker-service';
import { serviceResult } from '../../core/docker/model';
import { COMMAND } from '../ids';
import { register } from './register';
import { pickStack } from './args';
import { OpsError } from '../../core/errors/error';

export interface CommandContext {
  readonly registry: StackRegistry;
  readonly log: vscode.LogOutputChannel;
  /** When given, Refresh also reads every stack's containers again (and retries an unreachable Docker). */
  readonly engine?: DockerService;
}

function folderFor(path: string | undefined, folderArg: unknown): vscode.WorkspaceFolder | undefined {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (typeof folderArg === 'string') return folders.find((f) => f.uri.fsPath === folderArg || f.name === folderArg);
  if (path) return vscode.workspace.getWorkspaceFolder(vscode.Uri.file(path)) ?? folders[0];
  return folders[0];
}

export function registerCommands(ctx: CommandContext): vscode.Disposable[] {
  return [
    register(ctx, COMMAND.refresh, async () => {
      await ctx.registry.refresh();
      const engine = ctx.engine;
      if (!engine) return { stacks: ctx.registry.summaries() };
      await engine.refreshDocker();
      const docker = ctx.registry.stacks.map((s) => {
        const st = engine.state(s);
        return {
          folder: s.workspaceFolder,
          project: s.projectName,
          host: engine.describeHost(s),
          state: st?.kind ?? 'connecting',
          error: st?.kind === 'unreachable' ? st.error : undefined,
          services: st?.kind === 'ready' ? st.model.services.map(serviceResult) : undefined,
        };
      });
      return { stacks: ctx.registry.summaries(), docker };
    }),

    register(ctx, COMMAND.pickInfraFolder, async (args) => {
      let path = typeof args?.path === 'string' ? args.path : undefined;
      if (!path) {
        const picked = await vscode.window.showOpenDialog({
          canSelectFolders: true,
          canSelectFiles: false,
          canSelectMany: false,
          openLabel: 'Use as Infra Folder',
          title: 'Folder with docker-compose.yaml and .env',
          defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
        });
        path = picked?.[0]?.fsPath;
        if (!path) return undefined;
      }
      const folder = folderFor(path, args?.folder);
      if (!folder)
        throw new OpsError('config', 'Open a workspace folder first: tsdbOps.infraPath is a workspace folder setting.');
      const abs = isAbsolute(path) ? path : join(folder.uri.fsPath, path);
      if (!COMPOSE_FILE_NAMES.some((n) => existsSync(join(abs, n)))) {
        throw new OpsError(
          'config',
          `${abs} has no ${COMPOSE_FILE_NAMES.join(', ')}: pick the folder that holds the stack's compose file (e.g. connect/infra).`,
        );
      }
      const rel = relative(folder.uri.fsPath, abs);
      const value = rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
      await vscode.workspace
        .getConfiguration('tsdbOps', folder.uri)
        .update('infraPath', value, vscode.ConfigurationTarget.WorkspaceFolder);
      await ctx.registry.refresh();
      return { infraPath: value, folder: folder.uri.fsPath };
    }),

    register(ctx, COMMAND.openSettings, async () => {
      await vscode.commands.executeCommand('workbench.action.openSettings', '@ext:tsdb-ops-team.tsdb-ops');
    }),

    register(ctx, COMMAND.showOutput, () => {
      ctx.log.show(true);
    }),

    register(ctx, COMMAND.openComposeFile, async (args) => {
      // The one stack selection rule (args.ts pickStack): { folder }, else the only stack, else a pick.
      const stack = await pickStack(ctx.registry, args);
      if (!stack) return undefined;
      await vscode.window.showTextDocument(vscode.Uri.file(stack.composeFile));
      return { file: stack.composeFile };
    }),

    // The same cancel as the progress notification's Cancel (the operation's signal aborts with a CancelledError),
    // for a notification that was hidden, and for automation.
    register(ctx, COMMAND.cancelOperation, async (args) => {
      const stack = await pickStack(ctx.registry, args);
      if (!stack || !ctx.engine) return undefined;
      const cancelled = ctx.engine.queueFor(stack).cancelRunning() ?? null;
      if (!args)
        void vscode.window.showInformationMessage(
          cancelled ? `Cancelling "${cancelled}"…` : 'Nothing runs on this stack.',
        );
      return { cancelled };
    }),
  ];
}
