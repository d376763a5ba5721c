/**
 * Errors of the Docker engine, its contexts, SSH and Compose. The classes code branches on (EngineConfigError,
 * SshConnectError, HostKeyError, EngineTimeoutError, ServiceNotCreatedError) are in error.ts; the rest are
 * `OpsError`s made here, told apart by their kind.
 */
import { OpsError } from './error';

export { EngineConfigError, EngineTimeoutError, HostKeyError, ServiceNotCreatedError, SshConnectError } from './error';

/** A Docker context that cannot be read or does not exist. */
export function dockerContextError(message: string): OpsError {
  return new OpsError('config', message);
}

export function serviceNotRunning(service: string, state: string): OpsError {
  return new OpsError(
    'not-running',
    `The ${service} container is ${state}, not running: start it first (TimescaleDB Ops: Start Container).`,
    { action: { title: 'Start Container', command: 'tsdbOps.container.start', args: { service } } },
  );
}

export function composeNotFound(detail: string): OpsError {
  return new OpsError(
    'tool-missing',
    `Docker Compose was not found: neither "docker compose" nor "docker-compose" runs here (${detail}). ` +
      `Install the Docker CLI with its compose plugin, or docker-compose.`,
    { facts: { tool: 'docker compose' } },
  );
}

export function composeFailed(argv: readonly string[], exitCode: number, tail: readonly string[]): OpsError {
  return new OpsError(
    'tool-failed',
    `${argv.join(' ')} exited with code ${exitCode}${tail.length ? `: ${tail.slice(-3).join(' | ')}` : ''}`,
    { facts: { tool: argv[0], argv, exitCode, stderrTail: tail } },
  );
}
