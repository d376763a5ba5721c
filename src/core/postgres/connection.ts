/**
 * Where the database is: `DATABASE_URL` (sqlx's convention: the environment, then a `.env` in the
 * workspace folder), else the infra `.env` (POSTGRES_USER/PASSWORD/DB) and the port the database
 * service publishes. Connection failures become errors that say what to do.
 */
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import type { Client } from 'pg';
import { sourced, type Sourced, type StackConfig } from '../infra';
import { isPgPasswordMissing, isPgTimeout } from '../errors/third-party';
import {
  ConnectionConfigError,
  ConnectionError,
  type ConnectionFailure,
  type ConnectionTarget,
} from '../errors/postgres';

export type { ConnectionTarget };

/** `postgres://user@host:port/db` without the password, for display. */
export function describeTarget(t: ConnectionTarget): string {
  return `postgres://${encodeURIComponent(t.user)}@${t.host}:${t.port}/${encodeURIComponent(t.database)}`;
}

/** The same URL with the password, for a child's environment only (DATABASE_URL for `cargo run`). */
export function databaseUrl(t: ConnectionTarget, password = t.password): string {
  const auth = `${encodeURIComponent(t.user)}${password ? `:${encodeURIComponent(password)}` : ''}`;
  const q = new URLSearchParams(t.params).toString();
  return `postgres://${auth}@${t.host}:${t.port}/${encodeURIComponent(t.database)}${q ? `?${q}` : ''}`;
}

export function parseDatabaseUrl(url: string, source: string): ConnectionTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConnectionConfigError(`${source} is not a URL: write it as postgres://user:password@host:5432/database.`);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new ConnectionConfigError(
      `${source} uses "${u.protocol}", not postgres:// — this extension manages PostgreSQL.`,
    );
  }
  const params = Object.fromEntries(u.searchParams.entries());
  return {
    host: decodeURIComponent(u.hostname) || params['host'] || 'localhost',
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username) || params['user'] || 'postgres',
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username) || 'postgres',
    password: u.password ? decodeURIComponent(u.password) : undefined,
    params: Object.fromEntries(Object.entries(params).filter(([k]) => !['host', 'user'].includes(k))),
    source,
  };
}

/** Who connects, to which database, with which password: the one rule (docs/architecture.md, "The stack context"). */
export interface StackCredentials {
  readonly user: Sourced<string>;
  readonly database: Sourced<string>;
  /** The value is a secret: show only `from`. */
  readonly password: Sourced<string | undefined>;
}

/**
 * The database service's `environment` (what its container is given) first, then the infra `.env` (what
 * the guide's compose interpolates), then PostgreSQL's defaults: user `postgres`, database = the user.
 */
export function stackCredentials(
  stack: Pick<StackConfig, 'dbService' | 'env' | 'envFile' | 'composeFile'>,
): StackCredentials {
  const svc = stack.dbService;
  const pick = (key: string, fromEnvFile: string | undefined) => {
    const inService = svc?.environment[key];
    if (inService !== undefined && inService !== '')
      return sourced(inService, 'compose', `${key} of service ${svc!.name} in ${stack.composeFile}`);
    if (fromEnvFile !== undefined && fromEnvFile !== '')
      return sourced(fromEnvFile, 'env-file', `${key} in ${stack.envFile}`);
    return undefined;
  };
  const user =
    pick('POSTGRES_USER', stack.env.user) ?? sourced('postgres', 'default', 'default (PostgreSQL: postgres)');
  const database =
    pick('POSTGRES_DB', stack.env.database) ??
    sourced(user.value, 'default', `default (PostgreSQL: the user's name, from ${user.from})`);
  const password = pick('POSTGRES_PASSWORD', stack.env.password) ?? sourced(undefined, 'default', 'none set');
  return { user, database, password };
}

