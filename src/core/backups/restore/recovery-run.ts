/**
 * The recovery speed-up around one restore, where the tools run (a ToolRuntime): measure the machine (one
 * exec: cores and the free space of each spool candidate the tools' user can write), set up what the decision
 * needs (the wrapper script, the spool folder; a spool that cannot be created means plain archive-get, said so),
 * and afterwards read the wrapper's log and remove the wrapper, its log and the spool (also after a cancel or a
 * rollback: `tearDownRecoverySpeed` never throws). `replayEnd` asks the restored server where replay ended.
 */
import { Readable } from 'node:stream';
import { posix } from 'node:path';
import type { ToolRuntime } from '../../runtime';
import {
  decideRecoverySpeed,
  type RecoveryMachine,
  type RecoverySpeed,
  type RecoverySpeedInput,
} from './recovery-speed';
import { RECOVERY_WRAPPER_SCRIPT, describeQueueUse, describeWrapperLog, parseWrapperLog } from './recovery-wrapper';

/** Folders a spool may live in, best first: the PGDATA volume's folder, pgBackRest's default spool, /tmp. */
export function spoolCandidates(dataDir: string): string[] {
  return [posix.dirname(dataDir.replace(/\/+$/, '')), '/var/spool/pgbackrest', '/tmp'];
}

/** Prints `cores N`, then `free <dir> <df -Pk line>` for each writable folder (`free <dir> -` otherwise). */
export const RECOVERY_PROBE_SCRIPT =
  'echo "cores $(nproc 2>/dev/null || echo 1)"; ' +
  'for d in "$@"; do if [ -d "$d" ] && [ -w "$d" ]; then echo "free $d $(df -Pk "$d" 2>/dev/null | tail -n 1)"; ' +
  'else echo "free $d -"; fi; done';

export function parseRecoveryProbe(lines: readonly string[], candidates: readonly string[]): RecoveryMachine {
  let cores = 1;
  const free = new Map<string, number>();
  for (const l of lines) {
    const c = /^cores (\d+)/.exec(l);
    if (c) cores = Math.max(1, Number(c[1]));
    const f = /^free (\S+) (.*)$/.exec(l);
    if (f) {
      // df -P: filesystem, 1024-blocks, used, available, capacity, mounted on.
      const avail = f[2]!.trim().split(/\s+/)[3];
      if (avail !== undefined && /^\d+$/.test(avail)) free.set(f[1]!, Number(avail) * 1024);
    }
  }
  return { cores, spoolCandidates: candidates.map((path) => ({ path, freeBytes: free.get(path) })) };
}

/** `also`: folders to measure as well (the user's own spool-path, see userSpoolPath). */
export async function probeRecoveryMachine(
  rt: ToolRuntime,
  dataDir: string,
  also: readonly string[] = [],
  signal?: AbortSignal,
): Promise<RecoveryMachine> {
  const candidates = [...new Set([...spoolCandidates(dataDir), ...also])];
  const r = await rt.run(['sh', '-c', RECOVERY_PROBE_SCRIPT, 'probe', ...candidates], { signal });
  return parseRecoveryProbe(r.exitCode === 0 ? r.stdoutLines : [], candidates);
}

const oneLine = (lines: readonly string[]) => lines.join(' ').trim() || 'no message';

/**
 * Writes the wrapper and creates the spool the decision names. When the spool cannot be created the decision is
 * made again without async (plain archive-get, saying why); when the wrapper cannot be written, pgBackRest's own
 * restore_command is kept (plain), saying why.
 */
export async function setUpRecoverySpeed(
  rt: ToolRuntime,
  input: RecoverySpeedInput,
  signal?: AbortSignal,
): Promise<RecoverySpeed> {
  const speed = decideRecoverySpeed(input);
  if (speed.spoolDir) {
    const r = await rt.run(['mkdir', '-m', '0700', '--', speed.spoolDir], { signal });
    if (r.exitCode !== 0) {
      return decideRecoverySpeed({
        ...input,
        spoolProblem: `the spool ${speed.spoolDir} could not be created: ${oneLine(r.stderrTail)}`,
      });
    }
  }
  if (speed.wrapperPath) {
    const r = await rt.run(['sh', '-c', 'umask 077 && cat > "$1" && chmod 0700 "$1"', 'write', speed.wrapperPath], {
      stdin: Readable.from([RECOVERY_WRAPPER_SCRIPT]),
      signal,
    });
    if (r.exitCode !== 0) {
      await tearDownRecoverySpeed(rt, speed);
      return decideRecoverySpeed({
        ...input,
        spoolProblem: `the restore_command ${speed.wrapperPath} could not be written: ${oneLine(r.stderrTail)}`,
      });
    }
  }
  return speed;
}

