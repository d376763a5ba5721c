/**
 * The one error type of TimescaleDB Ops. Every error core throws is an `OpsError` made in this folder: a `kind`
 * (what went wrong, for code to branch on, never by `name` or message), its facts (tool, exit code, pgBackRest
 * code, file, hint …) and, when there is one, the action that fixes it, which the UI offers as a button.
 *
 * Every error class lives in this one file, and a class exists only where code branches on it with `instanceof`
 * (or reads a field only it has); every other error is an `OpsError` made by a factory in its area's file
 * (backups.ts, docker.ts, migrations.ts, misc.ts, postgres.ts, process.ts), told apart by its `kind`. A house-rule
 * test (test/unit/house-rules.test.ts) refuses `extends Error` anywhere else and error classes in a second file.
 * Each class sets its `name` as a string: the production bundle is minified, so class names are not kept.
 */
import { errorText } from '../format';
import type { ErrorFacts, ErrorKind, OpsErrorOptions, SuggestedAction } from './kinds';

export type { ErrorFacts, ErrorKind, OpsErrorOptions, SuggestedAction } from './kinds';

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

/** True for an `OpsError` of that kind: how code tells errors apart (a class only where it carries its own fields). */
export function isKind(e: unknown, kind: ErrorKind): e is OpsError {
  return e instanceof OpsError && e.kind === kind;
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

/** The user dismissed a prompt or a confirmation: a cancel like any other, nothing is shown. */
export class CancelledByUser extends CancelledError {
  constructor() {
    super('Cancelled.');
    this.name = 'CancelledByUser';
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

// ---- Usage, args and history (the command line, git) ----

/**
 * A usage or configuration error of the command line: exit 2 with one line that names what is wrong and how to
 * fix it. Thrown before anything is started.
 */
export class UsageError extends OpsError {
  constructor(message: string) {
    super('config', message);
    this.name = 'UsageError';
  }
}

/** Git cannot answer: not a repository, an unknown ref, or a shallow clone without the ref's history. */
export class HistoryError extends OpsError {
  constructor(
    readonly reason: 'notRepository' | 'unknownRef' | 'shallow' | 'git',
    message: string,
  ) {
    super('config', message);
    this.name = 'HistoryError';
  }
}

// ---- Phases of a long operation (core/operations/phases) ----

/** How long a phase of a long operation took. */
export interface PhaseTiming {
  readonly name: string;
  readonly ms: number;
  readonly outcome: 'done' | 'failed';
}

/** An undo that failed itself. */
export interface UndoFailure {
  readonly phase: string;
  readonly error: unknown;
}

/** A phase failed or the operation was cancelled; what ran was undone (see `undoFailures`). */
export class PhasesFailedError extends OpsError {
  constructor(
    /** The phase that failed, or the one that was about to run when the cancel came. */
    readonly phase: string,
    override readonly cause: unknown,
    readonly cancelled: boolean,
    /** Undos that failed themselves (the others still ran). */
    readonly undoFailures: readonly UndoFailure[],
    readonly timings: readonly PhaseTiming[],
    /** False when onFailure asked for no undo. */
    readonly undone: boolean,
  ) {
    super('phase-failed', `${phase}: ${errorText(cause)}`, { cause });
    this.name = 'PhasesFailedError';
  }
}

// ---- A program run in the database container or on this machine ----

const why = (reason: unknown): string => (reason instanceof Error ? ` (${reason.message})` : '');
const where = (w: string | undefined): string => (w ? ` in ${w}` : '');

/** The reader of a program's stdout went away before it ended, so it was ended (a shell's SIGPIPE). */
export class ToolOutputClosedError extends OpsError {
  constructor(
    readonly argv: readonly string[],
    /** Where it ran (a `ToolRuntime`'s description), when known. */
    at?: string,
    reason?: unknown,
  ) {
    super('pipe-broken', `${argv[0] ?? ''}${where(at)} was stopped: the reader of its output went away${why(reason)}`, {
      facts: { tool: argv[0], argv },
    });
    this.name = 'ToolOutputClosedError';
  }
}

/** The stream feeding a program's stdin broke off before its end, so it was ended. */
export class ToolInputBrokenError extends OpsError {
  constructor(
    readonly argv: readonly string[],
    at?: string,
    reason?: unknown,
  ) {
    super('pipe-broken', `${argv[0] ?? ''}${where(at)} was stopped: its input broke off before the end${why(reason)}`, {
      facts: { tool: argv[0], argv },
    });
    this.name = 'ToolInputBrokenError';
  }
}

/** A program exited non-zero: keeps argv (no secrets there by rule), exit code and stderr's tail. */
export class ToolFailedError extends OpsError {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number,
    readonly stderrTail: readonly string[],
    at: string,
  ) {
    super(
      'tool-failed',
      `${argv[0]} exited with code ${exitCode} in ${at}${stderrTail.length ? `: ${stderrTail.slice(-5).join('\n')}` : ''}`,
      { facts: { tool: argv[0], argv, exitCode, stderrTail } },
    );
    this.name = 'ToolFailedError';
  }
}

// ---- The Docker engine and its containers ----

/** A `tsdbOps.docker.*` setting or `DOCKER_HOST` that does not make an engine address. */
export class EngineConfigError extends OpsError {
  constructor(message: string) {
    super('config', message);
    this.name = 'EngineConfigError';
  }
}

export class SshConnectError extends OpsError {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super('engine-unreachable', message);
    this.name = 'SshConnectError';
  }
}

export class HostKeyError extends OpsError {
  constructor(
    message: string,
    readonly verdict: 'unknown' | 'changed' | 'revoked',
    readonly host: string,
    readonly fingerprint: string,
  ) {
    super('host-key', message);
    this.name = 'HostKeyError';
  }
}

/** The engine did not answer in time. */
export class EngineTimeoutError extends OpsError {
  readonly code = 'ETIMEDOUT';
  constructor(what: string, ms: number) {
    super('timeout', `${what} did not answer within ${ms / 1000} s`);
    this.name = 'EngineTimeoutError';
  }
}

export class ServiceNotCreatedError extends OpsError {
  constructor(
    readonly project: string,
    readonly service: string,
  ) {
    super(
      'not-created',
      `The ${service} container of compose project "${project}" does not exist: start the stack first (TimescaleDB Ops: Start Stack).`,
      { action: { title: 'Start Stack', command: 'tsdbOps.stack.up' } },
    );
    this.name = 'ServiceNotCreatedError';
  }
}

// ---- PostgreSQL connections ----

/** Where a connection goes (core/postgres/connection's type; here so the errors module imports no floor above it). */
export interface ConnectionTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  /** Undefined when no source holds one (the UI asks once and keeps it in SecretStorage). */
  readonly password?: string;
  /** Extra libpq parameters from DATABASE_URL (sslmode…). */
  readonly params: Readonly<Record<string, string>>;
  /** Where these settings come from, for messages: "DATABASE_URL (environment)", "infra/.env". */
  readonly source: string;
}

