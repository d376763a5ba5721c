/** The configuration matrix as a Markdown table: configuration × operation → pass/fail and seconds. */
import type { ConfigId, MatrixConfig } from './configs';

export const OPERATIONS = [
  'full backup',
  'drill',
  'point in time',
  'latest state',
  'pg_dump + restore',
  'Run Pending',
] as const;
export type Operation = (typeof OPERATIONS)[number];

export interface Cell {
  readonly config: ConfigId;
  readonly op: Operation;
  readonly ok: boolean;
  readonly seconds: number;
  readonly error?: string;
}

/** The table, then one line per failed cell with its error (first line), then the wall time. */
export function formatMatrix(configs: readonly MatrixConfig[], cells: readonly Cell[], wallSeconds: number): string {
  const lines = [`| configuration | ${OPERATIONS.join(' | ')} |`, `|---|${OPERATIONS.map(() => '---').join('|')}|`];
  for (const c of configs) {
    const row = OPERATIONS.map((op) => {
      const x = cells.find((y) => y.config === c.id && y.op === op);
      return x ? `${x.ok ? 'pass' : '**FAIL**'} ${x.seconds.toFixed(1)} s` : 'not run';
    });
    lines.push(`| (${c.id}) ${c.title} | ${row.join(' | ')} |`);
  }
  const failed = cells.filter((c) => !c.ok);
  if (failed.length) {
    lines.push('');
    for (const f of failed) lines.push(`- (${f.config}) ${f.op}: ${(f.error ?? '').split('\n')[0]}`);
  }
  lines.push('');
  lines.push(
    `${cells.filter((c) => c.ok).length} of ${cells.length} cells passed; wall time ${Math.round(wallSeconds)} s ` +
      `(stacks started in parallel, configurations of one stack in turn).`,
  );
  return lines.join('\n');
}
