/**
 * Where database tools (pg_dump, psql, pgbackrest, pg_ctl, tar …) run. One interface, two places:
 *  - `ContainerRuntime`: inside the stack's database container through the Engine's exec, so the
 *    tool versions match the server (the guide's `docker exec -it <container> …`);
 *  - `HostRuntime`: on this machine through execa, for an install without Docker (and the tests'
 *    host clusters).
 * Every call is an argv array; secrets go in `env`; output streams line by line (or raw into a
 * Writable for dumps); an AbortSignal cancels the process. Pipelines end like a shell's in both places:
 * a process whose stdout reader went away is ended (ToolOutputClosedError), a process that exits
 * before reading all of `stdin` has that stream destroyed (its feeder learns it), and a broken `stdin`
 * ends the process (ToolInputBrokenError) instead of leaving it waiting.
 */
import type Dockerode from 'dockerode';
import { PassThrough, pipeline, type Duplex, type Readable, type Writable } from 'node:stream';
import { execInContainer, lineSplitter, pipelineEnds } from '../docker/exec';
import { isCancelled, OpsError } from '../errors/error';
import { toolCancelled, ToolFailedError, ToolInputBrokenError, ToolOutputClosedError } from '../errors/process';

export { toolCancelled, ToolFailedError, ToolInputBrokenError, ToolOutputClosedError };

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

/**
 * `producer | filter | consumer`, ending like a shell pipeline: whichever end stops first ends the
 * other (the runtime ends a producer whose reader went away and destroys a consumer's unread input),
 * so a consumer that stops on an error never leaves the producer blocked on a full pipe. Throws the
 * consumer's failure first (the cause a user needs), then the producer's.
 */
export async function runPipeline(
  rt: ToolRuntime,
  producer: readonly string[],
  filter: Duplex,
  consumer: readonly string[],
  opts: Omit<ToolRunOptions, 'stdin' | 'stdout'>,
): Promise<void> {
  const source = new PassThrough();
  // pipeline: either stream closing early destroys the other.
  pipeline(source, filter, () => undefined);
  let producerError: unknown;
  const feeding = rt.run(producer, { stdout: source, signal: opts.signal }).then(
    (r) => {
      if (r.exitCode === 0) source.end();
      else {
        producerError = new ToolFailedError(producer, r.exitCode, r.stderrTail, rt.description);
        source.destroy();
      }
    },
    (e: unknown) => {
      producerError = e;
      source.destroy();
    },
  );
  let consumed: Awaited<ReturnType<ToolRuntime['run']>> | undefined;
  let consumerError: unknown;
  try {
    consumed = await rt.run(consumer, { ...opts, stdin: filter });
  } catch (e) {
    consumerError = e;
  }
  await feeding;
  if (consumerError instanceof ToolInputBrokenError && producerError) throw producerError;
  if (consumerError) throw consumerError;
  if (consumed && consumed.exitCode !== 0)
    throw new ToolFailedError(consumer, consumed.exitCode, consumed.stderrTail, rt.description);
  // The consumer ended well although its producer was stopped before it finished: its input ended early (a `docker
  // exec` whose connection dropped closes the tool's stdin, which reads as a normal end). Not a success.
  if (producerError instanceof ToolOutputClosedError)
    throw new OpsError(
      'pipe-broken',
      `${consumer[0] ?? ''} in ${rt.description} ended on a cut-off input: ${producer[0] ?? ''} was stopped before it ` +
        'finished (the connection to the Docker engine may have dropped). What it read before the cut was applied; ' +
        'the rest was not.',
      { facts: { tool: consumer[0], argv: [...consumer] } },
    );
  if (producerError && !(producerError instanceof ToolOutputClosedError)) throw producerError;
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
      // docker exec's errors, said again with where the program ran.
      if (isCancelled(e)) throw toolCancelled(argv);
      if (e instanceof ToolOutputClosedError) throw new ToolOutputClosedError(argv, this.description);
      if (e instanceof ToolInputBrokenError) throw new ToolInputBrokenError(argv, this.description);
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
    if (opts.stdin && child.stdin) {
      // The child may exit before reading everything: its stdin then fails with EPIPE, which is no error here.
      child.stdin.on('error', () => undefined);
      opts.stdin.pipe(child.stdin);
    }
    const ends = pipelineEnds(opts, (why) => {
      if (why === 'output-closed' && opts.stdout) {
        // Output nobody reads any more: drop it so the child's pipe never stalls, then end the child.
        child.stdout!.unpipe(opts.stdout);
        child.stdout!.resume();
      }
      child.kill('SIGTERM');
    });
    const outLines = lineSplitter((l) => {
      if (stdoutLines.length < 10_000) stdoutLines.push(l);
      opts.onStdoutLine?.(l);
    });
    const errLines = lineSplitter((l) => {
      stderrTail.push(l);
      if (stderrTail.length > 200) stderrTail.shift();
      opts.onStderrLine?.(l);
    });
    const outEnded = new Promise<void>((resolve) => {
      child.stdout!.on('end', resolve);
      child.stdout!.on('close', resolve);
    });
    if (opts.stdout) child.stdout!.pipe(opts.stdout, { end: false });
    else child.stdout!.on('data', (c: Buffer) => outLines.write(c));
    child.stderr!.on('data', (c: Buffer) => errLines.write(c));
    const r = await child;
    const endedEarly = ends.processEnded();
    if (!endedEarly) await outEnded;
    if (opts.stdin && child.stdin) opts.stdin.unpipe(child.stdin);
    if (opts.stdout) child.stdout!.unpipe(opts.stdout);
    outLines.flush();
    errLines.flush();
    if (r.isCanceled || opts.signal?.aborted) throw toolCancelled(argv);
    if (endedEarly?.why === 'output-closed') throw new ToolOutputClosedError(argv, this.description);
    if (endedEarly?.why === 'input-broken') throw new ToolInputBrokenError(argv, this.description);
    if (r.failed && r.exitCode === undefined) {
      throw new ToolFailedError(argv, -1, [r.shortMessage ?? String(r.message)], this.description);
    }
    return { exitCode: r.exitCode ?? -1, stdoutLines, stderrTail };
  }
}

/** True when PostgreSQL is PID 1 in the runtime's container (stopping it would end the container). */
export async function postgresIsPid1(rt: ToolRuntime): Promise<boolean> {
  if (rt.kind !== 'container') return false;
  const r = await rt.run(['cat', '/proc/1/comm']);
  return r.exitCode === 0 && /^(postgres|postmaster)$/.test(r.stdoutLines[0]?.trim() ?? '');
}
