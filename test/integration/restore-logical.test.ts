/**
 * Logical restores against the fixture stack (plain PostgreSQL 15: the TimescaleDB branch must
 * detect that the extension is absent) and a host cluster: pg_dump → pg_restore into a new database
 * round-trips, a failing restore leaves nothing behind, pg_dumpall through psql with ON_ERROR_STOP
 * keeps the databases it replaces.
 */
import { isCancelled, isKind } from '../../src/core/errors/error';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import type Dockerode from 'dockerode';
import { connectEngine, resolveEngine } from '../../src/core/docker/engine-address';
import { ContainerRuntime, HostRuntime } from '../../src/core/runtime';
import {
  restoreDump,
  KEPT_ASIDE_MARK,
  putBackKeptAsideDatabases,
  restoreDumpAll,
  timescaleVersions,
  type LogicalTarget,
} from '../../src/core/backups/restore/logical';
import { type RestoreContext } from '../../src/core/backups/restore/run';
import { restorePhysical } from '../../src/core/backups/restore/physical';
import { debootstrapAvailable, debootstrapInstallHint } from '../support/image';
import { dockerAvailable, dockerInstallHint } from '../support/docker';
import { requirePart } from '../support/requirements';
import { composeAvailable, composeInstallHint, startStack, type Stack } from '../support/stack';
import { recordingContext } from '../support/restore-context';
import {
  PG_BIN,
  pgbackrestAvailable,
  pgbackrestInstallHint,
  postgresAvailable,
  postgresInstallHint,
  startCluster,
  type Cluster,
} from '../support/cluster';

const MB = '/var/lib/pgbackrest/manual_backup';

