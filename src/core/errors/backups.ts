/**
 * Errors of backups, restores and drills. The classes code branches on (PgBackRestError, DrillRefusedError,
 * JournalError, TimeTargetError, RecoveryIncompleteError) are in error.ts; the rest are `OpsError`s made here,
 * told apart by their kind.
 */
import { CancelledError, OpsError } from './error';

export {
  DrillRefusedError,
  JournalError,
  PgBackRestError,
  RecoveryIncompleteError,
  TimeTargetError,
  type PgBackRestErrorAction,
} from './error';

/**
 * A restore that failed (kind 'restore-failed'); `facts.rolledBack` says whether the previous state was put back,
 * `facts.file` where the untouched previous data is when it could not be.
 */
export function restoreFailed(
  message: string,
  rolledBack: boolean,
  cause?: unknown,
  preRestoreCopy?: string,
): OpsError {
  return new OpsError('restore-failed', message, {
    cause,
    facts: { rolledBack, ...(preRestoreCopy ? { file: preRestoreCopy } : {}) },
  });
}

/** A restore that was cancelled and rolled back: the previous state is back (a cancel, not a failure). */
export function restoreCancelled(message: string): CancelledError {
  return new CancelledError(message, { facts: { rolledBack: true } });
}

/** The backup failed its check before anything was touched (kind 'backup-invalid'). */
export function backupInvalid(message: string): OpsError {
  return new OpsError('backup-invalid', message);
}

/** A restore command's args that do not make a restore (the message names the key and the fix). */
export function restoreArgsError(message: string): OpsError {
  return new OpsError('config', message);
}

/** The pgBackRest config file in effect (`facts.file`) does not exist or cannot be read by the tools' user. */
export function pgBackRestConfigError(file: string, message: string): OpsError {
  return new OpsError('config', message, { facts: { file } });
}

/** An interrupted-looking restore journal whose restore still runs in another window (its process is alive). */
export function restoreInProgress(message: string): OpsError {
  return new OpsError('busy', message);
}
