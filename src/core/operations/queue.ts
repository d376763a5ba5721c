/**
 * One operation at a time per stack: backups, restores, stack up/down and clean start go through
 * the stack's queue. A second operation either waits its turn (`mode: 'wait'`) or is refused at once
 * with a message naming the running one (`mode: 'refuse'`, what restores use).
 */
import { OperationBusyError } from '../errors/misc';
export { OperationBusyError };

export interface OperationContext {
  readonly signal: AbortSignal;
  /** A new step ("Stopping PostgreSQL"): shown in the progress notification and the log. */
  step(title: string): void;
  /** One line of streamed output (tool output, the exact command run with secrets masked). */
  line(text: string): void;
}

export interface OperationListener {
  onStep?(operation: string, title: string): void;
  onLine?(operation: string, text: string): void;
}

export interface RunOperationOptions {
  signal?: AbortSignal;
  /** 'wait' (default) queues behind the running operation; 'refuse' throws OperationBusyError. */
  mode?: 'wait' | 'refuse';
  listener?: OperationListener;
}

export class OperationQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private current: string | undefined;
  private waiting = 0;

  /** The title of the running operation, if any. */
  get running(): string | undefined {
    return this.current;
  }

  get busy(): boolean {
    return this.current !== undefined || this.waiting > 0;
  }

  run<T>(title: string, work: (ctx: OperationContext) => Promise<T>, opts: RunOperationOptions = {}): Promise<T> {
    if (opts.mode === 'refuse' && this.busy) {
      return Promise.reject(new OperationBusyError(this.current ?? 'another operation', title));
    }
    this.waiting++;
    const start = this.tail.catch(() => undefined);
    const result = start.then(async () => {
      this.waiting--;
      this.current = title;
      const controller = new AbortController();
      const forward = () => controller.abort(opts.signal?.reason);
      if (opts.signal?.aborted) forward();
      opts.signal?.addEventListener('abort', forward, { once: true });
      const ctx: OperationContext = {
        signal: controller.signal,
        step: (t) => opts.listener?.onStep?.(title, t),
        line: (t) => opts.listener?.onLine?.(title, t),
      };
      try {
        return await work(ctx);
      } finally {
        opts.signal?.removeEventListener('abort', forward);
        this.current = undefined;
      }
    });
    this.tail = result;
    return result;
  }
}

/** Replaces every occurrence of each secret in a text with ******** (for echoed commands and tool output). */
export function maskSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 1) out = out.split(s).join('********');
  return out;
}
