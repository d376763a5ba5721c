/**
 * docs/cli.md documents the whole command line: every subcommand with a section, every flag of each, every exit
 * code, every Prometheus metric with its exact help line; and --max-age-days decides as documented.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DRILL_SPEC, skipReason } from '../../src/cli/drill/command';
import { LINT_SPEC } from '../../src/cli/lint/command';
import { mainHelp } from '../../src/cli/main';
import { UsageError } from '../../src/cli/io';
import { stackSettingsOf } from '../../src/cli/stack';
import { STATUS_SPEC } from '../../src/cli/status/command';
import type { DrillReport } from '../../src/core/backups/drill';
import { FAIL_CONDITIONS } from '../../src/core/status/model';
import { METRICS } from '../../src/core/status/prometheus';

const DOC = readFileSync(join(__dirname, '..', '..', 'docs', 'cli.md'), 'utf8');

describe('docs/cli.md covers the command line', () => {
  for (const spec of [LINT_SPEC, STATUS_SPEC, DRILL_SPEC])
    it(`${spec.name}: a section, in the program's help, every flag documented`, () => {
      assert.match(DOC, new RegExp(`^## \`tsdb-ops ${spec.name}`, 'm'));
      assert.match(mainHelp(), new RegExp(`^ {2}${spec.name} `, 'm'));
      for (const name of Object.keys(spec.options)) {
        if (name === 'help') continue;
        assert.ok(DOC.includes(`\`--${name}`), `--${name} of ${spec.name} in docs/cli.md`);
      }
    });

  it('every exit code, every --fail-on condition, every metric with its help line', () => {
    for (const code of [0, 1, 2]) assert.match(DOC, new RegExp(`^\\| ${code} \\| `, 'm'));
    for (const c of FAIL_CONDITIONS) assert.ok(DOC.includes(`\`${c}\``), c);
    for (const m of METRICS) assert.ok(DOC.includes(`| \`${m.name}\` | ${m.help} |`), m.name);
  });
});

describe('drill --max-age-days', () => {
  const now = new Date('2026-12-01T12:00:00Z');
  const report = (finished: string, passed: boolean) =>
    ({ source: 'pgbackrest x (latest)', finished, started: finished, passed }) as unknown as DrillReport;

  it('skips when the newest drill passed within the limit, naming it', () => {
    const r = skipReason([report('2026-12-01T06:00:00Z', true)], 1, now);
    assert.match(
      r?.text ?? '',
      /pgbackrest x \(latest\), finished 2026-12-01T06:00:00Z\) passed 6 h ago, within --max-age-days 1/,
    );
  });

  it('a nightly timer drills every night: last night’s drill, finished after tonight’s start time, is not recent', () => {
    // Last night's drill started 03:30 and finished 03:34; tonight's timer fires at 03:30 (23 h 56 min later).
    const tonight = new Date('2026-12-02T03:30:00Z');
    assert.equal(skipReason([report('2026-12-01T03:34:00Z', true)], 1, tonight), undefined);
    // A drill run from the editor in the afternoon still counts (the night is skipped).
    assert.ok(skipReason([report('2026-12-01T15:00:00Z', true)], 1, tonight));
  });

  it('drills when the newest passing drill is older, when the newest failed (even after a recent pass), and with none', () => {
    assert.equal(skipReason([report('2026-11-29T12:00:00Z', true)], 1, now), undefined);
    assert.equal(
      skipReason([report('2026-12-01T11:00:00Z', false), report('2026-12-01T10:00:00Z', true)], 7, now),
      undefined,
    );
    assert.equal(skipReason([], 7, now), undefined);
  });
});

describe('the stack settings a command hands to resolveStack', () => {
  const ws = (settings: Record<string, unknown>) => ({
    folder: '/ws',
    settingsFile: '/ws/.vscode/settings.json',
    settings,
  });

  it("are the workspace's tsdbOps.* values as the plain object the extension builds; --docker-host wins", () => {
    const s = stackSettingsOf(
      ws({
        'tsdbOps.backups.stanza': ' main ',
        'tsdbOps.backups.runtime': 'host',
        'tsdbOps.backups.port': 5433,
        'tsdbOps.docker.host': 'ssh://ops@db1',
        'tsdbOps.docker.knownHostsFile': '/k',
        'tsdbOps.drill.checks': ['checks/*.sql'],
      }),
    );
    assert.equal(s.backups?.stanza, 'main');
    assert.equal(s.backups?.runtime, 'host');
    assert.equal(s.backups?.port, 5433);
    assert.equal(s.docker?.host, 'ssh://ops@db1');
    assert.equal(s.docker?.knownHostsFile, '/k');
    assert.deepEqual(s.drill?.checks, ['checks/*.sql']);
    assert.equal(
      stackSettingsOf(ws({ 'tsdbOps.docker.host': 'ssh://a' }), { dockerHost: 'unix:///s' }).docker?.host,
      'unix:///s',
    );
    assert.equal(stackSettingsOf(ws({})).backups?.runtime, undefined);
  });

  it('a value of the wrong type is a usage error naming the key, the file and the value', () => {
    assert.throws(
      () => stackSettingsOf(ws({ 'tsdbOps.backups.runtime': 'docker' })),
      (e: Error) =>
        e instanceof UsageError &&
        e.message ===
          '/ws/.vscode/settings.json: tsdbOps.backups.runtime must be "container" or "host", got "docker"; correct it.',
    );
  });
});
