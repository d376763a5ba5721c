/**
 * The helpers every command area uses to read its args object and find its stack: one set for all areas.
 * A command's `args` is a plain object (automation) or undefined (the palette, a view, the status bar).
 */
import * as vscode from 'vscode';
import type { StackConfig } from '../../core/infra';
import type { StackRegistry } from '../stacks';
import { CancelledByUser } from './cancel';
import type { Args } from './table';
import { OpsError } from '../../core/errors/error';

export type { Args } from './table';

/** `args[key]` as a string (undefined when absent or empty); anything else is an error naming the key. */
export function str(args: Args, key: string): string | undefined {
  const v = args?.[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new OpsError('config', `${key} must be a string, not ${JSON.stringify(v)}.`);
  return v;
}

/** `args[key]` as a boolean (undefined when absent); anything else is an error naming the key. */
export function bool(args: Args, key: string): boolean | undefined {
  const v = args?.[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new OpsError('config', `${key} must be true or false, not ${JSON.stringify(v)}.`);
  return v;
}

/** The clicked item's stack, else pickStack(); a dismissed pick is a cancel. */
export async function stackFor(
  registry: StackRegistry,
  args: Args,
  node?: { readonly stack?: StackConfig },
): Promise<StackConfig> {
  const stack = node?.stack ?? (await pickStack(registry, args));
  if (!stack) throw new CancelledByUser();
  return stack;
}

/**
 * The stack a command acts on: `args.folder` (workspace folder path or name), else the only one;
 * with several and no args, a quick pick. Throws a clear error when automation is ambiguous.
 */
export async function pickStack(registry: StackRegistry, args: Args): Promise<StackConfig | undefined> {
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
      throw new OpsError(
        'config',
        `No stack in "${folder}": the stacks are ${stacks.map((x) => x.workspaceFolder).join(', ') || 'none'}.`,
      );
    return s;
  }
  if (stacks.length === 0)
    throw new OpsError(
      'config',
      'No TimescaleDB infra found in this workspace: pick the infra folder first (TimescaleDB Ops: Pick Infra Folder…).',
    );
  if (stacks.length === 1) return stacks[0];
  if (args)
    throw new OpsError(
      'config',
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
    throw new OpsError(
      'refused',
      `${what} needs a trusted workspace: it executes workspace content or changes the database. ` +
        `Trust this workspace first (Workspaces: Manage Workspace Trust).`,
    );
}
