/** Errors of backups, restores and drills: pgBackRest's own, a backup that fails its check, a restore and its args. */
import { CancelledError, OpsError } from './error';

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

/** A restore that failed; says whether the previous state was put back. */
export class RestoreError extends OpsError {
  constructor(
    message: string,
    readonly rolledBack: boolean,
    override readonly cause?: unknown,
    /** Where the untouched previous data is when it could not be put back. */
    readonly preRestoreCopy?: string,
  ) {
    super('restore-failed', message, { cause, facts: preRestoreCopy ? { file: preRestoreCopy } : {} });
    this.name = 'RestoreError';
  }
}

/** A restore that was cancelled and rolled back: the previous state is back (a cancel, not a failure). */
export class RestoreCancelledError extends CancelledError {
  readonly rolledBack = true;
  constructor(message: string) {
    super(message);
    this.name = 'RestoreCancelledError';
  }
}

/** The backup failed its check before anything was touched. */
export class BackupVerifyError extends OpsError {
  constructor(message: string) {
    super('backup-invalid', message);
    this.name = 'BackupVerifyError';
  }
}

/** The restore journal could not be written: nothing was changed. */
export class JournalError extends OpsError {
  constructor(message: string) {
    super('restore-failed', message);
    this.name = 'JournalError';
  }
}

/** A restore command's args that do not make a restore (the message names the key and the fix). */
export class RestoreArgsError extends OpsError {
  constructor(message: string) {
    super('config', message);
    this.name = 'RestoreArgsError';
  }
}

/** A point-in-time target that does not parse or lies outside what the backups cover. */
export class TimeTargetError extends OpsError {
  constructor(message: string) {
    super('config', message);
    this.name = 'TimeTargetError';
  }
}

/** The pgBackRest config file in effect does not exist or cannot be read by the tools' user. */
export class PgBackRestConfigError extends OpsError {
  constructor(
    readonly file: string,
    readonly from: string,
    readonly reason: 'missing' | 'unreadable',
    message: string,
  ) {
    super('config', message, { facts: { file } });
    this.name = 'PgBackRestConfigError';
  }
}

/** An interrupted-looking restore journal whose restore still runs in another window (its process is alive). */
export class RestoreInProgressError extends OpsError {
  constructor(message: string) {
    super('busy', message);
    this.name = 'RestoreInProgressError';
  }
}
