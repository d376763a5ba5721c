/**
 * Follows a container's log through the Engine API (`logs` with follow, stdout and stderr
 * demultiplexed), line by line, until aborted. Used for the Ofelia container when Ofelia saves no runs.
 */
import type Dockerode from 'dockerode';
import { PassThrough } from 'node:stream';
import { lineSplitter } from '../docker/exec';

export async function followContainerLog(
  docker: Dockerode,
  containerId: string,
  onLine: (line: string, stream: 'stdout' | 'stderr') => void,
  opts: { tail?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const stream = (await docker.getContainer(containerId).logs({
    follow: true,
    stdout: true,
    stderr: true,
    tail: opts.tail ?? 200,
    timestamps: false,
  })) as NodeJS.ReadableStream & { destroy?: () => void };
  const out = new PassThrough();
  const err = new PassThrough();
  const o = lineSplitter((l) => onLine(l, 'stdout'));
  const e = lineSplitter((l) => onLine(l, 'stderr'));
  out.on('data', (c: Buffer) => o.write(c));
  err.on('data', (c: Buffer) => e.write(c));
  docker.modem.demuxStream(stream, out, err);
  const stop = () => stream.destroy?.();
  opts.signal?.addEventListener('abort', stop, { once: true });
  try {
    await new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    });
  } finally {
    opts.signal?.removeEventListener('abort', stop);
    o.flush();
    e.flush();
  }
}
