/**
 * The Docker daemon going away and coming back, on a THROWAWAY dockerd of this suite (never the
 * bench's shared engine, which other test processes use): the monitor reports the engine
 * unreachable when the daemon stops, and recovers by itself when it starts again on the same
 * socket, without being recreated. No images are needed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connectEngine, resolveEngine } from '../../src/core/docker/engine-address';
import { StackMonitor, type MonitorState } from '../../src/core/docker/events';
import { parseCompose } from '../../src/core/infra/compose';
import { registerCleanup } from '../support/cleanup';
import { canStartPrivateDocker, dockerInstallHint, pidAlive } from '../support/docker';
import { run, sleep, waitFor } from '../support/proc';
import { requirePart, which } from '../support/requirements';

interface Daemon {
  pid: number;
  stop(): Promise<void>;
}

async function startDaemon(dir: string, host: string): Promise<Daemon> {
  const log = join(dir, 'dockerd.log');
  const fd = openSync(log, 'a');
  const child = spawn(
    which('dockerd', ['/usr/sbin', '/usr/bin']) ?? 'dockerd',
    [
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      '--data-root',
      join(dir, 'root'),
      '--exec-root',
      join(dir, 'exec'),
      '-H',
      host,
      '--pidfile',
      join(dir, 'docker.pid'),
    ],
    { stdio: ['ignore', fd, fd] },
  );
  closeSync(fd);
  const pid = child.pid!;
  await waitFor(
    'the throwaway dockerd to answer',
    async () => {
      if (!pidAlive(pid)) throw new Error(`dockerd exited: ${readFileSync(log, 'utf8').slice(-2000)}`);
      const r = await run('docker', ['version', '--format', '{{.Server.Version}}'], {
        env: { DOCKER_HOST: host },
        reject: false,
        timeoutMs: 5000,
      });
      return r.exitCode === 0 ? true : undefined;
    },
    60_000,
    200,
  );
  return {
    pid,
    stop: async () => {
      if (!pidAlive(pid)) return;
      process.kill(pid, 'SIGTERM');
      const deadline = Date.now() + 30_000;
      while (pidAlive(pid) && Date.now() < deadline) await sleep(100);
      if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
      await new Promise<void>((res) =>
        child.exitCode !== null || child.signalCode !== null ? res() : child.once('exit', () => res()),
      );
    },
  };
}

describe('Docker daemon stopped, then started again: unreachable, then recovery without reloading', function () {
  this.timeout(180_000);
  let dir: string;
  let host: string;
  let daemon: Daemon | undefined;
  let monitor: StackMonitor | undefined;
  let unregister: (() => void) | undefined;

  before(async function () {
    requirePart(this, canStartPrivateDocker(), 'a startable dockerd (root + docker.io)', dockerInstallHint);
    dir = mkdtempSync('/tmp/tsdbops-dd-');
    host = `unix://${join(dir, 'docker.sock')}`;
    unregister = registerCleanup({
      name: `throwaway dockerd in ${dir}`,
      run: async () => {
        await daemon?.stop();
        rmSync(dir, { recursive: true, force: true });
      },
      runSync: () => {
        if (daemon && pidAlive(daemon.pid)) process.kill(daemon.pid, 'SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      },
    });
    daemon = await startDaemon(dir, host);
  });

  after(async () => {
    monitor?.dispose();
    await daemon?.stop();
    // containerd (started by dockerd) leaves its state in the exec root until it has exited too.
    await sleep(300);
    if (dir) rmSync(dir, { recursive: true, force: true });
    unregister?.();
  });

  it('reports the engine unreachable when the daemon stops, and the model again once it is back', async () => {
    const services = parseCompose(
      'services:\n  timescaledb:\n    image: timescale/timescaledb-ha:pg15\n',
      '/x/docker-compose.yaml',
      {},
    ).model!.services;
    const seen: MonitorState['kind'][] = [];
    monitor = new StackMonitor({
      connect: () => connectEngine(resolveEngine(host)),
      project: 'tsdbopsdaemontest',
      services: () => services,
      dbService: () => 'timescaledb',
      backoff: { initialMs: 250, maxMs: 2000 },
    });
    monitor.onChange((s) => {
      if (seen.at(-1) !== s.kind) seen.push(s.kind);
    });
    monitor.start();
    const m = monitor;
    const wait = (kind: MonitorState['kind'], ms: number) =>
      waitFor(`state ${kind}`, async () => (m.state.kind === kind ? m.state : undefined), ms, 50);

    const ready = await wait('ready', 20_000);
    assert.equal(ready.kind === 'ready' && ready.model.database?.state, 'notCreated');

    let t0 = Date.now();
    await daemon!.stop();
    const down = await wait('unreachable', 15_000);
    console.log(
      `      daemon stopped → unreachable after ${Date.now() - t0} ms: ${down.kind === 'unreachable' ? down.error : ''}`,
    );
    assert.ok(down.kind === 'unreachable' && down.error.length > 0);
    // A manual refresh while it is down answers with the failed attempt, at once.
    assert.equal((await m.refresh()).kind, 'unreachable');

    t0 = Date.now();
    daemon = await startDaemon(dir, host);
    const back = await wait('ready', 30_000);
    console.log(`      daemon started → ready after ${Date.now() - t0} ms (including the daemon's own start)`);
    assert.equal(back.kind === 'ready' && back.model.database?.state, 'notCreated');
    assert.deepEqual(seen.slice(-3), ['ready', 'unreachable', 'ready']);

    // The events stream is live again: a container created for the project reaches the model by its event.
    // (An empty image, imported from an empty tar: nothing is pulled or built.)
    await run('docker', ['import', '-', 'tsdbops-empty:1'], { env: { DOCKER_HOST: host }, input: '\0'.repeat(10240) });
    const docker = await connectEngine(resolveEngine(host));
    t0 = Date.now();
    await docker.createContainer({
      Image: 'tsdbops-empty:1',
      Cmd: ['/none'],
      Labels: { 'com.docker.compose.project': 'tsdbopsdaemontest', 'com.docker.compose.service': 'timescaledb' },
    });
    await waitFor(
      'the created container in the model',
      async () => (m.state.kind === 'ready' && m.state.model.database?.state === 'created' ? true : undefined),
      5000,
      20,
    );
    console.log(`      container create → model after ${Date.now() - t0} ms`);
  });
});
