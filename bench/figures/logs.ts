/**
 * The log follower (pgBackRest and Ofelia logs) on a big, growing log file: from an append to the line
 * delivered, and how much this process's memory grows while it follows. No Docker needed.
 */
import { appendFileSync, closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LogFollower } from '../../src/core/logs/follower';
import { median, percentile, pick, rssMb, sleep, type Figure } from '../lib';

const LINE =
  '2026-11-26 01:00:00.000 P00   INFO: archive-push command begin 2.45: [pg_wal/000000010000000000000001] ...\n';

export const logFollowerFigure: Figure = {
  id: 'log-follower',
  title: 'log follower',
  async run(ctx) {
    const sizeBytes = pick(ctx.size, 20e6, 1e9);
    const dir = mkdtempSync(join(tmpdir(), 'tsdbops-bench-log-'));
    const file = join(dir, 'db-archive-push.log');
    try {
      ctx.log(`log follower: writing a ${Math.round(sizeBytes / 1e6)} MB log`);
      const block = Buffer.from(LINE.repeat(Math.ceil((1 << 20) / LINE.length)));
      const fd = openSync(file, 'w');
      for (let written = 0; written < sizeBytes; written += block.length) writeSync(fd, block);
      closeSync(fd);
      const filler = LINE.repeat(Math.ceil(256_000 / LINE.length)); // the log keeps growing between marks
      const waiting = new Map<string, () => void>();
      const follower = new LogFollower(dir, (l) => waiting.get(l.line)?.());
      const rss0 = rssMb();
      let peak = rss0;
      const sampler = setInterval(() => (peak = Math.max(peak, rssMb())), 20);
      const latencies: number[] = [];
      try {
        await follower.start();
        const appends = 50;
        for (let i = 0; i < appends; i++) {
          const mark = `bench mark ${i}`;
          const delivered = new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`${mark} not delivered within 30 s`)), 30_000);
            waiting.set(mark, () => {
              clearTimeout(timer);
              resolve();
            });
          });
          const t0 = performance.now();
          appendFileSync(file, `${filler}${mark}\n`);
          await delivered;
          latencies.push(performance.now() - t0);
          waiting.delete(mark);
          await sleep(20);
        }
      } finally {
        clearInterval(sampler);
        follower.dispose();
      }
      const growth = Math.max(peak, rssMb()) - rss0;
      const p95 = percentile(latencies, 95);
      return [
        {
          figure: `log follower on a ${Math.round(sizeBytes / 1e6)} MB growing log: append → line delivered`,
          unit: 'ms',
          extension: latencies,
          target: '≤ 500 ms',
          met: p95 <= 500,
          note:
            'each append is 256 KB of lines and a marked line, timed until the marked line is delivered; ' +
            `p95 ${p95.toFixed(1)} ms (the target is checked on the p95)`,
          cause: p95 <= 500 ? undefined : 'fs.watch events arrive late or reads are not incremental',
        },
        {
          figure: 'log follower: RSS growth while following',
          unit: 'MB',
          extension: [growth],
          target: '≤ 20 MB',
          met: growth <= 20,
          note: `median latency above ${median(latencies).toFixed(1)} ms`,
          cause: growth <= 20 ? undefined : 'the follower buffers the file instead of reading by offset',
        },
      ];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
