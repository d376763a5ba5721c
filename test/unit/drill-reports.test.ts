/**
 * Drill reports read one at a time (what the extension's watcher of the drills folder does with a report written by
 * anyone), the folder the stack context answers for them, and the nightly schedules the walkthrough copies.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  drillReportBase,
  isDrillReportFile,
  nightlyDrillText,
  readDrillReport,
  readDrillReports,
  withDrillReport,
  withoutDrillReport,
  writeDrillReport,
} from '../../src/core/backups/drill';
import { drillReport } from '../support/drill-report-fixture';
import { drillsDir } from '../../src/core/backups/overview';
import { resolveStack } from '../../src/core/stack/context';
import type { StackConfig } from '../../src/core/infra';

const report = drillReport;

describe('drill reports, one at a time', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsdb-ops-drills-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the file the writer wrote; a half-written or foreign file is no report', async () => {
    const r = report({});
    const files = await writeDrillReport(dir, r);
    assert.equal(files.json, join(dir, `${drillReportBase(r)}.json`));
    assert.ok(isDrillReportFile('drill-20261124T100000Z-pgbackrest_db.json'));
    assert.ok(!isDrillReportFile('drill-20261124T100000Z-pgbackrest_db.md'));
    assert.deepEqual(await readDrillReport(files.json), r);
    writeFileSync(join(dir, 'drill-half.json'), '{"version": 1, "sourceKey": "pgbackre');
    assert.equal(await readDrillReport(join(dir, 'drill-half.json')), undefined);
    writeFileSync(join(dir, 'drill-other.json'), '{"version": 2}');
    assert.equal(await readDrillReport(join(dir, 'drill-other.json')), undefined);
    assert.equal(await readDrillReport(join(dir, 'drill-gone.json')), undefined);
    assert.deepEqual(await readDrillReports(dir), [r]);
  });

  it('merges a new report newest first, replaces the same file, and drops a removed one', () => {
    const old = report({ started: '2026-11-20T03:30:00.000Z', finished: '2026-11-20T03:31:00.000Z' });
    const mid = report({ started: '2026-11-22T03:30:00.000Z', finished: '2026-11-22T03:31:00.000Z' });
    const failed = report({ started: '2026-11-24T03:30:00.000Z', passed: false, error: 'restore failed' });
    let list = withDrillReport([mid, old], failed);
    assert.deepEqual(
      list.map((r) => r.started),
      [failed.started, mid.started, old.started],
    );
    // The same file written again (a tool rewrote it): one entry, the new content.
    const rewritten = { ...failed, error: 'restore failed: [039] file missing' };
    list = withDrillReport(list, rewritten);
    assert.equal(list.length, 3);
    assert.equal(list[0]!.error, rewritten.error);
    // An older report arriving late (copied from another host) goes in its place.
    const older = report({ started: '2026-11-21T03:30:00.000Z', sourceKey: 'baseBackup:/x' });
    assert.deepEqual(
      withDrillReport(list, older).map((r) => r.started),
      [failed.started, mid.started, older.started, old.started],
    );
    assert.deepEqual(withoutDrillReport(list, join(dir, `${drillReportBase(mid)}.json`)), [rewritten, old]);
    assert.deepEqual(withoutDrillReport(list, 'drill-unknown.json'), list);
  });

  it('the stack context answers the drills folder: `drills` in the backups folder the compose file binds', () => {
    const stack = { backupsDir: '/srv/infra/pgbackrest-data', infraDir: '/srv/infra', env: {} } as StackConfig;
    const ctx = resolveStack(stack, {}, {});
    assert.equal(ctx.drillsDir, join('/srv/infra/pgbackrest-data', 'drills'));
    assert.equal(drillsDir(stack), ctx.drillsDir); // the drill command, the overview and the watcher: one answer
  });
});

describe('nightly drill schedules (the walkthrough copies them)', () => {
  const input = { project: 'infra', workspaceFolder: "/home/o'neil/app", infraDir: "/home/o'neil/app/infra 100%" };

  it('systemd: a oneshot service with a time limit and a nightly timer running tsdb-ops drill --max-age-days 1', () => {
    const t = nightlyDrillText(input, 'systemd');
    assert.match(t, /^# \/etc\/systemd\/system\/tsdb-ops-drill-infra\.service$/m);
    assert.match(t, /^# \/etc\/systemd\/system\/tsdb-ops-drill-infra\.timer$/m);
    assert.match(t, /^Type=oneshot$/m);
    assert.match(t, /^TimeoutStartSec=2h$/m);
    assert.match(t, /^OnCalendar=\*-\*-\* 03:30:00$/m);
    assert.match(t, /^WantedBy=timers\.target$/m);
    // `%` is a systemd specifier: doubled; the path in double quotes.
    assert.match(
      t,
      /^ExecStart=\/usr\/bin\/env npx --yes tsdb-ops drill --infra "\/home\/o'neil\/app\/infra 100%%" --max-age-days 1$/m,
    );
    assert.match(t, /systemctl enable --now tsdb-ops-drill-infra\.timer/);
  });

  it('cron: one line at 03:30 with the paths quoted for /bin/sh and `%` escaped for crontab', () => {
    const t = nightlyDrillText({ ...input, hour: 2, minute: 5 }, 'cron');
    const line = t.split('\n').find((l) => !l.startsWith('#') && l.trim());
    assert.equal(
      line,
      `5 2 * * * cd '/home/o'\\''neil/app' && timeout 2h npx --yes tsdb-ops drill --infra ` +
        `'/home/o'\\''neil/app/infra 100\\%' --max-age-days 1`,
    );
  });
});
