import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { advisoryLockId, crc32, hex, sha384, explainChecksumDifference } from '../../src/core/migrations/checksum';
import { parseMigrationFileName, MigrationFilenameError } from '../../src/core/migrations/files';
import { formatRustDuration } from '../../src/core/migrations/sqlx';
import { computeStatus, summarize, type AppliedMigration } from '../../src/core/migrations/status';
import { createMigration, folderError, loadMigrations, type LocalMigration } from '../../src/core/migrations/source';
import { tempTree } from './helpers';

describe('sqlx spec vectors', () => {
  it('SHA-384 of the template, LF and CRLF', () => {
    assert.equal(
      hex(sha384('-- Add migration script here\n')),
      'ff95923ef9afbcc89efe330243d1754c4719be221420d411481e688ede306676fa9729ff84319a52d2331096e736b892',
    );
    assert.equal(
      hex(sha384('-- Add migration script here\r\n')),
      'da4e429c77faafc00cf95dd384ae3ec1dfc0fc61d2ccad4ea68cfc597409a7ce75ba33eae0be1376f80d699448fa4a47',
    );
  });
  it('CRC-32 check value and the advisory lock ids', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
    assert.equal(advisoryLockId('postgres'), 368907709894077238n);
    assert.equal(advisoryLockId('test_db'), 1146643960771707742n);
    assert.equal(advisoryLockId('mydb'), 293176876009260204n);
  });
  it("Rust's Duration Debug format", () => {
    const cases: Array<[bigint, string]> = [
      [0n, '0ns'],
      [999n, '999ns'],
      [1500n, '1.5µs'],
      [7641042n, '7.641042ms'],
      [1_000_000_000n, '1s'],
      [1_500_000_001n, '1.500000001s'],
    ];
    for (const [ns, text] of cases) assert.equal(formatRustDuration(ns), text);
  });
});

describe('sqlx file names', () => {
  it('versions, descriptions and types', () => {
    assert.deepEqual(parseMigrationFileName('20230101000000_create_users.up.sql'), {
      version: 20230101000000n,
      description: 'create users',
      type: 'up',
      fileName: '20230101000000_create_users.up.sql',
    });
    assert.equal(parseMigrationFileName('0001_x.down.sql')?.type, 'down');
    assert.equal(parseMigrationFileName('0001_x.sql')?.version, 1n);
    assert.equal(parseMigrationFileName('+1_x.sql')?.version, 1n);
    assert.equal(parseMigrationFileName('-1_x.sql')?.version, -1n);
    assert.equal(
      parseMigrationFileName('1_a.sql.sql')?.description,
      'a',
      'trim_end_matches strips the suffix repeatedly',
    );
  });
  it('ignores what sqlx ignores', () => {
    for (const name of ['README.md', 'nounderscore.sql', '1_x.SQL', '1_x.sql.bak', '.gitkeep'])
      assert.equal(parseMigrationFileName(name), undefined, name);
  });
  it('an invalid version prefix is sqlx’s error, not a skip', () => {
    assert.throws(
      () => parseMigrationFileName('V1_x.sql'),
      (e: unknown) =>
        e instanceof MigrationFilenameError &&
        e.message ===
          'error parsing migration filename "V1_x.sql"; expected integer version prefix (e.g. `01_foo.sql`)',
    );
    assert.throws(() => parseMigrationFileName('99999999999999999999_x.sql'), MigrationFilenameError);
  });
});

function local(version: bigint, sql: string, type: LocalMigration['type'] = 'simple'): LocalMigration {
  const bytes = Buffer.from(sql);
  return {
    version,
    description: `m${version}`,
    type,
    fileName: `${version}_m.sql`,
    path: `/m/${version}_m.sql`,
    sql,
    hasBom: false,
    bytes,
    checksum: sha384(bytes),
    noTx: false,
  };
}
function row(version: bigint, sql: string, success = true): AppliedMigration {
  return {
    version,
    description: `m${version}`,
    installedOn: new Date(0),
    success,
    checksum: sha384(sql),
    executionTimeNs: 1000n,
  };
}

