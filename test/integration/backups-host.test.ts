/**
 * Backups against a real PostgreSQL 15 + pgBackRest 2.x on this machine (HostRuntime through execa):
 * pgBackRest info/backup/check/stanza-create and its errors, pg_dump/pg_dumpall/pg_basebackup files
 * the tools accept, cancel leaves nothing, no password in any argv.
 */
import { isCancelled } from '../../src/core/errors/error';
import { strict as assert } from 'node:assert';
import {
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import {
  startCluster,
  postgresAvailable,
  postgresInstallHint,
  pgbackrestAvailable,
  pgbackrestInstallHint,
  PG_BIN,
  type Cluster,
} from '../support/cluster';
import { requirePart } from '../support/requirements';
import { isRoot } from '../support/proc';
import { HostRuntime, type ToolRunOptions, type ToolRunResult, type ToolRuntime } from '../../src/core/runtime';
import {
  groupBackupSets,
  pgbackrestBackup,
  pgbackrestCheck,
  pgbackrestInfo,
  pgbackrestStanzaCreate,
  PgBackRestError,
  type PgBackRestTarget,
} from '../../src/core/backups/pgbackrest';
import { createBaseBackup, createDump, createDumpAll, type ManualBackupTarget } from '../../src/core/backups/dump';
import { readSidecar, sidecarPath } from '../../src/core/backups/sidecar';
import { listManualBackups } from '../../src/core/backups/manual';

const SECRET = 'pw-Zq81-never-in-argv';

/** Records every argv the runtime is asked to run, and scans /proc for the secret while tools run. */
class RecordingRuntime implements ToolRuntime {
  readonly kind = 'host' as const;
  readonly description = 'this machine (recorded)';
  readonly argvs: string[][] = [];
  readonly leaks: string[] = [];
  constructor(private readonly inner: ToolRuntime) {}
  async run(argv: readonly string[], opts?: ToolRunOptions): Promise<ToolRunResult> {
    this.argvs.push([...argv]);
    const scan = setInterval(() => this.scanProc(), 5);
    try {
      return await this.inner.run(argv, opts);
    } finally {
      clearInterval(scan);
      this.scanProc();
    }
  }
  private scanProc(): void {
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (cmd.includes(SECRET)) this.leaks.push(cmd.replaceAll('\0', ' '));
      } catch {
        // gone
      }
    }
  }
}

