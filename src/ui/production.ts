/**
 * The production guard in the UI (core/stack/production): reads `tsdbOps.stacks.production` for a
 * stack, and confirms a destructive command: with args, `confirm` is checked (a name on production
 * stacks, `true` elsewhere); interactively, a production stack asks the user to type the name, others
 * keep their modal confirmation.
 */
import * as vscode from 'vscode';
import type { StackConfig } from '../core/infra';
import {
  checkConfirmArg,
  productionMatch,
  typedConfirmation,
  type DestructiveGuard,
  type GuardScope,
  type ProductionMatch,
} from '../core/stack/production';
import { CancelledByUser } from './commands/cancel';

/** Whether a stack is production (the glob and what it matched), from the setting of its folder. */
export function productionOf(stack: StackConfig, context?: string): ProductionMatch | undefined {
  const globs = vscode.workspace
    .getConfiguration('tsdbOps', vscode.Uri.file(stack.workspaceFolder))
    .get<string[]>('stacks.production');
  return productionMatch(globs, { workspaceFolder: stack.workspaceFolder, infraDir: stack.infraDir, context });
}

export function guardFor(
  stack: StackConfig,
  command: string,
  scope: GuardScope,
  database?: string,
  context?: string,
): DestructiveGuard {
  return {
    command,
    scope,
    name: scope === 'database' && database ? database : stack.projectName,
    production: productionOf(stack, context),
  };
}

/**
 * Confirms a destructive command. Args: `confirm` must pass checkConfirmArg. Interactive: a production
 * stack asks for the typed name (then the command runs without a second modal); another stack runs
 * `modal()` (the command's own confirmation). Throws CancelledByUser when the user backs out.
 */
export async function confirmDestructive(
  args: Record<string, unknown> | undefined,
  guard: DestructiveGuard,
  modal: () => Promise<void>,
): Promise<void> {
  if (args) return checkConfirmArg(args['confirm'], guard);
  if (!guard.production) return modal();
  const { prompt, validate } = typedConfirmation(guard);
  const typed = await vscode.window.showInputBox({
    title: `${guard.command}: production stack`,
    prompt,
    placeHolder: guard.name,
    ignoreFocusOut: true,
    validateInput: validate,
  });
  if (typed !== guard.name) throw new CancelledByUser();
}
