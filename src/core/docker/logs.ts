/**
 * A container's logs through the Engine API, delivered line by line: the last `tail` lines, then
 * (with `follow`) new lines as they come, until the signal aborts or the container stops (the Engine
 * ends the stream then).
 */
import type Dockerode from 'dockerode';
import { PassThrough } from 'node:stream';
import { lineSplitter } from './exec';
import { cancelReason } from '../operations/cancel';

export interface LogsOptions {
  /** How many lines of history (default 200; 'all' for everything). */
  readonly tail?: number | 'all';
  readonly follow?: boolean;
  readonly timestamps?: boolean;
  readonly signal?: AbortSignal;
  readonly onLine: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface LogsResult {
  readonly lines: number;
  /** 'end': the history was read (no follow) or the container stopped; 'cancelled': the signal aborted. */
  readonly ended: 'end' | 'cancelled';
}

/** Splits a non-TTY log buffer (the Engine's 8-byte frame headers) into stdout and stderr parts. */
export function demuxBuffer(buf: Buffer, onChunk: (chunk: Buffer, stream: 'stdout' | 'stderr') => void): void {
  let i = 0;
  while (i + 8 <= buf.length) {
    const type = buf[i];
    const size = buf.readUInt32BE(i + 4);
    const chunk = buf.subarray(i + 8, i + 8 + size);
    onChunk(chunk, type === 2 ? 'stderr' : 'stdout');
    i += 8 + size;
  }
}

export async function streamLogs(docker: Dockerode, containerId: string, opts: LogsOptions): Promise<LogsResult> {
  if (opts.signal?.aborted) return { lines: 0, ended: 'cancelled' };
  const container = docker.getContainer(containerId);
  const info = await container.inspect();
  const tty = Boolean(info.Config?.Tty);
  let lines = 0;
  const out = lineSplitter((l) => {
    lines++;
    opts.onLine(l, 'stdout');
  });
  const err = lineSplitter((l) => {
    lines++;
    opts.onLine(l, 'stderr');
  });
  const tail = opts.tail === 'all' ? 'all' : String(opts.tail ?? 200);
  const base = { stdout: true, stderr: true, tail, timestamps: opts.timestamps ?? false };

  if (!opts.follow) {
    const data = (await container.logs({
      ...base,
      follow: false,
      abortSignal: opts.signal,
    } as unknown as Dockerode.ContainerLogsOptions & { follow: false })) as unknown as Buffer;
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(String(data));
    if (tty) out.write(buf);
    else demuxBuffer(buf, (c, s) => (s === 'stdout' ? out : err).write(c));
    out.flush();
    err.flush();
    return { lines, ended: 'end' };
  }

  const ac = new AbortController();
  const onAbort = () => ac.abort(cancelReason(opts.signal!));
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let stream: NodeJS.ReadableStream;
  try {
    stream = (await container.logs({
      ...base,
      follow: true,
      abortSignal: ac.signal,
    } as unknown as Dockerode.ContainerLogsOptions & { follow: true })) as NodeJS.ReadableStream;
  } catch (e) {
    opts.signal?.removeEventListener('abort', onAbort);
    if (opts.signal?.aborted) return { lines, ended: 'cancelled' };
    throw e;
  }
  try {
    const o = new PassThrough();
    const e = new PassThrough();
    o.on('data', (c: Buffer) => out.write(c));
    e.on('data', (c: Buffer) => err.write(c));
    if (tty) stream.on('data', (c: Buffer) => out.write(c));
    else docker.modem.demuxStream(stream, o, e);
    const onSignal = () => (stream as unknown as { destroy?: () => void }).destroy?.();
    ac.signal.addEventListener('abort', onSignal, { once: true });
    await new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    });
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    out.flush();
    err.flush();
  }
  return { lines, ended: opts.signal?.aborted ? 'cancelled' : 'end' };
}
