/** Errors of the operation queue and Ofelia schedules. */
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