describe('restore: logical (pg_restore, pg_dumpall) on the fixture stack', function () {
  this.timeout(600_000);
  let stack: Stack | undefined;
  let client: Dockerode;
  let target: LogicalTarget;
  const { lines, steps, ctx } = recordingContext();

  const sql = <T = Record<string, unknown>>(q: string, database?: string) => stack!.sql<T>(q, { database });
  const user = () => stack!.env.POSTGRES_USER!;

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
    await sql('CREATE TABLE items (id int PRIMARY KEY, name text)');
    await sql("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 500) g");
    await stack.exec('timescaledb', [
      'pg_dump',
      '-U',
      user(),
      '-F',
      't',
      '-d',
      'connect_db',
      '-f',
      `${MB}/connect_db_pg_dump_1.tar`,
    ]);
  });

  after(async () => {
    await stack?.stop();
  });

  it('detects that TimescaleDB is absent (plain PostgreSQL) and restores without its steps', async () => {
    const v = await timescaleVersions(target, ctx(), 'connect_db');
    assert.equal(v.available, undefined);
    assert.equal(v.installed, undefined);
  });

  it('pg_dump into a new database round-trips', async () => {
    const r = await restoreDump(target, { file: `${MB}/connect_db_pg_dump_1.tar`, database: 'copy_db' }, ctx());
    assert.equal(r.created, true);
    assert.equal(r.timescaledb.used, false);
    const rows = await sql<{ n: string; s: string }>('SELECT count(*) AS n, sum(id)::text AS s FROM items', 'copy_db');
    assert.deepEqual(rows[0], { n: '500', s: String((500 * 501) / 2) });
    assert.ok(
      lines.some((l) =>
        l.startsWith(
          '$ pg_restore --verbose -U admin1234 -d copy_db --exit-on-error /var/lib/pgbackrest/manual_backup/connect_db_pg_dump_1.tar',
        ),
      ),
      'exact command logged, no -j',
    );
    assert.ok(!lines.some((l) => /\s-j\s/.test(l)));
    assert.ok(!steps.some((s) => /timescaledb_pre_restore/.test(s)));
  });

  it('clean + single transaction into an existing database replaces its rows', async () => {
    await sql('DELETE FROM items WHERE id > 10', 'copy_db');
    const r = await restoreDump(
      target,
      { file: `${MB}/connect_db_pg_dump_1.tar`, database: 'copy_db', clean: true, singleTransaction: true },
      ctx(),
    );
    assert.equal(r.created, false);
    assert.equal((await sql<{ n: string }>('SELECT count(*) AS n FROM items', 'copy_db'))[0]!.n, '500');
  });

  it('a failing restore into a new database drops it again; a failing single transaction changes nothing', async () => {
    await sql('CREATE TABLE big AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 50000) g');
    await stack!.exec('timescaledb', [
      'pg_dump',
      '-U',
      user(),
      '-F',
      'c',
      '-Z',
      '0',
      '-d',
      'connect_db',
      '-f',
      `${MB}/big.dump`,
    ]);
    await sql('DROP TABLE big');
    // Cut in half: pg_restore -l still reads the table of contents at its start, the data fails midway.
    await stack!.exec('timescaledb', [
      'sh',
      '-c',
      'head -c $(($(stat -c %s "$0") / 2)) "$0" > "$1"',
      `${MB}/big.dump`,
      `${MB}/cut_pg_dump.dump`,
    ]);
    const e = await restoreDump(target, { file: `${MB}/cut_pg_dump.dump`, database: 'cut_db' }, ctx()).then(
      () => undefined,
      (x: unknown) => x,
    );
    assert.ok(isKind(e, 'restore-failed') && e.facts.rolledBack, String(e));
    assert.match(e.message, /the new database cut_db was dropped again/);
    assert.equal(
      (await sql(`SELECT 1 FROM pg_database WHERE datname = 'cut_db'`)).length,
      0,
      'no half-restored database left',
    );
    await sql('DELETE FROM items WHERE id > 400', 'copy_db');
    await sql('CREATE TABLE blocker (id int)', 'copy_db');
    await sql('DROP TABLE items', 'copy_db');
    await sql('CREATE VIEW items AS SELECT 1 AS id', 'copy_db'); // pg_restore's CREATE TABLE items fails
    await assert.rejects(
      restoreDump(
        target,
        { file: `${MB}/connect_db_pg_dump_1.tar`, database: 'copy_db', singleTransaction: true },
        ctx(),
      ),
      (x: unknown) => isKind(x, 'restore-failed') && x.facts.rolledBack,
    );
    assert.equal(
      (await sql('SELECT 1 FROM pg_tables WHERE tablename = $$blocker$$', 'copy_db')).length,
      1,
      'unchanged',
    );
  });

  it('a cancel midway: into a new database it is dropped again; into an existing one (single transaction) nothing changes', async () => {
    await sql('CREATE TABLE huge AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 1000000) g');
    await stack!.exec('timescaledb', [
      'pg_dump',
      '-U',
      user(),
      '-F',
      'c',
      '-Z',
      '0',
      '-t',
      'huge',
      '-d',
      'connect_db',
      '-f',
      `${MB}/huge.dump`,
    ]);
    await sql('DROP TABLE huge');
    // Cancel as soon as pg_restore says it is loading the table's data.
    const cancelWhenLoading = () => {
      const ac = new AbortController();
      return { ac, c: ctx(ac.signal, (l) => /processing data for table "public\.huge"/.test(l) && ac.abort()) };
    };
    const fresh = cancelWhenLoading();
    const e1 = await restoreDump(target, { file: `${MB}/huge.dump`, database: 'cancel_db' }, fresh.c).then(
      () => undefined,
      (x: unknown) => x,
    );
    assert.ok(fresh.ac.signal.aborted, 'the cancel happened during the data load');
    assert.ok(isCancelled(e1) && e1.facts.rolledBack, `a cancel, not a failure: ${String(e1)}`);
    assert.match(e1.message, /was cancelled; the new database cancel_db was dropped again/);
    assert.equal((await sql(`SELECT 1 FROM pg_database WHERE datname = 'cancel_db'`)).length, 0);
    await sql('CREATE TABLE keep_me (id int)', 'copy_db');
    const existing = cancelWhenLoading();
    const e2 = await restoreDump(
      target,
      { file: `${MB}/huge.dump`, database: 'copy_db', singleTransaction: true },
      existing.c,
    ).then(
      () => undefined,
      (x: unknown) => x,
    );
    assert.ok(existing.ac.signal.aborted);
    assert.ok(isCancelled(e2) && e2.facts.rolledBack, `a cancel, not a failure: ${String(e2)}`);
    assert.equal(
      (await sql(`SELECT 1 FROM pg_tables WHERE tablename = 'huge'`, 'copy_db')).length,
      0,
      'no half-loaded table',
    );
    assert.equal((await sql(`SELECT 1 FROM pg_tables WHERE tablename = 'keep_me'`, 'copy_db')).length, 1);
    await sql('DROP TABLE keep_me', 'copy_db');
    await stack!.exec('timescaledb', ['rm', '-f', `${MB}/huge.dump`]);
  });

  it('refuses a file that is not a dump before touching anything', async () => {
    await assert.rejects(restoreDump(target, { file: '/etc/hostname', database: 'never_db' }, ctx()), (e: unknown) =>
      isKind(e, 'backup-invalid'),
    );
    assert.equal((await sql(`SELECT 1 FROM pg_database WHERE datname = 'never_db'`)).length, 0);
  });

  describe('TimescaleDB-aware (a stand-in extension named timescaledb: TimescaleDB is not in Debian)', () => {
    const EXT = '/usr/share/postgresql/15/extension';
    // The stand-in only announces its calls; the real functions toggle timescaledb.restoring.
    const script = [
      'CREATE FUNCTION timescaledb_pre_restore() RETURNS bool LANGUAGE plpgsql AS $$ ' +
        "BEGIN RAISE NOTICE 'stand-in: timescaledb_pre_restore'; RETURN true; END $$;",
      'CREATE FUNCTION timescaledb_post_restore() RETURNS bool LANGUAGE plpgsql AS $$ ' +
        "BEGIN RAISE NOTICE 'stand-in: timescaledb_post_restore'; RETURN true; END $$;",
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
      await sql('CREATE DATABASE tsdb_src');
      await sql('CREATE EXTENSION timescaledb', 'tsdb_src');
      await sql('CREATE TABLE metrics (ts timestamptz, v float8)', 'tsdb_src');
      await sql(
        "INSERT INTO metrics SELECT now() - g * interval '1 minute', g FROM generate_series(1, 100) g",
        'tsdb_src',
      );
      await stack!.exec('timescaledb', [
        'pg_dump',
        '-U',
        user(),
        '-F',
        'c',
        '-d',
        'tsdb_src',
        '-f',
        `${MB}/tsdb_src_pg_dump_1.dump`,
      ]);
    });
    after(async () => {
      await uninstall();
    });

    it('refuses a TimescaleDB dump when the server has no timescaledb, before touching anything', async () => {
      await uninstall();
      try {
        await assert.rejects(
          restoreDump(target, { file: `${MB}/tsdb_src_pg_dump_1.dump`, database: 'tsdb_never' }, ctx()),
          /uses the timescaledb extension, but this server has none/,
        );
        assert.equal((await sql(`SELECT 1 FROM pg_database WHERE datname = 'tsdb_never'`)).length, 0);
      } finally {
        await install();
      }
    });

    it(
      'runs CREATE EXTENSION IF NOT EXISTS, timescaledb_pre_restore(), pg_restore without -j, ' +
        'timescaledb_post_restore() in that order, and warns on a version mismatch',
      async () => {
        const from = lines.length;
        const r = await restoreDump(
          target,
          { file: `${MB}/tsdb_src_pg_dump_1.dump`, database: 'tsdb_copy', dumpTimescaledbVersion: '2.9.1' },
          ctx(),
        );
        assert.equal(r.timescaledb.used, true);
        assert.equal(r.timescaledb.serverVersion, '2.10.3');
        assert.match(r.warnings.join('\n'), /made with TimescaleDB 2\.9\.1, the server has 2\.10\.3/);
        const mine = lines.slice(from);
        const at = (re: RegExp) => mine.findIndex((l) => re.test(l));
        const create = at(/-c 'CREATE EXTENSION IF NOT EXISTS timescaledb'$/);
        const pre = at(/stand-in: timescaledb_pre_restore/);
        const restore = at(/^\$ pg_restore --verbose /);
        const post = at(/stand-in: timescaledb_post_restore/);
        assert.ok(
          create >= 0 && create < pre && pre < restore && restore < post,
          `order: ${[create, pre, restore, post]}`,
        );
        assert.ok(!/\s(-j|--jobs)/.test(mine[restore]!), mine[restore]);
        assert.equal((await sql<{ n: string }>('SELECT count(*) AS n FROM metrics', 'tsdb_copy'))[0]!.n, '100');
      },
    );
  });

  const keptAsideMarks = async () =>
    (
      await sql<{ d: string }>(
        `SELECT datname AS d FROM pg_database WHERE shobj_description(oid, 'pg_database') LIKE '${KEPT_ASIDE_MARK}%'`,
      )
    ).map((r) => r.d);

  it('pg_dumpall through psql (ON_ERROR_STOP): the dump wins, the replaced databases are kept aside', async () => {
    await sql('CREATE DATABASE shop');
    await sql('CREATE TABLE orders (id int)', 'shop');
    await sql('INSERT INTO orders VALUES (1), (2)', 'shop');
    await stack!.exec('timescaledb', ['pg_dumpall', '-U', user(), '-f', `${MB}/all_dbs_pg_dumpall_1.sql`]);
    await sql('INSERT INTO orders VALUES (3)', 'shop');
    const r = await restoreDumpAll(target, { file: `${MB}/all_dbs_pg_dumpall_1.sql` }, ctx());
    assert.ok(r.databases.includes('shop') && r.databases.includes('connect_db'), r.databases.join());
    assert.ok(r.existingRoles.includes(user()));
    assert.deepEqual(
      (await sql<{ id: number }>('SELECT id FROM orders ORDER BY id', 'shop')).map((x) => x.id),
      [1, 2],
    );
    const kept = r.keptAside.shop!;
    assert.match(kept, /^shop_pre_restore_\d{8}_\d{6}$/);
    assert.deepEqual(
      (await sql<{ id: number }>('SELECT id FROM orders ORDER BY id', kept)).map((x) => x.id),
      [1, 2, 3],
    );
    assert.equal(
      (await sql<{ n: string }>('SELECT count(*) AS n FROM items'))[0]!.n,
      '500',
      'connect_db came back from the dump',
    );
    assert.deepEqual(await keptAsideMarks(), [], 'the kept copies are no longer marked as an interrupted restore');
  });

  it('a failing pg_dumpall restore puts the databases back', async () => {
    await stack!.exec('timescaledb', [
      'sh',
      '-c',
      'sed "s/^CREATE TABLE public.orders/CREATE TABLE public.orders_missing_paren (/" "$0" > "$1"',
      `${MB}/all_dbs_pg_dumpall_1.sql`,
      `${MB}/all_dbs_pg_dumpall_bad.sql`,
    ]);
    await sql('INSERT INTO orders VALUES (9)', 'shop');
    const e = await restoreDumpAll(target, { file: `${MB}/all_dbs_pg_dumpall_bad.sql` }, ctx()).then(
      () => undefined,
      (x: unknown) => x,
    );
    assert.ok(isKind(e, 'restore-failed') && e.facts.rolledBack, String(e));
    assert.deepEqual(
      (await sql<{ id: number }>('SELECT id FROM orders ORDER BY id', 'shop')).map((x) => x.id),
      [1, 2, 9],
    );
    assert.deepEqual(await keptAsideMarks(), [], 'the rollback takes its kept-aside marks off');
  });

  it('a pg_dumpall restore that could not rename back (its process died) is put back by the next one', async () => {
    // What a restore killed mid-psql leaves: shop kept aside under its mark (a dead process), a half-made shop.
    const mark = {
      db: 'shop',
      started: 'then',
      file: 'x.sql',
      owner: { host: hostname(), pid: 2 ** 22 + 7 },
      comment: null,
    };
    await sql(`COMMENT ON DATABASE shop IS '${KEPT_ASIDE_MARK}${JSON.stringify(mark)}'`);
    await sql('ALTER DATABASE shop RENAME TO shop_pre_restore_20200101_000000');
    await sql('CREATE DATABASE shop');
    assert.deepEqual(await putBackKeptAsideDatabases(target, ctx()), ['shop']);
    assert.deepEqual(
      (await sql<{ id: number }>('SELECT id FROM orders ORDER BY id', 'shop')).map((x) => x.id),
      [1, 2, 9],
      'the kept database has its name back, the half-made one is gone',
    );
    assert.deepEqual(await keptAsideMarks(), []);
  });
});

