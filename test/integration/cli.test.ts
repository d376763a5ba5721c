/**
 * The command line as a user gets it: `npm pack` in cli/, the tarball installed into a temporary prefix, and the
 * installed `tsdb-ops` run from a folder outside the repository (so nothing resolves from its node_modules).
 * lint on the lint corpus in every format (SARIF checked by Microsoft's validator), workspace settings and flags,
 * `--since` on a temporary git repository and a shallow clone, table sizes from a real PostgreSQL 15, bad input.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative } from 'node:path';
import { lintMigrations } from '../../src/core/lint/lint';
import { postgresAvailable, postgresInstallHint, startCluster, type Cluster } from '../support/cluster';
import { requirePart } from '../support/requirements';
import { installedCli } from '../support/cli-package';
import { ensureSarifMultitool, validateSarif } from '../support/sarif-multitool';
import { CORPUS, corpusFile } from '../unit/lint-corpus';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface JsonReport {
  sizesKnown: boolean;
  sizesNote: string;
  findings: Array<{
    rule: string;
    severity: string;
    file: string;
    line: number;
    column: number;
    tableFacts?: { bytes: number };
  }>;
}

/** The repository root. */
const ROOT = join(__dirname, '..', '..');
const CLI_VERSION = (JSON.parse(readFileSync(join(ROOT, 'cli', 'package.json'), 'utf8')) as { version: string })
  .version;

