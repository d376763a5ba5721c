/**
 * The benchmark's building blocks: sizes, the figure registry's types, interleaved A/B runs, statistics
 * and the shared real parts (one fixture stack, one throwaway cluster) that figures borrow.
 */
import { performance } from 'node:perf_hooks';
import type { Stack } from '../test/support/stack';
import type { Cluster } from '../test/support/cluster';

export type Size = 'small' | 'full';

/** One line of the table. A figure may give several (dump: the ratio and the RSS growth). */
export interface Row {
  /** Short id shown in the table (also what `--only` matches, with the figure's id). */
  readonly figure: string;
  readonly unit: 'ms' | 's' | 'MB' | 'MB/s' | 'calls';
  /** The extension's samples (in `unit`). */
  readonly extension?: readonly number[];
  /** The raw tool / baseline samples (same unit), interleaved with the extension's. */
  readonly raw?: readonly number[];
  /** What the raw side ran. */
  readonly rawLabel?: string;
  /**
   * Per-pair ratios. `ext/raw`: the extension's time over the raw one (lower is better);
   * `raw/ext`: how many times faster the extension is.
   */
  readonly ratio?: { readonly kind: 'ext/raw' | 'raw/ext'; readonly values: readonly number[] };
  readonly target: string;
  /** undefined: not measured. */
  readonly met?: boolean;
  /** Why a target was missed (or why the figure is not measured). */
  readonly cause?: string;
  readonly note?: string;
  /** 'not yet (feature missing)' and the like, for rows without samples. */
  readonly status?: string;
}

export interface BenchContext {
  readonly size: Size;
  /** `--pairs`: interleaved pairs for the figures that honour it (else their size's default). */
  readonly pairs?: number;
  /** The fixture compose stack (started on first use, shared by every figure, stopped at the end). */
  stack(): Promise<Stack>;
  /** A throwaway PostgreSQL 15 cluster on the host (started on first use, shared). */
  cluster(): Promise<Cluster>;
  /** Progress lines (stderr, so the table on stdout stays clean). */
  log(message: string): void;
}

export interface Figure {
  /** What `--only` matches (also matched against row names). */
  readonly id: string;
  readonly title: string;
  run(ctx: BenchContext): Promise<Row[]>;
}

export const pick = <T>(size: Size, small: T, full: T): T => (size === 'full' ? full : small);

/** Milliseconds taken by `work` (high-resolution clock). */
export async function timed(work: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await work();
  return performance.now() - t0;
}

/**
 * A/B runs interleaved in one process: pair i runs A then B when i is even, B then A when odd, so a
 * drift of the machine (cache, other load) falls on both sides alike. `between` runs untimed after each
 * side (cleanup: drop the restored database, delete a dump).
 */
export async function interleaved(
  pairs: number,
  a: () => Promise<number>,
  b: () => Promise<number>,
  opts: { between?: () => Promise<void>; log?: (m: string) => void; label?: string } = {},
): Promise<{ a: number[]; b: number[] }> {
  const as: number[] = [];
  const bs: number[] = [];
  for (let i = 0; i < pairs; i++) {
    const order = i % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const);
    for (const side of order) {
      const ms = side === 'a' ? await a() : await b();
      (side === 'a' ? as : bs).push(ms);
      await opts.between?.();
    }
    opts.log?.(`${opts.label ?? 'pair'} ${i + 1}/${pairs}: extension ${fmt(as.at(-1)!)} ms, raw ${fmt(bs.at(-1)!)} ms`);
  }
  return { a: as, b: bs };
}

/**
 * The guide's `pgbackrest restore` argv from the extension's logged restore line: without the options the extension
 * adds for speed (its restore_command is one quoted word with spaces, dropped before the split).
 */
export function guideRestoreArgv(line: string): string[] {
  // --pg1-path: the extension restores into a staging folder beside PGDATA and swaps it in; the guide restores into
  // the emptied PGDATA itself.
  return line
    .replace(/^\$ /, '')
    .replace(/'--recovery-option=restore_command=[^']*' /, '')
    .split(' ')
    .filter((a) => !/^--(process-max|archive-async|spool-path|archive-get-queue-max|pg1-path)\b/.test(a));
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export const ratios = (ext: readonly number[], raw: readonly number[]): number[] => ext.map((e, i) => e / raw[i]!);

export function fmt(n: number, digits?: number): string {
  if (!Number.isFinite(n)) return String(n);
  const d = digits ?? (Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2);
  return n.toFixed(d);
}

/** "median (min–max)". */
export function spread(xs: readonly number[], digits?: number): string {
  if (!xs.length) return '—';
  if (xs.length === 1) return fmt(xs[0]!, digits);
  return `${fmt(median(xs), digits)} (${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)})`;
}

/** A row for a figure that cannot be measured (yet): printed as such, never faked. */
export function notMeasured(figure: string, target: string, status: string, cause: string): Row {
  return { figure, unit: 'ms', target, status, cause };
}

/** Resident set size of this process, in MB. */
export const rssMb = (): number => process.memoryUsage().rss / 1024 / 1024;

/** Samples the RSS every `everyMs` while `work` runs; returns the peak growth over the RSS at the start (MB). */
export async function peakRssGrowth<T>(work: () => Promise<T>, everyMs = 50): Promise<{ result: T; growthMb: number }> {
  const start = rssMb();
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMb());
  }, everyMs);
  try {
    const result = await work();
    peak = Math.max(peak, rssMb());
    return { result, growthMb: peak - start };
  } finally {
    clearInterval(timer);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Per-step times of repeated runs (the itemised gap of a figure): `mark(name)` starts a step and ends the one
 * before, `end()` closes a run; `summary()` gives each step's median over the runs, in the order first seen.
 */
export class StepTimes {
  private readonly runs: Map<string, number>[] = [];
  private current?: { name: string; t0: number; run: Map<string, number> };

  mark(name: string): void {
    const t = performance.now();
    const run = this.current?.run ?? new Map<string, number>();
    if (this.current) run.set(this.current.name, (run.get(this.current.name) ?? 0) + t - this.current.t0);
    else this.runs.push(run);
    this.current = { name, t0: t, run };
  }

  end(): void {
    if (this.current) this.mark('');
    this.current?.run.delete('');
    this.current = undefined;
  }

  summary(): string {
    const names: string[] = [];
    for (const r of this.runs) for (const n of r.keys()) if (n && !names.includes(n)) names.push(n);
    return names.map((n) => `${n} ${fmt(median(this.runs.map((r) => r.get(n) ?? 0)), 0)} ms`).join(', ');
  }
}
