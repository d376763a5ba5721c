/**
 * Errors of the operation queue and its phases, Ofelia schedules, the command line's usage, command args,
 * confirmations and git history.
 */
import { errorText } from '../format';
import { CancelledError, OpsError } from './error';

export class OperationBusyError extends OpsError {
  constructor(
    readonly running: string,
    readonly requested: string,
  ) {
    super(
      'busy',
      `"${running}" is running on this stack; "${requested}" was not started. Wait for it to finish (or cancel it) and try again.`,
    );
    this.name = 'OperationBusyError';
  }
}

export class ScheduleError extends OpsError {
  constructor(
    readonly spec: string,
    reason: string,
  ) {
    super('schedule', `Invalid Ofelia schedule "${spec}": ${reason}`);
    this.name = 'ScheduleError';
  }
}

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

/** Why the Ofelia scheduler cannot be started by Start Scheduler (already running, no service, state unknown …). */
export class SchedulerNotStartableError extends OpsError {
  constructor(
    readonly status: string,
    message: string,
  ) {
    super('config', message);
    this.name = 'SchedulerNotStartableError';
  }
}

/** A command's args that do not fit its declaration (the message names the key, what it accepts and the value). */
export class ArgsError extends OpsError {
  constructor(message: string) {
    super('config', message);
    this.name = 'ArgsError';
  }
}

/** A destructive call without the confirmation its stack asks for (`confirm`: true, or the exact name). */
export class ConfirmationError extends OpsError {
  constructor(message: string) {
    super('refused', message);
    this.name = 'ConfirmationError';
  }
}

/** How long a phase of a long operation took (core/operations/phases). */
export interface PhaseTiming {
  readonly name: string;
  readonly ms: number;
  readonly outcome: 'done' | 'failed';
}

/** An undo that failed itself (core/operations/phases). */
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

/** The user dismissed a prompt or a confirmation: a cancel like any other, nothing is shown. */
export class CancelledByUser extends CancelledError {
  constructor() {
    super('Cancelled.');
    this.name = 'CancelledByUser';
  }
}
