/**
 * Backups on the fixture compose stack in Docker (ContainerRuntime: docker exec through the Engine
 * API, user postgres, local socket trust): pgBackRest full/diff in the model with the right parent,
 * pg_dump / pg_dumpall / pg_basebackup files the tools accept, cancels that leave nothing, the log
 * follower on the mounted logs/pgbackrest, the overview with the compose file's Ofelia schedules,
 * the Ofelia container's log, and no password in any argv.
 */
import { isCancelled } from '../../src/core/errors/error';
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { connectEngine, resolveEngine } from '../../src/core/docker/engine-address';
import { runningServiceContainer } from '../../src/core/docker/find';
import { ContainerRuntime, type ToolRunOptions, type ToolRunResult, type ToolRuntime } from '../../src/core/runtime';
import { discoverInfra, type StackConfig } from '../../src/core/infra';
import { groupBackupSets, pgbackrestBackup, pgbackrestInfo } from '../../src/core/backups/pgbackrest';
import { createBaseBackup, createDump, createDumpAll } from '../../src/core/backups/dump';
import { readSidecar } from '../../src/core/backups/sidecar';
import { stackBackupTargets, type StackBackupTargets } from '../../src/core/backups/targets';
import { freshnessAt, loadBackupsOverview } from '../../src/core/backups/overview';
import { overviewContext } from '../support/overview-context';
import { LogFollower } from '../../src/core/logs/follower';
import { streamLogs } from '../../src/core/docker/logs';
import { dockerAvailable, dockerInstallHint } from '../support/docker';
import { debootstrapAvailable, debootstrapInstallHint } from '../support/image';
import { requirePart } from '../support/requirements';
import { composeAvailable, composeInstallHint, startStack, type Stack } from '../support/stack';
import { PG_BIN } from '../support/cluster';

class RecordingRuntime implements ToolRuntime {
  readonly argvs: string[][] = [];
  constructor(private readonly inner: ToolRuntime) {}
  get kind() {
    return this.inner.kind;
  }
  get description() {
    return this.inner.description;
  }
  run(argv: readonly string[], opts?: ToolRunOptions): Promise<ToolRunResult> {
    this.argvs.push([...argv]);
    return this.inner.run(argv, opts);
  }
}

