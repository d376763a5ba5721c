/**
 * Migration cells (Run Pending with a transactional and a `-- no-transaction` migration, Revert) against a
 * full data disk, an engine restart and a second window. The runner and the set-ups: f29mb-support.ts.
 */
import type { Migrator } from '../../../src/core/migrations/migrator';
import { settle, type Ended } from '../cell';
import {
  BIG_TABLE,
  dataDiskFilledAt,
  engineRestartedAt,
  indexMigrationState,
  indexPhase,
  migrationCell,
  revertState,
  running,
  snapshotHolder,
  waitingForSnapshots,
} from '../f29mb-support';
import { until } from '../inject';
import { faultOps } from '../ops';

/** The migration's error names the full disk (and, in a transaction, that it was rolled back). */
const DISK_FULL = /Disk full: the database server’s data volume has no space left/;
const DISK_FULL_TX = /Disk full: the database server’s data volume .*rolled back: nothing of it stays/;
const LOST = /connection|terminat|server closed|ECONNRESET|ECONNREFUSED|shut/i;
const filled = (mb: number) =>
  `the stack’s data folder (PG_DATA) is a tmpfs of ${mb} MB mounted before the stack starts; the checksum table holds ` +
  '200,000 rows with 512-byte pads, so building an index on its pad column sorts about 110 MB (spilling to ' +
  'base/pgsql_tmp); once pg_stat_activity shows the build running, another writer fills the disk to 6 MB free ' +
  '(fallocate), so the migration runs out of space midway; the filler is removed once the operation answered (the user ' +
  'frees space) and the after-check runs';
const upTable = (t: string) => `CREATE TABLE ${t} (id int);\nINSERT INTO ${t} SELECT generate_series(1, 1000);\n`;

export const migrateTxDataDiskFull = migrationCell({
  row: 'migrate-tx',
  column: 'disk-full-data',
  injection: `a transactional migration (CREATE INDEX on the checksum table’s pad) runs through Run Pending; ${filled(700)}`,
  injected: 'the data disk filled to 6 MB free while the migration’s CREATE INDEX sorts',
  migration: { name: 'fault_tx_disk_idx', sql: 'CREATE INDEX fault_tx_disk_idx ON fault_checksum (pad);\n' },
  checksum: BIG_TABLE,
  setup: (env) =>
    dataDiskFilledAt(env, (s) => running(s, 'CREATE INDEX fault_tx_disk_idx'), 'the migration’s CREATE INDEX'),
  state: (s, v) => indexMigrationState(s, 'fault_tx_disk_idx', v),
  says: DISK_FULL_TX,
  drop: [],
});

export const migrateNoTxDataDiskFull = migrationCell({
  row: 'migrate-notx',
  column: 'disk-full-data',
  injection:
    'a `-- no-transaction` migration (CREATE INDEX CONCURRENTLY on the checksum table’s pad) runs through Run Pending; ' +
    `${filled(700)}; Run Pending is run again (what the user does next): it must offer the INVALID index’s DROP INDEX ` +
    'CONCURRENTLY, which is run, then Run Pending completes the migration',
  injected: 'the data disk filled to 6 MB free while CREATE INDEX CONCURRENTLY builds',
  migration: {
    name: 'fault_notx_disk_idx',
    sql: '-- no-transaction\nCREATE INDEX CONCURRENTLY fault_notx_disk_idx ON fault_checksum (pad);\n',
  },
  checksum: BIG_TABLE,
  setup: (env) =>
    dataDiskFilledAt(
      env,
      (s) => running(s, 'CREATE INDEX CONCURRENTLY fault_notx_disk_idx'),
      'the migration’s CREATE INDEX CONCURRENTLY',
    ),
  state: (s, v) => indexMigrationState(s, 'fault_notx_disk_idx', v),
  says: DISK_FULL,
  drop: [],
});

export const revertDataDiskFull = migrationCell({
  row: 'revert',
  column: 'disk-full-data',
  injection:
    'a reversible migration (up: CREATE TABLE, INSERT 1000 rows) is applied; Revert runs its down migration (DROP TABLE, ' +
    `then CREATE INDEX on the checksum table’s pad: the index the up dropped, built again); ${filled(700)}`,
  injected: 'the data disk filled to 6 MB free while the down migration’s CREATE INDEX sorts',
  migration: {
    name: 'fault_rev_disk',
    up: upTable('fault_rev_disk'),
    down: 'DROP TABLE fault_rev_disk;\nCREATE INDEX fault_rev_disk_idx ON fault_checksum (pad);\n',
  },
  checksum: BIG_TABLE,
  setup: (env) =>
    dataDiskFilledAt(env, (s) => running(s, 'CREATE INDEX fault_rev_disk_idx'), 'the down migration’s CREATE INDEX'),
  state: (s, v) => revertState(s, 'fault_rev_disk', 'fault_rev_disk_idx', v),
  says: DISK_FULL_TX,
  drop: [],
});

