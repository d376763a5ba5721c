/**
 * Errors of connecting to PostgreSQL: a connection setting that does not parse (ConnectionConfigError), a server
 * that refuses (ConnectionError, `failure` says why). Both are branched on, so both are classes in error.ts.
 */
export { ConnectionConfigError, ConnectionError, type ConnectionFailure, type ConnectionTarget } from './error';