describe('backups on the fixture stack (container runtime)', function () {
  this.timeout(600_000);
  let stack: Stack | undefined;
  let config: StackConfig;
  let client: Dockerode;
  let rt: RecordingRuntime;
  let targets: StackBackupTargets;
  let password: string;
  let fullLabel: string;
  let diffLabel: string;
  const manualDir = () => join(stack!.infraDir, 'backups', 'manual_backup');

  before(async function () {
    requirePart(this, dockerAvailable(), 'docker', dockerInstallHint);
    requirePart(this, composeAvailable(), 'docker compose', composeInstallHint);
    requirePart(this, debootstrapAvailable(), 'debootstrap', debootstrapInstallHint);
    stack = await startStack({ full: true });
    password = stack.env.POSTGRES_PASSWORD!;
    client = await connectEngine(resolveEngine(undefined, { DOCKER_HOST: stack.docker.host }));
    const d = await discoverInfra({ workspaceFolder: stack.infraDir, infraPath: stack.infraDir });
    assert.equal(d.kind, 'found');
    config = d.stack;
    const c = await runningServiceContainer(client, config.projectName, config.dbService!.name);
    rt = new RecordingRuntime(new ContainerRuntime(client, c.Id, 'container timescaledb'));
    targets = await stackBackupTargets(config, rt);
    await stack.exec('timescaledb', [
      'psql',
      '-X',
      '-U',
      stack.env.POSTGRES_USER!,
      '-d',
      stack.env.POSTGRES_DB!,
      '-c',
      'CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 50000) g',
    ]);
  });
  after(async () => {
    await stack?.stop();
  });

  it('resolves the stanza and folders from the infra (pgbackrest.conf, the /var/lib/pgbackrest mount)', () => {
    assert.equal(targets.pgbackrest.stanza, 'db');
    assert.equal(targets.pgbackrest.configPath, undefined, 'the image finds it through PGBACKREST_CONFIG');
    assert.equal(targets.manual.runtimeDir, '/var/lib/pgbackrest/manual_backup');
    assert.equal(targets.manual.hostDir, manualDir());
    assert.equal(targets.dataDir, '/home/postgres/pgdata/data');
    assert.deepEqual(targets.manual.connArgs, [], 'the local socket in the container');
  });

  it('full and diff backups appear in the model with the right parent; the follower sees the new log lines only', async () => {
    const logDir = config.pgbackrestLogDir;
    const followed: string[] = [];
    const follower = new LogFollower(logDir, (l) => followed.push(`${l.file}: ${l.line}`));
    await follower.start();
    try {
      const lines: string[] = [];
      fullLabel = (await pgbackrestBackup(targets.pgbackrest, 'full', { onLine: (l) => lines.push(l) })).label;
      assert.match(fullLabel, /^\d{8}-\d{6}F$/);
      assert.ok(
        lines.some((l) => /INFO: backup command begin/.test(l)),
        'console output streamed',
      );
      diffLabel = (await pgbackrestBackup(targets.pgbackrest, 'diff')).label;
      assert.match(diffLabel, new RegExp(`^${fullLabel}_\\d{8}-\\d{6}D$`));
      const info = await pgbackrestInfo(targets.pgbackrest);
      assert.equal(info.status.code, 0);
      const [g] = groupBackupSets(info.backups);
      assert.equal(g?.full.label, fullLabel);
      assert.deepEqual(
        g?.children.map((c) => [c.label, c.prior]),
        [[diffLabel, fullLabel]],
      );
      assert.ok(info.systemId && info.systemId > 2n ** 53n, 'a real 64-bit system-id');
      // The backup log file on the host mount grew: the follower saw both runs, and nothing older.
      assert.ok(follower.watching, 'clean_start created logs/pgbackrest (stanza-create logs there)');
      for (let i = 0; i < 100 && !followed.some((l) => l.includes(diffLabel)); i++)
        await new Promise((r) => setTimeout(r, 50));
      assert.ok(
        followed.some((l) => l.startsWith('db-backup.log: ') && l.includes(`new backup label = ${diffLabel}`)),
        followed.slice(-5).join('\n'),
      );
      assert.equal(
        followed.filter((l) => /PROCESS START/.test(l) && l.startsWith('db-backup.log')).length,
        2,
        'each run once, never re-read',
      );
    } finally {
      follower.dispose();
    }
  });

  it('pg_dump, pg_dumpall and pg_basebackup files are accepted by the tools, with sidecars', async () => {
    const db = stack!.env.POSTGRES_DB!;
    const out: string[] = [];
    const dump = await createDump(targets.manual, { database: db }, { onLine: (l) => out.push(l) });
    assert.equal(dump.path, join(manualDir(), dump.name));
    // The folder is the mounted one: pg_dump writes the file itself in the container, as the guide does.
    assert.equal(dump.wroteIn, 'engine');
    assert.ok(
      out.some((l) => l.startsWith('pg_dump writes the file itself in container timescaledb')),
      out.join('\n'),
    );
    assert.ok(
      out.includes(
        `$ pg_dump -U ${stack!.env.POSTGRES_USER!} -F t -d ${db} -f /var/lib/pgbackrest/manual_backup/${dump.name}.partial`,
      ),
    );
    assert.match(dump.name, new RegExp(`^${db}_pg_dump_\\d{8}_\\d{6}\\.tar$`));
    assert.equal(spawnSync('tar', ['-tf', dump.path]).status, 0);
    const list = spawnSync(join(PG_BIN, 'pg_restore'), ['--list', dump.path], { encoding: 'utf8' });
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /TABLE DATA public t /);
    const meta = await readSidecar(dump.path);
    const ext = (
      await stack!.exec('timescaledb', [
        'psql',
        '-X',
        '-At',
        '-U',
        stack!.env.POSTGRES_USER!,
        '-d',
        db,
        '-c',
        "SELECT coalesce((SELECT extversion FROM pg_extension WHERE extname='timescaledb'), '')",
      ])
    ).stdout.trim();
    assert.equal(meta?.timescaledbVersion, ext || undefined);
    assert.match(meta!.pgVersion, /^15/);
    assert.equal(meta?.ranIn, 'container timescaledb');

    const all = await createDumpAll(targets.manual);
    assert.equal(spawnSync('grep', ['-c', 'CREATE ROLE', all.path]).status, 0);

    const base = await createBaseBackup(targets.manual);
    assert.deepEqual(
      readdirSync(base.path)
        .filter((n) => n.endsWith('.tar.gz'))
        .sort(),
      ['base.tar.gz', 'pg_wal.tar.gz'],
    );
    const t = spawnSync('tar', ['-tzf', join(base.path, 'base.tar.gz')], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /PG_VERSION/);
    assert.equal((await readSidecar(base.path))?.kind, 'baseBackup');
    assert.ok(!readdirSync(manualDir()).some((n) => n.includes('.partial')));
  });

  it('pg_dump streams to this machine when asked (dumpTo here) or when the folder is not the mounted one', async () => {
    const db = stack!.env.POSTGRES_DB!;
    const out: string[] = [];
    const here = await createDump(
      { ...targets.manual, dumpTo: 'here' },
      { database: db, format: 'custom' },
      { onLine: (l) => out.push(l) },
    );
    assert.equal(here.wroteIn, 'here');
    assert.ok(
      out.some((l) =>
        /^pg_dump's output streams from container timescaledb to .* \(tsdbOps\.backups\.dumpTo = here\)\.$/.test(l),
      ),
    );
    const list = spawnSync(join(PG_BIN, 'pg_restore'), ['--list', here.path], { encoding: 'utf8' });
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /TABLE DATA public t /);
    // The overview test below counts one dump of each kind.
    rmSync(here.path);
    rmSync(here.sidecarPath);

    // A folder on this machine that is not the one mounted into the container: the probe file the
    // container writes does not show up here, so the dump streams.
    const elsewhere = mkdtempSync(join(tmpdir(), 'tsdbops-notmounted-'));
    try {
      const lines: string[] = [];
      const d = await createDump(
        { ...targets.manual, hostDir: elsewhere },
        { database: db },
        { onLine: (l) => lines.push(l) },
      );
      assert.equal(d.wroteIn, 'here');
      assert.equal(d.path, join(elsewhere, d.name));
      assert.ok(
        lines.some((l) => l.includes('is not ' + elsewhere + ' on this machine')),
        lines.join('\n'),
      );
      assert.equal(spawnSync('tar', ['-tf', d.path]).status, 0);
      assert.deepEqual(readdirSync(elsewhere).sort(), [d.name, `${d.name}.meta.json`]);
      assert.ok(!readdirSync(manualDir()).some((n) => n.startsWith('.tsdbops-probe')), 'the probe file is removed');
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('a cancelled pg_dump and a cancelled pg_basebackup leave nothing behind', async () => {
    await stack!.exec('timescaledb', [
      'psql',
      '-X',
      '-U',
      stack!.env.POSTGRES_USER!,
      '-d',
      stack!.env.POSTGRES_DB!,
      '-c',
      'CREATE TABLE big AS SELECT g AS id, repeat(md5(g::text), 20) AS v FROM generate_series(1, 300000) g',
    ]);
    const before = readdirSync(manualDir()).sort();
    const a = new AbortController();
    const p = createDump(targets.manual, { database: stack!.env.POSTGRES_DB! }, { signal: a.signal });
    for (let i = 0; i < 500 && !readdirSync(manualDir()).some((n) => n.endsWith('.partial')); i++)
      await new Promise((r) => setTimeout(r, 10));
    a.abort();
    await assert.rejects(p, (e: unknown) => isCancelled(e) && e.facts.argv !== undefined);
    assert.deepEqual(readdirSync(manualDir()).sort(), before);

    const b = new AbortController();
    const q = createBaseBackup(targets.manual, {
      signal: b.signal,
      onLine: (l) => (/write-ahead log start point|starting background WAL receiver/.test(l) ? b.abort() : undefined),
    });
    await assert.rejects(q, (e: unknown) => isCancelled(e) && e.facts.argv !== undefined);
    // The cleanup runs in the container; give the killed tool a moment to go.
    for (let i = 0; i < 50 && readdirSync(manualDir()).sort().join() !== before.join(); i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(readdirSync(manualDir()).sort(), before);
  });

  it('the overview shows sets, manual backups, the compose schedules and freshness with a fixed clock', async () => {
    // A saved run as Ofelia writes it into ofelia_logs.
    const ofelia = config.ofeliaLogDir;
    mkdirSync(ofelia, { recursive: true });
    const stamp = '20261124_201500';
    writeFileSync(
      join(ofelia, `${stamp}_pgbackrest-diff-backup.stdout.log`),
      `INFO: new backup label = ${diffLabel}\n`,
    );
    writeFileSync(join(ofelia, `${stamp}_pgbackrest-diff-backup.stderr.log`), '');
    writeFileSync(
      join(ofelia, `${stamp}_pgbackrest-diff-backup.json`),
      JSON.stringify(
        {
          Job: { Name: 'pgbackrest-diff-backup', Command: 'pgbackrest --stanza=db --type=diff backup' },
          Execution: {
            ID: 'x1',
            Date: '2026-11-24T20:15:00Z',
            Duration: 1e9,
            IsRunning: false,
            Failed: false,
            Skipped: false,
            Error: {},
          },
        },
        null,
        '  ',
      ),
    );
    const info = await pgbackrestInfo(targets.pgbackrest);
    const diff = info.backups.find((b) => b.label === diffLabel)!;
    // "Now" a few minutes after the diff: the diff schedule is met; 20 minutes past the next quarter it is not.
    const now = new Date(diff.stop.getTime() + 60_000);
    const o = await loadBackupsOverview({
      context: overviewContext(config, rt),
      runtime: async () => rt,
      now,
      graceMs: 10 * 60_000,
    });
    assert.equal(o.stanzaError, undefined);
    assert.equal(o.stanzaName, 'db');
    assert.deepEqual(
      o.stanza?.backups.map((b) => b.label),
      [fullLabel, diffLabel],
    );
    assert.deepEqual(o.manual.map((m) => m.kind).sort(), ['pg_basebackup', 'pg_dump', 'pg_dumpall']);
    assert.ok(o.manual.every((m) => m.sidecar));
    assert.deepEqual(
      o.jobs.map((j) => [j.name, j.backupKind]),
      [
        ['pgbackrest-full-backup', 'full'],
        ['pgbackrest-diff-backup', 'diff'],
      ],
    );
    assert.equal(o.runs[0]?.job, 'pgbackrest-diff-backup');
    const diffJob = o.freshness.jobs.find((j) => j.job.name === 'pgbackrest-diff-backup')!;
    assert.equal(diffJob.lastRun?.id, 'x1');
    assert.equal(diffJob.state, 'ok');
    assert.ok(o.freshness.newest && o.freshness.ageMs !== undefined);
    const later = freshnessAt(o, new Date(now.getTime() + 45 * 60_000), 10 * 60_000);
    assert.equal(later.level, 'warning');
    assert.ok(later.reasons.some((r) => r.startsWith('pgbackrest-diff-backup:')));
    assert.deepEqual(o.preRestore, []);
  });

  it('follows the Ofelia container log when Ofelia saves nothing', async () => {
    const svc = config.compose!.services.find((s) => s.name === 'ofelia')!;
    const c = await runningServiceContainer(client, config.projectName, svc.name);
    const a = new AbortController();
    const lines: string[] = [];
    await streamLogs(client, c.Id, {
      follow: true,
      signal: a.signal,
      onLine: (l) => {
        lines.push(l);
        a.abort();
      },
    });
    assert.match(lines[0] ?? '', /ofelia stand-in started/);
  });

  it('a stalled consumer of a big stdout stalls the tool in the container (backpressure; memory stays flat)', async () => {
    const { Writable } = await import('node:stream');
    const total = 256 * 1024 * 1024;
    let received = 0;
    let release: (() => void) | undefined;
    let stalled = false;
    const sink = new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _enc, cb) {
        received += chunk.length;
        // After the first 1 MiB, stop taking data until released.
        if (!stalled && received > 1024 * 1024) {
          stalled = true;
          release = cb;
          return;
        }
        cb();
      },
    });
    const stderr: string[] = [];
    // A test program: writes 256 MiB to stdout, then says so on stderr.
    const p = rt.run(['sh', '-c', `head -c ${total} /dev/zero; echo written >&2`], {
      stdout: sink,
      onStderrLine: (l) => stderr.push(l),
    });
    await new Promise((r) => setTimeout(r, 3000));
    assert.ok(stalled, 'the consumer stalled');
    assert.deepEqual(stderr, [], 'the tool is blocked writing: nothing piles up in memory');
    assert.ok(received < 32 * 1024 * 1024, `received ${received}`);
    release!();
    const r = await p;
    assert.equal(r.exitCode, 0);
    assert.equal(received, total);
    assert.deepEqual(stderr, ['written']);
  });

  it('no password in any argv given to the container', () => {
    assert.ok(rt.argvs.length > 5);
    for (const argv of rt.argvs) assert.ok(!argv.some((a) => a.includes(password)), argv.join(' '));
  });
});