export type ConnectionFailure = 'refused' | 'auth' | 'passwordRequired' | 'noDatabase' | 'unreachable' | 'other';

/** A DATABASE_URL or connection setting that does not make a connection (the message names it and the fix). */
export class ConnectionConfigError extends OpsError {
  constructor(message: string) {
    super('config', message);
    this.name = 'ConnectionConfigError';
  }
}

/** The server refused the connection or cannot be reached: `failure` says which. */
export class ConnectionError extends OpsError {
  constructor(
    readonly failure: ConnectionFailure,
    message: string,
    readonly target: ConnectionTarget,
    override readonly cause?: unknown,
  ) {
    super('database-connection', message, { cause });
    this.name = 'ConnectionError';
  }
}

// ---- Backups, restores and drills ----

/** What the UI offers for a pgBackRest error code. */
export type PgBackRestErrorAction = 'stanzaCreate' | 'anotherBackupRunning' | 'postgresRunning' | 'stopFile';

const ERROR_ACTIONS: Readonly<Record<number, PgBackRestErrorAction>> = {
  55: 'stanzaCreate',
  50: 'anotherBackupRunning',
  38: 'postgresRunning',
  62: 'stopFile',
};

/** pgBackRest failed: its error code, message and hints (`remedy`: what the UI offers for the code). */
export class PgBackRestError extends OpsError {
  readonly remedy: PgBackRestErrorAction | undefined;
  constructor(
    /** pgBackRest's error code (`[055]` → 55), or the exit code when no ERROR line was printed. */
    readonly code: number,
    /** The message without the HINT lines. */
    readonly pgbMessage: string,
    readonly hints: string[],
    /** The pgBackRest command (`backup`, `restore` …). */
    readonly command: string,
    readonly where: string,
  ) {
    super(
      'tool-failed',
      `pgBackRest ${command} failed in ${where}: [${String(code).padStart(3, '0')}] ${pgbMessage}${hints.length ? `\n${hints.join('\n')}` : ''}`,
      { facts: { tool: 'pgbackrest', pgbackrestCode: code, ...(hints.length ? { hint: hints.join(' ') } : {}) } },
    );
    this.name = 'PgBackRestError';
    this.remedy = ERROR_ACTIONS[code];
  }
}

