import { strict as assert } from 'node:assert';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { lintMigrations, type LintFile, type TableFacts } from '../../src/core/lint/lint';
import { CORPUS, CORPUS_TABLES, corpusFile } from './lint-corpus';
import { RULES } from '../../src/core/lint/rules';

async function rulesFound(files: LintFile[], tables: TableFacts[] | undefined = CORPUS_TABLES) {
  const r = await lintMigrations(files, { tables });
  return r.findings;
}

describe('migration lint: the corpus (a bad and a good case for every rule)', () => {
  it('has both cases for every rule, and nothing else', () => {
    const dirs = readdirSync(CORPUS).sort();
    assert.deepEqual(dirs, RULES.map((r) => r.id).sort());
    for (const d of dirs) assert.deepEqual(readdirSync(join(CORPUS, d)).sort(), ['bad.sql', 'good.sql']);
  });

  for (const rule of RULES) {
    it(`${rule.id}: found in bad.sql, not in good.sql`, async () => {
      const bad = (await rulesFound([corpusFile(rule.id, 'bad')])).filter((f) => f.rule === rule.id);
      assert.ok(bad.length > 0, `${rule.id} not found in bad.sql`);
      for (const f of bad) {
        assert.match(f.message, /line \d+/);
        assert.ok(f.why && f.fix, 'every finding says why it hurts and the fix');
      }
      const good = (await rulesFound([corpusFile(rule.id, 'good')])).filter((f) => f.rule === rule.id);
      assert.deepEqual(
        good.map((f) => f.message),
        [],
      );
    });
  }
});

describe('migration lint: TimescaleDB rules name the error TimescaleDB gives (it cannot run here)', () => {
  // The messages TimescaleDB raises (its sources and docs); each bad case would fail with it.
  const documented: Record<string, string> = {
    'tsdb-hypertable-migrate-data': 'is not empty',
    'tsdb-unique-without-partition-column': 'cannot create a unique index without the column',
    'tsdb-concurrent-index-on-hypertable': 'hypertables do not support concurrent index creation',
    'tsdb-alter-compressed-hypertable': 'operation not supported on hypertables that have compression enabled',
    'tsdb-continuous-aggregate-with-data': 'cannot run inside a transaction block',
  };
  for (const [rule, error] of Object.entries(documented))
    it(`${rule}: "${error}"`, async () => {
      const [f] = (await rulesFound([corpusFile(rule, 'bad')])).filter((x) => x.rule === rule);
      assert.equal(f?.severity, 'error');
      assert.ok(f!.why.includes(error), f!.why);
    });
});