const onThrowaway =
  'the stack runs on a throwaway Docker engine of its own (the test image loaded into it); the engine is restarted ' +
  '(SIGTERM to dockerd, which stops its containers, then dockerd again); then the stack is started again (the user’s ' +
  'Start)';

export const revertEngineRestarted = migrationCell({
  row: 'revert',
  column: 'engine-restarted',
  injection:
    'a reversible migration (up: CREATE TABLE, INSERT 1000 rows) is applied; Revert runs its down migration (DROP TABLE, ' +
    `pg_sleep(60)); once pg_stat_activity shows its pg_sleep, ${onThrowaway}, and the after-check runs`,
  injected: 'the engine restarted while the down migration sleeps inside its transaction',
  migration: {
    name: 'fault_rev_eng',
    up: upTable('fault_rev_eng'),
    down: 'DROP TABLE fault_rev_eng;\nSELECT pg_sleep(60);\n',
  },
  checksum: { rows: 20_000 },
  setup: (env) => engineRestartedAt(env, (s) => running(s, 'pg_sleep(60)'), 'the down migration in pg_sleep'),
  state: (s, v) => revertState(s, 'fault_rev_eng', 'fault_rev_eng_idx', v),
  says: LOST,
  drop: [],
});

export const migrateNoTxEngineRestarted = migrationCell({
  row: 'migrate-notx',
  column: 'engine-restarted',
  injection:
    'a `-- no-transaction` migration (CREATE INDEX CONCURRENTLY on the checksum table) runs through Run Pending while another ' +
    'session holds an old snapshot, so the build waits in its last phase with the index in the catalog; then ' +
    `${onThrowaway}; Run Pending is run again (what the user does next): it must offer the INVALID index’s DROP INDEX ` +
    'CONCURRENTLY, which is run, then Run Pending completes the migration',
  injected: 'the engine restarted while CREATE INDEX CONCURRENTLY waits for old snapshots',
  migration: {
    name: 'fault_notx_eng_idx',
    sql: '-- no-transaction\nCREATE INDEX CONCURRENTLY fault_notx_eng_idx ON fault_checksum (v);\n',
  },
  checksum: { rows: 20_000 },
  setup: async (env) => {
    let holder: Awaited<ReturnType<typeof snapshotHolder>> | undefined;
    return engineRestartedAt(env, waitingForSnapshots, 'CREATE INDEX CONCURRENTLY waiting', async (s) => {
      holder = await snapshotHolder(s);
      return () => holder!.release();
    });
  },
  state: (s, v) => indexMigrationState(s, 'fault_notx_eng_idx', v),
  says: LOST,
  drop: [],
});

export const migrateNoTxSecondWindow = migrationCell({
  row: 'migrate-notx',
  column: 'second-window',
  injection:
    'a `-- no-transaction` migration (CREATE INDEX CONCURRENTLY on the checksum table’s pad, 100,000 rows with 512-byte ' +
    'pads) runs through Run Pending in window A; while pg_stat_progress_create_index shows it building the index, window B ' +
    '(a second stack context and Migrator, as a second VS Code window has) starts Run Pending on the same folder: the ' +
    'index must be built once and valid, B told it is up to date or refused with the reason (before the fix, B’s blocking ' +
    'pg_advisory_lock held a snapshot that the index build waited for: a deadlock that failed A’s build)',
  injected: 'a second Run Pending started while the first one builds its index concurrently',
  migration: {
    name: 'fault_notx_two_idx',
    sql: '-- no-transaction\nCREATE INDEX CONCURRENTLY fault_notx_two_idx ON fault_checksum (pad);\n',
  },
  checksum: { rows: 100_000, padBytes: 512 },
  setup: async (env) => {
    const stack = await env.sharedStack();
    let b: Promise<Ended<Awaited<ReturnType<Migrator['run']>>>> | undefined;
    return {
      stack,
      async fault(_op, dir) {
        await until('window A building its index', async () => /^building index/.test((await indexPhase(stack)) ?? ''));
        const at = Date.now();
        b = settle((await faultOps(stack).migrator(dir)).run({}), Promise.resolve(at));
        return at;
      },
      async extra(problems) {
        const e = await b;
        if (!e) return 'window B never started';
        if (e.kind === 'hung') problems.push('window B got no message within 5 minutes');
        if (e.kind === 'ok' && e.value.applied.length) problems.push('window B applied the migration too');
        const applied = e.kind === 'ok' ? e.value.applied.map((x) => String(x.version)).join(', ') : '';
        return `B: ${e.kind === 'ok' ? `applied ${applied || 'nothing (up to date)'}` : e.kind === 'error' ? e.message : 'no message'}`;
      },
    };
  },
  state: (s, v) => indexMigrationState(s, 'fault_notx_two_idx', v),
  drop: ['DROP INDEX CONCURRENTLY IF EXISTS fault_notx_two_idx', 'DROP TABLE IF EXISTS fault_checksum'],
});
