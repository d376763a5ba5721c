/**
 * Migration lint against the field's reference and a live database:
 * - squawk (npm squawk-cli, its platform package ships the binary) over test/fixtures/lint: both agree on every case
 *   for the squawk rules below, except the deliberate differences listed with their reasons;
 * - table sizes and row estimates read from a real PostgreSQL 15.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lintMigrations, type Finding } from '../../src/core/lint/lint';
import { RULE_BY_ID, type RuleId } from '../../src/core/lint/rules';
import { readTableFacts } from '../../src/core/lint/sizes';
import { connect, type ConnectionTarget } from '../../src/core/postgres/connection';
import { postgresAvailable, postgresInstallHint, startCluster, type Cluster } from '../support/cluster';
import { requirePart } from '../support/requirements';
import { ensureSquawk } from '../support/squawk';
import { CORPUS, CORPUS_TABLES, corpusFile } from '../unit/lint-corpus';

let SQUAWK = '';

/** The squawk rules compared, as the issue lists them. */
const COMPARED = [
  'adding-field-with-default',
  'adding-foreign-key-constraint',
  'adding-not-nullable-field',
  'adding-required-field',
  'ban-drop-column',
  'ban-drop-table',
  'ban-drop-database',
  'ban-truncate-cascade',
  'changing-column-type',
  'constraint-missing-not-valid',
  'disallowed-unique-constraint',
  'renaming-column',
  'renaming-table',
  'require-concurrent-index-creation',
  'require-concurrent-index-deletion',
  'ban-concurrent-index-creation-in-transaction',
  'require-lock-timeout',
];

/** The squawk rules a finding of ours corresponds to. */
function asSquawk(f: Finding): string[] {
  switch (f.rule) {
    case 'constraint-not-valid':
      return f.message.includes('FOREIGN KEY')
        ? ['constraint-missing-not-valid', 'adding-foreign-key-constraint']
        : ['constraint-missing-not-valid'];
    case 'truncate':
      return f.message.includes('CASCADE') ? ['ban-truncate-cascade'] : [];
    case 'sqlx-needs-no-transaction':
      return f.message.startsWith('CREATE INDEX CONCURRENTLY') ? ['ban-concurrent-index-creation-in-transaction'] : [];
    default:
      return [...(RULE_BY_ID.get(f.rule as RuleId)?.squawk ?? [])];
  }
}

/**
 * Every case where squawk and we disagree, on purpose. Key: `<corpus case> <squawk rule>`; `squawk` = only squawk
 * reports it, `ours` = only we do.
 */
const WEAK =
  'squawk asks for lock_timeout before any lock; we ask only before one that blocks reads or writes of an existing table, and';
