/**
 * Errors of the operation queue, Ofelia schedules, command args and confirmations: `OpsError`s made here, told
 * apart by their kind. The classes code branches on (UsageError, HistoryError, PhasesFailedError,
 * CancelledByUser) are in error.ts.
 */
import { OpsError } from './error';

export {
  CancelledByUser,
  HistoryError,
  PhasesFailedError,
  UsageError,
  type PhaseTiming,
  type UndoFailure,
} from './error';

/** Another operation runs on the stack (kind 'busy'): `requested` was not started. */
export function operationBusy(running: string, requested: string): OpsError {
  return new OpsError(
    'busy',
    `"${running}" is running on this stack; "${requested}" was not started. Wait for it to finish (or cancel it) and try again.`,
  );
}

export function scheduleError(spec: string, reason: string): OpsError {
  return new OpsError('schedule', `Invalid Ofelia schedule "${spec}": ${reason}`);
}

/** Why the Ofelia scheduler cannot be started by Start Scheduler (already running, no service, state unknown …). */
export function schedulerNotStartable(message: string): OpsError {
  return new OpsError('config', message);
}

/** A command's args that do not fit its declaration (the message names the key, what it accepts and the value). */
export function argsError(message: string): OpsError {
  return new OpsError('config', message);
}

/** A destructive call without the confirmation its stack asks for (`confirm`: true, or the exact name). */
export function confirmationError(message: string): OpsError {
  return new OpsError('refused', message);
}
