/** Errors of a restore's recovery (physical/recovery.ts). */
import { OpsError } from './error';

/**
 * A restore or drill of the latest state whose recovery did not reach the newest archived WAL segment, or whose
 * server stopped at a segment that could not be read: the data after `stoppedAt` would be missing. Kind
 * 'tool-failed' (the repository read failed); the segment is `facts.file`.
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
