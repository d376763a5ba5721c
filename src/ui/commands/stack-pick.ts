import * as vscode from 'vscode';
import type { StackConfig } from '../../core/infra';
import type { StackRegistry } from '../stacks';

/**
 * The stack a command acts on: `args.folder` (workspace folder path or name), else the only one;
 * with several and no args, a quick pick. Throws a clear error when automation is ambiguous.
 */
export async function pickStack(
  registry: StackRegistry,
  args: Record<string, unknown> | undefined,
): Promise<StackConfig | undefined> {
  await registry.ready;
  const stacks = registry.stacks;
  const folder = args?.folder;
  if (typeof folder === 'string') {
    const s = stacks.find(
      (x) =>
        x.workspaceFolder === folder ||
        x.infraDir === folder ||
        vscode.workspace.getWorkspaceFolder(vscode.Uri.file(x.workspaceFolder))?.name === folder,
    );
    if (!s)
      throw new Error(
        `No stack in "${folder}": the stacks are ${stacks.map((x) => x.workspaceFolder).join(', ') || 'none'}.`,
      );
    return s;
  }
  if (stacks.length === 0)
    throw new Error(
      'No TimescaleDB infra found in this workspace: pick the infra folder first (TimescaleDB Ops: Pick Infra Folder…).',
    );
  if (stacks.length === 1) return stacks[0];
  if (args)
    throw new Error(
      `Several stacks are open: pass { folder } (one of ${stacks.map((x) => x.workspaceFolder).join(', ')}).`,
    );
  const picked = await vscode.window.showQuickPick(
    stacks.map((s) => ({ label: s.projectName, description: s.infraDir, stack: s })),
    { title: 'Which stack?' },
  );
  return picked?.stack;
}

/** Commands that execute workspace content or change the database need a trusted workspace. */
export function requireTrust(what: string): void {
  if (!vscode.workspace.isTrusted)
    throw new Error(
      `${what} needs a trusted workspace: it executes workspace content or changes the database. ` +
        `Trust this workspace first (Workspaces: Manage Workspace Trust).`,
    );
}
