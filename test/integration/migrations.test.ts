/** The sqlx-compatible migrator against a real PostgreSQL 15. */
import { strict as assert } from 'node:assert';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, postgresAvailable, postgresInstallHint, type Cluster } from '../support/cluster';
import { requirePart } from '../support/requirements';
import { Migrator } from '../../src/core/migrations/migrator';
import { CancelledError } from '../../src/core/operations/cancel';
import { MigrateError } from '../../src/core/migrations/sqlx';
import { sha384 } from '../../src/core/migrations/checksum';
import { connect, createDatabase, ConnectionError, type ConnectionTarget } from '../../src/core/postgres/connection';

const REPO_MIGRATIONS = join(__dirname, '..', '..', 'migrations');

describe('migrations against PostgreSQL 15 (sqlx-compatible)', function () {
  let cluster: Cluster;
  let dbSeq = 0;
  const dirs: string[] = [];

  before(async function () {
    requirePart(this, postgresAvailable(), 'PostgreSQL 15', postgresInstallHint);
    cluster = await startCluster();
  });
  after(async () => {
    await cluster?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** A fresh database and a migrations folder with the given files. */
  async function fixture(
    files: Record<string, string | Buffer>,
  ): Promise<{ dir: string; target: ConnectionTarget; migrator: Migrator; sql(q: string): Promise<string> }> {
    const database = `m${++dbSeq}`;
    await cluster.psql(`CREATE DATABASE ${database}`);
    const dir = mkdtempSync(join(tmpdir(), 'tsdb-ops-mig-'));
    dirs.push(dir);
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    const target: ConnectionTarget = {
      host: cluster.host,
      port: cluster.port,
      user: cluster.user,
      database,
      params: {},
      source: 'test',
    };
    return { dir, target, migrator: new Migrator(dir, () => connect(target)), sql: (q) => cluster.psql(q, database) };
  }

  it('applies the sample migrations exactly as sqlx records them', async () => {
    const f = await fixture({});
    cpSync(REPO_MIGRATIONS, f.dir, { recursive: true });
    const lines: string[] = [];
    const result = await f.migrator.run({ onLine: (l) => lines.push(l) });
    const ups = readdirSync(f.dir)
      .filter((n) => !n.endsWith('.down.sql'))
      .sort();
    assert.equal(result.applied.length, ups.length);
    assert.match(lines[0]!, /^Applied 20240101000000\/migrate create sensors \(\d+(\.\d+)?(ns|µs|ms|s)\)$/);
    const rows = (
      await f.sql(
        "SELECT version || '|' || description || '|' || success || '|' || encode(checksum, 'hex') || '|' || " +
          '(execution_time > 0) FROM _sqlx_migrations ORDER BY version',
      )
    ).split('\n');
    assert.deepEqual(
      rows,
      ups.map((name) => {
        const [v, rest] = [name.slice(0, name.indexOf('_')), name.slice(name.indexOf('_') + 1)];
        return `${Number(v)}|${rest.replace(/(\.up)?\.sql$/, '').replaceAll('_', ' ')}|true|${sha384(readFileSync(join(f.dir, name))).toString('hex')}|true`;
      }),
    );
    assert.equal(
      await f.sql("SELECT count(*) FROM pg_indexes WHERE indexname = 'readings_value_idx'"),
      '1',
      'the -- no-transaction CREATE INDEX CONCURRENTLY ran',
    );
    const again = await f.migrator.run();
    assert.equal(again.applied.length, 0, 'a second run applies nothing');
    const status = await f.migrator.status();
    assert.equal(status.summary.applied, ups.length);
    assert.equal(status.summary.pending, 0);
  });

  it('a failing migration leaves no row, no partial change, and releases the lock; the error names the position', async () => {
    const f = await fixture({
      '1_ok.sql': 'CREATE TABLE ok_t (id int);\n',
      '2_bad.sql': 'CREATE TABLE partial_t (id int);\nSELECT 1 FROM no_such_table;\n',
    });
    await assert.rejects(f.migrator.run(), (e: unknown) => {
      assert.ok(e instanceof MigrateError);
      assert.equal(e.sqlxKind, 'ExecuteMigration');
      assert.equal(e.message, 'while executing migration 2: relation "no_such_table" does not exist');
      assert.deepEqual(e.position, { file: join(f.dir, '2_bad.sql'), line: 2, column: 15 });
      return true;
    });
    assert.equal(await f.sql("SELECT string_agg(version::text, ',') FROM _sqlx_migrations"), '1');
    assert.equal(await f.sql("SELECT to_regclass('partial_t') IS NULL"), 't');
    assert.equal(await cluster.psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), '0');
  });

  it('two runners at once: the second waits for the lock, every migration is applied exactly once', async () => {
    const f = await fixture({
      '1_slow.sql': 'SELECT pg_sleep(1.5);\nCREATE TABLE once_a (id int);\n',
      '2_b.sql': 'CREATE TABLE once_b (id int);\n',
    });
    const other = new Migrator(f.dir, () => connect(f.target));
    const lines: string[] = [];
    const [a, b] = await Promise.all([
      f.migrator.run({ onLine: (l) => lines.push(`A ${l}`) }),
      new Promise((r) => setTimeout(r, 300)).then(() => other.run({ onLine: (l) => lines.push(`B ${l}`) })),
    ]);
    assert.equal(a.applied.length + b.applied.length, 2);
    assert.equal(b.applied.length, 0, 'the second runner found everything applied after waiting');
    assert.ok(
      lines.some((l) => /^B Waiting for the migration lock \d+ on database "m\d+"/.test(l)),
      lines.join('\n'),
    );
    assert.equal(await f.sql('SELECT count(*) FROM _sqlx_migrations'), '2');
  });

  it('failed, missing, modified and out-of-order states, and sqlx’s checks in sqlx’s order', async () => {
    const f = await fixture({
      '10_a.sql': 'CREATE TABLE s_a (id int);\r\n',
      '20_b.sql': 'CREATE TABLE s_b (id int);\n',
      '30_c.sql': 'CREATE TABLE s_c (id int);\n',
    });
    await f.migrator.run();
    // modified: CRLF → LF (what Git autocrlf does); missing: 30 deleted; out of order: a new 15; failed: a row with success = false
    writeFileSync(join(f.dir, '10_a.sql'), 'CREATE TABLE s_a (id int);\n');
    const c = readFileSync(join(f.dir, '30_c.sql'));
    unlinkSync(join(f.dir, '30_c.sql'));
    writeFileSync(join(f.dir, '15_late.sql'), 'CREATE TABLE s_late (id int);\n');
    await f.sql(
      "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (40, 'broken', false, '\\x00', -1)",
    );
    const status = await f.migrator.status();
    assert.deepEqual(
      status.migrations.map((m) => `${m.version}:${m.state}`),
      ['10:modified', '15:outOfOrder', '20:applied', '30:missing', '40:failed'],
    );
    assert.equal(
      status.migrations[0]!.hint,
      'Only line endings (LF in the file, CRLF when applied) differ from the applied version.',
    );

    await assert.rejects(f.migrator.run(), {
      message: 'migration 40 is partially applied; fix and remove row from `_sqlx_migrations` table',
    });
    await f.sql('DELETE FROM _sqlx_migrations WHERE version = 40');
    await assert.rejects(f.migrator.run(), {
      message: 'migration 30 was previously applied but is missing in the resolved migrations',
    });
    writeFileSync(join(f.dir, '30_c.sql'), c);
    await assert.rejects(f.migrator.run(), { message: 'migration 10 was previously applied but has been modified' });
    writeFileSync(join(f.dir, '10_a.sql'), 'CREATE TABLE s_a (id int);\r\n');
    const r = await f.migrator.run();
    assert.deepEqual(
      r.applied.map((m) => m.version),
      [15n],
      'out-of-order pending files are applied, as sqlx does',
    );
    await assert.rejects(f.migrator.run({ target: 99n }), {
      message: 'migration 99 is not present in the migration source',
    });
    await assert.rejects(f.migrator.run({ target: 10n }), {
      message: 'migration 10 is older than the latest applied migration 30',
    });
  });

  it('a BOM is hashed as sqlx does but not sent (sqlx#3452); invalid file names stop the run with sqlx’s message', async () => {
    const f = await fixture({ '1_bom.sql': '\uFEFFCREATE TABLE bom_t (id int);\n' });
    await f.migrator.run();
    assert.equal(
      await f.sql("SELECT encode(checksum, 'hex') FROM _sqlx_migrations"),
      sha384(Buffer.from('\uFEFFCREATE TABLE bom_t (id int);\n')).toString('hex'),
    );
    writeFileSync(join(f.dir, 'V2_bad.sql'), 'select 1;');
    await assert.rejects(f.migrator.run(), {
      message: 'error parsing migration filename "V2_bad.sql"; expected integer version prefix (e.g. `01_foo.sql`)',
    });
  });

  it('a folder sqlx would not run as it is (one version twice, a name it cannot parse) is refused before anything is applied, naming the files', async () => {
    const f = await fixture({
      '1_first.sql': 'CREATE TABLE dup_a (id int);\n',
      '2_one.sql': 'CREATE TABLE dup_b (id int);\n',
      '2_two.sql': 'CREATE TABLE dup_c (id int);\n',
    });
    await assert.rejects(f.migrator.run(), (e: Error) => {
      assert.match(e.message, /"2_one\.sql" and "2_two\.sql" share version 2/);
      return true;
    });
    assert.equal(await f.sql("SELECT to_regclass('_sqlx_migrations') IS NULL"), 't', 'the table was not even created');
    assert.equal(await f.sql("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'dup_%'"), '0', 'nothing applied');
    writeFileSync(join(f.dir, 'V3_bad.sql'), 'select 1;');
    await assert.rejects(f.migrator.run(), (e: Error) => {
      assert.match(e.message, /cannot be run as it is \(nothing was applied\)/);
      assert.match(e.message, /"V3_bad\.sql"/);
      assert.match(e.message, /"2_one\.sql" and "2_two\.sql"/);
      return true;
    });
    assert.equal(await f.sql("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'dup_%'"), '0');
  });

  it('revert: the highest applied migration with a down file, in a transaction, with sqlx’s lines', async () => {
    const f = await fixture({
      '1_a.up.sql': 'CREATE TABLE rv_a (id int);\n',
      '1_a.down.sql': 'DROP TABLE rv_a;\n',
      '2_b.up.sql': 'CREATE TABLE rv_b (id int);\n',
      '2_b.down.sql': 'DROP TABLE rv_b;\n',
    });
    await f.migrator.run();
    const lines: string[] = [];
    const r = await f.migrator.revert({ onLine: (l) => lines.push(l) });
    assert.deepEqual(
      r.reverted.map((m) => m.version),
      [2n],
    );
    assert.match(lines[0]!, /^Applied 2\/revert b \(.+\)$/);
    assert.equal(await f.sql("SELECT to_regclass('rv_b') IS NULL AND to_regclass('rv_a') IS NOT NULL"), 't');
    assert.equal(await f.sql("SELECT string_agg(version::text, ',') FROM _sqlx_migrations"), '1');
    await f.migrator.revert({ target: 0n });
    const none: string[] = [];
    await f.migrator.revert({ onLine: (l) => none.push(l) });
    assert.deepEqual(none, ['No migrations available to revert']);
  });

  it('cancel during a long migration: rolled back, no row, lock released', async () => {
    const f = await fixture({ '1_long.sql': 'CREATE TABLE cx (id int);\nSELECT pg_sleep(20);\n' });
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(), 500);
    await assert.rejects(f.migrator.run({ signal: ac.signal }), CancelledError);
    // A hang bound, not a timing: without the cancel the migration runs its 20 s pg_sleep.
    assert.ok(Date.now() - started < 15_000, 'cancel ends the migration before its pg_sleep(20) does');
    assert.equal(await f.sql('SELECT count(*) FROM _sqlx_migrations'), '0');
    assert.equal(await f.sql("SELECT to_regclass('cx') IS NULL"), 't');
    assert.equal(await cluster.psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), '0');
  });

  it('status of 2,000 files with 1,000 applied counts every file right (timing: npm run bench)', async () => {
    const files: Record<string, string> = {};
    for (let i = 1; i <= 2000; i++)
      files[`${String(i).padStart(5, '0')}_step_${i}.sql`] =
        `CREATE TABLE IF NOT EXISTS t_${i} (id bigint primary key, payload text);\n-- ${'x'.repeat(200)}\n`;
    const f = await fixture(files);
    await f.sql(
      `CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), ` +
        `success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL)`,
    );
    const applied = Object.entries(files).slice(0, 1000);
    const client = await connect(f.target);
    await client.query(
      'INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) ' +
        'SELECT v, d, true, c, 1000 FROM unnest($1::bigint[], $2::text[], $3::bytea[]) AS t(v, d, c)',
      [applied.map((_, i) => String(i + 1)), applied.map(([n]) => n), applied.map(([, content]) => sha384(content))],
    );
    await client.end();
    await f.migrator.status(); // warm-up: first connection, JIT
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const s = await f.migrator.status();
      times.push(performance.now() - t0);
      assert.deepEqual([s.summary.applied, s.summary.pending], [1000, 1000]);
    }
    console.log(
      `      status of 2,000 migration files (1,000 applied): ${times.map((t) => t.toFixed(0)).join(' / ')} ms (figure only)`,
    );
  });

  describe('connection errors say what to do', () => {
    it('refused: names the address and the source', async () => {
      const t: ConnectionTarget = {
        host: '127.0.0.1',
        port: 1,
        user: 'postgres',
        database: 'x',
        params: {},
        source: 'infra/.env',
      };
      await assert.rejects(
        connect(t),
        (e: unknown) =>
          e instanceof ConnectionError &&
          e.failure === 'refused' &&
          /^Connection refused at 127\.0\.0\.1:1 \(from infra\/\.env\): is the database container running\?/.test(
            e.message,
          ),
      );
    });

    it('missing database: offers to create it, and creating works', async () => {
      const t: ConnectionTarget = {
        host: cluster.host,
        port: cluster.port,
        user: cluster.user,
        database: 'not_there_yet',
        params: {},
        source: 'infra/.env',
      };
      await assert.rejects(
        connect(t),
        (e: unknown) =>
          e instanceof ConnectionError &&
          e.failure === 'noDatabase' &&
          e.message.startsWith('Database "not_there_yet" does not exist at'),
      );
      await createDatabase(t);
      const c = await connect(t);
      await c.end();
    });

    it('failed login: wrong password, and no password where one is required', async () => {
      await cluster.psql("CREATE ROLE app LOGIN PASSWORD 'right-secret'");
      const hba = join(cluster.dataDir, 'pg_hba.conf');
      const original = readFileSync(hba, 'utf8');
      writeFileSync(hba, `host all app 127.0.0.1/32 scram-sha-256\n${original}`);
      await cluster.psql('SELECT pg_reload_conf()');
      try {
        const t: ConnectionTarget = {
          host: '127.0.0.1',
          port: cluster.port,
          user: 'app',
          database: 'postgres',
          params: {},
          source: 'infra/.env',
        };
        await assert.rejects(
          connect({ ...t, password: 'wrong' }),
          (e: unknown) =>
            e instanceof ConnectionError &&
            e.failure === 'auth' &&
            /^Login failed for user "app" at 127\.0\.0\.1:\d+: .*Check the password in infra\/\.env\.$/.test(e.message),
        );
        await assert.rejects(
          connect(t),
          (e: unknown) => e instanceof ConnectionError && e.failure === 'passwordRequired',
        );
        const ok = await connect({ ...t, password: 'right-secret' });
        await ok.end();
      } finally {
        writeFileSync(hba, original);
        await cluster.psql('SELECT pg_reload_conf()');
      }
    });
  });
});
