/** The phase pipeline long operations run on: order, undo on failure and cancel, failing undos, timings. */
import assert from 'node:assert/strict';
import { CancelledError } from '../../src/core/operations/cancel';
import { PhasesFailedError, runPhases, type Phase, type PhaseContext } from '../../src/core/operations/phases';

interface State {
  log: string[];
}

function recorder(signal?: AbortSignal): PhaseContext & { lines: string[]; steps: string[]; signals: unknown[] } {
  const lines: string[] = [];
  const steps: string[] = [];
  const signals: unknown[] = [];
  return { signal, lines, steps, signals, step: (t) => steps.push(t), line: (t) => lines.push(t) };
}

/** A phase that logs its run and undo; `fail` makes its run (or its undo) throw. */
function phase(name: string, opts: { fail?: boolean; failUndo?: boolean; noUndo?: boolean } = {}): Phase<State> {
  return {
    name,
    run: async (s, ctx) => {
      ctx.step(`step ${name}`);
      s.log.push(`run ${name}`);
      if (opts.fail) throw new Error(`${name} broke`);
    },
    ...(opts.noUndo
      ? {}
      : {
          undo: async (s: State, ctx: PhaseContext) => {
            s.log.push(`undo ${name}${ctx.signal ? ' (cancellable)' : ''}`);
            if (opts.failUndo) throw new Error(`undo of ${name} broke`);
          },
        }),
  };
}

async function failure(p: Promise<unknown>): Promise<PhasesFailedError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof PhasesFailedError, `a PhasesFailedError, got ${String(e)}`);
    return e;
  }
  assert.fail('the pipeline did not fail');
}

describe('phase pipeline', () => {
  it('runs the phases in order, reports their steps and times each one; nothing is undone on success', async () => {
    const s: State = { log: [] };
    const ctx = recorder();
    const timings = await runPhases([phase('a'), phase('b'), phase('c')], s, ctx);
    assert.deepEqual(s.log, ['run a', 'run b', 'run c']);
    assert.deepEqual(ctx.steps, ['step a', 'step b', 'step c']);
    assert.deepEqual(
      timings.map((t) => [t.name, t.outcome]),
      [
        ['a', 'done'],
        ['b', 'done'],
        ['c', 'done'],
      ],
    );
    for (const t of timings) assert.ok(Number.isInteger(t.ms) && t.ms >= 0, `${t.name}: ${t.ms}`);
  });

  it('skips a phase whose condition is false: not run, not timed, not undone', async () => {
    const s: State = { log: [] };
    const skipped = { ...phase('b'), when: () => false };
    await failure(runPhases([phase('a'), skipped, phase('c', { fail: true })], s, recorder()));
    assert.deepEqual(s.log, ['run a', 'run c', 'undo a']);
  });

  it('on a failure undoes the phases that ran, newest first, without a cancel signal, and keeps the cause', async () => {
    const s: State = { log: [] };
    const seen: unknown[] = [];
    const e = await failure(
      runPhases(
        [phase('a'), phase('b', { noUndo: true }), phase('c'), phase('d', { fail: true }), phase('e')],
        s,
        recorder(new AbortController().signal),
        {
          onFailure: (err, info) => {
            seen.push(info.phase, info.cancelled, (err as Error).message);
            s.log.push('told');
          },
        },
      ),
    );
    assert.deepEqual(s.log, ['run a', 'run b', 'run c', 'run d', 'told', 'undo c', 'undo a']);
    assert.deepEqual(seen, ['d', false, 'd broke']);
    assert.equal(e.phase, 'd');
    assert.equal((e.cause as Error).message, 'd broke');
    assert.equal(e.cancelled, false);
    assert.deepEqual(e.undoFailures, []);
    assert.deepEqual(
      e.timings.map((t) => [t.name, t.outcome]),
      [
        ['a', 'done'],
        ['b', 'done'],
        ['c', 'done'],
        ['d', 'failed'],
      ],
    );
  });

  it('undoes the failed phase itself when it says its undo handles a half-done run', async () => {
    const s: State = { log: [] };
    await failure(runPhases([phase('a'), { ...phase('b', { fail: true }), undoWhenFailed: true }], s, recorder()));
    assert.deepEqual(s.log, ['run a', 'run b', 'undo b', 'undo a']);
  });

  it('undoes nothing when onFailure says the failure changed nothing', async () => {
    const s: State = { log: [] };
    const e = await failure(
      runPhases([phase('a'), phase('b', { fail: true })], s, recorder(), { onFailure: () => false }),
    );
    assert.deepEqual(s.log, ['run a', 'run b']);
    assert.equal(e.undone, false);
  });

  it('a cancel between phases stops before the next phase and undoes what ran', async () => {
    const s: State = { log: [] };
    const ac = new AbortController();
    const cancelling: Phase<State> = {
      name: 'b',
      run: async (st) => {
        st.log.push('run b');
        ac.abort(new CancelledError());
      },
      undo: async (st) => void st.log.push('undo b'),
    };
    const e = await failure(runPhases([phase('a'), cancelling, phase('c')], s, recorder(ac.signal)));
    assert.deepEqual(s.log, ['run a', 'run b', 'undo b', 'undo a']);
    assert.equal(e.cancelled, true);
    assert.equal(e.phase, 'c', 'the phase that was about to run');
    assert.ok(e.cause instanceof CancelledError);
  });

  it('a phase that throws a cancel is a cancel, and what ran is undone', async () => {
    const s: State = { log: [] };
    const throwsCancel: Phase<State> = {
      name: 'b',
      run: async () => {
        throw new CancelledError();
      },
    };
    const e = await failure(runPhases([phase('a'), throwsCancel], s, recorder()));
    assert.equal(e.cancelled, true);
    assert.deepEqual(s.log, ['run a', 'undo a']);
  });

  it('a failing undo is reported and the other undos still run', async () => {
    const s: State = { log: [] };
    const ctx = recorder();
    const e = await failure(
      runPhases([phase('a'), phase('b', { failUndo: true }), phase('c'), phase('d', { fail: true })], s, ctx),
    );
    assert.deepEqual(s.log, ['run a', 'run b', 'run c', 'run d', 'undo c', 'undo b', 'undo a']);
    assert.deepEqual(
      e.undoFailures.map((f) => [f.phase, (f.error as Error).message]),
      [['b', 'undo of b broke']],
    );
    assert.ok(
      ctx.lines.some((l) => l === 'Undoing "b" failed: undo of b broke'),
      ctx.lines.join('\n'),
    );
  });
});
