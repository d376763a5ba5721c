/**
 * A pg_dumpall restore of a large dump (over 50 MB) that fails must end: psql stops on the error with
 * most of the file unread, so the process feeding it (`cat` in the container) has to be ended and the
 * rollback has to run. Before this was fixed the feeder blocked on a full pipe and the databases stayed
 * renamed aside. Every restore here runs under a generous hang guard so a regression fails instead of
 * hanging CI (the guard bounds a hang; it does not measure speed).
 */
import { isKind } from '../../src/core/errors/error';
import assert from 'node:assert/strict';
import type Dockerode from 'dockerode';
import { connectEngine, resolveEngine } from '../../src/core/docker/engine-address';
import { ContainerRuntime } from '../../src/core/runtime';
import { restoreDump, restoreDumpAll, type LogicalTarget } from '../../src/core/backups/restore/logical';
import { pgbackrestEnvironmentWarnings, readPgbackrestEnvironment } from '../../src/core/backups/pgbackrest-env';
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

  it('reads the container’s pgBackRest environment: PGBACKREST_* (the fixture overrides the stanza), config in effect, version', async () => {
    const env = await readPgbackrestEnvironment(target.rt);
    assert.equal(env.variables.PGBACKREST_CONFIG, '/home/postgres/pgdata/backup/pgbackrest.conf');
    assert.equal(env.stanza, 'db', 'the compose file sets PGBACKREST_STANZA: db over the image’s poddb');
    assert.equal(env.configExists, true);
    assert.equal(env.configResolved, '/home/postgres/pgdata/backup/pgbackrest.conf');
    assert.match(env.version ?? '', /^2\.\d+/);
    assert.deepEqual(pgbackrestEnvironmentWarnings(env, []), []);
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
    assert.ok(isKind(e, 'restore-failed'), `a failed restore, got ${String(e)}`);
    assert.ok(e.facts.rolledBack, e.message);
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

  describe('TimescaleDB databases (a stand-in extension named timescaledb: TimescaleDB is not in Debian)', () => {
    const EXT = '/usr/share/postgresql/15/extension';
    const ALL = `${MB}/tsdb_pg_dumpall.sql`;
    // The stand-in announces each call with the database it runs in; the real functions toggle
    // timescaledb.restoring and stop/start the database's background workers.
    // WARNING, not NOTICE: a pg_dumpall script sets client_min_messages = warning in every database section.
    const announce = (what: string) =>
      `BEGIN RAISE WARNING 'stand-in: ${what} in %', current_database(); RETURN true; END`;
    const script = [
      `CREATE FUNCTION timescaledb_pre_restore() RETURNS bool LANGUAGE plpgsql AS $$ ${announce('timescaledb_pre_restore')} $$;`,
      `CREATE FUNCTION timescaledb_post_restore() RETURNS bool LANGUAGE plpgsql AS $$ ${announce('timescaledb_post_restore')} $$;`,
      'CREATE SCHEMA _timescaledb_internal;',
      'CREATE FUNCTION _timescaledb_internal.restart_background_workers() RETURNS bool LANGUAGE plpgsql AS ' +
        `$$ ${announce('restart_background_workers')} $$;`,
    ].join('\n');
    const install = async () => {
      await stack!.exec('timescaledb', ['sh', '-c', 'cat > "$0"', `${EXT}/timescaledb.control`], {
        user: 'root',
        input: "default_version = '2.10.3'\ncomment = 'test stand-in'\nrelocatable = false\nsuperuser = true\n",
      });
      await stack!.exec('timescaledb', ['sh', '-c', 'cat > "$0"', `${EXT}/timescaledb--2.10.3.sql`], {
        user: 'root',
        input: script,
      });
    };
    const uninstall = () => stack!.exec('timescaledb', ['rm', '-f', `${EXT}/timescaledb.control`], { user: 'root' });

    before(async () => {
      await install();
      await sql('DROP DATABASE bulk_src'); // keeps this dump small
      await sql('CREATE DATABASE tsdb_all');
      await sql('CREATE EXTENSION timescaledb', 'tsdb_all');
      await sql('CREATE TABLE conditions (ts timestamptz, v float8)', 'tsdb_all');
      await sql(
        "INSERT INTO conditions SELECT now() - g * interval '1 hour', g FROM generate_series(1, 24) g",
        'tsdb_all',
      );
      await stack!.exec('timescaledb', ['pg_dumpall', '-U', user(), '-f', ALL]);
    });
    after(async () => {
      await uninstall();
    });

    it('restores each TimescaleDB database between pre_restore and post_restore, then restarts and checks its workers', async () => {
      const from = lines.length;
      const r = await withinGuard('restoreDumpAll', restoreDumpAll(target, { file: ALL }, ctx()));
      assert.deepEqual(r.timescaleDatabases, ['tsdb_all']);
      assert.match(r.keptAside.tsdb_all!, /^tsdb_all_pre_restore_/);
      const mine = lines.slice(from);
      const at = (re: RegExp) => mine.findIndex((l) => re.test(l));
      const pre = at(/stand-in: timescaledb_pre_restore in tsdb_all/);
      const post = at(/stand-in: timescaledb_post_restore in tsdb_all/);
      const restart = at(/stand-in: restart_background_workers in tsdb_all/);
      assert.ok(pre >= 0 && pre < post && post < restart, `order: ${[pre, post, restart]}`);
      assert.equal(mine.filter((l) => /stand-in: timescaledb_pre_restore/.test(l)).length, 1, 'only tsdb_all has it');
      // The stand-in is not preloaded, so there is no scheduler to wait for; the real one is checked in pg_stat_activity.
      assert.ok(mine.some((l) => /tsdb_all: TimescaleDB is not preloaded .*no scheduler to check/.test(l)));
      assert.equal((await sql<{ n: string }>('SELECT count(*) AS n FROM conditions', 'tsdb_all'))[0]!.n, '24');
      assert.ok(
        !mine.some((l) => new RegExp(`restart_background_workers in ${r.keptAside.tsdb_all}`).test(l)),
        'the copy kept aside keeps its jobs stopped',
      );
      await sql(`DROP DATABASE ${r.keptAside.tsdb_all}`);
      await sql(`DROP DATABASE ${r.keptAside.connect_db}`);
    });

    it('a failure inside a TimescaleDB section: post_restore runs before the rollback, the workers are restarted after it', async () => {
      const bad = `${MB}/tsdb_fails.sql`;
      await stack!.exec('timescaledb', [
        'sh',
        '-c',
        'sed "/^CREATE TABLE public.conditions (/i SELECT tsdbops_fails_in_tsdb();" "$0" > "$1"',
        ALL,
        bad,
      ]);
      await sql('INSERT INTO conditions VALUES (now(), -1)', 'tsdb_all');
      const from = lines.length;
      const e = await withinGuard(
        'restoreDumpAll',
        restoreDumpAll(target, { file: bad }, ctx()).then(
          () => undefined,
          (x: unknown) => x,
        ),
      );
      assert.ok(isKind(e, 'restore-failed') && e.facts.rolledBack, String(e));
      const mine = lines.slice(from);
      const at = (re: RegExp) => mine.findIndex((l) => re.test(l));
      const pre = at(/stand-in: timescaledb_pre_restore in tsdb_all/);
      const failed = at(/ERROR: .*tsdbops_fails_in_tsdb/);
      const post = at(/stand-in: timescaledb_post_restore in tsdb_all/);
      const back = at(/RENAME TO "tsdb_all"/);
      const restart = at(/stand-in: restart_background_workers in tsdb_all/);
      assert.ok(
        pre < failed && failed < post && post < back && back < restart,
        `order: ${[pre, failed, post, back, restart]}`,
      );
      assert.equal(
        (await sql<{ n: string }>('SELECT count(*) AS n FROM conditions WHERE v = -1', 'tsdb_all'))[0]!.n,
        '1',
        'tsdb_all is the original again',
      );
    });

    it('refuses a dump whose extensions the server lacks, before touching anything', async () => {
      await uninstall();
      try {
        const before = await names();
        await assert.rejects(
          restoreDumpAll(target, { file: ALL }, ctx()),
          /needs extensions this server does not have \(pg_available_extensions\): timescaledb\..*nothing was changed/,
        );
        assert.deepEqual(await names(), before);
      } finally {
        await install();
      }
    });

    it('pg_restore: errors ignored on restore are a warning that lists them, never a plain success', async () => {
      const file = `${MB}/connect_db_for_ignored.dump`;
      await stack!.exec('timescaledb', ['pg_dump', '-U', user(), '-F', 'c', '-d', 'connect_db', '-f', file]);
      await sql('CREATE DATABASE ignored_db');
      await sql('CREATE VIEW marker AS SELECT 1 AS v', 'ignored_db'); // the dump's CREATE TABLE marker and its COPY fail
      const r = await withinGuard(
        'restoreDump',
        // Without a single transaction: with one, pg_restore stops at the first error (nothing is ignored).
        restoreDump(target, { file, database: 'ignored_db', exitOnError: false, singleTransaction: false }, ctx()),
      );
      assert.equal(r.warnings.length, 1, r.warnings.join('\n'));
      assert.match(r.warnings[0]!, /^pg_restore ignored \d+ error\(s\) while restoring into ignored_db/);
      assert.match(r.warnings[0]!, /pg_restore: error: .*marker/);
      await sql('DROP DATABASE ignored_db');
    });

    it('pg_restore: refuses a dump whose extensions the server lacks, listing them, before touching anything', async () => {
      const fake = 'tsdbops_fake_ext';
      await stack!.exec('timescaledb', ['sh', '-c', 'cat > "$0"', `${EXT}/${fake}.control`], {
        user: 'root',
        input: "default_version = '1.0'\ncomment = 'test'\nrelocatable = true\n",
      });
      await stack!.exec('timescaledb', ['sh', '-c', 'cat > "$0"', `${EXT}/${fake}--1.0.sql`], {
        user: 'root',
        input: 'CREATE FUNCTION tsdbops_fake() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;',
      });
      await sql(`CREATE EXTENSION ${fake}`, 'tsdb_all');
      const file = `${MB}/tsdb_all_ext.dump`;
      await stack!.exec('timescaledb', ['pg_dump', '-U', user(), '-F', 'c', '-d', 'tsdb_all', '-f', file]);
      await stack!.exec('timescaledb', ['rm', '-f', `${EXT}/${fake}.control`], { user: 'root' });
      await assert.rejects(
        restoreDump(target, { file, database: 'never_ext_db' }, ctx()),
        new RegExp(`needs extensions this server does not have \\(pg_available_extensions\\): ${fake}\\.`),
      );
      assert.ok(!(await names()).includes('never_ext_db'), 'nothing was created');
    });
  });
});
