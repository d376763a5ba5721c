/**
 * In-host suite: every restore command with args against the fixture stack (started by the suite on
 * the test engine; the extension is pointed at it with user-level settings, reset afterwards):
 * pgBackRest latest, pg_dump into a new database, pg_dumpall, pg_basebackup, deleting the moved-aside
 * copy, recovery with nothing to recover; args without confirm and a declined confirmation change
 * nothing; a second restore on the same stack is refused while one runs.
 */
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { startStack, type Stack } from '../../support/stack';
import { PG_BIN, startCluster, type Cluster } from '../../support/cluster';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { activate, extensionLogFiles, waitFor, useInfra } from '../extension.js';
import { COMMAND_TABLE } from '../../../src/ui/commands/table';
import { HALF_RESTORED_MARK } from '../../../src/core/backups/restore/logical/half-restored';

interface PhysicalResult {
  kind: string;
  from: string;
  preRestoreCopy?: string;
  databases: string[];
  dataDir: string;
  oneOffContainer: boolean;
}

describe('Restores: commands on a real compose stack', function () {
  this.timeout(300_000);
  let stack: Stack;
  const cfg = () => vscode.workspace.getConfiguration('tsdbOps');
  const MB = '/var/lib/pgbackrest/manual_backup';
  const hostMB = () => join(stack.infraDir, 'backups', 'manual_backup');

  const sql = <T = Record<string, unknown>>(q: string, database?: string) => stack.sql<T>(q, { database });
  const values = async () => (await sql<{ v: number }>('SELECT v FROM t ORDER BY v')).map((r) => r.v);
  const run = <T>(id: string, args?: unknown) => Promise.resolve(vscode.commands.executeCommand<T>(id, args));

  before(async function () {
    this.timeout(300_000);
    await activate();
    stack = await startStack();
    await cfg().update('docker.host', stack.docker.host, vscode.ConfigurationTarget.Global);
    await useInfra(stack.infraDir);
    await vscode.commands.executeCommand('tsdbOps.refresh');
    await sql('CREATE TABLE t (v int)');
  });

  after(async () => {
    await useInfra(undefined);
    await cfg().update('docker.host', undefined, vscode.ConfigurationTarget.Global);
    await stack?.stop();
  });

  it('tsdbOps.restore.pgbackrest with args but without confirm refuses and changes nothing', async () => {
    await sql('INSERT INTO t VALUES (1), (2)');
    await stack.exec('timescaledb', ['pgbackrest', '--stanza=db', '--type=full', 'backup']);
    await sql('INSERT INTO t VALUES (3)');
    await assert.rejects(run('tsdbOps.restore.pgbackrest', {}), /pass \{ confirm: true \}/);
    assert.deepEqual(await values(), [1, 2, 3]);
  });

  it('with args but no backup path, each restore names the missing argument and asks nothing', async () => {
    for (const [id, key] of [
      ['tsdbOps.restore.dump', 'file'],
      ['tsdbOps.restore.dumpAll', 'file'],
      ['tsdbOps.restore.baseBackup', 'dir'],
    ] as const) {
      await assert.rejects(run(id, { confirm: true }), new RegExp(`${id.replace(/\./g, '\\.')} needs \\{ ${key} \\}`));
    }
    assert.deepEqual(await values(), [1, 2, 3]);
  });

  it('a declined confirmation (from a Backups view item) changes nothing', async () => {
    // The modal is refused in this host (no dialogs), like a user pressing Cancel.
    const node = { item: new vscode.TreeItem('pg_basebackup_x'), backup: { path: join(hostMB(), 'pg_basebackup_x') } };
    await stack.exec('timescaledb', [
      'pg_basebackup',
      '-h',
      '/var/run/postgresql',
      '-U',
      stack.env.POSTGRES_USER!,
      '-D',
      `${MB}/pg_basebackup_x`,
      '-F',
      't',
      '-Z',
      '9',
      '-X',
      'stream',
    ]);
    const r = await Promise.race([
      run('tsdbOps.restore.baseBackup', node),
      new Promise((res) => setTimeout(() => res('timeout'), 60_000)),
    ]);
    assert.equal(r, undefined);
    assert.deepEqual(await values(), [1, 2, 3]);
  });

  it("tsdbOps.restore.pgbackrest { target: 'set', confirm: true } restores exactly the newest set, keeps the old data aside, refuses a second", async () => {
    const first = run<PhysicalResult>('tsdbOps.restore.pgbackrest', { target: 'set', confirm: true });
    await new Promise((r) => setTimeout(r, 2000));
    await assert.rejects(
      run('tsdbOps.restore.dump', { file: `${MB}/none.tar`, database: 'x', confirm: true }),
      /is running on .*was not started/,
    );
    const r = await first;
    assert.deepEqual(await values(), [1, 2]);
    assert.equal(r.kind, 'pgbackrest');
    assert.equal(r.dataDir, '/home/postgres/pgdata/data');
    assert.equal(r.oneOffContainer, false);
    assert.match(r.preRestoreCopy ?? '', /^\/home\/postgres\/pgdata\/data\.pre-restore-\d{8}_\d{6}$/);
    const del = await run<{ deleted: string }>('tsdbOps.restore.deletePreRestoreCopy', {
      path: r.preRestoreCopy,
      confirm: true,
    });
    assert.equal(del.deleted, r.preRestoreCopy);
    await assert.rejects(
      run('tsdbOps.restore.deletePreRestoreCopy', { path: '/home/postgres/pgdata/data', confirm: true }),
      /not a pre-restore copy/,
    );
  });

  it('tsdbOps.restore.dump round-trips a pg_dump into a new database (host path of the backups folder)', async () => {
    await stack.exec('timescaledb', [
      'pg_dump',
      '-U',
      stack.env.POSTGRES_USER!,
      '-F',
      't',
      '-d',
      'connect_db',
      '-f',
      `${MB}/connect_db_pg_dump_20260101_000000.tar`,
    ]);
    const r = await run<{ database: string; created: boolean; timescaledb: { used: boolean } }>(
      'tsdbOps.restore.dump',
      {
        file: join(hostMB(), 'connect_db_pg_dump_20260101_000000.tar'),
        database: 'copy_db',
        confirm: true,
      },
    );
    assert.equal(r.created, true);
    assert.equal(r.timescaledb.used, false);
    assert.deepEqual(
      (await sql<{ v: number }>('SELECT v FROM t ORDER BY v', 'copy_db')).map((x) => x.v),
      [1, 2],
    );
  });

  it('tsdbOps.restore.dumpAll runs a pg_dumpall through psql and keeps the replaced databases', async () => {
    await stack.exec('timescaledb', [
      'pg_dumpall',
      '-U',
      stack.env.POSTGRES_USER!,
      '-f',
      `${MB}/all_dbs_pg_dumpall_20260101_000000.sql`,
    ]);
    await sql('INSERT INTO t VALUES (9)', 'copy_db');
    const r = await run<{ databases: string[]; keptAside: Record<string, string> }>('tsdbOps.restore.dumpAll', {
      file: `${MB}/all_dbs_pg_dumpall_20260101_000000.sql`,
      confirm: true,
    });
    assert.ok(r.databases.includes('copy_db'));
    assert.deepEqual(
      (await sql<{ v: number }>('SELECT v FROM t ORDER BY v', 'copy_db')).map((x) => x.v),
      [1, 2],
    );
    assert.deepEqual(
      (await sql<{ v: number }>('SELECT v FROM t ORDER BY v', r.keptAside.copy_db)).map((x) => x.v),
      [1, 2, 9],
    );
  });

  it('tsdbOps.restore.baseBackup restores a pg_basebackup folder', async () => {
    await sql('INSERT INTO t VALUES (4)');
    const r = await run<PhysicalResult>('tsdbOps.restore.baseBackup', {
      dir: join(hostMB(), 'pg_basebackup_x'),
      confirm: true,
    });
    assert.equal(r.kind, 'baseBackup');
    assert.deepEqual(await values(), [1, 2, 3]);
  });

  it('tsdbOps.restore.recover finds nothing to roll back after clean restores', async () => {
    const r = await run<{ recovered: boolean }>('tsdbOps.restore.recover', {});
    assert.equal(r.recovered, false);
  });

  it('a restore interrupted midway (journal left, data moved aside) is announced and tsdbOps.restore.recover rolls it back', async () => {
    await sql('INSERT INTO t VALUES (7)');
    const expected = await values();
    const D = '/home/postgres/pgdata';
    const aside = `${D}/data.pre-restore-20260101_000000`;
    const journal = {
      version: 1,
      dataDir: `${D}/data`,
      aside,
      wasRunning: true,
      leaveRunning: true,
      started: '2026-01-01T00:00:00.000Z',
      source: 'in-host test',
      pidFile: `${D}/.tsdbops-restore-data.pid`,
    };
    // What VS Code dying after the move leaves: the journal, PostgreSQL stopped, an empty data folder.
    await stack.exec('timescaledb', [
      'sh',
      '-c',
      'printf "%s\\n" "$1" > "$0"',
      `${D}/.tsdbops-restore-data.json`,
      JSON.stringify(journal),
    ]);
    await stack.exec('timescaledb', ['pg_ctl', '-D', `${D}/data`, '-m', 'fast', '-w', 'stop']);
    await stack.exec('timescaledb', ['mv', `${D}/data`, aside]);
    await stack.exec('timescaledb', ['mkdir', '-m', '0700', `${D}/data`]);
    await vscode.commands.executeCommand('tsdbOps.refresh');
    await waitFor(
      () =>
        extensionLogFiles().some((f) =>
          readFileSync(f, 'utf8').includes(`An interrupted restore of ${stack.projectName} left`),
        ),
      20_000,
      'the interrupted-restore warning in the log',
    );
    // Where the user looks: a problem row in the Backups view (its click and inline action: Recover Interrupted Restore).
    const { api } = await activate();
    const backups = (
      api as unknown as { backups: { rows(): Promise<Array<{ label: string; contextValue?: string }>> } }
    ).backups;
    await waitFor(
      async () => (await backups.rows()).find((row) => row.contextValue === 'interruptedRestore'),
      30_000,
      'the interrupted restore row in the Backups view',
    );
    // Show what happened: the journal as text.
    const shown = await run<{ text: string }>('tsdbOps.restore.recover', { action: 'show' });
    assert.match(shown.text, /did not complete/);
    assert.ok(shown.text.includes(aside), shown.text);
    // Finish is refused: the restore tool never completed (the journal has no `restored`); nothing changes.
    await assert.rejects(
      run('tsdbOps.restore.recover', { action: 'finish' }),
      /cannot be finished: its restore tool never completed/,
    );
    const r = await run<{ recovered: boolean; journal: { aside: string } }>('tsdbOps.restore.recover', {
      action: 'rollback',
    });
    assert.equal(r.recovered, true);
    assert.equal(r.journal.aside, aside);
    assert.deepEqual(await values(), expected);
    await vscode.commands.executeCommand('tsdbOps.refresh');
    await waitFor(
      async () => !(await backups.rows()).some((row) => row.contextValue === 'interruptedRestore'),
      30_000,
      'the interrupted restore row gone after Roll back',
    );
  });

  it('a logical restore whose window died (a half-restored database, marked in the server) is a Backups view problem row; Roll back drops it', async () => {
    // What a window killed during a pg_dump restore into a new database leaves: the database, its mark, no process.
    const mark = {
      started: '2026-01-02T00:00:00.000Z',
      file: '/var/lib/pgbackrest/manual_backup/in-host-test.dump',
      owner: { host: 'a-machine-that-is-gone', pid: 1 },
    };
    await sql('DROP DATABASE IF EXISTS half_made');
    await sql('CREATE DATABASE half_made');
    await sql(`COMMENT ON DATABASE half_made IS '${HALF_RESTORED_MARK}${JSON.stringify(mark)}'`);
    await vscode.commands.executeCommand('tsdbOps.refresh');
    const { api } = await activate();
    const backups = (
      api as unknown as {
        backups: { rows(): Promise<Array<{ label: string; description?: string; contextValue?: string }>> };
      }
    ).backups;
    const row = await waitFor(
      async () =>
        (await backups.rows()).find(
          (r) => r.contextValue === 'interruptedRestore' && (r.description ?? '').includes('half_made'),
        ),
      60_000,
      'the interrupted logical restore row in the Backups view',
    );
    assert.match(row.label, /Interrupted restore/);
    const shown = await run<{ text: string }>('tsdbOps.restore.recover', { action: 'show' });
    assert.match(shown.text, /into the new database half_made .* did not finish/);
    const r = await run<{ dropped: string[] }>('tsdbOps.restore.recover', { action: 'rollback' });
    assert.deepEqual(r.dropped, ['half_made']);
    assert.deepEqual(await sql("SELECT datname FROM pg_database WHERE datname = 'half_made'"), []);
    await vscode.commands.executeCommand('tsdbOps.refresh');
    await waitFor(
      async () => !(await backups.rows()).some((r) => (r.description ?? '').includes('half_made')),
      60_000,
      'the logical interrupted restore row gone after Roll back',
    );
  });

  describe('strict args and the production guard, for every command that changes the live database or the stack', () => {
    // The live commands come from the command table itself, so a new live command is covered here too.
    const live = COMMAND_TABLE.filter((s) => s.live.changes);
    /** What each needs besides confirm to be a call that would otherwise run (the service for Stop/Restart). */
    const base = (id: string): Record<string, unknown> =>
      id === 'tsdbOps.container.stop' || id === 'tsdbOps.container.restart' ? { service: 'timescaledb' } : {};
    const snapshot = async () => ({
      started: (await sql<{ s: string }>('SELECT pg_postmaster_start_time()::text AS s'))[0]!.s,
      rows: await values(),
      compose: readFileSync(join(stack.infraDir, 'docker-compose.yaml'), 'utf8'),
    });

    it('an unknown key is refused naming it, before anything runs: the database is not restarted, rows unchanged', async () => {
      assert.ok(live.length >= 10, `${live.length} live commands`);
      const before = await snapshot();
      for (const spec of live) {
        await assert.rejects(
          run(spec.id, { ...base(spec.id), notAKey: 'x', confirm: true }),
          new RegExp(`${spec.id.replace(/\./g, '\\.')}: unknown key "notAKey" \\(it accepts `),
          spec.id,
        );
      }
      // The typo of the issue: `sett` for `set` never turns into a restore of the latest state.
      await assert.rejects(run('tsdbOps.restore.pgbackrest', { sett: 'x', confirm: true }), /unknown key "sett"/);
      assert.deepEqual(await snapshot(), before);
    });

    it('on a production stack each of them refuses confirm: true (Run Pending included), with nothing changed', async () => {
      const before = await snapshot();
      await cfg().update('stacks.production', [stack.infraDir], vscode.ConfigurationTarget.Global);
      try {
        for (const spec of live) {
          await assert.rejects(
            run(spec.id, { ...base(spec.id), confirm: true }),
            /on a production stack .*confirm: true is not enough/,
            spec.id,
          );
        }
        await assert.rejects(
          run('tsdbOps.migrations.runPending', { confirm: true }),
          /tsdbOps\.migrations\.runPending on a production stack/,
        );
      } finally {
        await cfg().update('stacks.production', undefined, vscode.ConfigurationTarget.Global);
      }
      assert.deepEqual(await snapshot(), before);
    });
  });
});

