/**
 * The Recovery Timeline's restore plans and the confirmation text the user reads (core/backups/timeline-restore):
 * which args each action passes to tsdbOps.restore.pgbackrest, and that every approximate target says so.
 * The database lookups (the migration's own transaction, the previous row's xmin) are proven on real
 * PostgreSQL in test/integration/timeline-migration-restore.test.ts and the in-host timeline suite.
 */
import * as assert from 'node:assert/strict';
import type { Client } from 'pg';
import { migrationRestore, type TimelineMigration, type TimelineModel } from '../../src/core/backups/timeline';
import { planTimelineAction, restoreBeforeMigrationPlan } from '../../src/core/backups/timeline-restore';
import type { ConnectionTarget } from '../../src/core/postgres/connection';

const at = (s: string) => new Date(`2026-11-24T${s}Z`);
function mig(version: string, description: string, installed: string, ms: number, noTx = false): TimelineMigration {
  return {
    version,
    description,
    installedOn: at(installed).getTime(),
    durationMs: ms,
    noTransaction: noTx,
    restore: migrationRestore(at(installed), ms, noTx),
  };
}
const A = mig('20261124100000', 'create sites', '10:00:00.100', 5);
const B = mig('20261124100001', 'drop note', '10:00:00.120', 3);
const Bnotx = mig('20261124100001', 'drop note', '10:00:00.140', 20, true);
const model = (migrations: TimelineMigration[]) =>
  ({
    project: 'connect',
    migrations,
    manual: [{ path: '/b/db_pg_dump_x.tar', database: 'db' }],
  }) as unknown as TimelineModel;
const noDb = { connection: () => Promise.reject(new Error('no database needed')) };

describe('Recovery Timeline restore plans and confirmations', () => {
  it("before a migration that ran in a transaction: its own transaction, excluded; the text names both and isn't approximate", () => {
    const p = restoreBeforeMigrationPlan('connect', B, { kind: 'ownTransaction', xid: '7421' });
    assert.equal(p.restore, 'pgbackrest');
    assert.deepEqual(p.restore === 'pgbackrest' && p.args, { target: 'xid', xid: '7421', exclusive: true });
    assert.equal(p.message, 'Restore connect to just before migration 20261124100001 drop note?');
    assert.match(p.detail, /^Target: the migration's transaction 7421, excluded \(--type=xid --target-exclusive\)\./);
    assert.match(p.detail, /pre-restore copy/);
    assert.equal(p.approximate, false);
    assert.doesNotMatch(p.message + p.detail, /approximate/);
  });

  it('its transaction unknown (vacuumed away): a time 1 ms before installed_on, and the confirmation says approximate and why', () => {
    const why = 'The row version that migration 20261124100001 wrote is gone (VACUUM removed it).';
    const p = restoreBeforeMigrationPlan('connect', B, { kind: 'ownTransactionUnknown', why });
    assert.deepEqual(p.restore === 'pgbackrest' && p.args, { target: 'time', time: '2026-11-24T10:00:00.119Z' });
    assert.equal(p.approximate, true);
    assert.match(p.message, /just before migration 20261124100001 drop note\? \(approximate\)$/);
    assert.ok(p.detail.startsWith(why), p.detail);
    assert.match(p.detail, /approximate: just before the migration's transaction began \(2026-11-24 10:00:00\.119\+00/);
  });

  it('a -- no-transaction migration right after another in the same run: that one\'s row xmin, included; "approximate"', () => {
    const p = restoreBeforeMigrationPlan('connect', Bnotx, { kind: 'afterPrevious', prev: A, xid: '7419' });
    assert.deepEqual(p.restore === 'pgbackrest' && p.args, { target: 'xid', xid: '7419', exclusive: false });
    assert.equal(p.approximate, true);
    assert.equal(p.message, 'Restore connect to just before migration 20261124100001 drop note? (approximate)');
    assert.match(
      p.detail,
      new RegExp(
        '-- no-transaction migration: no single transaction marks it, so the target is approximate: just after the ' +
          'previous migration 20261124100000 create sites finished in the same run \\(transaction 7419, included\\)',
      ),
    );
  });

  it('a -- no-transaction migration alone in its run: a time before it began (installed_on minus its execution time), "approximate"', () => {
    const p = restoreBeforeMigrationPlan('connect', Bnotx, { kind: 'timeBefore' });
    // 10:00:00.140 − 20 ms − 1 ms
    assert.deepEqual(p.restore === 'pgbackrest' && p.args, { target: 'time', time: '2026-11-24T10:00:00.119Z' });
    assert.equal(p.approximate, true);
    assert.match(p.message, /\(approximate\)$/);
    assert.match(p.detail, /^The target is approximate: a -- no-transaction migration commits statement by statement/);
    assert.match(p.detail, /installed_on minus its execution time/);
    assert.throws(() => restoreBeforeMigrationPlan('connect', B, { kind: 'timeBefore' }), /ran in a transaction/);
  });

  it('sets, moments and manual backups need no database; an unknown migration is refused naming it', async () => {
    const m = model([A, B]);
    const set = await planTimelineAction(m, { kind: 'restoreSet', label: '20261124-000001F' }, noDb);
    assert.deepEqual(set.restore === 'pgbackrest' && set.args, { target: 'set', set: '20261124-000001F' });
    assert.equal(set.message, 'Restore connect to exactly backup set 20261124-000001F?');
    const t = await planTimelineAction(m, { kind: 'restoreTime', time: at('10:00:00.050').getTime() }, noDb);
    assert.deepEqual(t.restore === 'pgbackrest' && t.args, { target: 'time', time: '2026-11-24T10:00:00.050Z' });
    const d = await planTimelineAction(
      m,
      { kind: 'restoreManual', path: '/b/db_pg_dump_x.tar', backupKind: 'pg_dump' },
      noDb,
    );
    assert.equal(d.restore, 'dump');
    assert.deepEqual(d.restore === 'dump' && d.backup, { path: '/b/db_pg_dump_x.tar', database: 'db' });
    await assert.rejects(
      planTimelineAction(m, { kind: 'restoreBeforeMigration', version: '42' }, noDb),
      /Migration 42 is not on the timeline of connect \(applied migrations only\)/,
    );
  });

  it('a migration tick reads its target with one connection and closes it', async () => {
    const target = { host: 'db.example', port: 5432, user: 'u', database: 'd' } as unknown as ConnectionTarget;
    let ended = 0;
    const client = {
      query: async (sql: string) => {
        if (/FROM _sqlx_migrations/.test(sql)) return { rows: [{ xmin: '7419', ctid: '(0,1)', execution_time: '-1' }] };
        throw new Error(`unexpected ${sql}`);
      },
      end: async () => void ended++,
    } as unknown as Client;
    const p = await planTimelineAction(
      model([A, B]),
      { kind: 'restoreBeforeMigration', version: B.version },
      { connection: async () => target },
      async (t) => {
        assert.equal(t, target, 'the client opens on the context connection');
        return client;
      },
    );
    // execution_time -1: sqlx never updated the row, so its xmin is the migration's own transaction.
    assert.deepEqual(p.restore === 'pgbackrest' && p.args, { target: 'xid', xid: '7419', exclusive: true });
    assert.equal(ended, 1);
  });
});
