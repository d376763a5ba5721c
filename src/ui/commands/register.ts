/**
 * The one way every area registers a command, from its declaration in ./table. The mode is explicit:
 * no argument, or a tree node of a view (a value carrying a vscode.TreeItem, which no args object can),
 * is an interactive call; any other argument is an args object (automation). An args object is checked
 * against the declaration's strict schema, and for a command that changes the live database or the stack
 * its `confirm` (and on a production stack the typed name) is checked, before the handler runs anything.
 * Automation gets errors thrown and is asked nothing; interactive calls see errors (an area may show its
 * own kinds its own way) and a cancel is quiet.
 */
import * as vscode from 'vscode';
import { relative } from 'node:path';
import { isCancelled } from '../../core/operations/cancel';
import { errorText } from '../../core/format';
import { OpsError } from '../../core/errors/error';
import { confirmationError, checkConfirmArg, type DestructiveGuard } from '../../core/stack/production';
import type { StackConfig } from '../../core/infra';
import type { StackRegistry } from '../stacks';
import { confirmDestructive, guardFor, productionOf } from '../production';
import { COMMAND_TABLE, changesLive, confirmProblem, parseArgs, specOf, type Args, type CommandSpec } from './table';
import { pickStack } from './args';

export { CancelledByUser } from './cancel';
export type { Args } from './table';

/** How the command was called: `automation` when an args object was passed (it asks nothing). */
export interface Call {
  readonly mode: 'interactive' | 'automation';
  readonly spec: CommandSpec;
}

/** `args`: the checked args object (automation), `node` the tree node it was invoked on (interactive). */
export type Handler<N = unknown> = (args: Args, node: N | undefined, call: Call) => unknown;

export interface RegisterOptions<N> {
  /** Which tree items are the area's nodes (the handler gets `undefined` for any other). */
  isNode?: (x: unknown) => x is N;
  /** Shows an error its own way (with an action that fixes it); returns false to get the plain message. */
  showError?: (e: Error, node: N | undefined) => boolean;
}

/** What the guard needs from the running extension: the stacks and each stack's Docker context. */
interface GuardEnvironment {
  readonly registry: StackRegistry;
  readonly contextOf?: (stack: StackConfig) => string | undefined;
}
let environment: GuardEnvironment | undefined;

/** Set once at activation, before any command runs. */
export function configureCommands(env: GuardEnvironment): void {
  environment = env;
}

/** A tree node of one of the views: a TreeItem, or a node object holding one (views/node.ts). */
export function isViewNode(arg: unknown): arg is { item: vscode.TreeItem } | vscode.TreeItem {
  if (!arg || typeof arg !== 'object') return false;
  return arg instanceof vscode.TreeItem || (arg as { item?: unknown }).item instanceof vscode.TreeItem;
}

/** The node's kind: its `viewItem` context value up to the first dot. */
function nodeKind(node: { item: vscode.TreeItem } | vscode.TreeItem): string | undefined {
  const item = node instanceof vscode.TreeItem ? node : node.item;
  return item.contextValue?.split('.')[0];
}

/** The production guard of a live command on a stack, its scope from the declaration. */
export function liveGuard(id: string, stack: StackConfig, database?: string): DestructiveGuard {
  const spec = specOf(id);
  const scope = spec.live.changes ? spec.live.scope : 'cluster';
  return guardFor(stack, id, scope, database, environment?.contextOf?.(stack));
}

/**
 * The confirmation of a live command once the handler knows what it changes (for `database` scope, the
 * database): with args, `confirm` checked against the guard; interactively the typed name on a production
 * stack, else `modal` (the command's own confirmation, which throws CancelledByUser when dismissed).
 */
export async function confirmLive(
  id: string,
  args: Args,
  stack: StackConfig,
  modal: () => Promise<void>,
  database?: string,
): Promise<void> {
  const guard = liveGuard(id, stack, database);
  if (args) return checkConfirmArg(args['confirm'], guard);
  return confirmDestructive(undefined, guard, modal);
}

/** With args, a live command's `confirm` checked before the handler runs (the stack by the one rule). */
async function guardAutomation(spec: CommandSpec, args: Record<string, unknown>): Promise<void> {
  if (!spec.live.changes || !environment) return;
  const stack = await pickStack(environment.registry, args);
  if (!stack || !changesLive(spec, args, stack.dbService?.name)) return;
  const production = productionOf(stack, environment.contextOf?.(stack));
  const problem = confirmProblem(spec, args['confirm'], { projectName: stack.projectName, production });
  if (problem) throw confirmationError(problem);
}

export function register<N = unknown>(
  ctx: { log: vscode.LogOutputChannel },
  id: string,
  handler: Handler<N>,
  opts: RegisterOptions<N> = {},
): vscode.Disposable {
  const spec = specOf(id);
  return vscode.commands.registerCommand(id, async (arg?: unknown) => {
    const automation = arg !== undefined && arg !== null && !isViewNode(arg);
    const node =
      isViewNode(arg) &&
      // A node of another kind is not this command's (as if none were given); a TreeItem without a context
      // value is one the extension built itself (the timeline opening a restore on a backup): passed as is.
      (spec.nodes.length === 0 || nodeKind(arg) === undefined || spec.nodes.includes(nodeKind(arg)!)) &&
      (!opts.isNode || opts.isNode(arg))
        ? (arg as N)
        : undefined;
    const call: Call = { mode: automation ? 'automation' : 'interactive', spec };
    try {
      let args: Args;
      if (automation) {
        args = parseArgs(spec, arg);
        await guardAutomation(spec, args);
      }
      return await handler(args, node, call);
    } catch (e) {
      const msg = errorText(e);
      if (automation) {
        // Automation gets the error and decides; the log keeps a trace without calling it our failure.
        ctx.log.warn(`${id} (called with args) failed: ${msg}`);
        throw e;
      }
      if (isCancelled(e)) {
        ctx.log.info(`${id}: cancelled`);
        return undefined;
      }
      ctx.log.error(`${id}: ${msg}`);
      if (e instanceof Error && opts.showError?.(e, node)) return undefined;
      if (e instanceof OpsError) void showOpsError(e);
      else void vscode.window.showErrorMessage(msg);
      return undefined;
    }
  });
}

/** Every declared command id (for the in-host tests and the docs). */
export const DECLARED = COMMAND_TABLE.map((s) => s.id);

/**
 * An error of core as the user sees it: its message, with its place in a file (`facts.file` and `line`: an
 * "Open File" button that goes there) and the command that fixes it (`action`, a button that runs it).
 */
async function showOpsError(e: OpsError): Promise<void> {
  const { file, line, column } = e.facts;
  const at = file && line ? { file, line, column: column ?? 1 } : undefined;
  const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '';
  const where = at ? ` (${relative(root, at.file) || at.file}:${at.line}:${at.column})` : '';
  const buttons = [...(at ? ['Open File'] : []), ...(e.action ? [e.action.title] : [])];
  const choice = await vscode.window.showErrorMessage(`${e.message}${where}`, ...buttons);
  if (choice === 'Open File' && at) {
    const p = new vscode.Position(at.line - 1, at.column - 1);
    await vscode.window.showTextDocument(vscode.Uri.file(at.file), { selection: new vscode.Range(p, p) });
  } else if (e.action && choice === e.action.title) {
    await vscode.commands.executeCommand(e.action.command, e.action.args ?? {});
  }
}
