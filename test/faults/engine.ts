/**
 * The "Docker engine restarted" column's engine: a THROWAWAY dockerd of the fault matrix's own (its own
 * data-root, exec-root, socket and pidfile; started like the bench's private engine, test/support/docker.ts,
 * with no firewall changes), with the test image loaded into it from the shared engine (`docker save` there,
 * `docker load` here; skipped when its data-root, kept in the cache folder, already has that image id).
 * `restart()` does what `systemctl restart docker` does: SIGTERM (dockerd stops its containers and exits),
 * then the same dockerd again. The shared test engine is never restarted: a cell that restarts an engine
 * runs its stack on this one. One per process, stopped at the end (registerCleanup).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { registerCleanup } from '../support/cleanup';
import { cacheDir, ensureDocker, pidAlive, type DockerHandle } from '../support/docker';
import { ensureTestImages, TIMESCALEDB_TEST_IMAGE } from '../support/image';
import { run, sleep, waitFor } from '../support/proc';
import { which } from '../support/requirements';

export interface ThrowawayEngine {
  /** A handle for startStack({ docker }): its stop() releases nothing (the engine stops with the process). */
  readonly handle: DockerHandle;
  /** SIGTERM to dockerd (it stops its containers), wait for it to exit, start it again, wait until it answers. */
  restart(log?: (m: string) => void): Promise<{ downAt: number; upAt: number }>;
  stop(): Promise<void>;
}

/** TSDBOPS_FAULTS_ENGINE_DIR: a throwaway engine of another data-root, so two faults runs (two worktrees) can each have one. */
const dataRoot = () => process.env.TSDBOPS_FAULTS_ENGINE_DIR || join(cacheDir(), 'faults-docker');
const pidFile = () => join(dataRoot(), 'dockerd.pid');

let current: Promise<ThrowawayEngine> | undefined;

async function answers(host: string): Promise<boolean> {
  const r = await run('docker', ['version', '--format', '{{.Server.Version}}'], {
    env: { DOCKER_HOST: host },
    reject: false,
    timeoutMs: 5000,
  });
  return r.exitCode === 0 && r.stdout.trim().length > 0;
}

const imageId = async (image: string, host: string): Promise<string> =>
  (
    await run('docker', ['image', 'inspect', '--format', '{{.Id}}', image], {
      env: { DOCKER_HOST: host },
      reject: false,
    })
  ).stdout.trim();

