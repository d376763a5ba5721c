/**
 * The one error type of TimescaleDB Ops. Every error core throws is an `OpsError` made in this folder: a `kind`
 * (what went wrong, for code to branch on with `instanceof` or `kind`, never by `name` or message), its facts
 * (tool, exit code, pgBackRest code, file, hint …) and, when there is one, the action that fixes it, which the UI
 * offers as a button. A house-rule test (test/unit/house-rules.test.ts) refuses `extends Error` anywhere else.
 * Each class sets its `name` as a string: the production bundle is minified, so class names are not kept.
 */

export type ErrorKind =
  /** The user (or a caller's AbortSignal) cancelled: not a failure. */
  | 'cancelled'
  /** Another operation runs on the stack. */
  | 'busy'
  /** A setting, file or value is wrong; the message names it and the fix. */
  | 'config'
  /** The Docker engine does not answer, or refused the connection (SSH, host key). */
  | 'engine-unreachable'
  | 'host-key'
  /** A container or service is missing or not running. */
  | 'not-created'
  | 'not-running'
  /** A program is not installed where it must run. */
  | 'tool-missing'
  /** A program ran and failed (exit code, stderr tail). */
  | 'tool-failed'
  /** A program was stopped because its output reader went away or its input broke. */
  | 'pipe-broken'
  /** The connection to the engine dropped while a program ran: its result is unknown. */
  | 'connection-lost'
  | 'timeout'
  /** A migration or its file (sqlx's errors). */
  | 'migration'
  /** An Ofelia schedule that does not parse. */
  | 'schedule'
  /** The database refused the connection or cannot be reached (`failure` says which). */
  | 'database-connection'
  /** A safety rule refused the operation before anything changed (a confirmation, a drill's preconditions). */
  | 'refused'
  /** A backup failed its check before anything was touched. */
  | 'backup-invalid'
  /** A restore failed; the message says whether the previous state is back. */
  | 'restore-failed'
  /** A phase of a multi-phase operation failed; what ran was undone. */
  | 'phase-failed';

/** What is known about a failure, for the message, the log and the UI. */
export interface ErrorFacts {
  /** The program and its argv (never a secret: secrets travel in the environment). */
  readonly tool?: string;
  readonly argv?: readonly string[];
  readonly exitCode?: number;
  /** pgBackRest's error code, e.g. 55. */
  readonly pgbackrestCode?: number;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  /** What to do, in a sentence. */
  readonly hint?: string;
  /** The last lines the tool wrote to stderr. */
  readonly stderrTail?: readonly string[];
}

/** A command that fixes it, offered as a button (its args make it ask nothing). */
export interface SuggestedAction {
  readonly title: string;
  readonly command: string;
  readonly args?: Readonly<Record<string, unknown>>;
}

export interface OpsErrorOptions {
  readonly facts?: ErrorFacts;
  readonly action?: SuggestedAction;
  readonly cause?: unknown;
}

export class OpsError extends Error {
  readonly kind: ErrorKind;
  readonly facts: ErrorFacts;
  readonly action?: SuggestedAction;

  constructor(kind: ErrorKind, message: string, options: OpsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.facts = options.facts ?? {};
    this.action = options.action;
    this.name = 'OpsError';
  }
}

/**
 * The one cancellation: the reason of every abort (`controller.abort(new CancelledError())`), and what every
 * cancelled operation throws. Recognised with `isCancelled`, which also knows an aborted signal's reason.
 */
export class CancelledError extends OpsError {
  constructor(message = 'Cancelled.', options: OpsErrorOptions = {}) {
    super('cancelled', message, options);
    this.name = 'CancelledError';
  }
}

/** True for any cancel, from any layer. */
export function isCancelled(e: unknown): e is CancelledError {
  return e instanceof CancelledError;
}

/** Aborts with a `CancelledError` as the reason (never a bare `abort()`, whose DOMException says "aborted"). */
export function cancel(controller: AbortController, message?: string): void {
  controller.abort(new CancelledError(message));
}

/** The reason an aborted signal carries, as a `CancelledError` (an AbortSignal from elsewhere may carry anything). */
export function cancelReason(signal: AbortSignal): CancelledError {
  return signal.reason instanceof CancelledError ? signal.reason : new CancelledError();
}