describe('migration status', () => {
  it('applied, pending, out of order, modified (with hint), failed, missing', () => {
    const status = computeStatus(
      [
        local(1n, 'a;\n'),
        local(2n, 'b;\r\n'),
        local(3n, 'c;\n'),
        local(4n, 'd;\n'),
        local(6n, 'f;\n'),
        local(7n, 'g;\n'),
      ],
      [row(1n, 'a;\n'), row(2n, 'b;\n'), row(4n, 'd;\n', false), row(5n, 'e;\n'), row(6n, 'f;\n')],
    );
    assert.deepEqual(
      status.map((s) => [s.version, s.state]),
      [
        [1n, 'applied'],
        [2n, 'modified'],
        [3n, 'outOfOrder'],
        [4n, 'failed'],
        [5n, 'missing'],
        [6n, 'applied'],
        [7n, 'pending'],
      ],
    );
    assert.equal(
      status[1]!.hint,
      'Only line endings (CRLF in the file, LF when applied) differ from the applied version.',
    );
    assert.match(
      status[1]!.detail!,
      /^applied migration had checksum [0-9a-f]{96}\nlocal migration has checksum [0-9a-f]{96}$/,
    );
    assert.deepEqual(summarize(status), {
      total: 7,
      applied: 2,
      pending: 2,
      outOfOrder: 1,
      modified: 1,
      failed: 1,
      missing: 1,
    });
  });
  it('hints for a BOM and trailing white space, none for a real change', () => {
    assert.match(
      explainChecksumDifference(Buffer.from('\uFEFFselect 1;\n'), sha384('select 1;\n'))!,
      /byte order mark/,
    );
    assert.match(
      explainChecksumDifference(Buffer.from('select 1;  \n'), sha384('select 1;\n'))!,
      /trailing white space/,
    );
    assert.equal(explainChecksumDifference(Buffer.from('select 2;\n'), sha384('select 1;\n')), undefined);
  });
});

