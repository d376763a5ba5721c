/** Errors of the operation queue, Ofelia schedules, the command line's usage and git history. */
import { OpsError } from './error';

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
