/**
 * `docker exec` through the Engine API: an argv array (never a shell string), a user, extra
 * environment (how secrets travel), stdout and stderr demultiplexed and delivered as they come.
 * Cancelling (AbortSignal) kills the process inside the container, not only the stream.
 *
 * Pipelines end like a shell's: when the reader of `stdout` goes away (the Writable closes or fails
 * before the process has ended) the process is ended (ToolOutputClosedError), as SIGPIPE would; when
 * the process ends before it read all of `stdin`, that Readable is destroyed, so whatever feeds it
 * learns that its reader is gone; when `stdin` breaks (destroyed or failed before its end), the process
 * is ended rather than left waiting for input that will never come (ToolInputBrokenError).
 */
import type Dockerode from 'dockerode';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { Demuxer } from './demux';
import { connectionLost, toolCancelled, ToolInputBrokenError, ToolOutputClosedError } from '../errors/process';

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

/**
 * Wires the pipeline ends shared by both runtimes. `end(why)` must end the process; it is called at
 * most once, when stdout's reader goes away or stdin breaks. `processEnded()` releases stdin (destroying
 * it when it was not read to its end) and the listeners; it returns why the process was ended, if it was.
 */
export function pipelineEnds(
  opts: { stdout?: Writable; stdin?: Readable },
  end: (why: 'output-closed' | 'input-broken', reason?: unknown) => void,
): { processEnded(): { why: 'output-closed' | 'input-broken'; reason?: unknown } | undefined } {
  let ended: { why: 'output-closed' | 'input-broken'; reason?: unknown } | undefined;
  let done = false;
  const fire = (why: 'output-closed' | 'input-broken', reason?: unknown) => {
    if (done || ended) return;
    ended = { why, reason };
    end(why, reason);
  };
  const target = opts.stdout;
  const onTargetError = (e: unknown) => fire('output-closed', e);
  const onTargetClose = () => fire('output-closed');
  target?.on('error', onTargetError);
  target?.on('close', onTargetClose);
  const input = opts.stdin;
  let inputEnded = false;
  const onInputEnd = () => (inputEnded = true);
  const onInputError = (e: unknown) => fire('input-broken', e);
  const onInputClose = () => {
    if (!inputEnded) fire('input-broken');
  };
  input?.on('end', onInputEnd);
  input?.on('error', onInputError);
  input?.on('close', onInputClose);
  return {
    processEnded() {
      done = true;
      target?.off('error', onTargetError);
      target?.off('close', onTargetClose);
      if (input) {
        input.off('end', onInputEnd);
        input.off('close', onInputClose);
        // Keep a listener: a late error from a destroyed feeder must not become an uncaught exception.
        input.off('error', onInputError);
        input.on('error', () => undefined);
        if (!inputEnded && !input.destroyed) {
          input.destroy();
        }
      }
      return ended;
    },
  };
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
  if (opts.signal?.aborted) throw toolCancelled(argv, argv[0] ?? '');
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
  // 1 MiB buffers: the exec stream pauses for a slow consumer (a dump's file) far less often.
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const err = new PassThrough();
  let pid: string | undefined;
  /** A stop asked for before the pid was known runs as soon as it is. */
  let pidKnown: (() => void) | undefined;
  const errLines = lineSplitter((l) => {
    if (pid === undefined) {
      const m = /^tsdbops-pid (\d+)$/.exec(l);
      if (m) {
        pid = m[1];
        pidKnown?.();
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
    // A reader that went away is handled by pipelineEnds (the process is ended), not here.
    outDone = new Promise((resolve) => {
      out.on('end', resolve);
      out.on('close', resolve);
    });
  } else {
    const outLines = lineSplitter((l) => {
      if (stdoutLines.length < 10_000) stdoutLines.push(l);
      opts.onStdoutLine?.(l);
    });
    out.on('data', (c: Buffer) => outLines.write(c));
    outDone = new Promise((resolve) => {
      out.on('end', () => (outLines.flush(), resolve()));
      out.on('close', resolve);
    });
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
  // Frames are handed on as views of the socket's chunks, not copied (docker-modem's demuxStream copies each).
  const demux = new Demuxer((which, chunk) => (which === 'stderr' ? err.write(chunk) : paced.write(chunk)));
  stream.on('data', (c: Buffer) => demux.push(c));
  if (opts.stdin) {
    opts.stdin.pipe(stream as unknown as Writable);
  }

  // Ending the process early (cancel, stdout's reader gone, stdin broken): signal it inside the
  // container (once its pid is known), then drop the stream, which may be paused and never end itself.
  let stopping = false;
  /** Ends the wait for the stream below: a dropped stream whose connection died may never say 'close' itself. */
  let streamGone: () => void = () => undefined;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // The stream goes once the signal was sent, or after KILL_WAIT_MS at most: over a connection that just died (an
    // ssh:// engine cut) the kill's own request may never answer, and the pipeline must still end.
    const kill = () => {
      void settledWithin(killInContainer(docker, containerId, pid), KILL_WAIT_MS).finally(() => {
        (stream as unknown as { destroy?: () => void }).destroy?.();
        streamGone();
      });
    };
    if (pid !== undefined) kill();
    else pidKnown = kill;
  };
  const ends = pipelineEnds(opts, () => stop());
  let cancelled = false;
  const onAbort = () => {
    cancelled = true;
    stop();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let streamError: unknown;
  let endedEarly: ReturnType<typeof ends.processEnded>;
  try {
    await new Promise<void>((resolve) => {
      streamGone = resolve;
      stream.on('end', resolve);
      stream.on('close', resolve);
      // A write to stdin after the process exited fails (EPIPE): the exit code below tells what happened.
      stream.on('error', (e) => ((streamError = e), resolve()));
    });
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    endedEarly = ends.processEnded();
    if (opts.stdin) opts.stdin.unpipe(stream as unknown as Writable);
    if (opts.stdout && (endedEarly || cancelled)) {
      // Output nobody reads any more: drop it rather than wait for a drain that never comes.
      out.unpipe(opts.stdout);
      out.destroy();
    } else out.end();
    err.end();
    await outputDrained(out, outDone, opts.stdout);
    errLines.flush();
  }
  if (cancelled) throw toolCancelled(argv, argv[0] ?? '');
  if (endedEarly?.why === 'output-closed') throw new ToolOutputClosedError(argv, undefined, endedEarly.reason);
  if (endedEarly?.why === 'input-broken') throw new ToolInputBrokenError(argv, undefined, endedEarly.reason);
  // The exec may report Running briefly after the stream ends.
  for (let i = 0; i < 50; i++) {
    let info: Dockerode.ExecInspectInfo;
    try {
      info = await exec.inspect();
    } catch (e) {
      throw connectionLost(argv, (e as Error).message);
    }
    if (!info.Running) return { exitCode: info.ExitCode ?? -1, stderrTail, stdoutLines };
    await new Promise((r) => setTimeout(r, 20));
  }
  if (streamError) throw streamError;
  // The output stream ended while the tool still runs: the connection to the engine dropped (e.g. SSH).
  throw connectionLost(argv, 'the tool is still running in the container');
}

/**
 * Waits until the process's buffered output went to its reader. A reader that goes away after the process ended (the
 * other end of a pipeline died with the connection: psql's exec closed, so `cat`'s reader was destroyed) will never
 * read the rest: it is dropped rather than waited for, which would hang the pipeline for good.
 */
async function outputDrained(out: PassThrough, outDone: Promise<void>, target: Writable | undefined): Promise<void> {
  if (!target) return outDone;
  const drop = () => {
    out.unpipe(target);
    out.destroy();
  };
  if (target.destroyed) drop();
  target.once('close', drop);
  target.once('error', drop);
  try {
    await outDone;
  } finally {
    target.off('close', drop);
    target.off('error', drop);
  }
}

/** How long stopping a process waits for its kill request before dropping the stream anyway. */
const KILL_WAIT_MS = 10_000;

/** Resolves when `p` settles or after `ms`, whichever comes first (never rejects). */
function settledWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((r) => (timer = setTimeout(r, ms))),
  ]).finally(() => clearTimeout(timer));
}

/** Ends a process inside the container (the Engine has no "kill exec"; its inspect Pid is the host's). */
async function killInContainer(docker: Dockerode, containerId: string, pid: string | undefined): Promise<void> {
  if (!pid) return;
  try {
    const kill = await docker.getContainer(containerId).exec({
      Cmd: ['sh', '-c', 'kill -TERM "$0"', pid] /* the shell's kill: images may lack procps */,
      User: 'root',
    });
    // Detached: nothing to read back. An attached kill's stream was seen never to end while the process
    // it signals still had a hijacked stream open (its stdout reader gone), which hung the whole pipeline.
    await kill.start({ Detach: true });
  } catch {
    // The process already ended.
  }
}
