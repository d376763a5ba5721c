/**
 * Running processes for the bench: always an argv array, never a shell string.
 * execa is ESM-only, so it is loaded with a dynamic import (tsx runs tests as CommonJS).
 */
import { createServer } from 'node:net';

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
  /** Throw on a non-zero exit (default true). */
  reject?: boolean;
  timeoutMs?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  command: string;
}

export class CommandError extends Error {
  constructor(readonly result: RunResult) {
    super(`command failed (exit ${result.exitCode}): ${result.command}\n${result.stderr || result.stdout}`.trimEnd());
    this.name = 'CommandError';
  }
}

export async function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const { execa } = await import('execa');
  const r = await execa(file, [...args], {
    env: opts.env,
    extendEnv: true,
    cwd: opts.cwd,
    input: opts.input,
    reject: false,
    timeout: opts.timeoutMs,
    stdin: opts.input === undefined ? 'ignore' : undefined,
  });
  const result: RunResult = {
    stdout: typeof r.stdout === 'string' ? r.stdout : '',
    stderr: typeof r.stderr === 'string' ? r.stderr : '',
    exitCode: r.exitCode ?? (r.timedOut ? 124 : -1),
    command: [file, ...args].join(' '),
  };
  if (result.exitCode !== 0 && opts.reject !== false) throw new CommandError(result);
  return result;
}

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** argv that runs `file args` as the `postgres` OS user when we are root (PostgreSQL refuses root). */
export function asPostgres(file: string, args: readonly string[]): [string, string[]] {
  return isRoot ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, [...args]];
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
    }
    await sleep(everyMs);
  }
}
