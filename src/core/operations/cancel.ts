/**
 * The one cancellation type. A cancel (the user pressed Cancel on a progress notification, or dismissed a
 * prompt) is not a failure: every error that means "cancelled" extends CancelledError, so callers recognise it
 * with `instanceof` (never by `name`), whichever layer threw it (docker exec, a tool runtime, the compose CLI,
 * a migration run, a dismissed prompt in the UI).
 */
export class CancelledError extends Error {
  constructor(message = 'Cancelled.') {
    super(message);
    this.name = 'CancelledError';
  }
}

/** True for any cancel, from any layer. */
export function isCancelled(e: unknown): e is CancelledError {
  return e instanceof CancelledError;
}