describe('Restores: without Docker (tsdbOps.backups.runtime = host) on a host cluster', function () {
  this.timeout(180_000);
  let cluster: Cluster;
  let infra: string;
  const cfg = () => vscode.workspace.getConfiguration('tsdbOps');
  const run = <T>(id: string, args?: unknown) => Promise.resolve(vscode.commands.executeCommand<T>(id, args));

  before(async () => {
    await activate();
    cluster = await startCluster({ stanza: true, fresh: true });
    // An infra folder like the guide's, whose database is the host cluster (nothing runs in Docker).
    infra = mkdtempSync(join(tmpdir(), 'tsdbops-host-infra-'));
    chmodSync(infra, 0o755);
    writeFileSync(
      join(infra, 'docker-compose.yaml'),
      'services:\n  timescaledb:\n    image: timescale/timescaledb-ha:pg15-ts2.10\n' +
        '    volumes:\n      - ./pgbackrest.conf:/home/postgres/pgdata/backup/pgbackrest.conf:ro\n',
    );
    writeFileSync(
      join(infra, '.env'),
      `POSTGRES_USER=${cluster.user}\nPOSTGRES_PASSWORD=unused\nPOSTGRES_DB=postgres\nPOSTGRES_PORT=${cluster.port}\n`,
    );
    writeFileSync(join(infra, 'pgbackrest.conf'), readFileSync(cluster.pgbackrestConf, 'utf8'));
    await useInfra(infra);
    await cfg().update('backups.runtime', 'host', vscode.ConfigurationTarget.Global);
    await cfg().update('backups.hostBinDirs', [PG_BIN], vscode.ConfigurationTarget.Global);
    await cfg().update('backups.pgbackrestConfig', cluster.pgbackrestConf, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('tsdbOps.refresh');
  });

  after(async () => {
    await useInfra(undefined);
    for (const k of ['backups.runtime', 'backups.hostBinDirs', 'backups.pgbackrestConfig'])
      await cfg().update(k, undefined, vscode.ConfigurationTarget.Global);
    await cluster?.stop();
    if (infra) rmSync(infra, { recursive: true, force: true });
  });

  it('tsdbOps.restore.pgbackrest restores the host cluster in place; tsdbOps.restore.dump round-trips a host file', async () => {
    await cluster.psql('CREATE TABLE t (v int); INSERT INTO t VALUES (1)');
    await cluster.pgbackrest(['--type=full', 'backup']);
    await cluster.psql('INSERT INTO t VALUES (2)');
    const r = await run<PhysicalResult>('tsdbOps.restore.pgbackrest', { target: 'set', confirm: true });
    assert.equal(r.dataDir, cluster.dataDir);
    assert.equal(await cluster.psql("SELECT string_agg(v::text, ',' ORDER BY v) FROM t"), '1');
    assert.ok(r.preRestoreCopy?.startsWith(`${cluster.dataDir}.pre-restore-`));
    const file = join(cluster.baseDir, 'db_pg_dump_20260101_000000.dump');
    await cluster.pgBin('pg_dump', ['-F', 'c', '-f', file, cluster.database]);
    const d = await run<{ created: boolean }>('tsdbOps.restore.dump', { file, database: 'copy', confirm: true });
    assert.equal(d.created, true);
    assert.equal(await cluster.psql('SELECT count(*) FROM t', 'copy'), '1');
  });
  it("tsdbOps.backup.pgbackrest runs pgBackRest as the restores' OS user: the cluster's own archiving keeps working", async () => {
    // One rule (core/stack/site): the host tools run as postgres when VS Code runs as root. A backup run as
    // root left root-owned repository files, and the cluster's archive-push then failed with [041] Permission denied.
    const b = await run<{ label: string }>('tsdbOps.backup.pgbackrest', { type: 'full' });
    assert.match(b.label, /^\d{8}-\d{6}F$/);
    const check = await cluster.pgbackrest(['check'], { reject: false });
    assert.equal(check.exitCode, 0, `${check.stdout}${check.stderr}`);
    await cluster.psql('INSERT INTO t VALUES (5)');
    const r = await run<PhysicalResult>('tsdbOps.restore.pgbackrest', { set: b.label, confirm: true });
    assert.equal(r.dataDir, cluster.dataDir);
    assert.equal(await cluster.psql('SELECT count(*) FROM t WHERE v = 5'), '0');
  });
});