/** `docker save <image>` on the shared engine piped into `docker load` on `host` (two argv children). */
async function loadImage(image: string, from: string, to: string): Promise<void> {
  const save = spawn('docker', ['save', image], {
    env: { ...process.env, DOCKER_HOST: from },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const load = spawn('docker', ['load', '-q'], {
    env: { ...process.env, DOCKER_HOST: to },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  save.stdout.pipe(load.stdin);
  const errs: string[] = [];
  save.stderr.on('data', (d: Buffer) => errs.push(String(d)));
  load.stderr.on('data', (d: Buffer) => errs.push(String(d)));
  const exit = (p: ChildProcess) => new Promise<number>((r) => p.on('close', (c) => r(c ?? -1)));
  const [a, b] = await Promise.all([exit(save), exit(load)]);
  if (a !== 0 || b !== 0) throw new Error(`loading ${image} into the throwaway engine: ${errs.join('').trim()}`);
}

async function start(log: (m: string) => void): Promise<ThrowawayEngine> {
  const dockerd = which('dockerd', ['/usr/sbin', '/usr/bin']);
  if (!dockerd) throw new Error('the throwaway engine needs dockerd (apt-get install -y docker.io) and root');
  mkdirSync(dataRoot(), { recursive: true });
  if (existsSync(pidFile())) {
    const pid = Number(readFileSync(pidFile(), 'utf8').trim() || '0');
    if (pid && pidAlive(pid))
      throw new Error(
        `the fault matrix's throwaway engine (${dataRoot()}) is in use by dockerd ${pid}: one faults run at a time`,
      );
  }
  // Unix socket paths must stay short: socket and exec-root in a short temp dir.
  const runDir = mkdtempSync('/tmp/tsdbops-fe-');
  const host = `unix://${join(runDir, 'docker.sock')}`;
  const logPath = join(dataRoot(), 'dockerd.log');
  let pid: number | undefined;
  const launch = async () => {
    const fd = openSync(logPath, 'a');
    const child = spawn(
      dockerd,
      [
        '--iptables=false',
        '--ip6tables=false',
        '--bridge=none',
        '--data-root',
        join(dataRoot(), 'root'),
        '--exec-root',
        join(runDir, 'exec'),
        '-H',
        host,
        '--pidfile',
        pidFile(),
      ],
      { detached: true, stdio: ['ignore', fd, fd] },
    );
    closeSync(fd);
    child.unref();
    pid = child.pid;
    const p = pid;
    if (p === undefined) throw new Error('could not spawn the throwaway dockerd');
    await waitFor(
      'the throwaway dockerd to answer',
      async () => {
        if (!pidAlive(p)) throw new Error(`the throwaway dockerd exited; see ${logPath}`);
        return (await answers(host)) ? true : undefined;
      },
      60_000,
      200,
    );
  };
  const terminate = async () => {
    const p = pid;
    if (p === undefined || !pidAlive(p)) return;
    process.kill(p, 'SIGTERM');
    const deadline = Date.now() + 60_000;
    while (pidAlive(p) && Date.now() < deadline) await sleep(100);
    if (pidAlive(p)) process.kill(p, 'SIGKILL');
    while (pidAlive(p)) await sleep(50);
  };
  const stopSync = () => {
    if (pid !== undefined && pidAlive(pid)) process.kill(pid, 'SIGTERM');
  };
  const unregister = registerCleanup({
    name: 'the fault matrix’s throwaway dockerd',
    run: async () => {
      await terminate();
      rmSync(runDir, { recursive: true, force: true });
    },
    runSync: stopSync,
  });
  try {
    await launch();
    log(`throwaway engine ${host} (data-root ${join(dataRoot(), 'root')})`);
    // Nobody else uses this engine (the pidfile check above): whatever an earlier, killed run left is garbage.
    const env = { DOCKER_HOST: host };
    const ids = (await run('docker', ['ps', '-aq'], { env, reject: false })).stdout.split('\n').filter(Boolean);
    if (ids.length) await run('docker', ['rm', '-f', '-v', ...ids], { env, reject: false });
    await run('docker', ['volume', 'prune', '-f'], { env, reject: false });
    await run('docker', ['network', 'prune', '-f'], { env, reject: false });
    // The image, from the shared engine (built there by ensureTestImages), unless it is here already.
    const shared = await ensureDocker();
    try {
      await ensureTestImages();
      const want = await imageId(TIMESCALEDB_TEST_IMAGE, shared.host);
      if ((await imageId(TIMESCALEDB_TEST_IMAGE, host)) !== want) {
        const t0 = Date.now();
        await loadImage(TIMESCALEDB_TEST_IMAGE, shared.host, host);
        log(`loaded ${TIMESCALEDB_TEST_IMAGE} into the throwaway engine in ${Math.round((Date.now() - t0) / 1000)} s`);
      }
    } finally {
      await shared.stop();
    }
  } catch (e) {
    await terminate();
    unregister();
    rmSync(runDir, { recursive: true, force: true });
    throw e;
  }
  const handle: DockerHandle = { host, env: { DOCKER_HOST: host }, private: false, stop: async () => undefined };
  return {
    handle,
    async restart(l) {
      const downAt = Date.now();
      await terminate();
      l?.(`throwaway dockerd stopped in ${((Date.now() - downAt) / 1000).toFixed(1)} s; starting it again`);
      await launch();
      return { downAt, upAt: Date.now() };
    },
    async stop() {
      current = undefined;
      await terminate();
      unregister();
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}

/** The process's throwaway engine (started and loaded on first use). */
export function throwawayEngine(log: (m: string) => void): Promise<ThrowawayEngine> {
  current ??= start(log);
  current.catch(() => (current = undefined));
  return current;
}

/** A fixture stack on the throwaway engine whose fault is the engine's restart (cells that fire it at a step of their own). */
export async function stackWithEngineRestart(log: (m: string) => void): Promise<{
  stack: import('../support/stack').Stack;
  stop(): Promise<void>;
  fault(log: (m: string) => void): Promise<unknown>;
}> {
  const own = await stackOnThrowaway(log);
  return { stack: own.stack, stop: own.stop, fault: (l) => own.engine.restart(l) };
}

/** A fixture stack on the throwaway engine; `stop()` takes it down (the engine stays for the next cell). */
export async function stackOnThrowaway(
  log: (m: string) => void,
): Promise<{ stack: import('../support/stack').Stack; engine: ThrowawayEngine; stop(): Promise<void> }> {
  const engine = await throwawayEngine(log);
  const { startStack } = await import('../support/stack');
  const stack = await startStack({ docker: engine.handle });
  return { stack, engine, stop: () => stack.stop() };
}

/**
 * The fault: the engine restarted (its containers stopped with it), then what the user does next: the
 * stack started again (the Containers view's Start: `up -d`), and PostgreSQL waited for.
 */
export async function restartEngineThenStart(
  stack: import('../support/stack').Stack,
  engine: ThrowawayEngine,
  log: (m: string) => void,
): Promise<void> {
  await engine.restart(log);
  await startAgain(stack);
}

/** What the user does after the engine came back: Start (the Containers view's `up -d`), PostgreSQL waited for. */
export async function startAgain(stack: import('../support/stack').Stack): Promise<void> {
  await stack.compose(['up', '-d']);
  await stack.waitForPostgres(180_000);
}

/** Resolves once a file in `dir` whose name matches `name` has grown past `bytes` (the tool is writing). */
export async function fileGrows(dir: string, name: RegExp, bytes: number, timeoutMs = 120_000): Promise<string> {
  const { readdirSync, statSync } = await import('node:fs');
  return waitFor(
    `a file ${String(name)} in ${dir} past ${bytes} bytes`,
    async () => {
      for (const f of readdirSync(dir))
        if (name.test(f) && statSync(join(dir, f)).size > bytes) return `${f} (${statSync(join(dir, f)).size} bytes)`;
      return undefined;
    },
    timeoutMs,
    50,
  );
}

/** Stops the process's throwaway engine if one was started (the end of a run of cells). */
export async function stopThrowawayEngine(): Promise<void> {
  const e = current;
  current = undefined;
  if (e) await (await e.catch(() => undefined))?.stop();
}
