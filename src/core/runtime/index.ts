/**
 * Where database tools (pg_dump, psql, pgbackrest, pg_ctl, tar …) run. One interface, two places:
 *  - `ContainerRuntime`: inside the stack's database container through the Engine's exec, so the
 *    tool versions match the server (the guide's `docker exec -it <container> …`);
 *  - `HostRuntime`: on this machine through execa, for an install without Docker (and the tests'
 *    host clusters).
 * Every call is an argv array; secrets go in `env`; output streams line by line (or raw into a
 * Writable for dumps); an AbortSignal cancels the process.
 */
import type Dockerode from 'dockerode';
import type { Readable, Writable } from 'node:stream';
import { execInContainer, ExecCancelledError, lineSplitter } from '../docker/exec';
import { CancelledError } from '../operations/cancel';

export interface ToolRunOptions {
  /** Extra environment (PGPASSWORD…); never put secrets in argv. */
  env?: Readonly<Record<string, string>>;
  /** The OS user to run as (container: default `postgres`; host: ignored unless `runAs` is supported). */
  user?: string;
  cwd?: string;
  /** Raw stdout (a dump straight to its file); else stdout is split into lines. */
  stdout?: Writable;
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
  stdin?: Readable;
  signal?: AbortSignal;
}

export interface ToolRunResult {
  exitCode: number;
  stdoutLines: string[];
  stderrTail: string[];
}

export interface ToolRuntime {
  readonly kind: 'container' | 'host';
  /** For messages: "container tsdbops_timescaledb_1 (3f2a…)" or "this machine". */
  readonly description: string;
  run(argv: readonly string[], opts?: ToolRunOptions): Promise<ToolRunResult>;
  /** The environment the tools start with (container: its Config.Env), when the runtime can tell. */
  environment?(): Promise<Record<string, string>>;
}

/** `KEY=value` lines (a container's Config.Env) as a record. */
export function envRecord(list: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list ?? []) {
    const i = kv.indexOf('=');
    if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

export class ToolCancelledError extends CancelledError {
  constructor(readonly argv: readonly string[]) {
    super(`Cancelled: ${argv.join(' ')}`);
    this.name = 'ToolCancelledError';
  }
}

/** A tool exited non-zero: keeps argv (no secrets there by rule), exit code and stderr's tail. */
export class ToolFailedError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number,
    readonly stderrTail: readonly string[],
    where: string,
  ) {
    super(
      `${argv[0]} exited with code ${exitCode} in ${where}${stderrTail.length ? `: ${stderrTail.slice(-5).join('\n')}` : ''}`,
    );
    this.name = 'ToolFailedError';
  }
}

/** Runs and throws ToolFailedError on a non-zero exit. */
export async function runChecked(
  rt: ToolRuntime,
  argv: readonly string[],
  opts?: ToolRunOptions,
): Promise<ToolRunResult> {
  const r = await rt.run(argv, opts);
  if (r.exitCode !== 0) throw new ToolFailedError(argv, r.exitCode, r.stderrTail, rt.description);
  return r;
}

export class ContainerRuntime implements ToolRuntime {
  readonly kind = 'container' as const;
  constructor(
    private readonly docker: Dockerode,
    readonly containerId: string,
    readonly description: string,
    private readonly defaultUser = 'postgres',
  ) {}

  async environment(): Promise<Record<string, string>> {
    const info = await this.docker.getContainer(this.containerId).inspect();
    return envRecord(info.Config.Env);
  }

  async run(argv: readonly string[], opts: ToolRunOptions = {}): Promise<ToolRunResult> {
    try {
      return await execInContainer(this.docker, this.containerId, argv, {
        ...opts,
        user: opts.user ?? this.defaultUser,
        workingDir: opts.cwd,
      });
    } catch (e) {
      if (e instanceof ExecCancelledError) throw new ToolCancelledError(argv);
      throw e;
    }
  }
}

export class HostRuntime implements ToolRuntime {
  readonly kind = 'host' as const;
  readonly description = 'this machine';
  /**
   * @param binDirs folders searched first for the tools (e.g. /usr/lib/postgresql/15/bin)
   * @param runAs when set and the extension runs as root, tools run as this user through `runuser`
   *        (PostgreSQL refuses to run as root).
   */
  constructor(
    private readonly binDirs: readonly string[] = [],
    private readonly runAs?: string,
  ) {}

  async run(argv: readonly string[], opts: ToolRunOptions = {}): Promise<ToolRunResult> {
    const { execa } = await import('execa');
    const path = [...this.binDirs, process.env['PATH'] ?? ''].filter(Boolean).join(':');
    const user = opts.user ?? this.runAs;
    const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    const full = user && asRoot && user !== 'root' ? ['runuser', '-u', user, '--', ...argv] : [...argv];
    const stdoutLines: string[] = [];
    const stderrTail: string[] = [];
    const child = execa(full[0]!, full.slice(1), {
      env: { ...opts.env, PATH: path },
      cwd: opts.cwd,
      reject: false,
      stdin: opts.stdin ? 'pipe' : 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      cancelSignal: opts.signal,
      forceKillAfterDelay: 5000,
    });
    if (opts.stdin && child.stdin) opts.stdin.pipe(child.stdin);
    const outLines = lineSplitter((l) => {
      if (stdoutLines.length < 10_000) stdoutLines.push(l);
      opts.onStdoutLine?.(l);
    });
    const errLines = lineSplitter((l) => {
      stderrTail.push(l);
      if (stderrTail.length > 200) stderrTail.shift();
      opts.onStderrLine?.(l);
    });
    let outDone: Promise<void> = Promise.resolve();
    if (opts.stdout) {
      const target = opts.stdout;
      child.stdout!.pipe(target, { end: false });
      outDone = new Promise((resolve, reject) => {
        child.stdout!.on('end', resolve);
        target.on('error', reject);
      });
    } else child.stdout!.on('data', (c: Buffer) => outLines.write(c));
    child.stderr!.on('data', (c: Buffer) => errLines.write(c));
    const r = await child;
    await outDone;
    outLines.flush();
    errLines.flush();
    if (r.isCanceled || opts.signal?.aborted) throw new ToolCancelledError(argv);
    if (r.failed && r.exitCode === undefined) {
      throw new ToolFailedError(argv, -1, [r.shortMessage ?? String(r.message)], this.description);
    }
    return { exitCode: r.exitCode ?? -1, stdoutLines, stderrTail };
  }
}
