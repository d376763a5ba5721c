/**
 * A Docker engine over SSH, for real: Debian's sshd on a loopback port whose sessions reach the
 * bench's private engine. The Containers model, a Docker event, a tool run in the database container
 * and Compose all go through `ssh://`; an unknown and a changed host key are refused by dockerode
 * and by the CLI path (compose/docker get DOCKER_HOST only after the key was checked); the SSH
 * connection is shared; killing it midway through a streamed tool run ends that run with a clear
 * error, and the next request connects again.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDump, type ManualBackupTarget } from '../../src/core/backups/dump';
import { listManualBackups } from '../../src/core/backups/manual';
import { loadBackupsOverview } from '../../src/core/backups/overview';
import { overviewContext } from '../support/overview-context';
import { manualBackupHostDir } from '../../src/core/stack/site';
import type Dockerode from 'dockerode';
import { cliDockerHost, connectEngine, resolveEngine, type EngineTarget } from '../../src/core/docker/engine-address';
import { StackMonitor, readStackModel, type MonitorState } from '../../src/core/docker/events';
import { runCompose } from '../../src/core/docker/compose-cli';
import { runningServiceContainer } from '../../src/core/docker/find';
import { describeState } from '../../src/core/docker/model';
import { isKind } from '../../src/core/errors/error';
import { disposeSshEngines, sshEngineFor } from '../../src/core/docker/ssh-engine';
import { readStack, type StackConfig } from '../../src/core/infra';
import { ContainerRuntime } from '../../src/core/runtime';
import { dockerAvailable, dockerInstallHint } from '../support/docker';
import { debootstrapAvailable, debootstrapInstallHint } from '../support/image';
import { run } from '../support/proc';
import { requirePart } from '../support/requirements';
import { sharedSshd, sshdAvailable, stopSharedSshd, sshdInstallHint, type Sshd } from '../support/sshd';
import { composeAvailable, composeInstallHint, startStack, type Stack } from '../support/stack';

describe('A Docker engine over SSH (a real sshd on loopback)', function () {
  this.timeout(300_000);
  let stack: Stack;
  let sshd: Sshd;
  let config: StackConfig;

  /** The engine as `tsdbOps.docker.host = ssh://…` with the bench's key and the given known_hosts. */
  function target(knownHosts: string): EngineTarget {
    // No SSH_AUTH_SOCK: the key file is the only credential.
    return resolveEngine(sshd.url, {}, { identityFiles: [sshd.userKey], knownHostsFiles: [knownHosts] });
  }

  function manualTarget(runtime: ContainerRuntime, hostDir: string): ManualBackupTarget {
    return { runtime, hostDir, user: stack.connection.user, maintenanceDb: stack.connection.database };
  }

  before(async function () {
    requirePart(this, dockerAvailable(), 'Docker', dockerInstallHint);
    requirePart(this, composeAvailable(), 'Docker Compose', composeInstallHint);
    requirePart(this, debootstrapAvailable(), 'debootstrap', debootstrapInstallHint);
    requirePart(this, sshdAvailable(), 'OpenSSH server', sshdInstallHint);
    stack = await startStack();
    sshd = await sharedSshd(stack.docker.host);
    config = await readStack(
      { workspaceFolder: stack.dir },
      stack.infraDir,
      join(stack.infraDir, 'docker-compose.yaml'),
    );
  });

  after(async () => {
    disposeSshEngines();
    await stopSharedSshd();
    await stack?.stop();
  });

  it('reads the stack through ssh:// (the Containers model), over one shared SSH connection', async () => {
    const t = target(sshd.knownHosts);
    assert.equal(t.source, 'tsdbOps.docker.host');
    assert.deepEqual([t.ssh?.host, t.ssh?.port, t.ssh?.username], ['127.0.0.1', sshd.port, sshd.user]);
    const docker = await connectEngine(t);
    const input = { project: config.projectName, services: config.compose!.services, dbService: 'timescaledb' };
    // Several requests at once: each is a channel on the same connection.
    const models = await Promise.all([1, 2, 3, 4].map(() => readStackModel(docker, input)));
    const db = models[0]!.services.find((s) => s.service === 'timescaledb');
    assert.ok(db, 'the database service');
    assert.match(describeState(db), /^running/);
    assert.equal(db.image, 'tsdb-ops-test/timescaledb-ha:pg15');
    assert.equal(sshEngineFor(t.ssh!).connectionCount, 1, 'one SSH connection for all requests');
  });

  it('a Docker event arrives over SSH (pause → paused) and a tool runs in the database container', async () => {
    const t = target(sshd.knownHosts);
    const docker: Dockerode = await connectEngine(t);
    const monitor = new StackMonitor({
      connect: async () => docker,
      project: config.projectName,
      services: () => config.compose!.services,
      dbService: () => 'timescaledb',
      backoff: { initialMs: 200, maxMs: 2000 },
    });
    try {
      const seen = new Promise<void>((resolve) => {
        const off = monitor.onChange((s: MonitorState) => {
          if (s.kind === 'ready' && s.model.services.find((x) => x.service === 'timescaledb')?.state === 'paused') {
            off();
            resolve();
          }
        });
      });
      monitor.start();
      await monitor.refresh();
      const c = await runningServiceContainer(docker, config.projectName, 'timescaledb');
      await docker.getContainer(c.Id).pause();
      await seen;
      await docker.getContainer(c.Id).unpause();
      const rt = new ContainerRuntime(docker, c.Id, 'db');
      const r = await rt.run([
        'psql',
        '-At',
        '-U',
        stack.connection.user,
        '-d',
        stack.connection.database,
        '-c',
        'select 40 + 2',
      ]);
      assert.equal(r.exitCode, 0, r.stderrTail.join('\n'));
      assert.deepEqual(r.stdoutLines, ['42']);
    } finally {
      monitor.dispose();
    }
  });

  it('Compose and the docker CLI run against the same engine (DOCKER_HOST: a local socket over the checked connection)', async () => {
    const host = await cliDockerHost(target(sshd.knownHosts));
    assert.match(host ?? '', /^unix:\/\/.*tsdbops-ssh-/);
    const lines: string[] = [];
    await runCompose(config, ['ps'], { dockerHost: host, onLine: (l) => lines.push(l) });
    assert.ok(
      lines.some((l) => l.includes('timescaledb') && /Up/.test(l)),
      `compose ps shows the database up:\n${lines.join('\n')}`,
    );
    const ps = await run('docker', ['ps', '--format', '{{.Label "com.docker.compose.project"}}'], {
      env: { DOCKER_HOST: host },
    });
    assert.ok(ps.stdout.split('\n').includes(config.projectName), ps.stdout);
  });

  it('an unknown host key is refused, with the fingerprint and the fix, by dockerode and before any CLI runs', async () => {
    const t = target(sshd.emptyKnownHosts);
    const docker = await connectEngine(t);
    const expected = (e: unknown): boolean => {
      const err = e as Error;
      assert.equal(err.name, 'HostKeyError');
      assert.match(err.message, new RegExp(`host key of \\[127\\.0\\.0\\.1\\]:${sshd.port} is unknown`));
      assert.match(err.message, /SHA256:[A-Za-z0-9+/]{43}/);
      assert.match(err.message, /ssh-keyscan -p \d+ 127\.0\.0\.1/);
      return true;
    };
    await assert.rejects(docker.version(), expected);
    await assert.rejects(cliDockerHost(t), expected);
    // The plain ssh client says the same with the same file (OpenSSH, strict checking).
    const ssh = await run(
      'ssh',
      [
        '-o',
        'BatchMode=yes',
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        `UserKnownHostsFile=${sshd.emptyKnownHosts}`,
        '-o',
        'GlobalKnownHostsFile=/dev/null',
        '-i',
        sshd.userKey,
        '-p',
        String(sshd.port),
        `${sshd.user}@127.0.0.1`,
        'true',
      ],
      { reject: false },
    );
    assert.notEqual(ssh.exitCode, 0);
    assert.match(ssh.stderr, /Host key verification failed/);
  });

  it('a changed host key is refused (possible interception), naming the known_hosts line and ssh-keygen -R', async () => {
    const t = target(sshd.changedKnownHosts);
    const docker = await connectEngine(t);
    const expected = (e: unknown): boolean => {
      const err = e as Error;
      assert.equal(err.name, 'HostKeyError');
      assert.match(err.message, /has CHANGED/);
      assert.ok(err.message.includes(`${sshd.changedKnownHosts}:1`), err.message);
      assert.match(err.message, /ssh-keygen -R '\[127\.0\.0\.1\]:\d+'/);
      return true;
    };
    await assert.rejects(docker.listContainers(), expected);
    await assert.rejects(cliDockerHost(t), expected);
  });

  it('killing the SSH connection midway through a streamed tool run ends it with an error; the next request reconnects', async () => {
    const t = target(sshd.knownHosts);
    const docker = await connectEngine(t);
    const c = await runningServiceContainer(docker, config.projectName, 'timescaledb');
    const rt = new ContainerRuntime(docker, c.Id, 'db');
    const lines: string[] = [];
    let started: () => void;
    const firstLine = new Promise<void>((r) => (started = r));
    const running = rt.run(['sh', '-c', 'echo started; sleep 120; echo finished'], {
      onStdoutLine: (l: string) => {
        lines.push(l);
        if (l === 'started') started();
      },
    });
    await firstLine;
    await sshd.killSessions();
    await assert.rejects(running, (e: Error) => {
      assert.ok(isKind(e, 'connection-lost'), String(e));
      assert.match(e.message, /connection to the Docker engine was lost while "sh" ran/);
      return true;
    });
    assert.ok(!lines.includes('finished'));
    // A new request opens a new (checked) connection.
    const v = await docker.version();
    assert.ok(v.ApiVersion);
  });
  it('a pg_dump through ssh:// streams here: the file, its sidecar, a readable tar', async () => {
    const docker = await connectEngine(target(sshd.knownHosts));
    const c = await runningServiceContainer(docker, config.projectName, 'timescaledb');
    const hostDir = mkdtempSync(join(tmpdir(), 'tsdbops-ssh-dump-'));
    try {
      const r = await createDump(manualTarget(new ContainerRuntime(docker, c.Id, 'db'), hostDir), {
        database: stack.connection.database,
      });
      assert.ok(existsSync(r.path) && existsSync(r.sidecarPath), readdirSync(hostDir).join(', '));
      assert.ok(r.sizeBytes > 0);
      const list = await run('tar', ['-tf', r.path]);
      assert.match(list.stdout, /toc\.dat/);
    } finally {
      rmSync(hostDir, { recursive: true, force: true });
    }
  });

  it('killing the SSH connection midway through a pg_dump: a clear error, no partial file; after reconnecting a dump works', async () => {
    const docker = await connectEngine(target(sshd.knownHosts));
    const c = await runningServiceContainer(docker, config.projectName, 'timescaledb');
    const hostDir = mkdtempSync(join(tmpdir(), 'tsdbops-ssh-dump-'));
    const { Client } = await import('pg');
    const locker = new Client(stack.connection);
    await locker.connect();
    try {
      await locker.query('CREATE TABLE IF NOT EXISTS ssh_locked (id int)');
      // pg_dump waits for this lock: it is running, its output stream open, when the connection dies.
      await locker.query('BEGIN; LOCK TABLE ssh_locked IN ACCESS EXCLUSIVE MODE');
      const t = manualTarget(new ContainerRuntime(docker, c.Id, 'db'), hostDir);
      const dump = createDump(t, { database: stack.connection.database });
      const waiting = async (): Promise<boolean> =>
        (
          await stack.sql<{ n: string }>(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'pg_dump' AND wait_event_type = 'Lock'",
          )
        )[0]?.n !== '0';
      for (let i = 0; i < 300 && !(await waiting()); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(await waiting(), 'pg_dump runs and waits for the lock');
      await sshd.killSessions();
      await assert.rejects(dump, (e: Error) => {
        assert.ok(isKind(e, 'connection-lost'), String(e));
        assert.match(e.message, /connection to the Docker engine was lost while "pg_dump" ran/);
        return true;
      });
      assert.deepEqual(readdirSync(hostDir), [], 'no partial file left');
      await locker.query('ROLLBACK');
      const again = await createDump(t, { database: stack.connection.database });
      assert.ok(existsSync(again.path));
      assert.deepEqual(
        readdirSync(hostDir).filter((n) => n.endsWith('.partial')),
        [],
      );
    } finally {
      await locker.end().catch(() => undefined);
      rmSync(hostDir, { recursive: true, force: true });
    }
  });
  it('the manual backups folder on the engine’s machine is read through the database container (Backups view)', async () => {
    const docker = await connectEngine(target(sshd.knownHosts));
    const c = await runningServiceContainer(docker, config.projectName, 'timescaledb');
    const rt = new ContainerRuntime(docker, c.Id, 'db');
    // Files in the stack's manual_backup (bind-mounted into the container), read here and through SSH.
    const hostDir = manualBackupHostDir(config);
    mkdirSync(join(hostDir, 'pg_basebackup_20260101_000000'), { recursive: true });
    writeFileSync(join(hostDir, 'pg_basebackup_20260101_000000', 'base.tar.gz'), 'x'.repeat(1000));
    writeFileSync(join(hostDir, 'pg_basebackup_20260101_000000', 'pg_wal.tar.gz'), 'y'.repeat(24));
    writeFileSync(join(hostDir, 'connect_db_pg_dump_20260101_000000.tar'), 'z'.repeat(500));
    writeFileSync(
      join(hostDir, 'connect_db_pg_dump_20260101_000000.tar.meta.json'),
      JSON.stringify({ kind: 'dump', created: '2026-01-01T00:00:00.000Z', pgVersion: '15', database: 'connect_db' }),
    );
    const overview = await loadBackupsOverview({
      context: overviewContext(config, rt),
      runtime: async () => rt,
      remoteFiles: true,
    });
    // The bench's engine is on this machine, so the same folder is listed twice: through the container
    // (paths as the container sees them) and here (dumps streamed here land in this machine's folder).
    const viaContainer = overview.manual.filter((m) => !m.path.startsWith(hostDir));
    assert.equal(viaContainer.length * 2, overview.manual.length);
    const remote = viaContainer.map((m) => [m.name, m.kind, m.size, m.isDirectory, m.sidecar?.created]);
    const local = (await listManualBackups(hostDir)).map((m) => [m.name, m.kind, m.size, m.isDirectory]);
    assert.deepEqual(
      remote.map((r) => r.slice(0, 4)).sort(),
      local.sort(),
      'the same entries, kinds and sizes as a local read',
    );
    assert.ok(remote.some((r) => r[0] === 'pg_basebackup_20260101_000000' && r[2] === 1024));
    assert.ok(
      remote.some((r) => r[0] === 'connect_db_pg_dump_20260101_000000.tar' && r[4] === '2026-01-01T00:00:00.000Z'),
    );
    assert.ok(
      viaContainer.every((m) => m.path.endsWith(`/manual_backup/${m.name}`)),
      viaContainer.map((m) => m.path).join(', '),
    );
  });
});