/** Resolves the connection for a stack. `environment` is the process environment (DATABASE_URL there wins). */
export async function resolveConnection(
  stack: StackConfig,
  environment: Readonly<Record<string, string | undefined>>,
): Promise<ConnectionTarget> {
  const fromEnv = environment['DATABASE_URL'];
  if (fromEnv) return parseDatabaseUrl(fromEnv, 'DATABASE_URL (environment)');
  const wsEnvFile = join(stack.workspaceFolder, '.env');
  const wsEnv = await readFile(wsEnvFile, 'utf8').then(parseDotenv, () => ({}) as Record<string, string>);
  if (wsEnv['DATABASE_URL']) return parseDatabaseUrl(wsEnv['DATABASE_URL'], `DATABASE_URL in ${wsEnvFile}`);

  const envRel = relative(stack.workspaceFolder, stack.envFile) || '.env';
  const svc = stack.dbService;
  if (!svc)
    throw new ConnectionConfigError(`No database service in ${stack.composeFile}: set DATABASE_URL in ${wsEnvFile}.`);
  const mapping = svc.ports.find((p) => p.target === 5432 && p.published);
  if (!mapping?.published) {
    throw new ConnectionConfigError(
      `The ${svc.name} service publishes no port for 5432, so the database cannot be reached from VS Code: ` +
        `add ports: ["127.0.0.1:5432:5432"] to it, or set DATABASE_URL in ${wsEnvFile}.`,
    );
  }
  const host =
    !mapping.hostIp || mapping.hostIp === '0.0.0.0' || mapping.hostIp === '::' ? '127.0.0.1' : mapping.hostIp;
  const cred = stackCredentials(stack);
  return {
    host,
    port: mapping.published,
    user: cred.user.value,
    database: cred.database.value,
    password: cred.password.value,
    params: {},
    source: envRel,
  };
}

export { ConnectionConfigError, ConnectionError, type ConnectionFailure };

function explain(e: unknown, t: ConnectionTarget): ConnectionError {
  const err = e as { code?: string; message?: string };
  const where = `${t.host}:${t.port}`;
  const msg = err.message ?? String(e);
  if (err.code === 'ECONNREFUSED') {
    return new ConnectionError(
      'refused',
      `Connection refused at ${where} (from ${t.source}): is the database container running? Start the stack, or check the published port.`,
      t,
      e,
    );
  }
  if (err.code === '28P01' || err.code === '28000') {
    return new ConnectionError(
      'auth',
      `Login failed for user "${t.user}" at ${where}: ${msg}. Check the password in ${t.source}.`,
      t,
      e,
    );
  }
  if (isPgPasswordMissing(e) && !t.password) {
    return new ConnectionError(
      'passwordRequired',
      `The server at ${where} asks a password for user "${t.user}", and ${t.source} holds none.`,
      t,
      e,
    );
  }
  if (err.code === '3D000') {
    return new ConnectionError(
      'noDatabase',
      `Database "${t.database}" does not exist at ${where}. Create it, or correct the name in ${t.source}.`,
      t,
      e,
    );
  }
  if (err.code === 'ENOTFOUND' || err.code === 'EHOSTUNREACH' || err.code === 'ETIMEDOUT' || isPgTimeout(e)) {
    return new ConnectionError('unreachable', `Cannot reach ${where} (from ${t.source}): ${msg}.`, t, e);
  }
  return new ConnectionError('other', `Cannot connect to ${describeTarget(t)}: ${msg}`, t, e);
}

/** Opens a connection (pg is loaded on first use). The password travels in memory only, never in argv or logs. */
export async function connect(
  t: ConnectionTarget,
  opts: { password?: string; database?: string } = {},
): Promise<Client> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({
    host: t.host,
    port: t.port,
    user: t.user,
    database: opts.database ?? t.database,
    password: opts.password ?? t.password,
    ssl:
      t.params['sslmode'] && t.params['sslmode'] !== 'disable'
        ? { rejectUnauthorized: t.params['sslmode'] === 'verify-full' }
        : undefined,
    connectionTimeoutMillis: 5000,
    application_name: 'tsdb-ops',
  });
  client.on('error', () => undefined); // a dropped connection surfaces on the next query
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => undefined);
    throw explain(e, { ...t, password: opts.password ?? t.password, database: opts.database ?? t.database });
  }
  return client;
}

/** CREATE DATABASE for the "missing database" action, connected to the `postgres` database. */
export async function createDatabase(t: ConnectionTarget, password?: string): Promise<void> {
  const client = await connect(t, { password, database: 'postgres' });
  try {
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(t.database)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}