describe('restore: on a host cluster (no Docker)', function () {
  this.timeout(300_000);
  let cluster: Cluster | undefined;
  const ctx: RestoreContext = { step: () => undefined, line: () => undefined };

  before(async function () {
    requirePart(this, postgresAvailable(), 'PostgreSQL 15 server', postgresInstallHint);
    requirePart(this, pgbackrestAvailable(), 'pgBackRest', pgbackrestInstallHint);
    cluster = await startCluster({ stanza: true, fresh: true });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('pgBackRest restore of the latest state (set + archived WAL) and pg_dump round-trip with HostRuntime', async () => {
    const c = cluster!;
    const rt = new HostRuntime([PG_BIN], 'postgres');
    const conn = { host: c.socketDir, port: c.port, user: c.user };
    await c.psql('CREATE TABLE t (v int); INSERT INTO t VALUES (1)');
    await c.pgbackrest(['--type=full', 'backup']);
    await c.psql('INSERT INTO t VALUES (2)');
    const r = await restorePhysical(
      { rt, dataDir: c.dataDir, conn },
      { kind: 'pgbackrest', stanza: c.stanza, configPath: c.pgbackrestConf },
      ctx,
    );
    // The default restore is the latest state: the row written after the backup comes back from the
    // archived WAL (PostgreSQL's shutdown before the restore archives its last segment).
    assert.equal(await c.psql("SELECT string_agg(v::text, ',' ORDER BY v) FROM t"), '1,2');
    assert.ok(r.preRestoreCopy);
    const file = `${c.baseDir}/dump.custom`;
    await c.pgBin('pg_dump', ['-F', 'c', '-f', file, c.database]);
    const d = await restoreDump({ rt, conn }, { file, database: 'copy' }, ctx);
    assert.equal(d.created, true);
    assert.equal(await c.psql('SELECT count(*) FROM t', 'copy'), '2', 'the copy holds both restored rows');
  });
});
