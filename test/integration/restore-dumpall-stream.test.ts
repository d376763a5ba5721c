/**
 * A pg_dumpall restore of a large dump (over 50 MB) that fails must end: psql stops on the error with
 * most of the file unread, so the process feeding it (`cat` in the container) has to be ended and the
 * rollback has to run. Before this was fixed the feeder blocked on a full pipe and the databases stayed
 * renamed aside. Every restore here runs under a generous hang guard so a regression fails instead of
 * hanging CI (the guard bounds a hang; it does not measure speed).
 */
import assert from 'node:assert/strict';
import type Dockerode from 'dockerode';
import { connectEngine, resolveEngine } from '../../src/core/docker/engine';
import { ContainerRuntime } from '../../src/core/runtime';
import { restoreDumpAll, type LogicalTarget } from '../../src/core/backups/restore-logical';
import { RestoreError } from '../../src/core/backups/restore-run';
import { debootstrapAvailable, debootstrapInstallHint } from '../support/image';
import { dockerAvailable, dockerInstallHint } from '../support/docker';
import { requirePart } from '../support/requirements';
import { composeAvailable, composeInstallHint, startStack, type Stack } from '../support/stack';
import { recordingContext } from '../support/restore-context';

const MB = '/var/lib/pgbackrest/manual_backup';
const DUMP = `${MB}/big_pg_dumpall.sql`;
/** A hang guard, not a timing assertion: a healthy run needs a fraction of it. */
const HANG_GUARD_MS = 240_000;

async function withinGuard<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not finish within ${HANG_GUARD_MS / 1000} s: the pipeline hangs`)),
      HANG_GUARD_MS,
    );
  });
  try {
    return await Promise.race([p, guard]);
  } finally {
    clearTimeout(timer);
  }
}

describe('restore: a failing pg_dumpall of more than 50 MB ends and rolls back', function () {
  this.timeout(900_000);
  let stack: Stack | undefined;
  let client: Dockerode;
  let target: LogicalTarget;
  const { lines, ctx } = recordingContext();
  const sql = <T = Record<string, unknown>>(q: string, database?: string) => stack!.sql<T>(q, { database });
  const user = () => stack!.env.POSTGRES_USER!;
  const names = async () =>
    (await sql<{ datname: string }>('SELECT datname FROM pg_database ORDER BY datname')).map((r) => r.datname);

  before(async function () {
    requirePart(this, dockerAvailable(), 'docker', dockerInstallHint);
    requirePart(this, composeAvailable(), 'docker compose', composeInstallHint);
    requirePart(this, debootstrapAvailable(), 'debootstrap', debootstrapInstallHint);
    stack = await startStack();
    client = await connectEngine(resolveEngine(undefined, { DOCKER_HOST: stack.docker.host }));
    target = {
      rt: new ContainerRuntime(client, await stack.containerId('timescaledb'), 'container timescaledb'),
      conn: { user: user(), password: stack.env.POSTGRES_PASSWORD, database: stack.env.POSTGRES_DB },
    };
    // bulk_src sorts before connect_db, so pg_dumpall writes its big COPY first.
    await sql('CREATE DATABASE bulk_src');
    await sql(
      'CREATE TABLE bulk AS SELECT g AS id, repeat(md5(g::text), 3) AS payload FROM generate_series(1, 600000) g',
      'bulk_src',
    );
    await sql('CREATE TABLE marker (v int)');
    await sql('INSERT INTO marker VALUES (1)');
    await stack.exec('timescaledb', ['pg_dumpall', '-U', user(), '-f', DUMP]);
    // Rows written after the dump tell the original databases from the dump's copies.
    await sql('INSERT INTO marker VALUES (2)');
    await sql('INSERT INTO bulk VALUES (0, $$original$$)', 'bulk_src');
    const size = Number((await stack.exec('timescaledb', ['stat', '-c', '%s', DUMP])).stdout.trim());
    assert.ok(size >= 50 * 1024 * 1024, `the dump has ${size} bytes, at least 50 MB wanted`);
  });

  after(async () => {
    await stack?.stop();
  });

  /** `running` matches the file in a process's argv but not itself (a bracket), e.g. `fails_earl[y]`. */
  const expectRolledBack = async (file: string, running: string) => {
    const from = lines.length;
    const e = await withinGuard(
      'restoreDumpAll',
      restoreDumpAll(target, { file }, ctx()).then(
        () => undefined,
        (x: unknown) => x,
      ),
    );
    assert.ok(e instanceof RestoreError, `a RestoreError, got ${String(e)}`);
    assert.ok(e.rolledBack, e.message);
    assert.match(e.message, /psql exited with code 3/);
    assert.match(e.message, /the databases are as before/);
    assert.ok(!(await names()).some((n) => n.includes('_pre_restore_')), `no database left aside: ${await names()}`);
    assert.deepEqual(
      (await sql<{ v: number }>('SELECT v FROM marker ORDER BY v')).map((r) => r.v),
      [1, 2],
      'connect_db is the original again',
    );
    assert.equal(
      (await sql<{ n: string }>('SELECT count(*) AS n FROM bulk WHERE payload = $$original$$', 'bulk_src'))[0]!.n,
      '1',
      'bulk_src is the original again',
    );
    // Nothing keeps feeding the dump: no cat of it is left running in the container.
    const ps = await stack!.exec('timescaledb', ['sh', '-c', 'grep -l -e "$0" /proc/[0-9]*/cmdline || true', running]);
    assert.deepEqual(ps.stdout.split('\n').filter(Boolean), [], 'no process still reads the dump');
    return lines.slice(from);
  };

  it('the failing statement comes early (most of the file unread): the feeder is ended, the names are restored', async () => {
    const bad = `${MB}/big_fails_early.sql`;
    await stack!.exec('timescaledb', [
      'sh',
      '-c',
      // A statement error (an unbalanced parenthesis would make psql read on to the end of the COPY).
      'sed "/^CREATE TABLE public.bulk (/i SELECT tsdbops_fails_early();" "$0" > "$1"',
      DUMP,
      bad,
    ]);
    const log = await expectRolledBack(bad, 'big_fails_earl[y]');
    assert.ok(
      log.some((l) => /ERROR: .*tsdbops_fails_early/.test(l)),
      'psql reported the error',
    );
  });

  it('the failing statement comes last (the whole file read): the dump’s databases are dropped, the names restored', async () => {
    const bad = `${MB}/big_fails_last.sql`;
    await stack!.exec('timescaledb', [
      'sh',
      '-c',
      'sed "/^-- PostgreSQL database cluster dump complete/i SELECT tsdbops_no_such_function();" "$0" > "$1"',
      DUMP,
      bad,
    ]);
    const log = await expectRolledBack(bad, 'big_fails_las[t]');
    assert.ok(
      log.some((l) => /ERROR: .*tsdbops_no_such_function/.test(l)),
      'psql reported the error',
    );
  });
});
