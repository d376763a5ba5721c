/**
 * Phase 1 of the two-phase cells (cells/restores-killed.ts): a process of its own that runs a pgBackRest restore
 * through the fault matrix's way into the product (ops.ts: the core functions the command handlers call), printing
 * each step and line on stdout, so the harness can `kill -9` it at a named step the way a crashed window ends.
 * argv[2]: JSON { dir, infraDir, dockerHost, env }.
 */
import { faultOps } from './ops';
import type { Stack } from '../support/stack';

const a = JSON.parse(process.argv[2]!) as {
  dir: string;
  infraDir: string;
  dockerHost: string;
  env: Record<string, string>;
};
const stack = { dir: a.dir, infraDir: a.infraDir, docker: { host: a.dockerHost }, env: a.env } as unknown as Stack;
const say = (l: string) => process.stdout.write(`${l.replace(/\n/g, ' ')}\n`);
faultOps(stack)
  .restorePgbackrest({ target: 'latest' }, { step: (s) => say(`step: ${s}`), line: say })
  .then(
    () => (say('tsdbops-child: restored'), process.exit(0)),
    (e: unknown) => (say(`tsdbops-child: failed ${(e as Error).message}`), process.exit(1)),
  );