describe('migration lint: context and settings', () => {
  const file = (path: string, sql: string): LintFile => ({ path, sql, noTx: sql.startsWith('-- no-transaction') });

  it('a table created earlier in the pending set draws no lock findings (a known false positive of squawk)', async () => {
    const findings = await rulesFound([
      file('1_create.sql', 'CREATE TABLE gauges (id bigint, kind int);\n'),
      file(
        '2_alter.sql',
        'ALTER TABLE gauges ALTER COLUMN kind TYPE bigint;\nCREATE INDEX gauges_kind ON gauges (kind);\n',
      ),
    ]);
    assert.deepEqual(findings, []);
  });

  it('names size, rows and hypertable chunks, and a lock finding on a table over largeTableBytes is an error', async () => {
    const [f] = (await rulesFound([corpusFile('column-type-change', 'bad')])).filter(
      (x) => x.rule === 'column-type-change',
    );
    assert.equal(f?.severity, 'warning'); // sensors: 50 MB < 100 MB
    assert.match(f!.message, /sensors: 50 MB, ~100,000 rows/);
    const big = await lintMigrations([corpusFile('column-type-change', 'bad')], {
      tables: CORPUS_TABLES,
      largeTableBytes: 10 * 2 ** 20,
    });
    assert.equal(big.findings.find((x) => x.rule === 'column-type-change')?.severity, 'error');
    const ht = (await rulesFound([corpusFile('tsdb-alter-compressed-hypertable', 'bad')])).find(
      (x) => x.rule === 'set-not-null',
    );
    assert.match(ht!.message, /readings: 2\.0 GB, ~40,000,000 rows, hypertable with 12 chunks/);
    assert.equal(ht!.severity, 'error');
  });

  it('without the database: no sizes, and it says so', async () => {
    const r = await lintMigrations([corpusFile('column-type-change', 'bad')]);
    assert.equal(r.sizesKnown, false);
    assert.equal(r.findings.find((x) => x.rule === 'column-type-change')?.tableFacts, undefined);
  });

  it('create_hypertable: an empty new table is fine, a table with rows (database or an INSERT) is an error', async () => {
    const create = 'CREATE TABLE m (ts timestamptz NOT NULL, v float8);\n';
    const hyper = "SELECT create_hypertable('m', 'ts');\n";
    assert.deepEqual(await rulesFound([file('1.sql', create + hyper)]), []);
    const withRows = await rulesFound([file('1.sql', create + 'INSERT INTO m VALUES (now(), 1);\n' + hyper)]);
    assert.equal(withRows.find((f) => f.rule === 'tsdb-hypertable-migrate-data')?.severity, 'error');
    const events = (await rulesFound([corpusFile('tsdb-hypertable-migrate-data', 'bad')]))[0];
    assert.equal(events?.severity, 'error');
    assert.match(events!.message, /events: 10 MB, ~5,000 rows/);
  });

  it('suppressions: ours with a reason, and squawk-ignore with squawk names', async () => {
    const ours = await rulesFound([
      file(
        '1.sql',
        '-- tsdb-ops-lint: ignore drop-column unused since release 42\nALTER TABLE sensors DROP COLUMN legacy_code;\n',
      ),
    ]);
    assert.deepEqual(
      ours.map((f) => f.rule),
      ['lock-timeout-missing'],
    );
    const squawk = await rulesFound([
      file(
        '1.sql',
        "SET lock_timeout = '1s';\n-- squawk-ignore ban-drop-column, renaming-column\nALTER TABLE sensors DROP COLUMN legacy_code;\n",
      ),
    ]);
    assert.deepEqual(squawk, []);
  });

  it('rules can be switched off or given another severity', async () => {
    const r = await lintMigrations([corpusFile('drop-column', 'bad')], {
      rules: { 'drop-column': 'error', 'lock-timeout-missing': 'off' },
    });
    assert.deepEqual(
      r.findings.map((f) => [f.rule, f.severity]),
      [['drop-column', 'error']],
    );
  });

  it('a file that does not parse: PostgreSQL own message and position', async () => {
    const [f] = await rulesFound([file('1.sql', 'SELECT 1;\nALTER TABLE sensors ADD COLUM note text;\n')]);
    assert.equal(f?.rule, 'syntax-error');
    assert.match(f!.message, /^syntax error at or near "text"/);
    assert.equal(f!.line, 2);
    assert.equal(f!.column, 36);
  });

  it('positions survive non-ASCII text before a statement', async () => {
    const [f] = (
      await rulesFound([
        file('1.sql', "-- Größe ändern ✓\nCOMMENT ON TABLE sensors IS 'Fühler';\nDROP TABLE old_readings;\n"),
      ])
    ).filter((x) => x.rule === 'drop-table');
    assert.equal(f?.line, 3);
    assert.equal(f?.column, 1);
  });

  it('quick fixes: CONCURRENTLY and the header for a lone statement; a new no-transaction migration otherwise', async () => {
    const lone = corpusFile('create-index-non-concurrently', 'bad');
    const [f] = (await rulesFound([lone])).filter((x) => x.rule === 'create-index-non-concurrently');
    const fix = f!.quickFixes![0]!;
    assert.equal(
      applyEdits(lone.sql, fix.edits),
      '-- no-transaction\nCREATE INDEX CONCURRENTLY sensors_kind_idx ON sensors (kind);\n',
    );
    const two = file('1.sql', "SET lock_timeout = '1s';\ncreate unique index sensors_kind_idx on sensors (kind);\n");
    const [g] = (await rulesFound([two])).filter((x) => x.rule === 'create-index-non-concurrently');
    const move = g!.quickFixes![0]!;
    assert.equal(applyEdits(two.sql, move.edits), "SET lock_timeout = '1s';\n\n");
    assert.equal(
      move.newMigration?.sql,
      '-- no-transaction\ncreate unique index CONCURRENTLY sensors_kind_idx on sensors (kind);\n',
    );
  });

  it('quick fix: SET NOT NULL becomes a NOT VALID check, validated and turned into NOT NULL in a new migration', async () => {
    const sql = 'ALTER TABLE "Sensors" ALTER COLUMN kind SET NOT NULL;\n';
    const [f] = (await rulesFound([file('1.sql', sql)])).filter((x) => x.rule === 'set-not-null');
    const fix = f!.quickFixes![0]!;
    assert.equal(
      applyEdits(sql, fix.edits),
      'ALTER TABLE "Sensors" ADD CONSTRAINT "Sensors_kind_not_null" CHECK (kind IS NOT NULL) NOT VALID;\n',
    );
    assert.equal(
      fix.newMigration?.sql,
      'ALTER TABLE "Sensors" VALIDATE CONSTRAINT "Sensors_kind_not_null";\n' +
        'ALTER TABLE "Sensors" ALTER COLUMN kind SET NOT NULL;\n' +
        'ALTER TABLE "Sensors" DROP CONSTRAINT "Sensors_kind_not_null";\n',
    );
  });

  it('quick fixes: NOT VALID with a separate VALIDATE, and SET lock_timeout', async () => {
    const bad = corpusFile('constraint-not-valid', 'bad');
    const findings = await rulesFound([bad]);
    const fix = findings.find((x) => x.rule === 'constraint-not-valid')!.quickFixes![0]!;
    assert.match(applyEdits(bad.sql, fix.edits), /REFERENCES sensors \(id\) NOT VALID;\n$/);
    assert.equal(fix.newMigration?.sql, 'ALTER TABLE readings VALIDATE CONSTRAINT readings_sensor_fk;\n');
    const lt = findings.find((x) => x.rule === 'lock-timeout-missing')!.quickFixes![0]!;
    assert.match(applyEdits(bad.sql, lt.edits), /^SET lock_timeout = '5s';\n\nALTER TABLE readings/);
  });
});

function applyEdits(text: string, edits: ReadonlyArray<{ start: number; end: number; text: string }>): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}
