/** Restore drills without Docker: which mounts a scratch container carries, how user checks are judged, freshness. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drillCheckFiles } from '../../src/core/backups/drill-checks';
import {
  drillFreshness,
  drillMarkdown,
  judgeCheckOutput,
  latestPerSource,
  scratchMounts,
} from '../../src/core/backups/drill';
import { drillReport } from '../support/drill-report-fixture';

const report = drillReport;

describe('restore drills (pure parts)', () => {
  it('carries every live mount read-only except the data volume and what is mounted inside it', () => {
    const m = scratchMounts(
      [
        { Type: 'bind', Source: '/infra/pgdata', Destination: '/home/postgres/pgdata' },
        { Type: 'bind', Source: '/infra/pgbackrest.conf', Destination: '/home/postgres/pgdata/backup/pgbackrest.conf' },
        { Type: 'bind', Source: '/infra/backups', Destination: '/var/lib/pgbackrest' },
        { Type: 'volume', Name: 'logs', Destination: '/var/log/pgbackrest' },
      ],
      '/home/postgres/pgdata/data',
    );
    assert.equal(m.dataMountPoint, '/home/postgres/pgdata');
    assert.deepEqual(m.carried, [
      { type: 'bind', source: '/infra/backups', target: '/var/lib/pgbackrest' },
      { type: 'volume', source: 'logs', target: '/var/log/pgbackrest' },
    ]);
    assert.equal(scratchMounts([], '/home/postgres/pgdata/data/').dataMountPoint, '/home/postgres/pgdata');
  });

  it('a user check needs at least one row and no false', () => {
    assert.equal(judgeCheckOutput(['t', '42|t']).ok, true);
    assert.match(judgeCheckOutput([]).message, /no row/);
    assert.match(judgeCheckOutput(['t', '3|f']).message, /returned false: 3\|f/);
    assert.equal(judgeCheckOutput(['false']).ok, false);
    assert.equal(judgeCheckOutput(['fine']).ok, true);
  });

  it('"verified 2h ago", stale after maxAgeDays or when none passed; the newest report per source', () => {
    const now = new Date('2026-11-24T12:01:00.000Z');
    const ok = report({ finished: '2026-11-24T10:01:00.000Z' });
    const failedLater = report({
      passed: false,
      started: '2026-11-24T11:00:00.000Z',
      finished: '2026-11-24T11:01:00.000Z',
    });
    const other = report({ sourceKey: 'baseBackup:/x', started: '2026-11-23T00:00:00.000Z' });
    assert.equal(drillFreshness([failedLater, ok], 7, now).text, 'verified 2h ago');
    assert.equal(drillFreshness([failedLater, ok], 7, now).stale, false);
    assert.equal(drillFreshness([ok], 0.01, now).stale, true);
    assert.deepEqual(drillFreshness([failedLater], 7, now), { stale: true, text: 'never verified by a restore drill' });
    assert.deepEqual(latestPerSource([failedLater, ok, other]), [failedLater, other]);
    assert.match(drillMarkdown(failedLater), /^# Restore drill FAILED: pgbackrest/);
  });

  it('user checks: infra/drill-checks/*.sql by default, tsdbOps.drill.checks when set, a missing file named', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'tsdbops-drill-checks-'));
    try {
      const stack = { workspaceFolder: ws, infraDir: join(ws, 'infra') };
      assert.deepEqual(await drillCheckFiles(stack, []), [], 'no folder: no checks');
      mkdirSync(join(ws, 'infra', 'drill-checks'), { recursive: true });
      writeFileSync(join(ws, 'infra', 'drill-checks', 'b.sql'), 'SELECT 2;');
      writeFileSync(join(ws, 'infra', 'drill-checks', 'a.sql'), 'SELECT 1;');
      writeFileSync(join(ws, 'infra', 'drill-checks', 'notes.txt'), 'not a check');
      assert.deepEqual(await drillCheckFiles(stack, []), [
        { name: 'a.sql', sql: 'SELECT 1;' },
        { name: 'b.sql', sql: 'SELECT 2;' },
      ]);
      mkdirSync(join(ws, 'checks'));
      writeFileSync(join(ws, 'checks', 'only.sql'), 'SELECT true;');
      assert.deepEqual(await drillCheckFiles(stack, ['checks/only.sql']), [{ name: 'only.sql', sql: 'SELECT true;' }]);
      assert.deepEqual(
        (await drillCheckFiles(stack, ['checks/*.sql'])).map((c) => c.name),
        ['only.sql'],
      );
      await assert.rejects(
        drillCheckFiles(stack, ['checks/nope.sql']),
        /tsdbOps\.drill\.checks: checks\/nope\.sql does not exist/,
      );
    } finally {
      rmSync(ws, { recursive: true, force: true });
    }
  });
});