const DIFFERENCES: Record<string, { only: 'squawk' | 'ours'; reason: string }> = {
  'sqlx-no-transaction-several-statements/bad ban-concurrent-index-creation-in-transaction': {
    only: 'ours',
    reason:
      'sqlx sends a -- no-transaction file as one simple query; with several statements PostgreSQL runs them in an ' +
      'implicit transaction, where CREATE INDEX CONCURRENTLY fails (sqlx#3693); squawk sees no transaction',
  },
  'create-index-non-concurrently/good require-lock-timeout': {
    only: 'squawk',
    reason: `${WEAK} CREATE INDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE`,
  },
  'drop-index-non-concurrently/good require-lock-timeout': {
    only: 'squawk',
    reason: `${WEAK} DROP INDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE`,
  },
  'reindex-non-concurrently/good require-lock-timeout': {
    only: 'squawk',
    reason: `${WEAK} REINDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE`,
  },
  'vacuum-full/good require-lock-timeout': {
    only: 'squawk',
    reason: `${WEAK} plain VACUUM takes SHARE UPDATE EXCLUSIVE`,
  },
  'sqlx-needs-no-transaction/bad require-lock-timeout': {
    only: 'squawk',
    reason: `${WEAK} CREATE INDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE`,
  },
  'sqlx-needs-no-transaction/good require-lock-timeout': {
    only: 'squawk',
    reason: `${WEAK} CREATE INDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE`,
  },
  'sqlx-no-transaction-several-statements/bad require-lock-timeout': {
    only: 'squawk',
    reason: `${WEAK} CREATE INDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE`,
  },
  'sqlx-no-transaction-several-statements/good require-lock-timeout': {
    only: 'squawk',
    reason: `${WEAK} CREATE INDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE`,
  },
  'tsdb-concurrent-index-on-hypertable/bad require-lock-timeout': {
    only: 'squawk',
    reason: `${WEAK} CREATE INDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE (and fails on a hypertable anyway: our TimescaleDB rule says so)`,
  },
  'tsdb-concurrent-index-on-hypertable/good require-lock-timeout': {
    only: 'squawk',
    reason:
      "TimescaleDB's transaction_per_chunk build locks one chunk at a time, briefly: no lock queue on the hypertable",
  },
  'tsdb-concurrent-index-on-hypertable/good require-concurrent-index-creation': {
    only: 'squawk',
    reason:
      "on a hypertable CONCURRENTLY is unsupported; WITH (timescaledb.transaction_per_chunk) is TimescaleDB's answer",
  },
  'tsdb-continuous-aggregate-with-data/bad require-lock-timeout': {
    only: 'squawk',
    reason: `${WEAK} CREATE MATERIALIZED VIEW locks no existing table against writes`,
  },
  'tsdb-continuous-aggregate-with-data/good require-lock-timeout': {
    only: 'squawk',
    reason: `${WEAK} CREATE MATERIALIZED VIEW locks no existing table against writes`,
  },
  'drop-database/bad require-lock-timeout': {
    only: 'squawk',
    reason: 'a database-level statement takes no table lock (our drop-database rule reports it as an error)',
  },
  'drop-database/good require-lock-timeout': {
    only: 'squawk',
    reason: 'a database-level statement takes no table lock',
  },
  'drop-schema/good require-lock-timeout': {
    only: 'squawk',
    reason: 'CREATE SCHEMA creates; it locks no existing table',
  },
  'drop-table/good ban-drop-table': {
    only: 'squawk',
    reason:
      "the table was created earlier in the same pending set: new and empty, nothing to lose (squawk's known false positive)",
  },
  'drop-table/good require-lock-timeout': {
    only: 'squawk',
    reason: 'the table was created earlier in the same pending set: nobody else can be using it',
  },
  'rename-table/good renaming-table': {
    only: 'squawk',
    reason: 'the table was created earlier in the same pending set: no running service uses its name yet',
  },
  'rename-table/good require-lock-timeout': {
    only: 'squawk',
    reason: 'the table was created earlier in the same pending set: nobody else can be using it',
  },
  'unique-constraint-without-index/bad constraint-missing-not-valid': {
    only: 'squawk',
    reason:
      'PostgreSQL has no NOT VALID for UNIQUE constraints, so that advice cannot be followed; ' +
      'disallowed-unique-constraint (ours: unique-constraint-without-index) covers the case',
  },
};

