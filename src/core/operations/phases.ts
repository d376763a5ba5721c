/**
 * Long operations (a drill, a physical restore, a logical restore) as a pipeline of named phases
 * sharing one state object. Each phase is small: `run(state, ctx)` does its part, `undo(state, ctx)`
 * (when it changed something) takes it back and sits next to it. The pipeline runs the phases in
 * order and times each one; on a failure or a cancel (the AbortSignal, checked before every phase) it
 * undoes the phases that ran, newest first, with a context that cannot be cancelled (a way back must
 * finish). A failing undo is reported (a line, and in the error) and the other undos still run.
 */
import { errorText } from '../format';
import { cancelReason, isCancelled } from './cancel';
import { PhasesFailedError, type PhaseTiming, type UndoFailure } from '../errors/misc';

export type { PhaseTiming, UndoFailure };

/** Where a phase reports: progress steps, output lines, cancellation. */
export interface PhaseContext {
  readonly signal?: AbortSignal;
  step(title: string): void;
  line(text: string): void;
}

export interface Phase<S> {
  readonly name: string;
  /** Runs only when this says so (default: always); a skipped phase is neither timed nor undone. */
  readonly when?: (s: S) => boolean;
  run(s: S, ctx: PhaseContext): Promise<void>;
  /** Takes back what `run` changed; runs on a later failure or cancel. */
  undo?(s: S, ctx: PhaseContext): Promise<void>;
  /** Undo this phase also when its own `run` failed part-way (the undo must handle a half-done run). */
  readonly undoWhenFailed?: boolean;
}

export interface PhasesOptions {
  /**
   * Called once on a failure or cancel, before anything is undone (to say what happened). Returning
   * false undoes nothing (the failure changed nothing, e.g. a journal that could not be written).
   */
  onFailure?(error: unknown, info: { readonly phase: string; readonly cancelled: boolean }): boolean | void;
}

export { PhasesFailedError };

/** A context without the cancel signal: undos must finish after a cancel. */
export function uncancellable(ctx: PhaseContext): PhaseContext {
  return { step: (t) => ctx.step(t), line: (t) => ctx.line(t) };
}

/**
 * Runs the phases in order; returns their timings. On a failure or cancel: undoes (newest first) and
 * throws PhasesFailedError whose `cause` is the phase's error (or the abort reason).
 */
export async function runPhases<S>(
  phases: readonly Phase<S>[],
  s: S,
  ctx: PhaseContext,
  opts: PhasesOptions = {},
): Promise<PhaseTiming[]> {
  const timings: PhaseTiming[] = [];
  const ran: Phase<S>[] = [];
  for (const p of phases) {
    let failure: unknown;
    let failed = false;
    if (ctx.signal?.aborted) {
      failed = true;
      failure = cancelReason(ctx.signal);
    } else if (p.when && !p.when(s)) continue;
    else {
      const t0 = Date.now();
      try {
        await p.run(s, ctx);
        timings.push({ name: p.name, ms: Date.now() - t0, outcome: 'done' });
        ran.push(p);
        continue;
      } catch (e) {
        timings.push({ name: p.name, ms: Date.now() - t0, outcome: 'failed' });
        failed = true;
        failure = e;
        if (p.undoWhenFailed) ran.push(p);
      }
    }
    if (!failed) continue;
    const cancelled = isCancelled(failure) || Boolean(ctx.signal?.aborted);
    const undo = opts.onFailure?.(failure, { phase: p.name, cancelled }) !== false;
    const undoFailures = undo ? await undoAll(ran, s, uncancellable(ctx)) : [];
    throw new PhasesFailedError(p.name, failure, cancelled, undoFailures, timings, undo);
  }
  return timings;
}

async function undoAll<S>(ran: readonly Phase<S>[], s: S, ctx: PhaseContext): Promise<UndoFailure[]> {
  const failures: UndoFailure[] = [];
  for (const p of [...ran].reverse()) {
    if (!p.undo) continue;
    try {
      await p.undo(s, ctx);
    } catch (e) {
      failures.push({ phase: p.name, error: e });
      ctx.line(`Undoing "${p.name}" failed: ${errorText(e)}`);
    }
  }
  return failures;
}
