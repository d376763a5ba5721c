/**
 * A Docker engine for the tests.
 *
 * `ensureDocker()` uses the engine at DOCKER_HOST, or /var/run/docker.sock, when it answers.
 * Otherwise, as root with `dockerd` installed, it starts a PRIVATE engine exactly like
 * shared/notes/test-bench.md: no firewall changes (--iptables=false --ip6tables=false), no
 * default bridge (--bridge=none; compose's user-defined networks and published ports still work
 * through docker-proxy). Its data-root lives in a persistent cache dir, so built images survive
 * between runs; exec-root, socket and pidfile live in a short temp dir (unix socket paths must be
 * shorter than 108 bytes). The engine is released when the last handle is stopped (or by
 * `shutdownDocker()` / process exit); concurrent test processes share it and the last one to
 * leave stops it (see `docker-engine.json`, `docker-users/` in the cache dir).
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { registerCleanup } from './cleanup';
import { isRoot, run, sleep, waitFor } from './proc';
import { which } from './requirements';

export interface DockerHandle {
  /** e.g. `unix:///tmp/tsdbops-dk-abc/docker.sock` */
  host: string;
  /** Environment for child processes (`DOCKER_HOST`). */
  env: Record<string, string>;
  /** True for the bench's private engine (shared by concurrent test processes; the last one stops it). */
  private: boolean;
  /** Releases this handle; the private engine stops when the last handle is released (unless held). */
  stop(): Promise<void>;
}

/** `${XDG_CACHE_HOME:-$HOME/.cache}/tsdb-ops` */
export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(process.env.HOME || homedir(), '.cache');
  return join(base, 'tsdb-ops');
}

const DEFAULT_SOCKET = '/var/run/docker.sock';

export function dockerCliAvailable(): boolean {
  return which('docker') !== undefined;
}

/** Whether this process could start its own engine. */
export function canStartPrivateDocker(): boolean {
  return isRoot && which('dockerd', ['/usr/sbin', '/usr/bin']) !== undefined;
}

/** Cheap check for requirePart(): a CLI plus an engine we can reach or start. */
export function dockerAvailable(): boolean {
  if (!dockerCliAvailable()) return false;
  return Boolean(process.env.DOCKER_HOST) || existsSync(DEFAULT_SOCKET) || canStartPrivateDocker();
}

export const dockerInstallHint = 'apt-get install -y docker.io (and run the tests as root, or provide DOCKER_HOST)';

async function answers(host: string): Promise<boolean> {
  const r = await run('docker', ['version', '--format', '{{.Server.Version}}'], {
    env: { DOCKER_HOST: host },
    reject: false,
    timeoutMs: 5000,
  });
  return r.exitCode === 0 && r.stdout.trim().length > 0;
}

interface Engine {
  host: string;
  /** A private engine of the bench (started by this or another test process on our data-root). */
  bench: boolean;
  pid?: number;
  runDir?: string;
  refs: number;
  unregister?: () => void;
  previousDockerHost: string | undefined;
}

let engine: Engine | undefined;
let starting: Promise<Engine> | undefined;
let held = false;

/** True while a process with this pid exists. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/*
 * Several test processes (e.g. two layers run in parallel) share one private engine on the
 * cached data-root: `docker-engine.json` names the running engine, `docker-users/<pid>` marks
 * each process using it, and the last user to leave stops it. `docker-engine.lock` serialises
 * start and stop decisions.
 */
const stateFile = (): string => join(cacheDir(), 'docker-engine.json');
const usersDir = (): string => join(cacheDir(), 'docker-users');
const lockFile = (): string => join(cacheDir(), 'docker-engine.lock');
const userFile = (): string => join(usersDir(), String(process.pid));