/** rm -rf (made accessible first: a spool someone made unusable), then checks after a pause that nothing came back (up to 20 rounds). */
const REMOVE_SCRIPT =
  'i=0; while :; do chmod -R u+rwX -- "$@" 2>/dev/null; rm -rf -- "$@" 2>/dev/null; sleep 0.2; gone=1; for p in "$@"; do [ -e "$p" ] && gone=; done; ' +
  '[ -n "$gone" ] && exit 0; i=$((i + 1)); [ $i -ge 20 ] && exit 1; done';

/**
 * Reads the wrapper's log (its lines for the output: the segments moved from the async queue, and what the queue
 * could not give) and removes the wrapper, its log, this restore's spool, or the queue inside the user's own
 * spool (with `filesGoWith`, a folder about to be removed whole, files that all lie inside it are left to go with
 * it). Never throws.
 */
export async function tearDownRecoverySpeed(
  rt: ToolRuntime,
  speed: RecoverySpeed,
  opts: { filesGoWith?: string } = {},
): Promise<string[]> {
  const said: string[] = [];
  try {
    if (speed.wrapperLogPath) {
      const r = await rt.run(['sh', '-c', '[ ! -f "$1" ] || cat "$1"', 'read', speed.wrapperLogPath]);
      if (r.exitCode === 0) {
        const log = parseWrapperLog(r.stdoutLines.join('\n'));
        for (const l of [describeQueueUse(log), describeWrapperLog(log)]) if (l) said.push(l);
      }
    }
    const paths = [speed.wrapperPath, speed.wrapperLogPath, speed.spoolDir, speed.spoolQueueDir].filter(
      (p): p is string => Boolean(p),
    );
    // Retried: a background archive-get of the async queue may still write a segment or two for a moment.
    const under = opts.filesGoWith ? `${opts.filesGoWith.replace(/\/+$/, '')}/` : undefined;
    const goWith = under !== undefined && paths.every((p) => p.startsWith(under));
    if (paths.length && !goWith) await rt.run(['sh', '-c', REMOVE_SCRIPT, 'remove', ...paths]);
  } catch {
    // Best effort: a failed clean-up leaves files named .tsdbops-* beside PGDATA, swept by the next restore.
  }
  return said;
}

/**
 * Where replay ended: `pg_last_wal_replay_lsn()` (it stays at the end of the recovery after promotion) and the
 * timeline recovery came from (the checkpoint's previous timeline after a promotion). `query` runs one SQL
 * statement on the restored server and gives the first row's columns.
 */
export async function replayEnd(
  query: (sql: string) => Promise<readonly string[] | undefined>,
): Promise<{ lsn: string; timeline: number } | undefined> {
  const row = await query(
    'SELECT pg_last_wal_replay_lsn()::text, (SELECT prev_timeline_id FROM pg_control_checkpoint())::text',
  );
  if (!row?.[0]) return undefined;
  return { lsn: row[0], timeline: Number(row[1]) || 1 };
}

/**
 * Removes what an interrupted restore's speed-up left (VS Code killed, the container restarted): every
 * `.tsdbops-spool-*` and `.tsdbops-restore-command-*` in the spool candidates of this PGDATA. Only names this
 * module makes are touched. Run before a restore and by the rollback of an interrupted one. Never throws.
 */
export const RECOVERY_SWEEP_SCRIPT =
  'for d in "$@"; do for f in "$d"/.tsdbops-spool-* "$d"/.tsdbops-restore-command-*; do ' +
  '[ -e "$f" ] && rm -rf -- "$f" && echo "$f"; done; done; exit 0';

export async function sweepRecoveryLeftovers(rt: ToolRuntime, dataDir: string): Promise<string[]> {
  try {
    const r = await rt.run(['sh', '-c', RECOVERY_SWEEP_SCRIPT, 'sweep', ...spoolCandidates(dataDir)]);
    return r.stdoutLines.filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * The `restore_command` pgBackRest itself would have written, for postgresql.auto.conf once a sped-up restore is
 * verified (the wrapper it named is removed): `ALTER SYSTEM SET restore_command = <this>` as a parameter.
 */
export function plainRestoreCommand(baseArgs: readonly string[]): string {
  return ['pgbackrest', ...baseArgs, 'archive-get', '%f', '"%p"'].join(' ');
}
