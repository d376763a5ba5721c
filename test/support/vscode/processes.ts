/**
 * Child processes of the VS Code harness: every process gets an argv array (no shell), runs in its
 * own process group (detached), and is killed as a group when the harness ends, whatever the way
 * it ends (normal exit, error, SIGINT, SIGTERM, SIGHUP).
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createServer, request } from 'node:http';

const groups = new Set<number>();
const cleanups: Array<() => void | Promise<void>> = [];
let handlersInstalled = false;

/** Kills a process group (SIGTERM, then SIGKILL after `graceMs`). Resolves when the leader is gone. */
export async function killGroup(pid: number, graceMs = 3000): Promise<void> {
  groups.delete(pid);
  const signal = (sig: NodeJS.Signals): boolean => {
    try {
      process.kill(-pid, sig);
      return true;
    } catch {
      return false;
    }
  };
  if (!signal('SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await sleep(100);
    if (!groupAlive(pid)) return;
  }
  signal('SIGKILL');
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Synchronous last resort, for process 'exit'. */
function killAllNow(): void {
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  groups.clear();
}

/** Registers a cleanup (e.g. closing the browser) that runs before the process groups are killed. */
export function onCleanup(fn: () => void | Promise<void>): void {
  installHandlers();
  cleanups.push(fn);
}

/** Runs every cleanup, then kills every process group still tracked. Safe to call more than once. */
export async function cleanupAll(): Promise<void> {
  while (cleanups.length > 0) {
    const fn = cleanups.pop();
    try {
      await withTimeout(Promise.resolve(fn?.()), 10_000, 'cleanup');
    } catch (err) {
      console.error(`cleanup failed: ${(err as Error).message}`);
    }
  }
  await Promise.all([...groups].map((pid) => killGroup(pid)));
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      console.error(`\n${sig}: stopping everything this harness started…`);
      void cleanupAll().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
    });
  }
}

export interface Started {
  child: ChildProcess;
  pid: number;
  /** Everything the process printed so far (stdout and stderr, interleaved). */
  output(): string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  stop(): Promise<void>;
}

/**
 * Starts `argv` in its own process group. Output goes to `logFile` (when given) and is kept in
 * memory (last 2 MB) for waiting on lines and for printing on failure.
 */
export function startProcess(
  argv: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; logFile?: string; echo?: boolean } = {},
): Started {
  installHandlers();
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('startProcess: empty argv');
  const spawnOptions: SpawnOptions = {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  };
  const child = spawn(cmd, args, spawnOptions);
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  const pid = child.pid;
  groups.add(pid);
  let buffer = '';
  let log: WriteStream | undefined;
  if (options.logFile) log = createWriteStream(options.logFile, { flags: 'a' });
  const onData = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    buffer += text;
    if (buffer.length > 2_000_000) buffer = buffer.slice(-1_000_000);
    log?.write(text);
    if (options.echo) process.stdout.write(text);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | string>((resolve) => {
    child.once('error', (err) => {
      buffer += `\n[spawn error] ${err.message}\n`;
      resolve(-1);
    });
    child.once('exit', (code, sig) => {
      log?.end();
      resolve(code ?? sig ?? -1);
    });
  });
  return { child, pid, output: () => buffer, exited, stop: () => killGroup(pid) };
}

/** Runs argv to completion (own process group, killed on harness exit), returns code and output. */
export async function runProcess(
  argv: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; echo?: boolean; timeoutMs?: number } = {},
): Promise<{ code: number | string; output: string }> {
  const p = startProcess(argv, options);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    if (options.timeoutMs) timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
  });
  const code = await Promise.race([p.exited, timeout]);
  if (timer) clearTimeout(timer);
  if (code === 'timeout') await p.stop();
  groups.delete(p.pid);
  return { code, output: p.output() };
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Waits until an HTTP GET on `url` answers (any status below 500). */
export async function waitForHttp(url: string, timeoutMs: number, alive?: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (alive && !alive()) throw new Error(`server exited before ${url} answered`);
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(url, { method: 'GET', timeout: 2000 }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.once('error', reject);
        req.once('timeout', () => req.destroy(new Error('timeout')));
        req.end();
      });
      if (status > 0 && status < 500) return;
      last = `HTTP ${status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(250);
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms (${last})`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/**
 * Runs a launcher's main(): exits with its code after every registered cleanup; a crash prints
 * the error and the closing line `0 passed, 1 failed`, so CI never reads a crash as a pass.
 */
export function runMain(name: string, main: () => Promise<number>): void {
  main()
    .then(async (code) => {
      await cleanupAll();
      process.exit(code);
    })
    .catch(async (err: unknown) => {
      console.error(`${name}: ${(err as Error).stack ?? String(err)}`);
      await cleanupAll();
      console.log('0 passed, 1 failed');
      process.exit(1);
    });
}
