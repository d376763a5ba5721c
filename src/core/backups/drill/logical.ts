/** A pg_dump / pg_dumpall drill: the dump loaded into a new cluster in the scratch container. */
import { posix } from 'node:path';
import type { ToolRuntime } from '../../runtime';
import { connEnv, psqlArgv, runLogged, type RestoreContext, type ServerConnection } from '../restore/run';
import type { DrillSource, DrillTarget } from './types';

/**
 * pg_dump / pg_dumpall into a new cluster: initdb (the live superuser's name, trust on the scratch
 * socket only: the container has no network), start, then pg_restore (TimescaleDB-aware: pre/post_restore
 * when the dump has the extension; never -j) or psql. Returns true, or the error text.
 */
export async function loadLogical(
  t: DrillTarget,
  rt: ToolRuntime,
  src: Extract<DrillSource, { kind: 'dump' | 'dumpAll' }>,
  dataDir: string,
  startArgv: string[],
  conn: ServerConnection,
  ctx: RestoreContext,
): Promise<true | string> {
  const tail = (r: { stdoutLines: string[]; stderrTail: string[] }) => [...r.stderrTail].slice(-5).join(' ');
  const init = await runLogged(rt, ctx, ['initdb', '-D', dataDir, '-U', conn.user, '--auth=trust'], {
    quietStdout: true,
  });
  if (init.exitCode !== 0) return `initdb failed: ${tail(init)}`;
  const start = await runLogged(rt, ctx, startArgv);
  if (start.exitCode !== 0) return `PostgreSQL did not start: ${tail(start)}`;
  const env = connEnv(conn);
  const base = ['-h', conn.host!, '-p', String(conn.port ?? 5432), '-U', conn.user];
  if (src.kind === 'dumpAll') {
    // The dump recreates the roles too: "already exists" for the superuser initdb made is expected.
    const r = await runLogged(rt, ctx, ['psql', '-X', '-q', ...base, '-d', 'postgres', '-f', src.file], {
      env,
      quietStdout: true,
    });
    const errors = [...r.stdoutLines, ...r.stderrTail].filter(
      (l) => /ERROR:/.test(l) && !/role ".*" already exists/.test(l),
    );
    if (r.exitCode !== 0 || errors.length)
      return `psql -f ${src.file} failed: ${errors.slice(0, 3).join(' ') || tail(r)}`;
    return true;
  }
  const db = src.database ?? /^(.+)_pg_dump_/.exec(posix.basename(src.file))?.[1] ?? t.conn.database ?? 'postgres';
  if (db !== 'postgres') {
    const c = await runLogged(rt, ctx, ['createdb', ...base, '--', db], { env });
    if (c.exitCode !== 0) return `createdb ${db} failed: ${tail(c)}`;
  }
  const list = await runLogged(rt, ctx, ['pg_restore', '-l', src.file], { quietStdout: true });
  if (list.exitCode !== 0) return `pg_restore cannot read ${src.file}: ${tail(list)}`;
  const tsdb = list.stdoutLines.some((l) => / EXTENSION - timescaledb$/.test(l));
  const sql = (q: string) => runLogged(rt, ctx, [...psqlArgv(conn, db), '-c', q], { env });
  if (tsdb) {
    const pre = await sql('CREATE EXTENSION IF NOT EXISTS timescaledb; SELECT timescaledb_pre_restore();');
    if (pre.exitCode !== 0) return `timescaledb_pre_restore failed: ${tail(pre)}`;
  }
  const r = await runLogged(rt, ctx, ['pg_restore', ...base, '-d', db, '--exit-on-error', '--no-owner', src.file], {
    env,
    signal: ctx.signal,
  });
  if (r.exitCode !== 0) return `pg_restore of ${src.file} into ${db} failed (exit ${r.exitCode}): ${tail(r)}`;
  if (tsdb) {
    const post = await sql('SELECT timescaledb_post_restore();');
    if (post.exitCode !== 0) return `timescaledb_post_restore failed: ${tail(post)}`;
  }
  return true;
}
