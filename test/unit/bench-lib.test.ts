/** The benchmark's arithmetic and its A/B order (bench/lib.ts): what the figures in BENCHMARKS.md rest on. */
import assert from 'node:assert/strict';
import { interleaved, median, percentile, ratios, spread } from '../../bench/lib';

describe('bench: interleaved A/B runs and their statistics', () => {
  it('alternates the order of each pair (A B, B A, A B …) and keeps each side its own samples', async () => {
    const order: string[] = [];
    let n = 0;
    const r = await interleaved(
      4,
      async () => {
        order.push('A');
        return ++n;
      },
      async () => {
        order.push('B');
        return 100 + ++n;
      },
      { between: async () => void order.push('|') },
    );
    assert.deepEqual(order.join(''), 'A|B|B|A|A|B|B|A|');
    assert.deepEqual(r.a, [1, 4, 5, 8]);
    assert.deepEqual(r.b, [102, 103, 106, 107]);
  });

  it('takes ratios per pair, the median of an even count as the mean of the middle two, p95 by nearest rank', () => {
    assert.deepEqual(ratios([2, 3, 5], [1, 2, 4]), [2, 1.5, 1.25]);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([5, 1, 3]), 3);
    const fifty = Array.from({ length: 50 }, (_, i) => i + 1);
    assert.equal(percentile(fifty, 95), 48);
    assert.equal(percentile(fifty, 50), 25);
    assert.equal(spread([1.5, 1.2, 1.9], 2), '1.50 (1.20–1.90)');
    assert.equal(spread([]), '—');
  });
});
