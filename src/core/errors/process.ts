/** Errors of a program run in the database container (docker exec). */
import { CancelledError, OpsError } from './error';

export class ExecCancelledError extends CancelledError {
  constructor(readonly argv: readonly string[]) {
    super(`Cancelled: ${argv[0] ?? ''}`, { facts: { tool: argv[0], argv } });
    this.name = 'ExecCancelledError';
  }
}

const why = (reason: unknown): string => (reason instanceof Error ? ` (${reason.message})` : '');

/** The reader of the process's stdout went away before the process ended; the process was ended. */
export class ExecOutputClosedError extends OpsError {
  constructor(
    readonly argv: readonly string[],
    reason?: unknown,
  ) {
    super('pipe-broken', `${argv[0] ?? ''} was stopped: the reader of its output went away${why(reason)}`, {
      facts: { tool: argv[0], argv },
    });
    this.name = 'ExecOutputClosedError';
  }
}

/** The stream feeding the process's stdin broke before its end; the process was ended. */
export class ExecInputBrokenError extends OpsError {
  constructor(
    readonly argv: readonly string[],
    reason?: unknown,
  ) {
    super('pipe-broken', `${argv[0] ?? ''} was stopped: its input broke off before the end${why(reason)}`, {
      facts: { tool: argv[0], argv },
    });
    this.name = 'ExecInputBrokenError';
  }
}

/** The connection to the engine dropped while a tool ran in the container (its output stream ended early). */
export class ExecConnectionLostError extends OpsError {
  constructor(
    readonly argv: readonly string[],
    detail: string,
  ) {
    super(
      'connection-lost',
      `The connection to the Docker engine was lost while "${argv[0] ?? ''}" ran in the container (${detail}). ` +
        `Its result is unknown: check the state once the engine is reachable again.`,
      { facts: { tool: argv[0], argv } },
    );
    this.name = 'ExecConnectionLostError';
  }
}
