/**
 * A pgBackRest backup during which PostgreSQL stopped (killed, crashed, shut down) says so, and what to do,
 * instead of pgBackRest's own words for a connection that vanished mid-query (`[101] NULL result required
 * to complete request`, `[057] unable to …`), which name neither the cause nor the fix. PostgreSQL counts as
 * stopped when pgBackRest's error is about its database connection and `pg_isready` in the database
 * container does not get an answer now (a container runtime only: on this machine the server's socket is
 * not known here, and the error stays pgBackRest's).
 */
import { OpsError } from '../errors/error';
import { PgBackRestError } from '../errors/backups';
import type { ToolRuntime } from '../runtime';

/** pgBackRest's codes and words for a database connection that failed or vanished. */
const DB_TROUBLE = /NULL result|server closed|terminat|connection|connect to|unable to (?:query|connect)|socket/i;
const DB_CODES = new Set([56, 57, 101]);

async function answers(runtime: ToolRuntime): Promise<boolean | undefined> {
  try {
    const r = await runtime.run(['pg_isready', '-q']);
    if (r.exitCode === 0 || r.exitCode === 1) return true; // 1: answering, rejecting connections (starting up)
    return r.exitCode === 2 || r.exitCode === 3 ? false : undefined; // 127: no pg_isready there
  } catch {
    return false; // the container itself is gone with its server
  }
}

/** Returns a "PostgreSQL stopped during the backup" error for `e` when that is what happened (else `e` unchanged). */
export async function postgresStoppedOr(runtime: ToolRuntime, e: unknown, what: string): Promise<unknown> {
  if (!(e instanceof PgBackRestError) || runtime.kind !== 'container') return e;
  if (!DB_CODES.has(e.code) && !DB_TROUBLE.test(e.pgbMessage)) return e;
  if ((await answers(runtime)) !== false) return e;
  return new OpsError(
    'tool-failed',
    `PostgreSQL stopped during the ${what} (it does not answer in ${runtime.description} now). No backup was added: ` +
      'pgBackRest lists a backup only once it is complete, and the next backup resumes or removes the unfinished set. ' +
      'Start PostgreSQL again (the Containers view’s Restart of the database service), look at its log for why it ' +
      'stopped, then back up again. ' +
      `(pgBackRest said: [${String(e.code).padStart(3, '0')}] ${e.pgbMessage.split('\n')[0]})`,
    {
      facts: {
        tool: 'pgbackrest',
        pgbackrestCode: e.code,
        hint: 'Start PostgreSQL again, then back up again.',
      },
      cause: e,
    },
  );
}
