/**
 * Follows the log files of a folder (pgBackRest's `logs/pgbackrest`): new lines are delivered as
 * they are written. Each file is read incrementally from the offset reached last time (never whole,
 * never again from the start); `fs.watch` events trigger the reads (no polling). A file that shrank
 * (truncated or replaced) is read again from its start, since that is new content.
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TextDecoder } from 'node:util';

export interface FollowedLine {
  readonly file: string;
  readonly line: string;
}

export interface FollowerOptions {
  /** Which files to follow (default: `*.log`). */
  filter?: (name: string) => boolean;
  /** On start, show at most this many bytes from the end of each existing file (default 0: only new lines). */
  initialTailBytes?: number;
  /** Bytes read per chunk (default 64 KiB). */
  chunkBytes?: number;
}

interface FileState {
  offset: number;
  rest: string;
  /** Kept across reads, so a character split between two reads decodes whole. */
  decoder?: TextDecoder;
  /** The current read, so reads of one file never overlap. */
  busy?: Promise<void>;
  again?: boolean;
}

export class LogFollower {
  private readonly files = new Map<string, FileState>();
  private watcher: FSWatcher | undefined;
  private disposed = false;
  private readonly filter: (name: string) => boolean;
  /** Total bytes read so far (tests check nothing is read twice). */
  bytesRead = 0;

  constructor(
    readonly dir: string,
    private readonly onLine: (l: FollowedLine) => void,
    private readonly opts: FollowerOptions = {},
  ) {
    this.filter = opts.filter ?? ((n) => n.endsWith('.log'));
  }

  /** Starts following: existing files from their end (minus `initialTailBytes`), new files from 0. */
  async start(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names.filter(this.filter).sort()) {
      const s = await stat(join(this.dir, name)).catch(() => undefined);
      if (!s?.isFile()) continue;
      const tail = this.opts.initialTailBytes ?? 0;
      this.files.set(name, { offset: Math.max(0, s.size - tail), rest: '' });
      // A tail that starts mid-line: skip to the next full line.
      if (tail > 0 && s.size > tail) this.files.get(name)!.rest = '\u0000skip';
      if (tail > 0) await this.readNew(name);
    }
    if (this.disposed) return;
    try {
      this.watcher = watch(this.dir, { persistent: false }, (_event, name) => {
        if (name && this.filter(name.toString())) void this.readNew(name.toString());
        else if (!name) for (const n of this.files.keys()) void this.readNew(n);
      });
      this.watcher.on('error', () => undefined);
    } catch {
      // The folder does not exist (yet): nothing to follow.
    }
  }

  /** Reads whatever was appended to `name` since the last read. */
  readNew(name: string): Promise<void> {
    let st = this.files.get(name);
    if (!st) this.files.set(name, (st = { offset: 0, rest: '' }));
    const state = st;
    if (state.busy) {
      state.again = true;
      return state.busy;
    }
    state.busy = (async () => {
      do {
        state.again = false;
        await this.readOnce(name, state);
      } while (state.again && !this.disposed);
    })().finally(() => (state.busy = undefined));
    return state.busy;
  }

  private async readOnce(name: string, state: FileState): Promise<void> {
    const path = join(this.dir, name);
    const fh = await open(path, 'r').catch(() => undefined);
    if (!fh) return;
    try {
      const { size } = await fh.stat();
      if (size < state.offset) {
        state.offset = 0;
        state.rest = '';
        state.decoder = undefined;
      }
      const buf = Buffer.alloc(this.opts.chunkBytes ?? 65536);
      const decoder = (state.decoder ??= new TextDecoder());
      while (state.offset < size && !this.disposed) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - state.offset), state.offset);
        if (bytesRead <= 0) break;
        state.offset += bytesRead;
        this.bytesRead += bytesRead;
        let text = state.rest + decoder.decode(buf.subarray(0, bytesRead), { stream: true });
        let i: number;
        while ((i = text.indexOf('\n')) >= 0) {
          const line = text.slice(0, i).replace(/\r$/, '');
          text = text.slice(i + 1);
          if (line.startsWith('\u0000skip')) continue;
          this.onLine({ file: name, line });
        }
        state.rest = text;
      }
    } finally {
      await fh.close();
    }
  }

  /** Whether the folder is being watched (false when it did not exist at start). */
  get watching(): boolean {
    return this.watcher !== undefined;
  }

  /** The files seen so far. */
  get followed(): string[] {
    return [...this.files.keys()].sort();
  }

  dispose(): void {
    this.disposed = true;
    this.watcher?.close();
  }
}

/** Reads the last `maxBytes` of a file as lines (for opening one log without loading a big file). */
export async function readTail(
  path: string,
  maxBytes = 1 << 20,
): Promise<{ lines: string[]; truncated: boolean; size: number }> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const start = Math.max(0, size - maxBytes);
    const buf = Buffer.alloc(size - start);
    await fh.read(buf, 0, buf.length, start);
    let text = buf.toString('utf8');
    if (start > 0) text = text.slice(text.indexOf('\n') + 1);
    return { lines: text.split('\n').filter((l, i, a) => i < a.length - 1 || l !== ''), truncated: start > 0, size };
  } finally {
    await fh.close();
  }
}