describe('tsdb-ops command line: the packed tarball, installed', function () {
  let work = '';
  let bin = '';
  /** The environment without libpq variables: a database only where a test sets one. */
  const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PG')));

  function cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Run {
    const r = spawnSync(bin, args, {
      cwd: opts.cwd ?? ROOT,
      env: { ...baseEnv, ...opts.env },
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** A usage error: exit 2, nothing on stdout, exactly one line on stderr that contains every `needle`. */
  function assertUsageError(r: Run, ...needles: string[]): void {
    assert.equal(r.code, 2, `exit code of ${JSON.stringify(r)}`);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `one line on stderr: ${r.stderr}`);
    for (const n of needles) assert.ok(lines[0]!.includes(n), `"${n}" in: ${lines[0]}`);
  }

  before(function () {
    ({ work, bin } = installedCli());
  });

  it('prints its version, and --help for the program and every subcommand', () => {
    const v = cli(['--version'], { cwd: work });
    assert.equal(v.code, 0);
    assert.equal(v.stdout.trim(), CLI_VERSION);
    const help = cli(['--help'], { cwd: work });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^ {2}lint {2}/m);
    assert.match(help.stdout, /Exit codes: 0 ok; 1 findings or a failed check; 2 usage or configuration error/);
    const lint = cli(['lint', '--help'], { cwd: work });
    assert.equal(lint.code, 0);
    for (const flag of [
      '--format',
      '--since',
      '--migrations',
      '--rule',
      '--fail-level',
      '--database-url-env',
      '--infra',
    ])
      assert.ok(lint.stdout.includes(flag), `lint --help names ${flag}`);
    for (const [command, flags] of [
      ['status', ['--format', '--fail-on', '--max-age-days', '--docker-host', '--infra', '--workspace']],
      ['drill', ['--format', '--max-age-days', '--set', '--target', '--repo', '--docker-host', '--infra']],
    ] as const) {
      assert.match(help.stdout, new RegExp(`^ {2}${command} `, 'm'));
      const h = cli([command, '--help'], { cwd: work });
      assert.equal(h.code, 0, h.stderr);
      assert.match(h.stdout, new RegExp(`^Usage: tsdb-ops ${command} \\[options\\]`));
      for (const flag of flags) assert.ok(h.stdout.includes(flag), `${command} --help names ${flag}`);
    }
  });

  describe('lint on the lint corpus, in every format', () => {
    const rules = readdirSync(CORPUS).sort();
    const files = rules.map((r) => relative(ROOT, join(CORPUS, r, 'bad.sql')));
    /** What the core lint finds in the same files, in the same order, without table sizes. */
    let expected: string[] = [];

    before(async () => {
      const report = await lintMigrations(rules.map((r) => corpusFile(r, 'bad')));
      expected = report.findings
        .map((f) => `${relative(ROOT, f.file)}:${f.line}:${f.column} ${f.severity} ${f.rule}`)
        .sort();
      assert.ok(expected.length > rules.length, 'the corpus has findings');
    });

    it('json: the core lint findings, a syntax error among them, and says sizes were not read', () => {
      const r = cli(['lint', '--format', 'json', ...files]);
      assert.equal(r.code, 1, r.stderr);
      const report = JSON.parse(r.stdout) as JsonReport;
      const got = report.findings.map((f) => `${f.file}:${f.line}:${f.column} ${f.severity} ${f.rule}`).sort();
      assert.deepEqual(got, expected);
      assert.equal(report.sizesKnown, false);
      assert.match(report.sizesNote, /not read \(no database configured/);
      const syntax = report.findings.find((f) => f.rule === 'syntax-error');
      assert.equal(syntax?.file, 'test/fixtures/lint/syntax-error/bad.sql');
      assert.equal(syntax?.severity, 'error');
      // Every rule's bad case is found, except those that need the database's facts about a hypertable.
      const found = new Set(report.findings.map((f) => `${f.file.split('/')[3]} ${f.rule}`));
      const missed = rules.filter((rule) => !found.has(`${rule} ${rule}`));
      assert.deepEqual(missed, ['tsdb-alter-compressed-hypertable', 'tsdb-concurrent-index-on-hypertable']);
    });

    it('text: file:line:col, severity and rule on each finding, and the summary', () => {
      const r = cli(['lint', ...files]);
      assert.equal(r.code, 1);
      const lines = r.stdout.split('\n').filter((l) => /^test\/fixtures\/lint\//.test(l));
      const got = lines.map((l) => {
        const m = /^(\S+:\d+:\d+): (error|warning|info) \[([\w-]+)\] /.exec(l);
        assert.ok(m, `a finding line: ${l}`);
        return `${m[1]} ${m[2]} ${m[3]}`;
      });
      assert.deepEqual(got.sort(), expected);
      assert.match(
        r.stdout,
        new RegExp(`${expected.length} findings \\(\\d+ errors, \\d+ warnings\\) in ${files.length} files`),
      );
      assert.match(r.stdout, /Table sizes: not read/);
    });

    it('github: one workflow-command annotation per finding', () => {
      const r = cli(['lint', '--format', 'github', ...files]);
      assert.equal(r.code, 1);
      const got = r.stdout
        .split('\n')
        .filter((l) => l.startsWith('::'))
        .map((l) => {
          const m =
            /^::(error|warning|notice) file=([^,]+),line=(\d+),col=(\d+),endLine=\d+,endColumn=\d+,title=tsdb-ops ([\w-]+)::\S/.exec(
              l,
            );
          assert.ok(m, `an annotation: ${l}`);
          return `${m[2]}:${m[3]}:${m[4]} ${m[1] === 'notice' ? 'info' : m[1]} ${m[5]}`;
        });
      assert.deepEqual(got.sort(), expected);
      assert.ok(!r.stdout.split('\n').some((l) => l.startsWith('::') && /\n/.test(l)));
    });

    it("sarif: valid SARIF 2.1.0 for Microsoft's validator, one result per finding with its region", function () {
      this.timeout(600_000);
      const validator = ensureSarifMultitool();
      const r = cli(['lint', '--format', 'sarif', ...files]);
      assert.equal(r.code, 1);
      const file = join(work, 'corpus.sarif');
      writeFileSync(file, r.stdout);
      const problems = validateSarif(validator, file);
      assert.deepEqual(
        problems.filter((p) => p.level === 'error'),
        [],
      );
      assert.deepEqual(problems, [], 'no warning of the validator either');
      const log = JSON.parse(r.stdout) as {
        version: string;
        runs: Array<{
          tool: { driver: { rules: Array<{ id: string }> } };
          results: Array<{
            ruleId: string;
            level: string;
            locations: Array<{
              physicalLocation: {
                artifactLocation: { uri: string };
                region: { startLine: number; startColumn: number };
              };
            }>;
          }>;
        }>;
      };
      assert.equal(log.version, '2.1.0');
      const got = log.runs[0]!.results.map((x) => {
        const loc = x.locations[0]!.physicalLocation;
        const sev = x.level === 'note' ? 'info' : x.level;
        return `${loc.artifactLocation.uri}:${loc.region.startLine}:${loc.region.startColumn} ${sev} ${x.ruleId}`;
      });
      assert.deepEqual(got.sort(), expected);
      // The validator can fail: a log whose driver has no name is reported as an error.
      const broken = join(work, 'broken.sarif');
      writeFileSync(broken, JSON.stringify({ ...log, runs: [{ ...log.runs[0], tool: { driver: {} } }] }));
      assert.ok(validateSarif(validator, broken).some((p) => p.level === 'error' && /name/.test(p.message)));
    });
  });

  it('reads tsdbOps.lint.rules from the workspace settings (JSON with comments); --rule overrides; info passes', () => {
    const ws = join(work, 'settings-ws');
    mkdirSync(join(ws, '.vscode'), { recursive: true });
    writeFileSync(
      join(ws, '.vscode', 'settings.json'),
      '{\n  // team rules\n  "tsdbOps.lint.rules": { "drop-column": "error", "lock-timeout-missing": "off", },\n}\n',
    );
    const file = join(CORPUS, 'drop-column', 'bad.sql');
    const strict = cli(['lint', '--workspace', ws, '--format', 'json', file], { cwd: work });
    assert.equal(strict.code, 1);
    const rules = (JSON.parse(strict.stdout) as JsonReport).findings.map((f) => `${f.rule} ${f.severity}`);
    assert.deepEqual(rules, ['drop-column error']);
    const relaxed = cli(['lint', '--workspace', ws, '--rule', 'drop-column=info', '--format', 'json', file], {
      cwd: work,
    });
    assert.equal(relaxed.code, 0, 'an info finding does not fail at the default fail level');
    assert.deepEqual(
      (JSON.parse(relaxed.stdout) as JsonReport).findings.map((f) => `${f.rule} ${f.severity}`),
      ['drop-column info'],
    );
    assert.equal(
      cli(['lint', '--workspace', ws, '--rule', 'drop-column=info', '--fail-level', 'info', file], { cwd: work }).code,
      1,
    );
  });

  it('lints the migrations folder of the workspace stack when no file is given (the demo workspace: clean)', () => {
    const r = cli(['lint', '--workspace', join(ROOT, 'test', 'fixtures', 'workspace')], { cwd: work });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^0 findings \(0 errors, 0 warnings\) in [1-9]\d* files/m);
  });

  describe('--since <ref>: applied migrations must never change', () => {
    let repo = '';
    let baseCommit = '';
    const git = (cwd: string, ...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
        cwd,
        encoding: 'utf8',
      }).trim();

    before(() => {
      repo = join(work, 'repo');
      const m = join(repo, 'migrations');
      mkdirSync(m, { recursive: true });
      git(repo, 'init', '-q', '-b', 'main');
      for (const [name, table] of [
        ['0001_create_a.sql', 'a'],
        ['0002_create_b.sql', 'b'],
        ['0003_create_c.sql', 'c'],
        ['0004_create_d.sql', 'd'],
      ])
        writeFileSync(join(m, name!), `CREATE TABLE ${table} (id bigint PRIMARY KEY);\n`);
      git(repo, 'add', '-A');
      git(repo, 'commit', '-q', '-m', 'first migrations');
      git(repo, 'tag', 'v1');
      baseCommit = git(repo, 'rev-parse', 'HEAD');
      git(repo, 'mv', 'migrations/0002_create_b.sql', 'migrations/0005_create_b.sql');
      git(repo, 'rm', '-q', 'migrations/0003_create_c.sql');
      writeFileSync(join(m, '0006_drop_d.sql'), 'DROP TABLE d;\n');
      git(repo, 'add', '-A');
      git(repo, 'commit', '-q', '-m', 'rename, delete, add');
      // Not committed: a pre-commit hook sees the working tree.
      writeFileSync(join(m, '0001_create_a.sql'), 'CREATE TABLE a (id bigint PRIMARY KEY, note text);\n');
    });

    it('flags the edited, the renamed and the deleted migration, not the untouched or the new one, and lints the new one', () => {
      const r = cli(['lint', '--since', 'v1', '--migrations', 'migrations', '--format', 'json'], { cwd: repo });
      assert.equal(r.code, 1, r.stderr);
      const report = JSON.parse(r.stdout) as {
        files: number;
        findings: Array<{ rule: string; severity: string; message: string; file: string }>;
      };
      const since = report.findings.filter((f) => f.rule === 'migration-changed-since');
      assert.deepEqual(since.map((f) => `${f.severity} ${f.message}`).sort(), [
        'error migrations/0001_create_a.sql was edited since v1.',
        'error migrations/0002_create_b.sql was renamed to migrations/0005_create_b.sql since v1.',
        'error migrations/0003_create_c.sql was deleted since v1.',
      ]);
      // With no files, the lint reads the migrations added since the ref (what the pull request brings).
      assert.equal(report.files, 1);
      assert.deepEqual(
        [
          ...new Set(
            report.findings.filter((f) => f.rule !== 'migration-changed-since').map((f) => `${f.file} ${f.rule}`),
          ),
        ].sort(),
        ['migrations/0006_drop_d.sql drop-table', 'migrations/0006_drop_d.sql lock-timeout-missing'],
      );
      const text = cli(['lint', '--since', 'v1', '--migrations', 'migrations'], { cwd: repo });
      assert.match(text.stdout, /^migrations\/0003_create_c\.sql:1:1: error \[migration-changed-since\]/m);
      assert.equal(
        cli(['lint', '--since', 'HEAD', '--migrations', 'migrations', '--rule', 'migration-changed-since=off'], {
          cwd: repo,
        }).code,
        0,
      );
    });

    it('a shallow clone without the ref: exit 2, telling to fetch the history', () => {
      const shallow = join(work, 'shallow');
      execFileSync('git', ['clone', '-q', '--depth', '1', `file://${repo}`, shallow]);
      const r = cli(['lint', '--since', baseCommit, '--migrations', 'migrations'], { cwd: shallow });
      assertUsageError(r, `--since ${baseCommit}`, 'shallow clone', 'fetch-depth: 0');
      assertUsageError(
        cli(['lint', '--since', 'no-such-branch', '--migrations', 'migrations'], { cwd: repo }),
        'no-such-branch',
        'git does not know',
      );
    });
  });

  describe('table sizes from a real PostgreSQL 15 (PG* variables)', () => {
    let cluster: Cluster | undefined;
    before(async function () {
      requirePart(this, postgresAvailable(), 'PostgreSQL 15', postgresInstallHint);
      cluster = await startCluster();
      await cluster.psql(
        "CREATE TABLE sensors (id bigint, kind varchar(20)); INSERT INTO sensors SELECT g, 'k' FROM generate_series(1, 20000) g; ANALYZE sensors",
      );
    });
    after(async () => cluster?.stop());

    it('says where the sizes came from, and a lock finding on a table over the threshold is an error', () => {
      const file = join(CORPUS, 'column-type-change', 'bad.sql');
      const r = cli(['lint', '--format', 'json', '--large-table-bytes', '65536', file], {
        cwd: work,
        env: cluster!.env,
      });
      assert.equal(r.code, 1, r.stderr);
      const report = JSON.parse(r.stdout) as JsonReport;
      assert.equal(report.sizesKnown, true);
      assert.match(report.sizesNote, /^Table sizes: read from postgres:\/\//);
      const f = report.findings.find((x) => x.rule === 'column-type-change');
      assert.equal(f?.severity, 'error');
      assert.ok((f?.tableFacts?.bytes ?? 0) > 65536);
      const offline = cli(['lint', '--no-sizes', '--format', 'json', file], { cwd: work, env: cluster!.env });
      assert.equal((JSON.parse(offline.stdout) as JsonReport).sizesKnown, false);
    });

    it('an unreachable database: exit 2, one line', async () => {
      const port = await closedPort();
      const r = cli(['lint', join(CORPUS, 'drop-column', 'bad.sql')], {
        cwd: work,
        env: { PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: 'postgres', PGDATABASE: 'postgres' },
      });
      assertUsageError(r, `127.0.0.1:${port}`, 'refused', '--no-sizes');
      assertUsageError(
        cli(['lint', '--database-url-env', 'NO_SUCH_URL', join(CORPUS, 'drop-column', 'bad.sql')], { cwd: work }),
        'NO_SUCH_URL',
        'not set',
      );
    });
  });

  it('bad input: exit 2 with one line naming what is wrong and how to fix it, nothing on stdout', () => {
    const file = join(CORPUS, 'drop-column', 'bad.sql');
    assertUsageError(cli(['lint', '--frobnicate', file], { cwd: work }), '--frobnicate', 'tsdb-ops lint --help');
    assertUsageError(cli(['lint', '--format', 'xml', file], { cwd: work }), '"xml"', 'text, json, sarif, github');
    assertUsageError(cli(['lint', '--format'], { cwd: work }), '--format needs a value');
    assertUsageError(
      cli(['lint', '--infra', 'no-such-infra', file], { cwd: work }),
      'no-such-infra',
      'does not exist',
      'docker-compose.yaml',
    );
    assertUsageError(cli(['lint', '--infra', '.', file], { cwd: work }), '--infra .', 'holds no docker-compose.yaml');
    assertUsageError(cli(['lint', 'missing.sql'], { cwd: work }), 'missing.sql', 'no such file');
    assertUsageError(cli(['lint', '--rule', 'drop-colum=error', file], { cwd: work }), 'drop-colum', 'unknown rule');
    assertUsageError(cli(['lint'], { cwd: work }), 'no migrations folder', '--migrations');
    assertUsageError(cli(['frobnicate'], { cwd: work }), '"frobnicate"', 'lint');
    assertUsageError(cli([], { cwd: work }), 'tsdb-ops --help');
    const broken = join(work, 'broken-ws');
    mkdirSync(join(broken, '.vscode'), { recursive: true });
    writeFileSync(join(broken, '.vscode', 'settings.json'), '{\n  "tsdbOps.lint.rules": { "drop-column": "error" \n');
    assertUsageError(
      cli(['lint', '--workspace', broken, file], { cwd: work }),
      join(broken, '.vscode', 'settings.json'),
      'correct the JSON',
    );
    writeFileSync(join(broken, '.vscode', 'settings.json'), '{ "tsdbOps.lint.rules": { "drop-colum": "error" } }');
    assertUsageError(cli(['lint', '--workspace', broken, file], { cwd: work }), 'tsdbOps.lint.rules', '"drop-colum"');
  });
});

/** A TCP port nothing listens on (bound, then closed). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
