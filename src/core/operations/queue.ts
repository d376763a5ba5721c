/**
 * One operation at a time per stack: backups, restores, stack up/down and clean start go through
 * the stack's queue. A second operation either waits its turn (`mode: 'wait'`) or is refused at once
 * with a message naming the running one (`mode: 'refuse'`, what restores use).
 */
import { operationBusy } from '../errors/misc';
import { cancel } from './cancel';
export { operationBusy };

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
  /** 'wait' (default) queues behind the running operation; 'refuse' throws operationBusy (kind 'busy'). */
  mode?: 'wait' | 'refuse';
  listener?: OperationListener;
  /**
   * The claim this operation was announced with (see OperationQueue.claim): it is released once the
   * operation has joined the queue, and does not count against it for 'refuse'.
   */
  claim?: OperationClaim;
}

/** A place in a stack's queue taken before the operation is ready to run (see OperationQueue.claim). */
export interface OperationClaim {
  readonly title: string;
  /** Gives the place up (idempotent); running the operation with it releases it too. */
  release(): void;
}

export class OperationQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private current: string | undefined;
  private currentController: AbortController | undefined;
  private waiting = 0;
  private readonly claims = new Set<OperationClaim>();

  /** The title of the running operation, else of a claimed one, if any. */
  get running(): string | undefined {
    return this.current ?? [...this.claims][0]?.title;
  }

  get busy(): boolean {
    return this.current !== undefined || this.waiting > 0 || this.claims.size > 0;
  }

  /** Busy apart from `claim` (an operation's own claim does not refuse it). */
  busyBesides(claim: OperationClaim | undefined): boolean {
    return this.current !== undefined || this.waiting > 0 || [...this.claims].some((c) => c !== claim);
  }

  /**
   * Takes the queue's place for an operation that first prepares (reads the stack, asks, confirms) and runs
   * later with `{ claim }`: from this moment, synchronously, the queue is busy and a 'refuse' operation or
   * another claim is refused (operationBusy naming `title`). Release it when the operation is not run.
   */
  claim(title: string): OperationClaim {
    if (this.busy) throw operationBusy(this.running ?? 'another operation', title);
    const claim: OperationClaim = { title, release: () => void this.claims.delete(claim) };
    this.claims.add(claim);
    return claim;
  }

  /**
   * Cancels the running operation (its signal aborts with a CancelledError, as the progress notification's Cancel
   * does); returns its title, or undefined when none runs. Waiting operations keep their place.
   */
  cancelRunning(): string | undefined {
    const title = this.current;
    if (title === undefined || !this.currentController) return undefined;
    cancel(this.currentController, `Cancelled: ${title}`);
    return title;
  }

  run<T>(title: string, work: (ctx: OperationContext) => Promise<T>, opts: RunOperationOptions = {}): Promise<T> {
    if (opts.mode === 'refuse' && this.busyBesides(opts.claim)) {
      opts.claim?.release();
      return Promise.reject(operationBusy(this.running ?? 'another operation', title));
    }
    this.waiting++;
    opts.claim?.release();
    const start = this.tail.catch(() => undefined);
    const result = start.then(async () => {
      this.waiting--;
      this.current = title;
      const controller = new AbortController();
      this.currentController = controller;
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
        this.currentController = undefined;
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