/** A drill that cannot run as asked (no backup, a repository it cannot reach …): nothing was started. */
export class DrillRefusedError extends OpsError {
  constructor(message: string) {
    super('refused', message);
    this.name = 'DrillRefusedError';
  }
}

/** The restore journal could not be written: nothing was changed. */
export class JournalError extends OpsError {
  constructor(message: string) {
    super('restore-failed', message);
    this.name = 'JournalError';
  }
}

/** A point-in-time target that does not parse or lies outside what the backups cover. */
export class TimeTargetError extends OpsError {
  constructor(message: string) {
    super('config', message);
    this.name = 'TimeTargetError';
  }
}

/**
 * A restore or drill of the latest state whose recovery did not reach the newest archived WAL segment, or whose
 * server stopped at a segment that could not be read: the data after `stoppedAt` would be missing (`facts.file`).
 */
export class RecoveryIncompleteError extends OpsError {
  constructor(
    message: string,
    /** The WAL segment recovery stopped at, when known. */
    readonly stoppedAt?: string,
  ) {
    super('tool-failed', message, {
      facts: {
        ...(stoppedAt ? { file: stoppedAt } : {}),
        hint: "Check the repository's WAL files (permissions, a damaged file) and pgBackRest's archive-get log, then restore again.",
      },
    });
    this.name = 'RecoveryIncompleteError';
  }
}

// ---- Migrations (sqlx's errors, with its exact messages; the factories are in migrations.ts) ----

export type MigrateErrorKind =
  | 'VersionMismatch'
  | 'VersionMissing'
  | 'Dirty'
  | 'ExecuteMigration'
  | 'VersionNotPresent'
  | 'VersionTooOld'
  | 'VersionTooNew'
  | 'InvalidFile'
  /** Two files of the folder share a version (sqlx would apply one, then fail on the other). */
  | 'DuplicateVersion';

/** A migration error with sqlx's exact message. */
export class MigrateError extends OpsError {
  constructor(
    /** sqlx's name for it. */
    readonly sqlxKind: MigrateErrorKind,
    message: string,
    readonly version?: bigint,
    /** For ExecuteMigration: where in the file the server reported the error (1-based). */
    readonly position?: { file: string; line: number; column: number },
    override readonly cause?: unknown,
  ) {
    super('migration', message, { cause, facts: position ?? {} });
    this.name = 'MigrateError';
  }
}

export class MigrationFilenameError extends OpsError {
  constructor(readonly fileName: string) {
    super(
      'migration',
      `error parsing migration filename "${fileName}"; expected integer version prefix (e.g. \`01_foo.sql\`)`,
      { facts: { file: fileName } },
    );
    this.name = 'MigrationFilenameError';
  }
}

/** A migration's transaction id cannot be read (the Recovery Timeline's "restore before this migration"). */
export class MigrationXidError extends OpsError {
  constructor(message: string) {
    super('migration', message);
    this.name = 'MigrationXidError';
  }
}
