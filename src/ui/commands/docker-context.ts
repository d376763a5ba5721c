/**
 * Switch Docker Context…: picks the Docker context the extension uses (`tsdbOps.docker.context`), from
 * the contexts the docker CLI knows (core/docker/contexts). The docker CLI's own current context
 * (`~/.docker/config.json`) is left as it is: other terminals and tools keep theirs.
 *
 * Args: `{ context: string }` (a context name; `''` goes back to the CLI's current context), with
 * `target?: 'global' | 'workspace' | 'folder'` (default global; `folder` needs `folder`: a workspace folder's
 * path or name, whose stack alone then uses the context). Result: `{ context, host, source }`.
 */
import * as vscode from 'vscode';
import { currentContextName, listContexts, readContext } from '../../core/docker/contexts';
import type { DockerService } from '../docker-service';
import { CancelledByUser, register } from './register';
import { COMMAND } from '../ids';
import { OpsError } from '../../core/errors/error';

export function registerDockerContextCommand(ctx: {
  engine: DockerService;
  log: vscode.LogOutputChannel;
}): vscode.Disposable {
  return register(ctx, COMMAND.dockerSwitchContext, async (args) => {
    let name: string;
    if (args) {
      if (typeof args['context'] !== 'string')
        throw new OpsError(
          'config',
          'tsdbOps.docker.switchContext: pass { context: "<name>" } (a name from "docker context ls", or "" for ' +
            'the docker CLI’s current context).',
        );
      name = args['context'].trim();
      if (name) readContext(name); // throws with the known names when there is no such context
    } else {
      const chosen = vscode.workspace.getConfiguration('tsdbOps.docker').get<string>('context')?.trim();
      const cli = currentContextName();
      const items: Array<vscode.QuickPickItem & { value: string }> = [
        {
          label: `$(terminal) Follow the docker CLI (${cli.name})`,
          description: chosen ? undefined : 'in use',
          detail: 'DOCKER_HOST, else DOCKER_CONTEXT, else currentContext of ~/.docker/config.json',
          value: '',
        },
        ...listContexts().map((c) => ({
          label: c.name,
          description: [c.host ?? 'local engine', c.name === chosen ? 'in use' : ''].filter(Boolean).join(' · '),
          detail: c.description,
          value: c.name,
        })),
      ];
      const pick = await vscode.window.showQuickPick(items, {
        title: 'Switch Docker Context',
        placeHolder: 'The Docker engine TimescaleDB Ops uses (tsdbOps.docker.host, when set, still wins)',
      });
      if (!pick) throw new CancelledByUser();
      name = pick.value;
    }
    let folder: vscode.WorkspaceFolder | undefined;
    if (args?.['target'] === 'folder') {
      const f = args['folder'];
      folder = vscode.workspace.workspaceFolders?.find((w) => w.uri.fsPath === f || w.name === f);
      if (!folder)
        throw new OpsError(
          'config',
          `tsdbOps.docker.switchContext: target "folder" needs { folder } naming a workspace folder ` +
            `(${(vscode.workspace.workspaceFolders ?? []).map((w) => w.name).join(', ') || 'none open'}), not ${JSON.stringify(f)}.`,
        );
    }
    const target = folder
      ? vscode.ConfigurationTarget.WorkspaceFolder
      : args?.['target'] === 'workspace'
        ? vscode.ConfigurationTarget.Workspace
        : vscode.ConfigurationTarget.Global;
    await vscode.workspace.getConfiguration('tsdbOps.docker', folder?.uri).update('context', name || undefined, target);
    const t = ctx.engine.targetOf(folder ? { workspaceFolder: folder.uri.fsPath } : undefined);
    ctx.log.info(`Docker engine: ${t.host} (${t.source}).`);
    return { context: t.context ?? (name || 'default'), host: t.host, source: t.source };
  });
}
