/**
 * What every cell shares: the stacks it borrows (one shared fixture stack for the cells that leave it
 * healthy; a stack of its own for a cell that mounts something under it), running the operation with a
 * hang bound, and turning the operation's end and the after-check into a CellResult.
 */
import { errorText } from '../../src/core/format';
import type { Stack } from '../support/stack';
import type { AfterCheck } from './check';
import type { CellResult, ColumnId, Outcome, RowId } from './table';

export interface CellEnv {
  /** The fixture stack shared by the cells that leave it healthy (started on first use). */
  sharedStack(): Promise<Stack>;
  /** Progress lines (stderr). */
  log(message: string): void;
}

export interface CellDef {
  readonly row: RowId;
  readonly column: ColumnId;
  /** How the fault is injected and at which step (for FAULTS.md). */
  readonly injection: string;
  /** In the CI subset (test/integration/faults-subset.test.ts). */
  readonly ci?: boolean;
  run(env: CellEnv): Promise<CellResult>;
}

/** No message within this many seconds of the fault is a hang (issue 29: 5 minutes). */
export const HANG_S = 300;

export type Ended<T> =
  | { readonly kind: 'ok'; readonly value: T; readonly at: number }
  | { readonly kind: 'error'; readonly error: unknown; readonly message: string; readonly at: number }
  | { readonly kind: 'hung'; readonly at: number };

/** Waits for the operation, at most HANG_S after the fault fired (or after the start when it never fired). */
export async function settle<T>(op: Promise<T>, fired: Promise<number>): Promise<Ended<T>> {
  const start = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<'hung'>((resolve) => {
    const arm = (from: number) => {
      clearTimeout(timer);
      timer = setTimeout(() => resolve('hung'), Math.max(0, from + HANG_S * 1000 - Date.now()));
    };
    arm(start + 1800_000 - HANG_S * 1000); // the operation itself gets 30 min before the fault
    void fired.then(arm);
  });
  try {
    const r = await Promise.race([op.then((value) => ({ value })), hang]);
    if (r === 'hung') return { kind: 'hung', at: Date.now() };
    return { kind: 'ok', value: r.value, at: Date.now() };
  } catch (error) {
    return { kind: 'error', error, message: errorText(error), at: Date.now() };
  } finally {
    clearTimeout(timer);
  }
}

export interface CellEnd {
  readonly row: RowId;
  readonly column: ColumnId;
  readonly outcome: Outcome;
  readonly message: string;
  readonly injected: string;
  readonly check: AfterCheck;
  /** When the fault fired (ms), and when the user's message came; undefined: never. */
  readonly faultAt?: number;
  readonly messageAt?: number;
  readonly t0: number;
  /** Problems the cell itself found (a message that does not say what happened, a hang). */
  readonly problems?: readonly string[];
  /** Product bugs that do not change the outcome (see CellResult.bugs). */
  readonly bugs?: readonly string[];
  readonly note?: string;
}

/** The cell's result: FAILED when the after-check or the cell found a problem. */
export function result(e: CellEnd): CellResult {
  const problems = [...(e.problems ?? []), ...e.check.problems];
  const notes = [
    problems.length && e.outcome !== 'FAILED' ? `ended as “${e.outcome}”` : undefined,
    e.check.kept.length ? `kept on purpose: ${e.check.kept.join('; ')}` : undefined,
    e.note,
  ].filter(Boolean);
  return {
    row: e.row,
    column: e.column,
    outcome: problems.length ? 'FAILED' : e.outcome,
    rowsLost: e.check.rowsLost,
    secondsToMessage:
      e.messageAt !== undefined && e.faultAt !== undefined ? Math.max(0, (e.messageAt - e.faultAt) / 1000) : undefined,
    leftovers: e.check.leftovers,
    message: e.message.replace(/\s+/g, ' ').trim(),
    injected: e.injected,
    problems,
    ...(e.bugs?.length ? { bugs: e.bugs } : {}),
    note: notes.length ? notes.join(' — ') : undefined,
    seconds: (Date.now() - e.t0) / 1000,
    ranAt: new Date().toISOString(),
  };
}

/** A cell that broke before it could judge the product (the harness's own failure). */
export function broken(row: RowId, column: ColumnId, injected: string, t0: number, e: unknown): CellResult {
  return {
    row,
    column,
    outcome: 'FAILED',
    rowsLost: 0,
    leftovers: [],
    message: '',
    injected,
    problems: [`the cell broke: ${errorText(e).split('\n')[0]}`],
    seconds: (Date.now() - t0) / 1000,
    ranAt: new Date().toISOString(),
  };
}
