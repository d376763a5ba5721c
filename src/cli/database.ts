/**
 * The database a command may read, the way libpq tools find it: `--database-url-env NAME` (a URL in that
 * environment variable), else the `PG*` variables when PGHOST or PGDATABASE is set. Never a password in argv.
 */
import { userInfo } from 'node:os';
import { ConnectionConfigError, parseDatabaseUrl, type ConnectionTarget } from '../core/postgres/connection';
import { UsageError } from './io';

/** The configured database, or undefined when none is configured. */
export function databaseFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  urlEnvName: string | undefined,
): ConnectionTarget | undefined {
  if (urlEnvName !== undefined) {
    const url = env[urlEnvName];
    if (!url)
      throw new UsageError(
        `--database-url-env ${urlEnvName}: the environment variable ${urlEnvName} is not set; export it as postgres://user@host:5432/database (password there or in PGPASSWORD), or drop the flag.`,
      );
    try {
      const t = parseDatabaseUrl(url, `$${urlEnvName}`);
      return { ...t, password: t.password ?? env['PGPASSWORD'] };
    } catch (e) {
      if (e instanceof ConnectionConfigError) throw new UsageError(`--database-url-env ${urlEnvName}: ${e.message}`);
      throw e;
    }
  }
  if (!env['PGHOST'] && !env['PGDATABASE']) return undefined;
  const user = env['PGUSER'] || userInfo().username;
  const port = Number(env['PGPORT'] || 5432);
  if (!Number.isInteger(port) || port <= 0 || port > 65535)
    throw new UsageError(`PGPORT=${JSON.stringify(env['PGPORT'])} is not a port number; set it to e.g. 5432.`);
  return {
    host: env['PGHOST'] || 'localhost',
    port,
    user,
    database: env['PGDATABASE'] || user,
    password: env['PGPASSWORD'],
    params: env['PGSSLMODE'] ? { sslmode: env['PGSSLMODE'] } : {},
    source: 'the PG* environment variables',
  };
}
