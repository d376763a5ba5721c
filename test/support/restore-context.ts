/** A RestoreContext for core restore tests that records every step and line (and can react to lines). */
import type { RestoreContext } from '../../src/core/backups/restore/run';

export function recordingContext(): {
  steps: string[];
  lines: string[];
  ctx(signal?: AbortSignal, onLine?: (line: string) => void): RestoreContext;
} {
  const steps: string[] = [];
  const lines: string[] = [];
  return {
    steps,
    lines,
    ctx: (signal, onLine) => ({
      signal,
      step: (s) => steps.push(s),
      line: (l) => {
        lines.push(l);
        onLine?.(l);
      },
    }),
  };
}
