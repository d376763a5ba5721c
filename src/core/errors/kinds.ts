/** What tells errors apart (`kind`), what they carry (`facts`) and the action the UI offers: the types of error.ts. */

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
  | 'phase-failed'
  /**
   * An internal invariant broke ("cannot happen"): a bug of TimescaleDB Ops, not of the stack or the user's input
   * (also a thrown value that was not an Error, wrapped so it carries a kind).
   */
  | 'internal';

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
  /** A failed or cancelled restore: true when the previous state was put back. */
  readonly rolledBack?: boolean;
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
