/** The command line's pieces without a process: argument parsing, settings file, output escaping, SARIF paths. */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandHelp, parseCommand } from '../../src/cli/args';
import { type CliIo, UsageError } from '../../src/cli/io';
import { escapeData, escapeProperty, formatGithub, type LintOutcome } from '../../src/cli/lint/formats';
import { LINT_SPEC } from '../../src/cli/lint/command';
import { formatSarif } from '../../src/cli/lint/sarif';
import { run } from '../../src/cli/main';
import { loadWorkspace } from '../../src/cli/workspace';
import type { Finding } from '../../src/core/lint/lint';

function io(cwd = process.cwd()): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { out: (t) => stdout.push(t), err: (t) => stderr.push(t), env: {}, cwd, stdout, stderr };
}

const finding = (file: string): Finding => ({
  rule: 'drop-column',
  category: 'destructive',
  severity: 'warning',
  message: 'DROP COLUMN a, b: line 3',
  why: 'The data is gone.',
  fix: 'Stop using it first.',
  file,
  line: 3,
  column: 1,
  endLine: 3,
  endColumn: 30,
  start: 0,
  end: 29,
});

describe('command line: arguments, settings and outputs', () => {
  let dir = '';
  before(() => (dir = mkdtempSync(join(tmpdir(), 'tsdb-ops-cli-unit-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--version prints the version of cli/package.json; no command is a usage error (exit 2, one line)', async () => {
    const v = io();
    assert.equal(await run(['--version'], v), 0);
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'cli', 'package.json'), 'utf8')) as {
      version: string;
    };
    assert.equal(v.stdout.join(''), `${pkg.version}\n`);
    const none = io();
    assert.equal(await run([], none), 2);
    assert.deepEqual(none.stderr, ['tsdb-ops: no command given; run tsdb-ops --help for the commands.\n']);
  });

  it('refuses an unknown option, a value outside the choices and a missing value, naming them', () => {
    const refused = (argv: string[]) => {
      try {
        parseCommand(LINT_SPEC, argv);
      } catch (e) {
        assert.ok(e instanceof UsageError);
        return e.message;
      }
      assert.fail(`accepted ${argv.join(' ')}`);
    };
    assert.equal(
      refused(['--nope']),
      'tsdb-ops lint: unknown option --nope; run tsdb-ops lint --help for the options.',
    );
    assert.match(refused(['--format', 'xml']), /--format "xml" is not one of text, json, sarif, github/);
    assert.match(refused(['--since']), /--since needs a value; write --since <ref>/);
    assert.match(refused(['--since', '--format']), /--since needs a value/);
    const ok = parseCommand(LINT_SPEC, ['--rule', 'a=off', '--rule', 'b=error', 'x.sql']);
    assert.deepEqual(ok.options.rule, ['a=off', 'b=error']);
    assert.deepEqual(ok.positionals, ['x.sql']);
  });

  it('the help names every option of the declaration', () => {
    const help = commandHelp(LINT_SPEC);
    for (const name of Object.keys(LINT_SPEC.options)) assert.ok(help.includes(`--${name}`), name);
  });

  it('reads tsdbOps.* from .vscode/settings.json with comments and trailing commas; a broken file names line and column', async () => {
    mkdirSync(join(dir, '.vscode'), { recursive: true });
    const file = join(dir, '.vscode', 'settings.json');
    writeFileSync(file, '{\n  // ours\n  "tsdbOps.lint.largeTableBytes": 5,\n  "editor.tabSize": 2,\n}\n');
    const ws = await loadWorkspace(io(dir), undefined);
    assert.deepEqual(ws.settings, { 'tsdbOps.lint.largeTableBytes': 5 });
    writeFileSync(file, '{\n  "tsdbOps.lint.rules": {\n    "drop-column" "error"\n  }\n}\n');
    await assert.rejects(loadWorkspace(io(dir), undefined), (e: Error) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, new RegExp(`^${file.replaceAll('.', '\\.')}:3:19: ColonExpected; correct the JSON`));
      return true;
    });
  });

  it('escapes workflow-command data and properties as @actions/core does', () => {
    assert.equal(escapeData('50% done\r\nnext'), '50%25 done%0D%0Anext');
    assert.equal(escapeProperty('a:b,c%'), 'a%3Ab%2Cc%25');
    const out = formatGithub({
      findings: [finding('/w/m/0001_a,b.sql')],
      files: 1,
      statements: 1,
      sizesKnown: false,
      sizesNote: 'no sizes',
      rel: (p) => p.replace('/w/', ''),
    });
    assert.match(
      out,
      /^::warning file=m\/0001_a%2Cb\.sql,line=3,col=1,endLine=3,endColumn=30,title=tsdb-ops drop-column::DROP COLUMN a, b: line 3%0AThe data/,
    );
  });

  it('SARIF: a file inside the workspace is relative to %SRCROOT%, one outside is an absolute file URI', () => {
    const outcome: LintOutcome = {
      findings: [finding('/w/migrations/0001_a b.sql'), finding('/elsewhere/x.sql')],
      files: 2,
      statements: 2,
      sizesKnown: false,
      sizesNote: 'no sizes',
      rel: (p) => p,
    };
    const log = JSON.parse(formatSarif(outcome, '1.2.3', '/w')) as {
      runs: Array<{
        originalUriBaseIds: Record<string, { uri: string }>;
        results: Array<{ ruleIndex: number; locations: Array<{ physicalLocation: { artifactLocation: unknown } }> }>;
        tool: { driver: { rules: Array<{ id: string }> } };
      }>;
    };
    const r = log.runs[0]!;
    assert.equal(r.originalUriBaseIds['%SRCROOT%']!.uri, 'file:///w/');
    assert.deepEqual(
      r.results.map((x) => x.locations[0]!.physicalLocation.artifactLocation),
      [{ uri: 'file:///elsewhere/x.sql' }, { uri: 'migrations/0001_a%20b.sql', uriBaseId: '%SRCROOT%' }],
    );
    assert.equal(r.tool.driver.rules[r.results[0]!.ruleIndex]!.id, 'drop-column');
  });
});
