/** Errors of the Docker engine, its contexts, SSH, Compose and exec in a container. */
import { CancelledError, OpsError } from './error';

/** A Docker context that cannot be read or does not exist. */
export class DockerContextError extends OpsError {
  constructor(message: string) {
    super('config', message);
    this.name = 'DockerContextError';
  }
}

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

export class ServiceNotRunningError extends OpsError {
  constructor(
    readonly service: string,
    readonly state: string,
  ) {
    super(
      'not-running',
      `The ${service} container is ${state}, not running: start it first (TimescaleDB Ops: Start Container).`,
      { action: { title: 'Start Container', command: 'tsdbOps.container.start', args: { service } } },
    );
    this.name = 'ServiceNotRunningError';
  }
}

export class ComposeNotFoundError extends OpsError {
  constructor(detail: string) {
    super(
      'tool-missing',
      `Docker Compose was not found: neither "docker compose" nor "docker-compose" runs here (${detail}). ` +
        `Install the Docker CLI with its compose plugin, or docker-compose.`,
      { facts: { tool: 'docker compose' } },
    );
    this.name = 'ComposeNotFoundError';
  }
}

export class ComposeFailedError extends OpsError {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number,
    readonly tail: readonly string[],
  ) {
    super(
      'tool-failed',
      `${argv.join(' ')} exited with code ${exitCode}${tail.length ? `: ${tail.slice(-3).join(' | ')}` : ''}`,
      { facts: { tool: argv[0], argv, exitCode, stderrTail: tail } },
    );
    this.name = 'ComposeFailedError';
  }
}

/** A cancelled compose command (a `CancelledError` that names what was cancelled). */
export class ComposeCancelledError extends CancelledError {
  constructor(readonly argv: readonly string[]) {
    super(`Cancelled: ${argv.join(' ')}`, { facts: { tool: argv[0], argv } });
    this.name = 'ComposeCancelledError';
  }
}