function tryLock(): boolean {
  mkdirSync(cacheDir(), { recursive: true });
  try {
    writeFileSync(lockFile(), String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    const holder = Number(readFileSync(lockFile(), 'utf8').trim() || '0');
    if (holder && holder !== process.pid && pidAlive(holder)) return false;
    rmSync(lockFile(), { force: true });
    return false;
  }
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 180_000;
  while (!tryLock()) {
    if (Date.now() > deadline) throw new Error(`could not take ${lockFile()}`);
    await sleep(100);
  }
  try {
    return await fn();
  } finally {
    rmSync(lockFile(), { force: true });
  }
}

function otherLiveUsers(): number[] {
  mkdirSync(usersDir(), { recursive: true });
  const live: number[] = [];
  for (const name of readdirSync(usersDir())) {
    const pid = Number(name);
    if (pid === process.pid) continue;
    if (pid && pidAlive(pid)) live.push(pid);
    else rmSync(join(usersDir(), name), { force: true });
  }
  return live;
}

function joinEngine(eng: Engine): Engine {
  mkdirSync(usersDir(), { recursive: true });
  writeFileSync(userFile(), '');
  eng.unregister = registerCleanup({
    name: `private dockerd ${eng.pid ?? '?'}`,
    run: () => releaseEngine(eng),
    runSync: () => releaseEngineSync(eng),
  });
  return eng;
}

async function startOrJoinPrivate(): Promise<Engine> {
  const previousDockerHost = process.env.DOCKER_HOST;
  return withLock(async () => {
    if (existsSync(stateFile())) {
      try {
        const st = JSON.parse(readFileSync(stateFile(), 'utf8')) as { pid: number; host: string; runDir: string };
        if (pidAlive(st.pid) && (await answers(st.host))) {
          // Left running by a process that died without teardown: its projects are garbage.
          if (otherLiveUsers().length === 0) await collectLeftovers(st.host);
          return joinEngine({
            host: st.host,
            bench: true,
            pid: st.pid,
            runDir: st.runDir,
            refs: 0,
            previousDockerHost,
          });
        }
      } catch {
        // stale
      }
      rmSync(stateFile(), { force: true });
    }
    const dataRoot = join(cacheDir(), 'docker');
    mkdirSync(dataRoot, { recursive: true });
    const runDir = mkdtempSync('/tmp/tsdbops-dk-');
    const sock = join(runDir, 'docker.sock');
    const host = `unix://${sock}`;
    const pidFile = join(runDir, 'docker.pid');
    const logPath = join(cacheDir(), 'dockerd.log');
    const logFd = openSync(logPath, 'w');
    const dockerd = which('dockerd', ['/usr/sbin', '/usr/bin']) ?? 'dockerd';
    // Detached: the engine may outlive this process while another test process still uses it.
    const child = spawn(
      dockerd,
      [
        '--iptables=false',
        '--ip6tables=false',
        '--bridge=none',
        '--data-root',
        dataRoot,
        '--exec-root',
        join(runDir, 'exec'),
        '-H',
        host,
        '--pidfile',
        pidFile,
      ],
      { detached: true, stdio: ['ignore', logFd, logFd] },
    );
    closeSync(logFd);
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new Error('could not spawn dockerd');
    const eng = joinEngine({ host, bench: true, pid, runDir, refs: 0, previousDockerHost });
    try {
      await waitFor(
        'the private dockerd to answer',
        async () => {
          if (!pidAlive(pid)) throw new Error(`dockerd exited; see ${logPath}`);
          return (await answers(host)) ? true : undefined;
        },
        60_000,
        200,
      );
    } catch (err) {
      eng.unregister?.();
      rmSync(userFile(), { force: true });
      await killEngine(pid, runDir);
      throw new Error(`${String(err)}\n--- ${logPath} ---\n${readFileSync(logPath, 'utf8').slice(-3000)}`);
    }
    writeFileSync(stateFile(), JSON.stringify({ pid, host, runDir }));
    await collectLeftovers(host);
    return eng;
  });
}

/**
 * A private engine with no other live user (freshly started, or orphaned by a killed run) holds
 * no live bench project, so any compose project `tsdbops…` still in it is garbage: remove its
 * containers, networks, volumes and its temp stack dir.
 */
async function collectLeftovers(host: string): Promise<void> {
  const env = { DOCKER_HOST: host };
  const label = '{{.Label "com.docker.compose.project"}} {{.Label "com.docker.compose.project.working_dir"}}';
  const ps = await run(
    'docker',
    ['ps', '-a', '--filter', 'label=com.docker.compose.project', '--format', `{{.ID}} ${label}`],
    { env, reject: false },
  );
  const projects = new Map<string, string>();
  const ids: string[] = [];
  for (const line of ps.stdout.split('\n').filter(Boolean)) {
    const [id, project, workdir] = line.split(' ');
    if (!id || !project?.startsWith('tsdbops')) continue;
    ids.push(id);
    projects.set(project, workdir ?? '');
  }
  if (ids.length > 0) await run('docker', ['rm', '-f', '-v', ...ids], { env, reject: false });
  for (const kind of ['network', 'volume'] as const) {
    const ls = await run('docker', [kind, 'ls', '-q', '--filter', 'label=com.docker.compose.project'], {
      env,
      reject: false,
    });
    for (const id of ls.stdout.split('\n').filter(Boolean)) {
      const p = await run(
        'docker',
        [kind, 'inspect', '--format', '{{index .Labels "com.docker.compose.project"}}', id],
        { env, reject: false },
      );
      if (p.stdout.trim().startsWith('tsdbops')) await run('docker', [kind, 'rm', id], { env, reject: false });
    }
  }
  for (const [project, workdir] of projects) {
    console.warn(`      [docker] removed leftovers of compose project ${project}`);
    const dir = workdir.replace(/\/infra$/, '');
    if (/\/tsdbops-stack-[^/]+$/.test(dir)) rmSync(dir, { recursive: true, force: true });
  }
}

async function killEngine(pid: number, runDir: string | undefined): Promise<void> {
  if (pidAlive(pid)) {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 30_000;
    while (pidAlive(pid) && Date.now() < deadline) await sleep(100);
    if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    while (pidAlive(pid)) await sleep(50);
  }
  // The engine-managed containerd exits with dockerd; give it a moment before removing its dir.
  await sleep(200);
  if (runDir) rmSync(runDir, { recursive: true, force: true });
  rmSync(stateFile(), { force: true });
}

/** Leaves the private engine; stops it when no other test process uses it. */
async function releaseEngine(eng: Engine): Promise<void> {
  eng.unregister?.();
  eng.unregister = undefined;
  if (eng.bench && eng.pid !== undefined) {
    const pid = eng.pid;
    await withLock(async () => {
      rmSync(userFile(), { force: true });
      if (otherLiveUsers().length === 0) await killEngine(pid, eng.runDir);
    });
  }
  restoreEnv(eng);
}

function releaseEngineSync(eng: Engine): void {
  if (!eng.bench || eng.pid === undefined) return;
  rmSync(userFile(), { force: true });
  if (otherLiveUsers().length > 0) return;
  const pid = eng.pid;
  if (pidAlive(pid)) {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 20_000;
    const cell = new Int32Array(new SharedArrayBuffer(4));
    while (pidAlive(pid) && Date.now() < deadline) Atomics.wait(cell, 0, 0, 100);
    if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  if (eng.runDir) spawnSync('rm', ['-rf', eng.runDir]);
  rmSync(stateFile(), { force: true });
}

function restoreEnv(eng: Engine): void {
  if (process.env.DOCKER_HOST !== eng.host) return;
  if (eng.previousDockerHost === undefined) delete process.env.DOCKER_HOST;
  else process.env.DOCKER_HOST = eng.previousDockerHost;
}

async function locate(): Promise<Engine> {
  const previousDockerHost = process.env.DOCKER_HOST;
  if (process.env.DOCKER_HOST) {
    if (await answers(process.env.DOCKER_HOST)) {
      return { host: process.env.DOCKER_HOST, bench: false, refs: 0, previousDockerHost };
    }
    throw new Error(`DOCKER_HOST=${process.env.DOCKER_HOST} does not answer`);
  }
  const def = `unix://${DEFAULT_SOCKET}`;
  if (existsSync(DEFAULT_SOCKET) && (await answers(def))) {
    return { host: def, bench: false, refs: 0, previousDockerHost };
  }
  if (!canStartPrivateDocker()) {
    throw new Error(`no Docker engine answers and a private one cannot be started here. ${dockerInstallHint}`);
  }
  return startOrJoinPrivate();
}

/** A reachable engine; sets process.env.DOCKER_HOST for this process while held. */
export async function ensureDocker(): Promise<DockerHandle> {
  if (!engine) {
    starting ??= locate();
    try {
      engine = await starting;
    } finally {
      starting = undefined;
    }
  }
  const eng = engine;
  eng.refs++;
  process.env.DOCKER_HOST = eng.host;
  let released = false;
  return {
    host: eng.host,
    env: { DOCKER_HOST: eng.host },
    private: eng.bench,
    stop: async () => {
      if (released) return;
      released = true;
      eng.refs--;
      if (eng.refs <= 0 && !held && engine === eng) {
        engine = undefined;
        await releaseEngine(eng);
      }
    },
  };
}

/** Keep the engine running between suites (the integration root hooks call this); see shutdownDocker(). */
export function holdDocker(): void {
  held = true;
}

/** Leaves the private engine now, whatever handles are outstanding (global teardown); it stops unless another test process still uses it. */
export async function shutdownDocker(): Promise<void> {
  held = false;
  const eng = engine;
  engine = undefined;
  if (eng) await releaseEngine(eng);
}

/** The running engine's host, if one is in use by this process. */
export function currentDockerHost(): string | undefined {
  return engine?.host;
}
