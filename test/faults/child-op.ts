/**
 * Phase 1 of the two-phase "extension host killed" cells: a process of its own that runs ONE row's operation
 * (host-killed-ops.ts) through the fault matrix's way into the product (ops.ts: the core functions the command
 * handlers call), printing each step (`step: …`) and line on stdout, so the harness can `kill -9` it at a named
 * step the way a crashed or force-closed window ends.
 * $TSDBOPS_CHILD_OP: JSON { dir, infraDir, dockerHost, env, row, params } (the environment, not argv: env holds the password).
 */
import { faultOps } from './ops';
import { ROW_OPS, type OpParams } from './host-killed-ops';
import type { RowId } from './table';
import type { Stack } from '../support/stack';

const given = process.env['TSDBOPS_CHILD_OP'];
if (!given)
  throw new Error('child-op.ts: TSDBOPS_CHILD_OP is not set (host-killed-support.ts sets it to the JSON of the op)');
const a = JSON.parse(given) as {
  dir: string;
  infraDir: string;
  dockerHost: string;
  env: Record<string, string>;
  row: RowId;
  params?: OpParams;
};
const stack = { dir: a.dir, infraDir: a.infraDir, docker: { host: a.dockerHost }, env: a.env } as unknown as Stack;
const say = (l: string) => process.stdout.write(`${l.replace(/\n/g, ' ')}\n`);
const op = ROW_OPS[a.row];
if (!op) {
  say(`tsdbops-child: failed no operation for the row ${a.row}`);
  process.exit(2);
}
say('tsdbops-child: started');
op(faultOps(stack), a.params ?? {}, { step: (s) => say(`step: ${s}`), line: say }).then(
  () => (say('tsdbops-child: done'), process.exit(0)),
  (e: unknown) => (say(`tsdbops-child: failed ${(e as Error).message}`), process.exit(1)),
);