describe('backups on the host (PostgreSQL 15 + pgBackRest)', function () {
  let cluster: Cluster;
  let rt: RecordingRuntime;
  let pgb: PgBackRestTarget;
  let manual: ManualBackupTarget;
  let outDir: string;

  before(async function () {
    requirePart(this, postgresAvailable(), 'PostgreSQL 15', postgresInstallHint);
    requirePart(this, pgbackrestAvailable(), 'pgBackRest', pgbackrestInstallHint);
    cluster = await startCluster({ stanza: false, fresh: true });
    rt = new RecordingRuntime(new HostRuntime([PG_BIN], isRoot ? 'postgres' : undefined));
    pgb = { runtime: rt, stanza: cluster.stanza, configPath: cluster.pgbackrestConf };
    outDir = mkdtempSync('/tmp/tsdbops-manual-');
    if (isRoot) {
      const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
      const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
      chownSync(outDir, uid, gid);
    }
    manual = {
      runtime: rt,
      hostDir: outDir,
      user: cluster.user,
      connArgs: ['-h', cluster.socketDir, '-p', String(cluster.port)],
      env: { PGPASSWORD: SECRET },
      maintenanceDb: 'postgres',
    };
    await cluster.psql('CREATE DATABASE shop');
    await cluster.psql('CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g', 'shop');
  });
  after(async () => {
    await cluster?.stop();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('maps a missing stanza to [055] with its hints (offer stanza-create), then creates it', async () => {
    const lines: string[] = [];
    const err = await pgbackrestBackup(pgb, 'full', { onLine: (l) => lines.push(l) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof PgBackRestError, `expected PgBackRestError, got ${String(err)}`);
    assert.equal(err.code, 55);
    assert.equal(err.remedy, 'stanzaCreate');
    assert.equal(err.command, 'backup');
    assert.ok(
      err.hints.some((h) => /stanza-create/.test(h)),
      err.hints.join('\n'),
    );
    assert.ok(
      lines.some((l) => /ERROR: \[055\]/.test(l)),
      'the output streamed line by line',
    );
    const info = await pgbackrestInfo(pgb);
    assert.equal(info.status.code, 1);
    assert.equal(info.status.message, 'missing stanza path');
    await pgbackrestStanzaCreate(pgb);
    await pgbackrestCheck(pgb);
    const after = await pgbackrestInfo(pgb);
    assert.equal(after.status.code, 2, 'no valid backups yet');
    assert.equal(typeof after.systemId, 'bigint');
    const sysId = (await cluster.pgBin('pg_controldata', ['-D', cluster.dataDir])).stdout.match(
      /Database system identifier:\s+(\d+)/,
    )![1]!;
    assert.equal(after.systemId!.toString(), sysId, 'the 64-bit system-id keeps every digit');
    assert.equal(after.pgVersion, '15');
  });

  it('takes full and diff backups that appear with the right parent, WAL range and annotations', async () => {
    const lines: string[] = [];
    const full = await pgbackrestBackup(pgb, 'full', { onLine: (l) => lines.push(l) });
    assert.match(full.label, /^\d{8}-\d{6}F$/);
    assert.ok(lines.some((l) => /backup command begin/.test(l)));
    assert.ok(!rt.argvs.at(-1)!.some((a) => a.includes('log-level-stderr=info')));
    await cluster.psql('INSERT INTO t SELECT g, md5(g::text) FROM generate_series(20001, 30000) g', 'shop');
    const diff = await pgbackrestBackup(pgb, 'diff', { annotations: { source: 'test' } });
    assert.match(diff.label, new RegExp(`^${full.label}_\\d{8}-\\d{6}D$`));
    const info = await pgbackrestInfo(pgb);
    assert.equal(info.status.code, 0);
    assert.equal(info.lockHeld, false);
    const f = info.backups.find((b) => b.label === full.label)!;
    const d = info.backups.find((b) => b.label === diff.label)!;
    assert.equal(f.type, 'full');
    assert.equal(d.type, 'diff');
    assert.equal(d.prior, full.label);
    assert.deepEqual(d.reference, [full.label]);
    assert.deepEqual(d.annotations, { source: 'test' });
    assert.ok(f.sizeBytes > 0 && f.repoSizeBytes > 0 && d.deltaBytes > 0);
    assert.match(f.walStart!, /^[0-9A-F]{24}$/);
    assert.ok(info.walMin && info.walMax && info.walMax >= d.walStop!);
    const groups = groupBackupSets(info.backups);
    assert.equal(groups.length, 1);
    assert.equal(groups[0]!.full.label, full.label);
    assert.deepEqual(
      groups[0]!.children.map((c) => c.label),
      [diff.label],
    );
    assert.ok(info.pitr && info.pitr.from.getTime() === f.stop.getTime());
    for (const argv of rt.argvs.filter((a) => a[0] === 'pgbackrest')) {
      assert.ok(argv.includes(`--stanza=${cluster.stanza}`), argv.join(' '));
    }
  });

  it('reports [050] when another process holds the backup lock', async () => {
    // Hold pgBackRest's backup lock (flock on <lock-path>/<stanza>-backup.lock, as in 2.45) like a running backup does.
    const lockFile = join(cluster.baseDir, 'lock', `${cluster.stanza}-backup.lock`);
    const argv = ['flock', '-x', lockFile, 'sleep', '120'];
    // Its own process group, so the kill below also ends flock and sleep (not only runuser).
    const holder = spawn(isRoot ? 'runuser' : argv[0]!, isRoot ? ['-u', 'postgres', '--', ...argv] : argv.slice(1), {
      stdio: 'ignore',
      detached: true,
    });
    const released = new Promise((r) => holder.on('exit', r));
    try {
      for (let i = 0; i < 100 && !existsSync(lockFile); i++) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 200));
      const err = await pgbackrestBackup(pgb, 'diff').then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof PgBackRestError, String(err));
      assert.equal(err.code, 50);
      assert.equal(err.remedy, 'anotherBackupRunning');
      assert.ok(
        err.hints.some((h) => /another pgBackRest process/.test(h)),
        err.hints.join('|'),
      );
    } finally {
      process.kill(-holder.pid!, 'SIGKILL');
      await released;
    }
  });

  it('while a backup runs, info reports the backup lock held; afterwards it is free again', async () => {
    // A real backup, frozen (SIGSTOP) once it holds its lock, then let go.
    const argv = [
      'pgbackrest',
      `--config=${cluster.pgbackrestConf}`,
      `--stanza=${cluster.stanza}`,
      '--type=full',
      'backup',
    ];
    const lockFile = join(cluster.baseDir, 'lock', `${cluster.stanza}-backup.lock`);
    const running = spawn(isRoot ? 'runuser' : argv[0]!, isRoot ? ['-u', 'postgres', '--', ...argv] : argv.slice(1), {
      stdio: 'ignore',
    });
    const exited = new Promise((r) => running.on('exit', r));
    try {
      // The lock file outlives earlier runs: wait until it is really locked (flock -n fails) and the
      // backup wrote its pid into it (info reads the file, not only the lock).
      const locked = () =>
        existsSync(lockFile) &&
        statSync(lockFile).size > 0 &&
        spawnSync('flock', ['-n', lockFile, 'true']).status !== 0;
      for (let i = 0; i < 500 && !locked(); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(locked(), 'the backup took its lock');
      // runuser's child is pgbackrest: stop the whole process group of the spawned command.
      spawnSync('pkill', ['-STOP', '-f', `--stanza=${cluster.stanza} --type=full backup`]);
      const held = await pgbackrestInfo(pgb);
      assert.equal(held.lockHeld, true, 'lock held while the backup runs');
    } finally {
      spawnSync('pkill', ['-CONT', '-f', `--stanza=${cluster.stanza} --type=full backup`]);
      await exited;
    }
    const after = await pgbackrestInfo(pgb);
    assert.equal(after.lockHeld, false);
  });

  it('pg_dump (tar and custom), pg_dumpall and pg_basebackup produce files the tools accept, with sidecars', async () => {
    const tar = await createDump(manual, { database: 'shop' });
    assert.match(tar.name, /^shop_pg_dump_\d{8}_\d{6}\.tar$/);
    const tarList = spawnSync('tar', ['-tf', tar.path], { encoding: 'utf8' });
    assert.equal(tarList.status, 0, tarList.stderr);
    assert.match(tarList.stdout, /toc\.dat/);
    const pgRestoreList = spawnSync(join(PG_BIN, 'pg_restore'), ['--list', tar.path], { encoding: 'utf8' });
    assert.equal(pgRestoreList.status, 0, pgRestoreList.stderr);
    assert.match(pgRestoreList.stdout, /TABLE DATA public t /);
    const meta = await readSidecar(tar.path);
    assert.ok(meta);
    assert.equal(meta.kind, 'dump');
    assert.equal(meta.database, 'shop');
    assert.equal(meta.format, 'tar');
    assert.match(meta.pgVersion, /^15\./);
    assert.equal(meta.timescaledbVersion, undefined, 'no timescaledb in this cluster');
    assert.equal(meta.sizeBytes, tar.sizeBytes);
    assert.equal(meta.command[0], 'pg_dump');
    assert.equal(tar.wroteIn, 'engine', 'the folder is writable where the tool runs: pg_dump -f');
    assert.deepEqual(meta.command.slice(-2), ['-f', tar.path]);

    const custom = await createDump(
      manual,
      { database: 'shop', format: 'custom' },
      { now: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)) },
    );
    assert.equal(custom.name, 'shop_pg_dump_20260102_030405.dump');
    assert.equal(spawnSync(join(PG_BIN, 'pg_restore'), ['--list', custom.path]).status, 0);

    const all = await createDumpAll(manual);
    assert.equal(all.wroteIn, 'engine');
    assert.match(all.name, /^all_dbs_pg_dumpall_\d{8}_\d{6}\.sql$/);
    const sql = readFileSync(all.path, 'utf8');
    assert.match(sql, /CREATE DATABASE shop/);
    assert.match(sql, /PostgreSQL database cluster dump complete/);

    const base = await createBaseBackup(manual);
    assert.match(base.name, /^pg_basebackup_\d{8}_\d{6}$/);
    const files = readdirSync(base.path).sort();
    assert.ok(files.includes('base.tar.gz') && files.includes('pg_wal.tar.gz'), files.join(','));
    const baseList = spawnSync('tar', ['-tzf', join(base.path, 'base.tar.gz')], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    assert.equal(baseList.status, 0);
    assert.match(baseList.stdout, /PG_VERSION/);
    assert.equal((await readSidecar(base.path))?.kind, 'baseBackup');

    const listed = await listManualBackups(outDir);
    assert.deepEqual(listed.map((b) => b.kind).sort(), ['pg_basebackup', 'pg_dump', 'pg_dump', 'pg_dumpall']);
    assert.ok(!readdirSync(outDir).some((n) => n.endsWith('.partial')));
    assert.ok(existsSync(sidecarPath(all.path)));
  });

  it('a cancelled dump leaves no file', async () => {
    await cluster.psql(
      'CREATE TABLE big AS SELECT g AS id, repeat(md5(g::text), 20) AS v FROM generate_series(1, 400000) g',
      'shop',
    );
    const before = readdirSync(outDir);
    const a = new AbortController();
    let seen = false;
    const p = createDump(manual, { database: 'shop', format: 'tar' }, { signal: a.signal });
    // Cancel once the partial file is growing.
    for (let i = 0; i < 400 && !seen; i++) {
      await new Promise((r) => setTimeout(r, 10));
      seen = readdirSync(outDir).some((n) => n.endsWith('.partial'));
    }
    assert.ok(seen, 'the dump streamed into a .partial file');
    a.abort();
    await assert.rejects(p, (e: unknown) => isCancelled(e) && e.facts.argv !== undefined);
    assert.deepEqual(readdirSync(outDir).sort(), before.sort(), 'nothing left behind');
  });

  it('a cancelled dump streamed to this machine (dumpTo here) leaves no file either', async () => {
    const before = readdirSync(outDir);
    const a = new AbortController();
    let seen = false;
    const lines: string[] = [];
    const p = createDump(
      { ...manual, dumpTo: 'here' },
      { database: 'shop', format: 'tar' },
      { signal: a.signal, onLine: (l) => lines.push(l) },
    );
    for (let i = 0; i < 400 && !seen; i++) {
      await new Promise((r) => setTimeout(r, 10));
      seen = readdirSync(outDir).some((n) => n.endsWith('.partial'));
    }
    assert.ok(seen, 'the dump streamed into a .partial file');
    a.abort();
    await assert.rejects(p, (e: unknown) => isCancelled(e) && e.facts.argv !== undefined);
    assert.deepEqual(readdirSync(outDir).sort(), before.sort(), 'nothing left behind');
    assert.ok(
      lines.some((l) => l.startsWith("pg_dump's output streams from this machine")),
      lines.join('\n'),
    );
  });

  it('a failed dump leaves no file and keeps the tool message', async () => {
    const before = readdirSync(outDir);
    await assert.rejects(
      createDump({ ...manual, connArgs: ['-h', cluster.socketDir, '-p', String(cluster.port)] }, { database: 'nope' }),
      /nope/,
    );
    writeFileSync(join(outDir, 'x'), '');
    rmSync(join(outDir, 'x'));
    assert.deepEqual(readdirSync(outDir).sort(), before.sort());
  });

  it('no password in any spawned argv', () => {
    assert.ok(rt.argvs.length > 5);
    for (const a of rt.argvs) assert.ok(!a.join(' ').includes(SECRET), a.join(' '));
    assert.deepEqual(rt.leaks, []);
  });
});
