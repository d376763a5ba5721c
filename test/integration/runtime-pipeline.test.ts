/**
 * Pipelines through the tool runtimes end the way a shell's do, in the container and on this machine:
 * a producer whose reader went away is ended (not left blocked on a full pipe), a consumer that exits
 * early has its unread input destroyed so the feeder learns it, a feeder that breaks ends the consumer,
 * and `runPipeline` (producer | filter | consumer, as the pg_dumpall restore uses it) reports the
 * consumer's failure with no process left behind. Each case runs under a generous hang guard.
 */
import assert from 'node:assert/strict';
import { PassThrough, Readable, Writable } from 'node:stream';
import {
  ContainerRuntime,
  HostRuntime,
  runPipeline,
  ToolFailedError,
  ToolInputBrokenError,
  ToolOutputClosedError,
  type ToolRuntime,
} from '../../src/core/runtime';
import { useIdleContainer } from '../support/idle-container';

/** A hang guard, not a timing assertion. */
const HANG_GUARD_MS = 60_000;
async function withinGuard<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not finish within ${HANG_GUARD_MS / 1000} s`)),
      HANG_GUARD_MS,
    );
  });
  try {
    return await Promise.race([p, guard]);
  } finally {
    clearTimeout(timer);
  }
}

function settle<T>(p: Promise<T>): Promise<{ ok: T } | { error: unknown }> {
  return p.then(
    (ok) => ({ ok }),
    (error: unknown) => ({ error }),
  );
}

/** Endless input in 64 KiB chunks (a dump far larger than any pipe buffer). */
function endless(): Readable {
  const chunk = Buffer.alloc(65536, 'x\n');
  return new Readable({
    read() {
      this.push(chunk);
    },
  });
}

function behaves(name: string, make: () => ToolRuntime) {
  describe(name, () => {
    // A unique argument marks the processes of each case; the bracket keeps the search from finding itself.
    const marker = () => `tsdbops-pipe-${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;
    const stillRunning = async (m: string) => {
      const pattern = `${m.slice(0, -1)}[${m.slice(-1)}]`;
      const r = await make().run(['sh', '-c', 'grep -ls -e "$0" /proc/[0-9]*/cmdline || true', pattern]);
      return r.stdoutLines.filter(Boolean);
    };

    it('ends a producer whose reader goes away (ToolOutputClosedError), leaving no process', async () => {
      const m = marker();
      let got = 0;
      const reader = new Writable({
        write(chunk: Buffer, _enc, cb) {
          got += chunk.length;
          // The reader stops after 1 MB, like psql stopping on an error.
          if (got > 1_000_000) this.destroy();
          cb();
        },
      });
      const r = await withinGuard('the producer', settle(make().run(['yes', m], { stdout: reader })));
      assert.ok('error' in r && r.error instanceof ToolOutputClosedError, String('error' in r ? r.error : r.ok));
      assert.deepEqual(await stillRunning(m), [], 'the producer no longer runs');
    });

    it('a consumer that exits before reading all of stdin returns its exit code and destroys the unread input', async () => {
      const input = endless();
      const r = await withinGuard(
        'the consumer',
        make().run(['sh', '-c', 'head -c 100000 >/dev/null; exit 3'], { stdin: input }),
      );
      assert.equal(r.exitCode, 3);
      assert.ok(input.destroyed, 'the feeder learns that its reader is gone');
    });

    it('a feeder that breaks ends the consumer (ToolInputBrokenError) instead of leaving it waiting', async () => {
      const m = marker();
      const input = new PassThrough();
      input.write('partial input\n');
      setTimeout(() => input.destroy(new Error('the feeder failed')), 500);
      const r = await withinGuard(
        'the consumer',
        settle(make().run(['sh', '-c', 'cat >/dev/null; echo "$0"', m], { stdin: input })),
      );
      assert.ok('error' in r && r.error instanceof ToolInputBrokenError, String('error' in r ? r.error : r.ok));
      assert.deepEqual(await stillRunning(m), [], 'the consumer no longer runs');
    });

    it('runPipeline: the consumer stops on an error with most input unread → its failure, the producer ended', async () => {
      const m = marker();
      const r = await withinGuard(
        'runPipeline',
        settle(runPipeline(make(), ['yes', m], new PassThrough(), ['sh', '-c', 'head -n 1000 >/dev/null; exit 3'], {})),
      );
      assert.ok('error' in r && r.error instanceof ToolFailedError, String('error' in r ? r.error : r.ok));
      assert.equal(r.error.exitCode, 3);
      assert.deepEqual(await stillRunning(m), [], 'the producer no longer runs');
    });

    it('runPipeline: a producer that already ended, its output still in buffers, when the consumer stops → the consumer’s failure, no hang', async () => {
      // The producer writes less than the buffers on the way hold and exits; the consumer never reads and exits later
      // (as psql whose connection was cut): what the producer wrote is dropped, not waited for.
      const r = await withinGuard(
        'runPipeline',
        settle(
          runPipeline(
            make(),
            ['head', '-c', '600000', '/dev/zero'],
            new PassThrough(),
            ['sh', '-c', 'sleep 2; exit 3'],
            {},
          ),
        ),
      );
      assert.ok('error' in r && r.error instanceof ToolFailedError, String('error' in r ? r.error : r.ok));
      assert.equal(r.error.exitCode, 3);
    });

    it('runPipeline: a consumer that ends well on a cut-off input (its producer stopped before the end) is not a success', async () => {
      // What a dropped docker exec connection does to psql -f -: its stdin closes, which reads as a normal end.
      const m = marker();
      const r = await withinGuard(
        'runPipeline',
        settle(runPipeline(make(), ['yes', m], new PassThrough(), ['sh', '-c', 'head -c 100000 >/dev/null'], {})),
      );
      assert.ok('error' in r && r.error instanceof Error, String('error' in r ? r.error : r.ok));
      assert.match(r.error.message, /ended on a cut-off input: yes was stopped before it finished/);
      assert.deepEqual(await stillRunning(m), [], 'the producer no longer runs');
    });

    it('runPipeline: a producer that fails ends the consumer and its failure is reported', async () => {
      const m = marker();
      const r = await withinGuard(
        'runPipeline',
        settle(
          runPipeline(
            make(),
            ['sh', '-c', 'echo partial; exit 2'],
            new PassThrough(),
            ['sh', '-c', 'cat >/dev/null; echo "$0"', m],
            {},
          ),
        ),
      );
      assert.ok('error' in r && r.error instanceof ToolFailedError, String('error' in r ? r.error : r.ok));
      assert.equal(r.error.exitCode, 2, r.error.message);
      assert.deepEqual(await stillRunning(m), []);
    });

    it('runPipeline: a whole pipeline passes every byte through', async () => {
      const out: string[] = [];
      await withinGuard(
        'runPipeline',
        runPipeline(make(), ['seq', '1', '200000'], new PassThrough(), ['wc', '-l'], {
          onStdoutLine: (l) => out.push(l.trim()),
        }),
      );
      assert.deepEqual(out, ['200000']);
    });
  });
}

describe('tool runtimes: pipelines end like a shell’s', function () {
  this.timeout(300_000);
  const idle = useIdleContainer('runtime-pipeline');

  behaves('ContainerRuntime', () => new ContainerRuntime(idle.client(), idle.container().id, 'test container'));
  behaves('HostRuntime', () => new HostRuntime());
});
