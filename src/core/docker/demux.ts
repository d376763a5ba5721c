/**
 * The Engine's multiplexed exec/attach stream (Tty off): frames of an 8-byte header (stream type:
 * 1 stdout, 2 stderr; payload length, big-endian) and the payload. This demultiplexer hands each
 * payload on as views of the chunks the socket delivered (`subarray`, never a copy): docker-modem's
 * own `demuxStream` concatenates every chunk into a new buffer, which costs a copy per frame and
 * garbage for a dump of gigabytes.
 */
export type DemuxTarget = (stream: 'stdout' | 'stderr', chunk: Buffer) => void;

export class Demuxer {
  private readonly header = Buffer.alloc(8);
  private headerBytes = 0;
  private remaining = 0;
  private stream: 'stdout' | 'stderr' = 'stdout';
  /** Not a multiplexed stream after all (a Tty): everything is stdout. */
  private raw = false;

  constructor(private readonly target: DemuxTarget) {}

  push(chunk: Buffer): void {
    if (this.raw) {
      this.target('stdout', chunk);
      return;
    }
    let at = 0;
    while (at < chunk.length) {
      if (this.remaining === 0) {
        const n = Math.min(8 - this.headerBytes, chunk.length - at);
        chunk.copy(this.header, this.headerBytes, at, at + n);
        this.headerBytes += n;
        at += n;
        if (this.headerBytes < 8) return;
        this.headerBytes = 0;
        const type = this.header[0];
        if (type !== 0 && type !== 1 && type !== 2) {
          // Misaligned or not multiplexed: pass the rest through as stdout, as docker-modem does.
          this.raw = true;
          this.target('stdout', Buffer.concat([this.header, chunk.subarray(at)]));
          return;
        }
        this.stream = type === 2 ? 'stderr' : 'stdout';
        this.remaining = this.header.readUInt32BE(4);
        continue;
      }
      const n = Math.min(this.remaining, chunk.length - at);
      this.target(this.stream, chunk.subarray(at, at + n));
      at += n;
      this.remaining -= n;
    }
  }
}
