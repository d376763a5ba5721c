/**
 * The Recovery Timeline model (core/backups/timeline): sets, WAL coverage and gaps, the newest
 * recoverable moment, manual backups, applied migrations with their restore targets, drills and
 * pre-restore copies, built from a Backups overview and a migration status as the controllers hold them.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildTimeline,
  drillResultsOf,
  migrationRestore,
  previousInSameRun,
  walCoverage,
  type TimelineSet,
} from '../../src/core/backups/timeline';
import type { BackupsOverview } from '../../src/core/backups/overview';
import type { BackupSet, StanzaInfo } from '../../src/core/backups/pgbackrest';
import type { MigrationStatus } from '../../src/core/migrations/status';
import type { LocalMigration } from '../../src/core/migrations/source';

const T = (s: string) => new Date(`2026-11-24T${s}Z`);
const seg = (n: number) => `00000001000000000000${n.toString(16).toUpperCase().padStart(4, '0')}`;

function set(label: string, type: BackupSet['type'], start: string, stop: string, wal: [number, number]): BackupSet {
  return {
    label,
    type,
    prior: type === 'full' ? undefined : '20261124-000001F',
    reference: [],
    start: T(start),
    stop: T(stop),
    sizeBytes: 1_000_000,
    deltaBytes: 1000,
    repoSizeBytes: 200_000,
    repoDeltaBytes: 100,
    walStart: seg(wal[0]),
    walStop: seg(wal[1]),
    error: false,
    annotations: {},
  };
}

function overview(stanza: Partial<StanzaInfo> | undefined, extra: Partial<BackupsOverview> = {}): BackupsOverview {
  return {
    stack: { projectName: 'connect', workspaceFolder: '/ws' },
    stanzaName: 'db',
    stanza: stanza && {
      name: 'db',
      status: { code: 0, message: 'ok' },
      lockHeld: false,
      backups: [],
      repos: [],
      ...stanza,
    },
    manual: [],
    preRestore: [],
    jobs: [],
    runs: [],
    loadedAt: T('21:00:00'),
    ...extra,
  } as unknown as BackupsOverview;
}

function applied(version: bigint, description: string, installedOn: string, ns: bigint, noTx = false): MigrationStatus {
  return {
    version,
    description,
    state: 'applied',
    file: { noTx } as LocalMigration,
    applied: {
      version,
      description,
      installedOn: T(installedOn),
      success: true,
      checksum: Buffer.alloc(0),
      executionTimeNs: ns,
    },
  };
}

describe('Recovery Timeline model', () => {
  const full = set('20261124-000001F', 'full', '00:00:01', '00:01:10', [2, 3]);
  const diff = set('20261124-000001F_20261124-120000D', 'diff', '12:00:00', '12:00:30', [8, 9]);

  it('puts the sets on the axis by type, oldest first, with the archived WAL as one band up to the newest recoverable moment', () => {
    const m = buildTimeline({
      overview: overview({
        backups: [diff, full],
        walMin: seg(2),
        walMax: seg(20),
        pitr: { from: full.stop, to: T('20:30:00') },
      }),
    });
    assert.deepEqual(
      m.sets.map((s) => [s.label, s.type, s.sizeBytes]),
      [
        ['20261124-000001F', 'full', 1_000_000],
        ['20261124-000001F_20261124-120000D', 'diff', 1_000_000],
      ],
    );
    assert.deepEqual(m.wal.covered, [{ from: full.stop.getTime(), to: T('20:30:00').getTime() }]);
    assert.deepEqual(m.wal.gaps, []);
    assert.equal(m.newestRecoverable, T('20:30:00').getTime());
    assert.ok(m.extent.from < full.start.getTime() && m.extent.to > T('20:30:00').getTime(), 'everything is in view');
    assert.equal(m.project, 'connect');
    assert.equal(m.stanza, 'db');
  });

  it('starts the WAL band at the first set whose WAL is still archived (older WAL expired)', () => {
    const sets = [
      set('A', 'full', '00:00:00', '01:00:00', [2, 3]),
      set('B', 'full', '05:00:00', '06:00:00', [30, 31]),
      set('C', 'diff', '07:00:00', '07:10:00', [33, 34]),
    ].map((s): TimelineSet => ({ ...s, start: s.start.getTime(), stop: s.stop.getTime() }));
    const r = walCoverage(sets, seg(30), seg(40), T('08:00:00').getTime());
    assert.deepEqual(r.covered, [{ from: T('06:00:00').getTime(), to: T('08:00:00').getTime() }]);
    assert.deepEqual(r.gaps, []);
    // The whole range archived: one span from A's end.
    assert.deepEqual(walCoverage(sets, seg(2), seg(40), T('08:00:00').getTime()).covered, [
      { from: T('01:00:00').getTime(), to: T('08:00:00').getTime() },
    ]);
    // No WAL after the newest set (pitr ends at its stop): the band ends at the newest set.
    assert.deepEqual(walCoverage(sets, seg(2), seg(34), T('07:10:00').getTime()).covered, [
      { from: T('01:00:00').getTime(), to: T('07:10:00').getTime() },
    ]);
  });

  it('splits coverage into spans with the gap between them when an expired stretch sits in the middle', () => {
    const a = set('A', 'full', '00:00:00', '01:00:00', [2, 3]);
    const b = set('B', 'incr', '02:00:00', '02:10:00', [5, 6]);
    const c = set('C', 'full', '05:00:00', '06:00:00', [30, 31]);
    const d = set('D', 'diff', '07:00:00', '07:10:00', [33, 34]);
    const sets = [a, b, c, d].map((s): TimelineSet => ({ ...s, start: s.start.getTime(), stop: s.stop.getTime() }));
    // B's stop segment (6) is the last one kept before 30: B → C cannot be replayed.
    const r = walCoverage(
      sets.map((s) => (s.label === 'C' ? { ...s, walStart: seg(25) } : s)),
      seg(2),
      seg(40),
      T('08:00:00').getTime(),
    );
    assert.equal(r.covered.length, 1, 'segment names alone cannot prove a hole: 25 is inside [2, 40]');
    const holed = walCoverage(
      sets.map((s) => (s.label === 'B' ? { ...s, walStop: seg(50) } : s)),
      seg(2),
      seg(40),
      T('08:00:00').getTime(),
    );
    assert.deepEqual(
      holed.covered.map((x) => [x.from, x.to]),
      [
        [a.stop.getTime(), b.stop.getTime()],
        [c.stop.getTime(), T('08:00:00').getTime()],
      ],
    );
    assert.deepEqual(holed.gaps, [{ from: b.stop.getTime(), to: c.stop.getTime() }]);
  });

  it('lists manual backups (not unknown files) by their sidecar time, and pre-restore copies and drills', () => {
    const m = buildTimeline({
      overview: overview(undefined, {
        stanzaError: new Error('container not running'),
        manual: [
          {
            kind: 'pg_dump',
            name: 'connect_db_pg_dump_20261124_201500.tar',
            path: '/b/connect_db_pg_dump_20261124_201500.tar',
            isDirectory: false,
            size: 5,
            modified: T('20:20:00'),
            database: 'connect_db',
            sidecar: {
              kind: 'dump',
              pgVersion: '15',
              created: T('20:15:00').toISOString(),
              sizeBytes: 12_000,
              command: [],
              database: 'connect_db',
            },
          },
          {
            kind: 'other',
            name: 'notes.txt',
            path: '/b/notes.txt',
            isDirectory: false,
            size: 1,
            modified: T('10:00:00'),
          },
          {
            kind: 'pg_basebackup',
            name: 'pg_basebackup_20261124_101500',
            path: '/b/pg_basebackup_20261124_101500',
            isDirectory: true,
            size: 9,
            modified: T('10:15:00'),
          },
        ],
        preRestore: [
          {
            path: '/pg/data.pre-restore-20261124_203000',
            name: 'data.pre-restore-20261124_203000',
            created: T('20:30:00'),
          },
        ],
      }),
      drills: [{ at: T('21:00:00'), ok: false, source: '20261124-000001F', failures: ['pg_amcheck: corrupt'] }],
    });
    assert.deepEqual(
      m.manual.map((b) => [b.kind, b.at, b.sizeBytes, b.database]),
      [
        ['pg_basebackup', T('10:15:00').getTime(), 9, undefined],
        ['pg_dump', T('20:15:00').getTime(), 12_000, 'connect_db'],
      ],
    );
    assert.deepEqual(m.preRestore, [
      {
        name: 'data.pre-restore-20261124_203000',
        path: '/pg/data.pre-restore-20261124_203000',
        at: T('20:30:00').getTime(),
        sizeBytes: undefined,
      },
    ]);
    assert.deepEqual(m.drills, [
      { at: T('21:00:00').getTime(), ok: false, source: '20261124-000001F', failures: ['pg_amcheck: corrupt'] },
    ]);
    assert.equal(m.sets.length, 0);
    assert.equal(m.newestRecoverable, undefined);
    assert.deepEqual(m.problems, ['pgBackRest: container not running']);
  });

  it('ticks every applied migration with version, description, time and duration; pending and failed ones are not on it', () => {
    const m = buildTimeline({
      overview: overview(undefined),
      migrations: [
        applied(20261124100000n, 'create sensors', '10:00:00', 7_641_042n),
        applied(20261124100001n, 'drop note', '10:00:02.5', 2_000_000_000n, true),
        applied(20261124100002n, 'killed before the time update', '11:00:00', -1n),
        { version: 20261124100003n, description: 'pending one', state: 'pending' },
        {
          ...applied(20261124100004n, 'failed', '12:00:00', 1n),
          state: 'failed',
          applied: { ...applied(1n, 'x', '12:00:00', 1n).applied!, success: false },
        },
      ],
      migrationsError: undefined,
    });
    assert.deepEqual(
      m.migrations.map((x) => [x.version, x.description, x.installedOn, x.durationMs, x.noTransaction, x.restore.kind]),
      [
        ['20261124100000', 'create sensors', T('10:00:00').getTime(), 7.641, false, 'xid'],
        ['20261124100001', 'drop note', T('10:00:02.5').getTime(), 2000, true, 'time'],
        ['20261124100002', 'killed before the time update', T('11:00:00').getTime(), undefined, false, 'xid'],
      ],
    );
    const noTx = m.migrations[1]!.restore;
    assert.ok(noTx.kind === 'time');
    // sqlx writes a no-transaction migration's row after its statements: the target is before it started.
    assert.equal(noTx.time, T('10:00:02.5').getTime() - 2000 - 1);
    assert.equal(noTx.approximate, true);
    assert.match(noTx.why, /no-transaction.*approximate/);
    // create sensors ended 0.5 s before drop note began (2 s before its row): the same run; the one an hour later is not.
    assert.equal(previousInSameRun(m.migrations, m.migrations[1]!)?.version, '20261124100000');
    assert.equal(previousInSameRun(m.migrations, m.migrations[2]!), undefined);
    assert.equal(previousInSameRun(m.migrations, m.migrations[0]!), undefined);
    // Two quick ones: D took 2 ms, E's estimated start (its row's time minus 6 ms, which counts its INSERT and the
    // round trips) falls before D's own start. Still the same run (seen on the fixture stack under load).
    const d = { ...m.migrations[0]!, version: '3', installedOn: T('12:00:00.100').getTime(), durationMs: 2 };
    const e = {
      ...m.migrations[1]!,
      version: '4',
      installedOn: T('12:00:00.104').getTime(),
      durationMs: 6,
      restore: migrationRestore(T('12:00:00.104'), 6, true),
    };
    assert.equal(previousInSameRun([d, e], e)?.version, '3');
  });

  it('names a migrations read error as a problem, and the migration restore of a transactional one is its transaction', () => {
    const m = buildTimeline({
      overview: overview(undefined),
      migrationsError: new Error('password authentication failed'),
    });
    assert.deepEqual(m.problems, ['Migrations: password authentication failed']);
    assert.deepEqual(migrationRestore(T('10:00:00'), 5, false), { kind: 'xid' });
  });

  it('builds 500 sets and 1,000 migrations into a model that survives JSON (the webview boundary)', () => {
    const sets: BackupSet[] = Array.from({ length: 500 }, (_, i) =>
      set(`S${i}`, i % 10 === 0 ? 'full' : 'diff', '00:00:00', '00:00:00', [i * 2 + 2, i * 2 + 3]),
    ).map((s, i) => ({
      ...s,
      start: new Date(T('00:00:00').getTime() + i * 900_000),
      stop: new Date(T('00:00:00').getTime() + i * 900_000 + 60_000),
    }));
    const migrations = Array.from({ length: 1000 }, (_, i) =>
      applied(BigInt(20260000000000 + i), `m${i}`, '00:00:00', 1000n),
    ).map((mm, i) => ({
      ...mm,
      applied: { ...mm.applied!, installedOn: new Date(T('00:00:00').getTime() + i * 60_000) },
    }));
    const m = buildTimeline({
      overview: overview({
        backups: sets,
        walMin: seg(2),
        walMax: seg(2000),
        pitr: { from: sets[0]!.stop, to: T('23:59:00') },
      }),
      migrations,
    });
    assert.equal(m.sets.length, 500);
    assert.equal(m.migrations.length, 1000);
    assert.equal(m.wal.covered.length, 1);
    const sent = JSON.parse(JSON.stringify(m)) as typeof m; // no Date, no bigint: plain JSON
    assert.equal(sent.migrations[999]!.version, '20260000000999');
    assert.equal(sent.sets[499]!.stop, m.sets[499]!.stop);
    assert.equal(typeof sent.migrations[0]!.installedOn, 'number');
  });
});

describe('timeline: restore drills from their reports', () => {
  it('a passed and a failed drill become marks, the failure naming the check and the restore error', () => {
    const base = {
      version: 1 as const,
      project: 'p',
      sourceKey: 'pgbackrest:db',
      started: '2026-11-24T20:00:00.000Z',
      phases: [],
      rtoMs: 1000,
      image: 'img',
      owner: { host: 'h', pid: 1 },
    };
    const marks = drillResultsOf([
      {
        ...base,
        source: 'pgbackrest 20261124-000001F (latest)',
        set: '20261124-000001F',
        finished: '2026-11-24T20:01:00.000Z',
        passed: true,
        checks: [{ name: 'start', status: 'passed', message: 'ok' }],
      },
      {
        ...base,
        source: 'pg_basebackup x',
        finished: '2026-11-24T21:00:00.000Z',
        passed: false,
        error: 'PostgreSQL did not start',
        checks: [
          { name: 'pg_amcheck', status: 'failed', message: 'corrupt page' },
          { name: 'sqlx', status: 'skipped', message: 'no table' },
        ],
      },
    ]);
    assert.deepEqual(
      marks.map((m) => [m.at.toISOString(), m.ok, m.source, m.failures]),
      [
        ['2026-11-24T20:01:00.000Z', true, '20261124-000001F', []],
        [
          '2026-11-24T21:00:00.000Z',
          false,
          'pg_basebackup x',
          ['PostgreSQL did not start', 'pg_amcheck: corrupt page'],
        ],
      ],
    );
  });
});

describe('timeline: live without a polling loop of its own', () => {
  const read = (f: string) => readFileSync(join(__dirname, '..', '..', f), 'utf8');
  it("the panel rebuilds on the Backups and Migrations controllers' events and has no timer loop (the in-host suite shows it live)", () => {
    const panel = read('src/ui/timeline/panel.ts');
    assert.match(panel, /ctx\.backups\.onDidChange\(\(\) => void this\.update\(\)\)/);
    assert.match(panel, /ctx\.migrations\.onDidChange\(\(\) => void this\.update\(\)\)/);
    for (const f of ['src/ui/timeline/panel.ts', 'src/webview/timeline.ts']) {
      const src = read(f);
      assert.doesNotMatch(src, /setInterval\(/, `${f} polls`);
      // The only timer: the one-shot bound of whenRendered (waiting for the webview's report).
      assert.ok((src.match(/setTimeout\(/g) ?? []).length <= (f.endsWith('panel.ts') ? 1 : 0), `${f} has a timer`);
    }
  });
});
