/**
 * A long operation on a stack, as every area runs it: in the stack's queue (one at a time), under a
 * progress notification whose Cancel aborts it, with each step shown in the notification and every
 * step and line written (secrets masked) where the area keeps its output.
 */
import * as vscode from 'vscode';
import { cancel } from '../core/operations/cancel';
import {
  maskSecrets,
  operationBusy,
  type OperationClaim,
  type OperationContext,
  type OperationQueue,
} from '../core/operations/queue';

export interface OperationOutput {
  step(title: string, step: string): void;
  line(title: string, text: string): void;
}

export interface StackOperationOptions {
  /** 'wait' (default) queues behind a running operation; 'refuse' fails at once, before any progress shows. */
  mode?: 'wait' | 'refuse';
  output: OperationOutput;
  /** Called when the operation is cancelled (the notification's Cancel or Cancel Running Operation). */
  onCancel?: () => void;
  /** Masked in every line and step (a password a tool might echo). */
  secrets?: readonly (string | undefined)[];
  /** The queue's place taken while the operation was prepared (OperationQueue.claim). */
  claim?: OperationClaim;
}

export function runStackOperation<T>(
  queue: OperationQueue,
  title: string,
  work: (op: OperationContext) => Promise<T>,
  opts: StackOperationOptions,
): Promise<T> {
  if (opts.mode === 'refuse' && queue.busyBesides(opts.claim)) {
    opts.claim?.release();
    return Promise.reject(operationBusy(queue.running ?? 'another operation', title));
  }
  const mask = (t: string) => (opts.secrets?.length ? maskSecrets(t, opts.secrets) : t);
  return Promise.resolve(
    vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title, cancellable: true },
      async (progress, token) => {
        const ac = new AbortController();
        const sub = token.onCancellationRequested(() => cancel(ac));
        // Any cancel (this notification's, or Cancel Running Operation's through the queue) reaches the operation's signal.
        const watched = (op: OperationContext) => {
          if (opts.onCancel) op.signal.addEventListener('abort', () => opts.onCancel?.(), { once: true });
          return work(op);
        };
        try {
          return await queue.run(title, watched, {
            signal: ac.signal,
            mode: opts.mode,
            claim: opts.claim,
            listener: {
              onStep: (_op, t) => {
                progress.report({ message: mask(t) });
                opts.output.step(title, mask(t));
              },
              onLine: (_op, l) => opts.output.line(title, mask(l)),
            },
          });
        } finally {
          sub.dispose();
        }
      },
    ),
  );
}

/** Output into the extension's log: `title: step` and indented lines. */
export function logOutput(log: vscode.LogOutputChannel): OperationOutput {
  return { step: (title, s) => log.info(`${title}: ${s}`), line: (_title, l) => log.info(`  ${l}`) };
}
