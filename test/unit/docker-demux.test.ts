import { strict as assert } from 'node:assert';
import { Demuxer } from '../../src/core/docker/demux';

function frame(type: number, payload: string): Buffer {
  const h = Buffer.alloc(8);
  h[0] = type;
  h.writeUInt32BE(Buffer.byteLength(payload), 4);
  return Buffer.concat([h, Buffer.from(payload)]);
}

describe('Engine stream demultiplexer', () => {
  const wire = Buffer.concat([frame(1, 'hello '), frame(2, 'warn\n'), frame(1, ''), frame(1, 'world'), frame(2, '!')]);

  it('splits stdout and stderr whatever the chunk boundaries (every split point, one byte at a time)', () => {
    const cuts: number[][] = [[], ...Array.from({ length: wire.length - 1 }, (_, i) => [i + 1])];
    cuts.push(Array.from({ length: wire.length - 1 }, (_, i) => i + 1));
    for (const cut of cuts) {
      const out: string[] = [];
      const err: string[] = [];
      const d = new Demuxer((s, c) => (s === 'stdout' ? out : err).push(c.toString()));
      let at = 0;
      for (const c of [...cut, wire.length]) {
        d.push(wire.subarray(at, c));
        at = c;
      }
      assert.equal(out.join(''), 'hello world', `cut at ${cut.join(',')}`);
      assert.equal(err.join(''), 'warn\n!', `cut at ${cut.join(',')}`);
    }
  });

  it('hands on views of the chunk it was given, not copies', () => {
    // Bigger than Node's buffer pool, so a copy would live in another ArrayBuffer.
    const big = Buffer.concat([frame(1, 'x'.repeat(20_000)), frame(2, 'y'.repeat(10_000))]);
    const seen: Buffer[] = [];
    new Demuxer((_s, c) => seen.push(c)).push(big);
    assert.deepEqual(
      seen.map((c) => c.length),
      [20_000, 10_000],
    );
    assert.ok(seen.every((c) => c.buffer === big.buffer));
  });

  it('a stream that is not multiplexed (a Tty) passes through as stdout', () => {
    const out: string[] = [];
    const d = new Demuxer((s, c) => out.push(`${s}:${c.toString()}`));
    d.push(Buffer.from('plain text output'));
    d.push(Buffer.from(' more'));
    assert.deepEqual(out, ['stdout:plain text output', 'stdout: more']);
  });
});
