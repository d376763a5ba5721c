/**
 * A physical restore that ran out of disk space on the data volume says so: "Disk full", the folder, the space free
 * there when the tool failed (measured before the rollback frees the half-restored folder) and what the restore
 * needed, instead of the tool's exit code. pgBackRest logs its error on stdout (--log-level-stderr=off), so the
 * tool's last output lines are read as well as its stderr.
 */
import { posix } from 'node:path';
import { OpsError } from '../../../errors/error';
import { formatBytes } from '../../../format';
import { ToolFailedError } from '../../../runtime';
import { parseDfAvailable } from './server';
import type { PhysicalTarget } from './types';

const FULL = /No space left on device|ENOSPC|could not extend file|disk quota exceeded|\[28\]/i;

/** Under this much free space a failed restore tool is taken for a full disk even if its output said nothing. */
const NEARLY_FULL = 16 * 2 ** 20;

/**
 * Rethrows the restore tool's failure `e` as a "Disk full" error when its output says so or the data volume has
 * (almost) nothing left; else returns `e`. `output`: the tool's last lines; `needed`: the restore's size.
 */
export async function restoreDiskFullOr(
  e: unknown,
  t: PhysicalTarget,
  output: readonly string[],
  needed: number | undefined,
): Promise<unknown> {
  if (!(e instanceof ToolFailedError)) return e;
  const dir = posix.dirname(t.dataDir.replace(/\/+$/, ''));
  const said = [...e.stderrTail, ...output].some((l) => FULL.test(l));
  const r = await t.rt.run(['df', '-P', '-k', '--', dir]).catch(() => undefined);
  const free = r?.exitCode === 0 ? parseDfAvailable(r.stdoutLines) : undefined;
  if (!said && !(free !== undefined && free < NEARLY_FULL)) return e;
  const line = [...e.stderrTail, ...output].reverse().find((l) => FULL.test(l) || /ERROR/.test(l));
  // The tool's own line, prefixed with its name unless it already is (tar says "tar: …").
  const quoted = line && (line.trim().startsWith(`${e.argv[0]}:`) ? line.trim() : `${e.argv[0]}: ${line.trim()}`);
  return new OpsError(
    'tool-failed',
    `Disk full: ${e.argv[0]} ran out of space in ${dir} (${t.rt.description}); ` +
      `${free === undefined ? 'the free space there could not be read' : `${formatBytes(free)} free there when it failed`}` +
      `${needed ? `, the restore needs about ${formatBytes(needed)}` : ''}` +
      `${quoted ? ` (${quoted})` : ` (exit code ${e.exitCode})`}`,
    {
      facts: {
        tool: e.argv[0],
        argv: e.argv,
        exitCode: e.exitCode,
        stderrTail: e.stderrTail,
        file: dir,
        hint: `Free space on the volume of ${dir} (or give it a bigger disk), then restore again.`,
      },
      cause: e,
    },
  );
}
