/**
 * The one way every area registers a command. An args object (not a tree node) means automation: errors are
 * thrown to the caller and nothing is asked. From the palette, a view or the status bar, errors are shown
 * (an area may show its own kinds its own way) and a cancel is quiet.
 */
import * as vscode from 'vscode';
import { CancelledError, isCancelled } from '../../core/operations/cancel';
import { errorText } from '../../core/format';
import type { Args } from './args';

/** The user dismissed a prompt or a confirmation: a cancel like any other, nothing is shown. */
export class CancelledByUser extends CancelledError {
  constructor() {
    super('Cancelled.');
    this.name = 'CancelledByUser';
  }
}

/** `args` for automation (a plain object), `node` when invoked on a tree item of the area's view. */
export type Handler<N = unknown> = (args: Args, node: N | undefined) => unknown;

export interface RegisterOptions<N> {
  /** Which tree items are the area's nodes (the handler gets `undefined` for any other). */
  isNode?: (x: unknown) => x is N;
  /** Shows an error its own way (with an action that fixes it); returns false to get the plain message. */
  showError?: (e: Error, node: N | undefined) => boolean;
}

function looksLikeNode(arg: unknown): boolean {
  return !!arg && typeof arg === 'object' && (arg instanceof vscode.TreeItem || 'item' in arg);
}

export function register<N = unknown>(
  ctx: { log: vscode.LogOutputChannel },
  id: string,
  handler: Handler<N>,
  opts: RegisterOptions<N> = {},
): vscode.Disposable {
  return vscode.commands.registerCommand(id, async (arg?: unknown) => {
    const isNode = looksLikeNode(arg);
    const plain = arg && typeof arg === 'object' && !isNode ? (arg as Record<string, unknown>) : undefined;
    const node = isNode && (!opts.isNode || opts.isNode(arg)) ? (arg as N) : undefined;
    try {
      return await handler(plain, node);
    } catch (e) {
      const msg = errorText(e);
      if (plain) {
        // Automation gets the error and decides; the log keeps a trace without calling it our failure.
        ctx.log.warn(`${id} (called with args) failed: ${msg}`);
        throw e;
      }
      if (isCancelled(e)) {
        ctx.log.info(`${id}: cancelled`);
        return undefined;
      }
      ctx.log.error(`${id}: ${msg}`);
      if ((e as { shown?: boolean }).shown) return undefined;
      if (e instanceof Error && opts.showError?.(e, node)) return undefined;
      void vscode.window.showErrorMessage(msg);
      return undefined;
    }
  });
}