describe('migration lint checked against squawk', function () {
  let work: string;
  before(function () {
    this.timeout(360_000);
    SQUAWK = ensureSquawk();
    work = mkdtempSync(join(tmpdir(), 'tsdb-ops-squawk-'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('agrees on every corpus case, except the listed deliberate differences', async () => {
    // sqlx wraps a migration in a transaction unless it starts with -- no-transaction: squawk is told the same by
    // wrapping those files in BEGIN/COMMIT (its --assume-in-transaction does not report a lone CREATE INDEX CONCURRENTLY).
    const cases: string[] = [];
    for (const rule of readdirSync(CORPUS).sort())
      for (const kind of ['bad', 'good'] as const) {
        const f = corpusFile(rule, kind);
        const name = `${rule}__${kind}.sql`;
        writeFileSync(join(work, name), f.noTx ? f.sql : `BEGIN;\n${f.sql}\nCOMMIT;\n`);
        cases.push(`${rule}/${kind}`);
      }
    let out: string;
    try {
      out = execFileSync(SQUAWK, ['--reporter', 'json', ...cases.map((c) => `${c.replace('/', '__')}.sql`)], {
        cwd: work,
        encoding: 'utf8',
      });
    } catch (e) {
      out = String((e as { stdout?: string }).stdout ?? ''); // squawk exits 1 when it found something
    }
    const squawk = new Map<string, Set<string>>(cases.map((c) => [c, new Set()]));
    for (const v of JSON.parse(out) as Array<{ file: string; rule_name: string }>)
      if (COMPARED.includes(v.rule_name)) squawk.get(v.file.replace('__', '/').replace(/\.sql$/, ''))!.add(v.rule_name);
    const differences: Record<string, 'squawk' | 'ours'> = {};
    let compared = 0;
    for (const c of cases) {
      const [rule, kind] = c.split('/') as [string, 'bad' | 'good'];
      const r = await lintMigrations([corpusFile(rule, kind)], { tables: CORPUS_TABLES });
      const ours = new Set(r.findings.flatMap(asSquawk).filter((s) => COMPARED.includes(s)));
      for (const s of COMPARED) {
        compared++;
        const a = squawk.get(c)!.has(s);
        const b = ours.has(s);
        if (a !== b) differences[`${c} ${s}`] = a ? 'squawk' : 'ours';
      }
    }
    console.log(`      compared ${compared} (case, rule) pairs; ${Object.keys(differences).length} listed differences`);
    assert.deepEqual(
      differences,
      Object.fromEntries(Object.entries(DIFFERENCES).map(([k, v]) => [k, v.only])),
      'a difference with squawk that is not listed (or a listed one that is gone)',
    );
    for (const s of COMPARED)
      assert.ok(
        cases.some((c) => squawk.get(c)!.has(s) && !(`${c} ${s}` in DIFFERENCES)),
        `no corpus case where both report ${s}`,
      );
  });
});

describe('migration lint with sizes from a live PostgreSQL 15', function () {
  let cluster: Cluster;
  let target: ConnectionTarget;
  before(async function () {
    requirePart(this, postgresAvailable(), 'PostgreSQL 15', postgresInstallHint);
    cluster = await startCluster();
    await cluster.psql('CREATE DATABASE lint');
    await cluster.psql(
      'CREATE TABLE sensors (id bigint PRIMARY KEY, kind int, name text);' +
        "INSERT INTO sensors SELECT i, i % 7, 'sensor ' || i FROM generate_series(1, 50000) i;" +
        'CREATE TABLE empty_table (id bigint); ANALYZE;',
      'lint',
    );
    target = {
      host: cluster.host,
      port: cluster.port,
      user: cluster.user,
      database: 'lint',
      params: {},
      source: 'test',
    };
  });
  after(async () => cluster?.stop());

  it('names the table size and row estimate; over tsdbOps.lint.largeTableBytes a lock finding is an error', async () => {
    const client = await connect(target);
    const tables = await readTableFacts(client).finally(() => client.end());
    const sensors = tables.find((t) => t.name === 'sensors')!;
    assert.equal(sensors.schema, 'public');
    assert.equal(sensors.rows, 50000);
    assert.ok(sensors.bytes > 1024 * 1024, `sensors is ${sensors.bytes} bytes`);
    assert.equal(sensors.hypertable, false);
    const file = corpusFile('column-type-change', 'bad'); // ALTER TABLE sensors ALTER COLUMN kind TYPE text
    const small = await lintMigrations([file], { tables });
    const f = small.findings.find((x) => x.rule === 'column-type-change')!;
    assert.equal(small.sizesKnown, true);
    assert.equal(f.severity, 'warning');
    assert.match(f.message, /sensors: \d+(\.\d)? MB, ~50,000 rows\./);
    const large = await lintMigrations([file], { tables, largeTableBytes: 1024 * 1024 });
    assert.equal(large.findings.find((x) => x.rule === 'column-type-change')!.severity, 'error');
  });

  it('the quick fixes for SET NOT NULL and a foreign key produce SQL that PostgreSQL runs', async () => {
    const apply = (sql: string, edits: ReadonlyArray<{ start: number; end: number; text: string }>) =>
      [...edits].sort((a, b) => b.start - a.start).reduce((t, e) => t.slice(0, e.start) + e.text + t.slice(e.end), sql);
    const notNull = 'ALTER TABLE sensors ALTER COLUMN name SET NOT NULL;\n';
    const fk =
      'CREATE TABLE kinds (id int PRIMARY KEY);\nINSERT INTO kinds SELECT generate_series(0, 6);\n' +
      'ALTER TABLE sensors ADD CONSTRAINT sensors_kind_fk FOREIGN KEY (kind) REFERENCES kinds (id);\n';
    for (const [sql, rule] of [
      [notNull, 'set-not-null'],
      [fk, 'constraint-not-valid'],
    ] as const) {
      const r = await lintMigrations([{ path: 'x.sql', sql, noTx: false }]);
      const fix = r.findings.find((f) => f.rule === rule)!.quickFixes![0]!;
      await cluster.psql(apply(sql, fix.edits), 'lint');
      await cluster.psql(fix.newMigration!.sql, 'lint');
    }
    assert.equal(
      await cluster.psql(
        "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'sensors'::regclass AND attname = 'name'",
        'lint',
      ),
      't',
    );
    assert.equal(
      await cluster.psql("SELECT convalidated FROM pg_constraint WHERE conname = 'sensors_kind_fk'", 'lint'),
      't',
    );
    assert.equal(
      await cluster.psql("SELECT count(*) FROM pg_constraint WHERE conname = 'sensors_name_not_null'", 'lint'),
      '0',
    );
  });

  it('create_hypertable on a table with rows in the database is an error; on an empty one it is not', async () => {
    const client = await connect(target);
    const tables = await readTableFacts(client).finally(() => client.end());
    const sql = (t: string) => ({ path: `${t}.sql`, noTx: false, sql: `SELECT create_hypertable('${t}', 'id');\n` });
    const withRows = await lintMigrations([sql('sensors')], { tables });
    assert.equal(withRows.findings.find((x) => x.rule === 'tsdb-hypertable-migrate-data')?.severity, 'error');
    const empty = await lintMigrations([sql('empty_table')], { tables });
    assert.deepEqual(
      empty.findings.map((x) => x.rule),
      [],
    );
  });
});
