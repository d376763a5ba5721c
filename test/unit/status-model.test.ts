/** One stack status (backups, schedules, archiving, drills, migrations) from a Backups overview, and its metrics. */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DrillReport } from '../../src/core/backups/drill';
import type { BackupsOverview } from '../../src/core/backups/overview';
import { parseArchiverRow } from '../../src/core/backups/archiver';
import type { BackupSet } from '../../src/core/backups/pgbackrest';
import { parseCompose } from '../../src/core/infra/compose';
import { ofeliaJobs } from '../../src/core/schedule/ofelia';
import { failures, stackStatus } from '../../src/core/status/model';
import { formatPrometheus } from '../../src/core/status/prometheus';
import { RUNNING_SCHEDULER } from '../support/scheduler-fixture';

const FIXTURE = join(__dirname, '..', 'fixtures', 'infra', 'docker-compose.yaml');
const NOW = new Date('2026-11-24T12:00:00Z');
const jobs = ofeliaJobs(
  parseCompose(readFileSync(FIXTURE, 'utf8'), FIXTURE, {
    TIMESCALEDB_IMAGE: 'x',
    OFELIA_IMAGE: 'mcuadros/ofelia:988d988',
  }).model,
);

function full(label: string, stop: string): BackupSet {
  return { label, type: 'full', stop: new Date(stop), start: new Date(stop), annotations: {} } as unknown as BackupSet;
}

function drill(passed: boolean, finished: string, error?: string): DrillReport {
  return {
    source: 'pgbackrest 20261124-000001F (latest)',
    sourceKey: 'pgbackrest:db',
    started: finished,
    finished,
    passed,
    error,
  } as DrillReport;
}

function overview(extra: Partial<BackupsOverview>): BackupsOverview {
  return {
    stack: { projectName: 'connect', infraDir: '/ws/infra', workspaceFolder: '/ws' },
    stanzaName: 'db',
    stanza: { name: 'db', backups: [full('20261124-000001F', '2026-11-24T00:00:30Z')] },
    manual: [],
    preRestore: [],
    jobs,
    runs: [],
    drills: [],
    repositories: [{ name: 'repo1', location: 'posix /var/lib/pgbackrest' }],
    loadedAt: NOW,
    scheduler: RUNNING_SCHEDULER,
    ...extra,
  } as unknown as BackupsOverview;
}

const opts = { now: NOW, graceMs: 15 * 60_000, maxAgeDays: 7 };

describe('stack status: one model for the command line, backup.info and the status bar', () => {
  it('failing archiving is an error, named first (above a missed backup schedule)', () => {
    const archiver = parseArchiverRow(
      'on|40|000000010000000000000030|2026-11-24T11:00:00.000Z|3|000000010000000000000031|2026-11-24T11:59:00.000Z|2026-11-24T12:00:00.000Z',
    );
    const s = stackStatus(overview({ archiver, drills: [drill(true, '2026-11-24T06:00:00Z')] }), opts);
    assert.equal(s.backups.freshness, 'warning');
    assert.equal(s.archiving.state, 'failing');
    assert.equal(s.level, 'error');
    assert.match(s.reasons[0]!, /000000010000000000000031/);
    assert.deepEqual(failures(s, ['archiving']), [`archiving: ${s.archiving.text}`]);
  });

  it('a failed newest drill is an error; no passing drill within maxAgeDays is stale', () => {
    const failed = stackStatus(
      overview({
        drills: [drill(false, '2026-11-24T06:00:00Z', 'check rows.sql failed'), drill(true, '2026-11-20T06:00:00Z')],
      }),
      opts,
    );
    assert.equal(failed.level, 'error');
    assert.equal(failed.drills.newest?.passed, false);
    assert.equal(failed.drills.lastPassed?.finished, '2026-11-20T06:00:00Z');
    assert.equal(failed.drills.stale, false);
    assert.ok(failed.reasons.some((r) => r.includes('check rows.sql failed')));
    assert.deepEqual(failures(failed, ['stale-drill']), ['stale-drill: the newest restore drill failed']);
    const old = stackStatus(overview({ drills: [drill(true, '2026-11-10T06:00:00Z')] }), opts);
    assert.equal(old.drills.stale, true);
    assert.ok(old.level !== 'ok');
    assert.equal(failures(old, ['stale-drill']).length, 1);
    assert.deepEqual(failures(old, ['pending', 'archiving']), ['archiving: WAL archiving not read']);
  });

  it('pending and modified migrations; --fail-on pending names the count', () => {
    const s = stackStatus(overview({}), {
      ...opts,
      migrations: { total: 5, applied: 3, pending: 1, outOfOrder: 1, modified: 1, failed: 0, missing: 0 },
    });
    assert.deepEqual(s.migrations, { pending: 2, modified: 1, failed: 0, missing: 0, applied: 3 });
    assert.deepEqual(failures(s, ['pending']), ['pending: 2 pending migration(s)']);
    assert.ok(s.reasons.includes('1 applied migration(s) modified since they ran'));
  });

  it('--fail-on pending fails when the applied migrations could not be read (unknown is not none)', () => {
    const s = stackStatus(overview({}), { ...opts, migrations: new Error('connect ECONNREFUSED 127.0.0.1:5432') });
    assert.deepEqual(s.migrations, { error: 'connect ECONNREFUSED 127.0.0.1:5432' });
    assert.deepEqual(failures(s, ['pending']), [
      'pending: the applied migrations could not be read (connect ECONNREFUSED 127.0.0.1:5432)',
    ]);
  });

  it('Prometheus text: HELP and TYPE per metric, escaped labels, unknown values left out', () => {
    const s = stackStatus(
      overview({ stack: { projectName: 'a"b\\c', infraDir: '/x' } as BackupsOverview['stack'] }),
      opts,
    );
    const text = formatPrometheus([s]);
    assert.match(text, /^# HELP tsdb_ops_status_level /m);
    assert.match(text, /^# TYPE tsdb_ops_backup_newest_timestamp_seconds gauge$/m);
    const stop = Date.parse('2026-11-24T00:00:30Z') / 1000;
    assert.ok(text.includes(`\ntsdb_ops_backup_newest_timestamp_seconds{project="a\\"b\\\\c"} ${stop}\n`));
    assert.ok(
      text.includes(`\ntsdb_ops_backup_newest_age_seconds{project="a\\"b\\\\c"} ${NOW.getTime() / 1000 - stop}\n`),
    );
    // The fixture's diff job runs every 15 minutes; only a full backup at midnight exists.
    assert.ok(text.includes('\ntsdb_ops_backup_schedule_missed{project="a\\"b\\\\c"} 1\n'));
    assert.doesNotMatch(text, /tsdb_ops_archiving_failing/, 'archiving not read: no sample');
    assert.doesNotMatch(text, /tsdb_ops_migrations_pending/);
  });
});
