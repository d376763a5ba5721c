/** Errors of a program run in the database container (docker exec) or through a `ToolRuntime`. */
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

/** A tool run through a `ToolRuntime` (container or this machine) was cancelled. */
export class ToolCancelledError extends CancelledError {
  constructor(readonly argv: readonly string[]) {
    super(`Cancelled: ${argv.join(' ')}`, { facts: { tool: argv[0], argv } });
    this.name = 'ToolCancelledError';
  }
}

/** The reader of the tool's stdout went away before the tool ended, so the tool was ended (a shell's SIGPIPE). */
export class ToolOutputClosedError extends OpsError {
  constructor(
    readonly argv: readonly string[],
    where: string,
  ) {
    super('pipe-broken', `${argv[0]} in ${where} was stopped: the reader of its output went away`, {
      facts: { tool: argv[0], argv },
    });
    this.name = 'ToolOutputClosedError';
  }
}

/** The stream feeding the tool's stdin broke off before its end, so the tool was ended. */
export class ToolInputBrokenError extends OpsError {
  constructor(
    readonly argv: readonly string[],
    where: string,
  ) {
    super('pipe-broken', `${argv[0]} in ${where} was stopped: its input broke off before the end`, {
      facts: { tool: argv[0], argv },
    });
    this.name = 'ToolInputBrokenError';
  }
}

/** A tool exited non-zero: keeps argv (no secrets there by rule), exit code and stderr's tail. */
export class ToolFailedError extends OpsError {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number,
    readonly stderrTail: readonly string[],
    where: string,
  ) {
    super(
      'tool-failed',
      `${argv[0]} exited with code ${exitCode} in ${where}${stderrTail.length ? `: ${stderrTail.slice(-5).join('\n')}` : ''}`,
      { facts: { tool: argv[0], argv, exitCode, stderrTail } },
    );
    this.name = 'ToolFailedError';
  }
}
