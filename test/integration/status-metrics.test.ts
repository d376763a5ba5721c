/**
 * The stack status as Prometheus metrics passes `promtool check metrics` (Debian's `prometheus` package): every
 * metric of the model with a value (archiving read, drills, migrations), for two stacks, and the check can fail.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import type { DrillReport } from '../../src/core/backups/drill';
import type { BackupsOverview } from '../../src/core/backups/overview';
import { parseArchiverRow } from '../../src/core/backups/archiver';
import type { BackupSet } from '../../src/core/backups/pgbackrest';
import { stackStatus } from '../../src/core/status/model';
import { formatPrometheus, METRICS } from '../../src/core/status/prometheus';
import { requirePart, which } from '../support/requirements';
import { RUNNING_SCHEDULER } from '../support/scheduler-fixture';

const NOW = new Date('2026-11-24T12:00:00Z');

function overview(project: string, failing: boolean): BackupsOverview {
  const set = { label: '20261124-000001F', type: 'full', stop: new Date('2026-11-24T00:00:30Z'), annotations: {} };
  const drill = {
    source: 'pgbackrest latest',
    sourceKey: 'pgbackrest:db',
    started: '2026-11-24T06:00:00Z',
    finished: '2026-11-24T06:01:00Z',
    passed: !failing,
  };
  return {
    stack: { projectName: project, infraDir: `/ws/${project}`, workspaceFolder: '/ws' },
    stanzaName: 'db',
    stanza: { name: 'db', backups: [set as unknown as BackupSet] },
    manual: [],
    preRestore: [],
    jobs: [],
    runs: [],
    drills: (failing
      ? [drill, { ...drill, started: '2026-11-23T06:00:00Z', finished: '2026-11-23T06:01:00Z', passed: true }]
      : [drill]) as DrillReport[],
    repositories: [],
    archiver: parseArchiverRow(
      [
        'on|40|000000010000000000000030|2026-11-24T11:00:00.000Z',
        failing ? '3|000000010000000000000031|2026-11-24T11:59:00.000Z' : '0||',
        '2026-11-24T12:00:00.000Z',
      ].join('|'),
    ),
    loadedAt: NOW,
    scheduler: RUNNING_SCHEDULER,
  } as unknown as BackupsOverview;
}

function promtool(text: string): { code: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('status metrics: the Prometheus text exposition format, checked by promtool', () => {
  before(function () {
    requirePart(this, which('promtool') !== undefined, 'promtool', 'apt-get install -y prometheus');
  });

  it('every metric, for two stacks, passes promtool check metrics with no finding', () => {
    const migrations = { total: 4, applied: 3, pending: 1, outOfOrder: 0, modified: 0, failed: 0, missing: 0 };
    const opts = { now: NOW, graceMs: 0, maxAgeDays: 7, migrations };
    const text = formatPrometheus([
      stackStatus(overview('prod', true), opts),
      stackStatus(overview('staging', false), opts),
    ]);
    for (const m of METRICS) assert.equal(text.split('\n').filter((l) => l.startsWith(`${m.name}{`)).length, 2, m.name);
    const r = promtool(text);
    assert.equal(r.code, 0, r.output);
    assert.equal(r.output.trim(), '');
    assert.ok(text.includes('tsdb_ops_archiving_failing{project="prod"} 1\n'));
    assert.ok(text.includes('tsdb_ops_drill_newest_passed{project="staging"} 1\n'));
  });

  it('promtool refuses a metric without HELP (the check can fail)', () => {
    assert.notEqual(promtool('tsdb_ops_status_level{project="x"} 1\n').code, 0);
  });
});
