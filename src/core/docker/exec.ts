/**
 * `docker exec` through the Engine API: an argv array (never a shell string), a user, extra
 * environment (how secrets travel), stdout and stderr demultiplexed and delivered as they come.
 * Cancelling (AbortSignal) kills the process inside the container, not only the stream.
 */
import type Dockerode from 'dockerode';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { CancelledError } from '../operations/cancel';

export interface ExecOptions {
  user?: string;
  /** Extra environment for the process: NAME -> value (PGPASSWORD goes here, never in argv). */
  env?: Readonly<Record<string, string>>;
  workingDir?: string;
  /** Raw stdout goes here (a dump going straight to its file); else it is split into lines. */
  stdout?: Writable;
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
  /** Fed to the process's stdin, then closed. */
  stdin?: Readable;
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number;
  /** The last lines of stderr (at most 200), for error messages. */
  stderrTail: string[];
  /** stdout lines when no `stdout` stream was given (at most 10,000 kept; the rest stream only). */
  stdoutLines: string[];
}

export class ExecCancelledError extends CancelledError {
  constructor(readonly argv: readonly string[]) {
    super(`Cancelled: ${argv[0] ?? ''}`);
    this.name = 'ExecCancelledError';
  }
}

/** Splits a byte stream into lines, calling `onLine` for each complete one; `flush()` ends the last. */
export function lineSplitter(onLine: (line: string) => void): { write(chunk: Buffer | string): void; flush(): void } {
  let rest = '';
  const decoder = new TextDecoder();
  return {
    write(chunk) {
      rest += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
      let i: number;
      while ((i = rest.indexOf('\n')) >= 0) {
        onLine(rest.slice(0, i).replace(/\r$/, ''));
        rest = rest.slice(i + 1);
      }
    },
    flush() {
      rest += decoder.decode();
      if (rest) onLine(rest.replace(/\r$/, ''));
      rest = '';
    },
  };
}

export async function execInContainer(
  docker: Dockerode,
  containerId: string,
  argv: readonly string[],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  if (opts.signal?.aborted) throw new ExecCancelledError(argv);
  const container = docker.getContainer(containerId);
  // A fixed wrapper (argv stays separate: "$@", no interpolation) that reports the tool's pid inside
  // the container on stderr's first line, so a cancel can signal exactly that process.
  const exec = await container.exec({
    Cmd: ['sh', '-c', 'echo "tsdbops-pid $$" >&2; exec "$@"', 'tsdbops', ...argv],
    User: opts.user,
    Env: opts.env ? Object.entries(opts.env).map(([k, v]) => `${k}=${v}`) : undefined,
    WorkingDir: opts.workingDir,
    AttachStdout: true,
    AttachStderr: true,
    AttachStdin: Boolean(opts.stdin),
    Tty: false,
  });
  const stream = (await exec.start({ hijack: true, stdin: Boolean(opts.stdin) })) as NodeJS.ReadWriteStream;
  const stderrTail: string[] = [];
  const stdoutLines: string[] = [];
  const out = new PassThrough();
  const err = new PassThrough();
  let pid: string | undefined;
  const errLines = lineSplitter((l) => {
    if (pid === undefined) {
      const m = /^tsdbops-pid (\d+)$/.exec(l);
      if (m) {
        pid = m[1];
        return;
      }
    }
    stderrTail.push(l);
    if (stderrTail.length > 200) stderrTail.shift();
    opts.onStderrLine?.(l);
  });
  err.on('data', (c: Buffer) => errLines.write(c));
  let outDone: Promise<void>;
  if (opts.stdout) {
    const target = opts.stdout;
    out.pipe(target, { end: false });
    outDone = new Promise((resolve, reject) => {
      out.on('end', resolve);
      target.on('error', reject);
    });
  } else {
    const outLines = lineSplitter((l) => {
      if (stdoutLines.length < 10_000) stdoutLines.push(l);
      opts.onStdoutLine?.(l);
    });
    out.on('data', (c: Buffer) => outLines.write(c));
    outDone = new Promise((resolve) => out.on('end', () => (outLines.flush(), resolve())));
  }
  // demuxStream ignores write()'s return value: pause the exec stream while stdout's consumer (a
  // dump's file) is behind, so memory stays flat and backpressure reaches the tool in the container.
  let paused = false;
  const paced = {
    write: (chunk: Buffer) => {
      if (!out.write(chunk) && !paused) {
        paused = true;
        (stream as unknown as { pause(): void }).pause();
        out.once('drain', () => {
          paused = false;
          (stream as unknown as { resume(): void }).resume();
        });
      }
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  docker.modem.demuxStream(stream, paced, err);
  if (opts.stdin) {
    opts.stdin.pipe(stream as unknown as Writable);
  }

  let cancelled = false;
  const onAbort = () => {
    cancelled = true;
    void killInContainer(docker, containerId, pid).finally(() =>
      (stream as unknown as { destroy?: () => void }).destroy?.(),
    );
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', (e) => (cancelled ? resolve() : reject(e)));
    });
    out.end();
    err.end();
    await outDone;
    errLines.flush();
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  if (cancelled) throw new ExecCancelledError(argv);
  // The exec may report Running briefly after the stream ends.
  for (let i = 0; i < 50; i++) {
    let info: Dockerode.ExecInspectInfo;
    try {
      info = await exec.inspect();
    } catch (e) {
      throw new ExecConnectionLostError(argv, (e as Error).message);
    }
    if (!info.Running) return { exitCode: info.ExitCode ?? -1, stderrTail, stdoutLines };
    await new Promise((r) => setTimeout(r, 20));
  }
  // The output stream ended while the tool still runs: the connection to the engine dropped (e.g. SSH).
  throw new ExecConnectionLostError(argv, 'the tool is still running in the container');
}

/** The connection to the engine dropped while a tool ran in the container (its output stream ended early). */
export class ExecConnectionLostError extends Error {
  constructor(
    readonly argv: readonly string[],
    detail: string,
  ) {
    super(
      `The connection to the Docker engine was lost while "${argv[0] ?? ''}" ran in the container (${detail}). ` +
        `Its result is unknown: check the state once the engine is reachable again.`,
    );
    this.name = 'ExecConnectionLostError';
  }
}

/** Ends a process inside the container (the Engine has no "kill exec"; its inspect Pid is the host's). */
async function killInContainer(docker: Dockerode, containerId: string, pid: string | undefined): Promise<void> {
  if (!pid) return;
  try {
    const kill = await docker.getContainer(containerId).exec({
      Cmd: ['sh', '-c', 'kill -TERM "$0"', pid] /* the shell's kill: images may lack procps */,
      User: 'root',
      AttachStdout: true,
      AttachStderr: true,
    });
    const s = (await kill.start({})) as NodeJS.ReadableStream;
    s.resume();
    await new Promise((r) => s.on('end', r));
  } catch {
    // The process already ended.
  }
}