describe('loading and creating migrations', () => {
  it('hashes raw bytes (CRLF, BOM kept), detects -- no-transaction at byte 0 only, rejects invalid UTF-8', async () => {
    const t = tempTree({
      '1_crlf.sql': 'select 1;\r\n',
      '2_bom.sql': '\uFEFF-- no-transaction\nselect 2;\n',
      '3_notx.sql': '-- no-transaction\nCREATE INDEX CONCURRENTLY i ON t (c);\n',
    });
    try {
      const { migrations, errors } = await loadMigrations(t.root);
      assert.deepEqual(errors, []);
      assert.equal(hex(migrations[0]!.checksum), hex(sha384(Buffer.from('select 1;\r\n'))));
      assert.equal(migrations[1]!.checksum.equals(sha384(Buffer.from('\uFEFF-- no-transaction\nselect 2;\n'))), true);
      assert.deepEqual(
        migrations.map((m) => m.noTx),
        [false, false, true],
        'a BOM before -- no-transaction defeats it, as in sqlx',
      );
      assert.deepEqual(
        migrations.map((m) => m.hasBom),
        [false, true, false],
      );
      assert.equal(migrations[1]!.sql, '-- no-transaction\nselect 2;\n', 'the BOM is not sent to the server');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(join(t.root, '4_bad.sql'), Buffer.from([0x73, 0xff, 0x0a]));
      const again = await loadMigrations(t.root);
      assert.match(
        again.errors[0]!.message,
        /^error reading contents of migration ".*4_bad\.sql": stream did not contain valid UTF-8$/,
      );
    } finally {
      t.dispose();
    }
  });

  it('two files with one version are a folder error naming both (an up and its down are not)', async () => {
    const t = tempTree({
      '1_a.up.sql': 'select 1;\n',
      '1_a.down.sql': 'select 1;\n',
      '2_x.sql': 'select 2;\n',
      '2_y.sql': 'select 2;\n',
      '3_ok.sql': 'select 3;\n',
    });
    try {
      const { errors } = await loadMigrations(t.root);
      assert.equal(errors.length, 1);
      assert.match(errors[0]!.message, /^migrations "2_x\.sql" and "2_y\.sql" share version 2: .*rename one file/);
      assert.equal(folderError(t.root, errors), errors[0]);
      assert.equal(folderError(t.root, []), undefined);
      const { writeFileSync } = await import('node:fs');
      writeFileSync(join(t.root, 'x_bad.sql'), 'select 4;\n');
      const again = await loadMigrations(t.root);
      const e = folderError(t.root, again.errors)!;
      assert.match(e.message, /cannot be run as it is \(nothing was applied\)/);
      assert.match(e.message, /"x_bad\.sql"/);
      assert.match(e.message, /"2_x\.sql" and "2_y\.sql"/);
    } finally {
      t.dispose();
    }
  });

  it('an applied migration edited in place (same size, same mtime) shows as modified at the next status', async () => {
    const t = tempTree({ '1_a.sql': 'select 1;\n', '2_b.sql': 'select 2;\n' });
    try {
      const { statSync, utimesSync, writeFileSync } = await import('node:fs');
      const first = await loadMigrations(t.root);
      const applied: AppliedMigration[] = first.migrations.map((m) => ({
        version: m.version,
        description: m.description,
        installedOn: new Date(),
        success: true,
        checksum: m.checksum,
        executionTimeNs: 1000n,
      }));
      assert.deepEqual(
        computeStatus(first.migrations, applied).map((m) => m.state),
        ['applied', 'applied'],
      );
      const file = join(t.root, '1_a.sql');
      const before = statSync(file);
      writeFileSync(file, 'select 9;\n');
      utimesSync(file, before.atime, before.mtime);
      assert.equal(statSync(file).size, before.size);
      const again = await loadMigrations(t.root);
      assert.deepEqual(
        computeStatus(again.migrations, applied).map((m) => m.state),
        ['modified', 'applied'],
      );
    } finally {
      t.dispose();
    }
  });

  it('create: timestamp by default, sqlx template, reversible copies the last type, sequential inferred', async () => {
    const t = tempTree({});
    try {
      const now = new Date(Date.UTC(2026, 10, 24, 9, 5, 7));
      const a = await createMigration(t.root, 'create users', { now });
      assert.deepEqual(readdirSync(t.root), ['20261124090507_create_users.sql']);
      assert.equal(readFileSync(a.files[0]!, 'utf8'), '-- Add migration script here\n');
      const r = await createMigration(t.root, 'add index', { now: new Date(now.getTime() + 1000), reversible: true });
      assert.deepEqual(
        r.files.map((f) => f.split('/').pop()),
        ['20261124090508_add_index.up.sql', '20261124090508_add_index.down.sql'],
      );
      assert.equal(readFileSync(r.files[1]!, 'utf8'), '-- Add down migration script here\n');
      const inferredType = await createMigration(t.root, 'third', { now: new Date(now.getTime() + 2000) });
      assert.equal(inferredType.reversible, true, 'copies the type of the last migration');

      const s = tempTree({ '0001_a.sql': 'x', '0002_b.sql': 'y' });
      try {
        const next = await createMigration(s.root, 'c');
        assert.equal(next.versioning, 'sequential');
        assert.deepEqual(
          next.files.map((f) => f.split('/').pop()),
          ['0003_c.sql'],
        );
      } finally {
        s.dispose();
      }
      await assert.rejects(createMigration(t.root, '  '), /needs a description/);
    } finally {
      t.dispose();
    }
  });
});

describe('command runner mode', () => {
  it('splits a command line into argv without a shell', async () => {
    const { splitCommandLine } = await import('../../src/core/migrations/command-runner');
    assert.deepEqual(splitCommandLine('cargo run --bin tables_migration'), [
      'cargo',
      'run',
      '--bin',
      'tables_migration',
    ]);
    assert.deepEqual(splitCommandLine(`node "my script.js" 'a b' c\\ d $HOME;rm`), [
      'node',
      'my script.js',
      'a b',
      'c d',
      '$HOME;rm',
    ]);
    assert.throws(() => splitCommandLine('node "x'), /Unclosed " in the command/);
  });

  it('runs a stand-in for cargo with DATABASE_URL in its environment, streaming lines and the exit code', async () => {
    const { runMigrationCommand } = await import('../../src/core/migrations/command-runner');
    const lines: string[] = [];
    const script = "console.log('url=' + process.env.DATABASE_URL); console.error('to stderr'); process.exit(3)";
    const r = await runMigrationCommand({
      argv: [process.execPath, '-e', script],
      cwd: process.cwd(),
      databaseUrl: 'postgres://u@h:1/d',
      onLine: (l) => lines.push(l),
    });
    assert.equal(r.exitCode, 3);
    assert.deepEqual(lines.sort(), ['to stderr', 'url=postgres://u@h:1/d']);
    await assert.rejects(
      runMigrationCommand({ argv: ['no-such-binary-xyz'], cwd: process.cwd(), databaseUrl: 'x' }),
      /Cannot run "no-such-binary-xyz"/,
    );
  });
});
