/**
 * "Restore to just before this migration" (issue 19) on a real PostgreSQL 15 + pgBackRest cluster:
 * A and B applied in one run, B drops a column (its data is gone). The migration's own transaction is
 * found (not the live row's xmin, which is sqlx's later execution_time UPDATE), and a pgBackRest restore
 * with `--type=xid --target=<it> --target-exclusive` brings the column and its rows back and keeps A.
 * With a `-- no-transaction` B the target is approximate (right after A's bookkeeping, or a time before B).
 *
 * The plan and its confirmation text come from the core function the panel uses (planTimelineAction, with
 * a real connection), and its args become pgBackRest options through the same parseRestoreTarget +
 * restoreTypeOptions as tsdbOps.restore.pgbackrest; the restore itself is done by hand on this bare cluster
 * (no compose stack). The whole command path (tsdbOps.backup.timeline → tsdbOps.restore.pgbackrest) runs on
 * the fixture stack in test/vscode/workspace/timeline.test.ts.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  pgbackrestAvailable,
  pgbackrestInstallHint,
  postgresAvailable,
  postgresInstallHint,
  startCluster,
  type Cluster,
} from '../support/cluster';
import { isRoot, run } from '../support/proc';
import { requirePart } from '../support/requirements';
import { Migrator } from '../../src/core/migrations/migrator';
import { migrationTransaction, rowXmin } from '../../src/core/migrations/xid';
import { connect, type ConnectionTarget } from '../../src/core/postgres/connection';
import { buildTimeline, previousInSameRun, type TimelineModel } from '../../src/core/backups/timeline';
import { planTimelineAction, type TimelineRestorePlan } from '../../src/core/backups/timeline-restore';
import type { BackupsOverview } from '../../src/core/backups/overview';
import { formatTimeTarget } from '../../src/core/backups/restore/pitr';
import { parseRestoreTarget, restoreTypeOptions } from '../../src/core/backups/restore/target';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Recovery Timeline: restore to just before a migration (PostgreSQL 15 + pgBackRest)', function () {
  this.timeout(180_000);
  let cluster: Cluster;
  const dirs: string[] = [];

  beforeEach(async function () {
    requirePart(this, postgresAvailable(), 'PostgreSQL 15', postgresInstallHint);
    requirePart(this, pgbackrestAvailable(), 'pgBackRest', pgbackrestInstallHint);
    cluster = await startCluster({ stanza: true });
  });
  afterEach(async () => {
    await cluster?.stop();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  const target = (): ConnectionTarget => ({ ...cluster.connection, params: {}, source: 'test' });

  async function migrate(files: Record<string, string>, expectApplied = Object.keys(files).length): Promise<Migrator> {
    // One Run Pending applies every file.
    const dir = mkdtempSync(join(tmpdir(), 'tsdb-ops-tl-'));
    dirs.push(dir);
    for (const [n, c] of Object.entries(files)) writeFileSync(join(dir, n), c);
    const m = new Migrator(dir, () => connect(target()));
    const r = await m.run();
    assert.equal(r.applied.length, expectApplied);
    return m;
  }

  /** The physical restore the restore command runs, by hand: stop, move the data aside, pgBackRest restore, start. */
  async function restore(args: string[]): Promise<void> {
    await cluster.psql('SELECT pg_switch_wal()');
    await cluster.stopServer(); // a fast shutdown archives the last WAL
    renameSync(cluster.dataDir, `${cluster.dataDir}.pre-restore`);
    await run('install', [
      '-d',
      '-m',
      '0700',
      ...(isRoot ? ['-o', 'postgres', '-g', 'postgres'] : []),
      cluster.dataDir,
    ]);
    await cluster.pgbackrest([...args, 'restore']);
    await cluster.startServer();
    for (let i = 0; i < 100 && (await cluster.psql('SELECT pg_is_in_recovery()')) !== 'f'; i++) await sleep(100);
  }

  /** The pgBackRest options tsdbOps.restore.pgbackrest derives from a plan's args. */
  function options(p: TimelineRestorePlan): string[] {
    assert.equal(p.restore, 'pgbackrest');
    const t = parseRestoreTarget({ ...(p.restore === 'pgbackrest' ? p.args : {}) });
    return restoreTypeOptions(t, t.time ? formatTimeTarget(t.time) : undefined);
  }

  async function timeline(migrator: Migrator): Promise<TimelineModel> {
    return buildTimeline({
      overview: {
        stack: { projectName: 'p', workspaceFolder: '/w' },
        stanzaName: 'db',
        manual: [],
        preRestore: [],
        loadedAt: new Date(),
      } as unknown as BackupsOverview,
      migrations: (await migrator.status()).migrations,
    });
  }

  const planBefore = (model: TimelineModel, version: string) =>
    planTimelineAction(model, { kind: 'restoreBeforeMigration', version }, { connection: async () => target() });

  async function seed(): Promise<void> {
    await cluster.psql('CREATE TABLE readings (id int, note text)');
    await cluster.psql("INSERT INTO readings VALUES (1, 'kept'), (2, 'notes')");
    await cluster.pgbackrest(['--type=full', 'backup']);
    await sleep(1100); // a time target must be at least a second after the backup's stop
  }

  it("targets B's own transaction (not sqlx's later UPDATE): the dropped column and its rows are back, A's effects kept", async () => {
    await seed();
    const migrator = await migrate({
      '20261124100000_create_sites.sql': 'CREATE TABLE sites (id int); INSERT INTO sites VALUES (7);\n',
      '20261124100001_drop_note.sql':
        'ALTER TABLE readings DROP COLUMN note;\nCREATE TABLE b_xid AS SELECT pg_current_xact_id()::text AS xid;\n',
    });
    const bXid = await cluster.psql('SELECT xid FROM b_xid');
    const client = await connect(target());
    let tx;
    try {
      tx = await migrationTransaction(client, 20261124100001n);
      assert.equal(
        await cluster.psql("SELECT count(*) FROM pg_extension WHERE extname = 'pageinspect'"),
        '0',
        'pageinspect is never left installed',
      );
    } finally {
      await client.end();
    }
    assert.equal(tx.xid, bXid, "the migration's own transaction");
    assert.equal(tx.source, 'replacedVersion');
    assert.notEqual(tx.rowXmin, tx.xid, "the live row's xmin is sqlx's execution_time UPDATE");

    // A later UPDATE of the row (not sqlx's) only makes its update chain longer: the oldest version is still B's.
    await cluster.psql(
      'UPDATE _sqlx_migrations SET execution_time = execution_time + 1 WHERE version = 20261124100001',
    );
    const plan = await planBefore(await timeline(migrator), '20261124100001');
    assert.deepEqual(plan.restore === 'pgbackrest' && plan.args, { target: 'xid', xid: bXid, exclusive: true });
    assert.equal(plan.approximate, false);
    assert.match(plan.detail, new RegExp(`transaction ${bXid}, excluded`));
    assert.deepEqual(options(plan), [
      '--type=xid',
      `--target=${bXid}`,
      '--target-exclusive',
      '--target-action=promote',
    ]);
    await restore(options(plan));
    assert.equal(await cluster.psql("SELECT string_agg(note, ',' ORDER BY id) FROM readings"), 'kept,notes');
    assert.equal(await cluster.psql('SELECT id FROM sites'), '7', "A's effects are kept");
    assert.equal(await cluster.psql("SELECT string_agg(version::text, ',') FROM _sqlx_migrations"), '20261124100000');
  });

  it('a -- no-transaction B in the same run: the target is the end of A (approximate); the column is back, A kept', async () => {
    await seed();
    const migrator = await migrate({
      '20261124100000_create_sites.sql': 'CREATE TABLE sites (id int); INSERT INTO sites VALUES (7);\n',
      '20261124100001_drop_note.sql': '-- no-transaction\nALTER TABLE readings DROP COLUMN note;\n',
    });
    const model = await timeline(migrator);
    const b = model.migrations.find((m) => m.version === '20261124100001')!;
    assert.equal(b.noTransaction, true);
    assert.ok(b.restore.kind === 'time' && b.restore.approximate, JSON.stringify(b.restore));
    assert.match(b.restore.why, /approximate/);
    const a = previousInSameRun(model.migrations, b);
    assert.equal(a?.version, '20261124100000', 'A ran right before B in the same run');
    const client = await connect(target());
    const aEnd = await rowXmin(client, 20261124100000n).finally(() => client.end());
    const plan = await planBefore(model, '20261124100001');
    assert.deepEqual(plan.restore === 'pgbackrest' && plan.args, { target: 'xid', xid: aEnd, exclusive: false });
    assert.equal(plan.approximate, true);
    assert.equal(plan.message, 'Restore p to just before migration 20261124100001 drop note? (approximate)');
    assert.match(plan.detail, /no single transaction marks it, so the target is approximate/);
    await restore(options(plan));
    assert.equal(await cluster.psql("SELECT string_agg(note, ',' ORDER BY id) FROM readings"), 'kept,notes');
    assert.equal(await cluster.psql('SELECT id FROM sites'), '7', "A's effects are kept");
  });

  it('a -- no-transaction B in a later run: a time target before it began brings the column back', async () => {
    await seed();
    await migrate({
      '20261124100000_create_sites.sql': 'CREATE TABLE sites (id int); INSERT INTO sites VALUES (7);\n',
    });
    await sleep(2500);
    const migrator = await migrate(
      {
        '20261124100000_create_sites.sql': 'CREATE TABLE sites (id int); INSERT INTO sites VALUES (7);\n',
        '20261124100001_drop_note.sql': '-- no-transaction\nALTER TABLE readings DROP COLUMN note;\n',
      },
      1,
    );
    const model = await timeline(migrator);
    const b = model.migrations.find((m) => m.version === '20261124100001')!;
    assert.ok(b.restore.kind === 'time');
    assert.equal(previousInSameRun(model.migrations, b), undefined, 'A is in the same folder but ran 2.5 s earlier');
    const plan = await planBefore(model, '20261124100001');
    assert.deepEqual(plan.restore === 'pgbackrest' && plan.args, {
      target: 'time',
      time: new Date(b.restore.time).toISOString(),
    });
    assert.equal(plan.approximate, true);
    assert.match(plan.message, /\(approximate\)$/);
    assert.match(plan.detail, /^The target is approximate: a -- no-transaction migration/);
    assert.deepEqual(options(plan), [
      '--type=time',
      `--target=${formatTimeTarget(new Date(b.restore.time))}`,
      '--target-action=promote',
    ]);
    await restore(options(plan));
    assert.equal(await cluster.psql("SELECT string_agg(note, ',' ORDER BY id) FROM readings"), 'kept,notes');
  });
});
