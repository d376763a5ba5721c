/**
 * "Pin Stack for the Status Bar…" and "Unpin Status Bar Stack": with several stacks open, the status
 * bar items follow the active editor's folder unless a stack is pinned (ui/status/focus).
 *
 * Pin args: `{ stack?: string }`, a compose project name, workspace folder (path or name) or infra folder;
 * without `stack` (or with args `{}`) a quick pick when interactive, an error naming the stacks otherwise.
 * Result: `{ pinned: <project name> | undefined, folder }`. Unpin takes no args and returns `{ pinned: undefined }`.
 */
import * as vscode from 'vscode';
import { basename } from 'node:path';
import type { StackConfig } from '../../core/infra';
import type { StackRegistry } from '../stacks';
import type { StackFocus } from '../status/focus';
import { COMMAND } from '../ids';
import { str } from './args';
import { CancelledByUser, register } from './register';
import { OpsError } from '../../core/errors/error';

function findStack(stacks: readonly StackConfig[], name: string): StackConfig | undefined {
  return stacks.find(
    (s) =>
      s.projectName === name ||
      s.workspaceFolder === name ||
      s.infraDir === name ||
      basename(s.workspaceFolder) === name ||
      vscode.workspace.getWorkspaceFolder(vscode.Uri.file(s.workspaceFolder))?.name === name,
  );
}

export function registerStatusPinCommands(ctx: {
  registry: StackRegistry;
  focus: StackFocus;
  log: vscode.LogOutputChannel;
}): vscode.Disposable[] {
  const { registry, focus } = ctx;
  const result = (s: StackConfig | undefined) => ({ pinned: s?.projectName, folder: s?.workspaceFolder });
  return [
    register(ctx, COMMAND.stackPinStatusBar, async (args) => {
      await registry.ready;
      const stacks = registry.stacks;
      const names = stacks.map((s) => `${s.projectName} (${basename(s.workspaceFolder)})`).join(', ') || 'none';
      const name = str(args, 'stack');
      let stack: StackConfig | undefined;
      if (name) {
        stack = findStack(stacks, name);
        if (!stack) throw new OpsError('config', `No stack "${name}" is open: pass { stack } as one of ${names}.`);
      } else if (args) {
        if (stacks.length !== 1) throw new OpsError('config', `Pass { stack }: one of ${names}.`);
        stack = stacks[0];
      } else {
        const pick = await vscode.window.showQuickPick(
          stacks.map((s) => ({
            label: basename(s.workspaceFolder),
            description: `${s.projectName}${registry.engineOf ? ` · ${registry.engineOf(s).label}` : ''}`,
            detail: focus.pinned === s ? 'pinned now' : undefined,
            stack: s,
          })),
          { title: 'Pin Stack for the Status Bar', placeHolder: 'The status bar shows this stack until unpinned' },
        );
        if (!pick) throw new CancelledByUser();
        stack = pick.stack;
      }
      await focus.pin(stack);
      ctx.log.info(`Status bar pinned to ${stack!.projectName} (${stack!.workspaceFolder}).`);
      return result(stack);
    }),
    register(ctx, COMMAND.stackUnpinStatusBar, async () => {
      await focus.pin(undefined);
      ctx.log.info('Status bar follows the active editor’s folder again.');
      return { ...result(undefined), following: focus.current?.projectName };
    }),
  ];
}
