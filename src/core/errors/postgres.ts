/** Errors of connecting to PostgreSQL: a connection setting that does not parse, a server that refuses. */
import { OpsError } from './error';

/** Where a connection goes (core/postgres/connection's type; here so the errors module imports no floor above it). */
export interface ConnectionTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  /** Undefined when no source holds one (the UI asks once and keeps it in SecretStorage). */
  readonly password?: string;
  /** Extra libpq parameters from DATABASE_URL (sslmode…). */
  readonly params: Readonly<Record<string, string>>;
  /** Where these settings come from, for messages: "DATABASE_URL (environment)", "infra/.env". */
  readonly source: string;
}

/** A DATABASE_URL or connection setting that does not make a connection (the message names it and the fix). */
export class ConnectionConfigError extends OpsError {
  constructor(message: string) {
    super('config', message);
    this.name = 'ConnectionConfigError';
  }
}

export type ConnectionFailure = 'refused' | 'auth' | 'passwordRequired' | 'noDatabase' | 'unreachable' | 'other';

/** The server refused the connection or cannot be reached: `failure` says which. */
export class ConnectionError extends OpsError {
  constructor(
    readonly failure: ConnectionFailure,
    message: string,
    readonly target: ConnectionTarget,
    override readonly cause?: unknown,
  ) {
    super('database-connection', message, { cause });
    this.name = 'ConnectionError';
  }
}
