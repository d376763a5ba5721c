/** LoadSlots: the Backups view's full loads, a few at a time, the ones a view waits for first. */
import { strict as assert } from 'node:assert';
import { LoadSlots } from '../../src/ui/backups/load-slots';

describe('Backups full loads (LoadSlots)', () => {
  it('runs at most its size at once, and a load a view waits for before the queued background ones', async () => {
    const slots = new LoadSlots(2);
    let running = 0;
    let most = 0;
    const started: string[] = [];
    const gates = new Map<string, () => void>();
    const load = (name: string, urgent: boolean) =>
      slots.run(urgent, async () => {
        started.push(name);
        most = Math.max(most, ++running);
        await new Promise<void>((r) => gates.set(name, r));
        running--;
        return name;
      });
    const all = [load('a', false), load('b', false), load('c', false), load('d', false), load('view', true)];
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, ['a', 'b'], 'two at once; the others wait');
    gates.get('a')!();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, ['a', 'b', 'view'], 'the urgent one took the free slot first');
    for (const n of ['b', 'view', 'c', 'd']) {
      gates.get(n)?.();
      await new Promise((r) => setImmediate(r));
    }
    assert.deepEqual(await Promise.all(all), ['a', 'b', 'c', 'd', 'view']);
    assert.deepEqual(started, ['a', 'b', 'view', 'c', 'd']);
    assert.equal(most, 2);
  });

  it('a load that fails frees its slot', async () => {
    const slots = new LoadSlots(1);
    await assert.rejects(
      slots.run(false, () => Promise.reject(new Error('engine gone'))),
      /engine gone/,
    );
    assert.equal(await slots.run(false, async () => 'next'), 'next');
  });
});
