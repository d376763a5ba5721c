/**
 * Recovery proven to reach the end of the archive. Before a restore or drill of the latest state, the newest
 * archived WAL segment is noted from `pgbackrest info` (the archive's `max`); after recovery the server's
 * last replayed position (`pg_last_wal_replay_lsn()`, which stays at the end of the recovery after promotion)
 * must lie in that segment or after it. Short of it the restore is incomplete: PostgreSQL promoted at an
 * earlier segment (a `restore_command` that failed below exit 126 reads as "no such segment"), and the data
 * after it is missing.
 */
import type { StanzaInfo } from '../pgbackrest';
import { OpsError } from '../../errors/error';

export const DEFAULT_WAL_SEGMENT_BYTES = 16 * 1024 * 1024;

export interface WalSegment {
  readonly timeline: number;
  /** The segment's number in the WAL (log × segments per log + seg). */
  readonly number: bigint;
}

/** `000000010000000A00000042` → timeline 1, segment 0xA × (4 GiB / segment size) + 0x42. */
export function parseWalSegment(name: string, segBytes = DEFAULT_WAL_SEGMENT_BYTES): WalSegment | undefined {
  const m = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/i.exec(name.trim());
  if (!m) return undefined;
  const perLog = 0x1_0000_0000n / BigInt(segBytes);
  return { timeline: parseInt(m[1]!, 16), number: BigInt(`0x${m[2]}`) * perLog + BigInt(`0x${m[3]}`) };
}

export function walSegmentName(s: WalSegment, segBytes = DEFAULT_WAL_SEGMENT_BYTES): string {
  const perLog = 0x1_0000_0000n / BigInt(segBytes);
  const hex = (n: bigint | number) => n.toString(16).toUpperCase().padStart(8, '0');
  return `${hex(s.timeline)}${hex(s.number / perLog)}${hex(s.number % perLog)}`;
}

/** `0/42000028` → a byte position. */
export function parseLsn(lsn: string): bigint | undefined {
  const m = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i.exec(lsn.trim());
  return m ? (BigInt(`0x${m[1]}`) << 32n) + BigInt(`0x${m[2]}`) : undefined;
}

export function formatLsn(pos: bigint): string {
  return `${(pos >> 32n).toString(16).toUpperCase()}/${(pos & 0xffff_ffffn).toString(16).toUpperCase()}`;
}

/**
 * A line for the output while the server replays WAL: where replay stands and, when the archive's newest segment
 * is known (a latest-state restore or drill), how many segments are left. Undefined for an LSN it cannot read.
 */
export function replayProgressLine(lsn: string, newestWal?: string): string | undefined {
  const pos = parseLsn(lsn);
  if (pos === undefined) return undefined;
  const newest = newestWal ? parseWalSegment(newestWal) : undefined;
  const at = pos / BigInt(DEFAULT_WAL_SEGMENT_BYTES);
  const segment = walSegmentName({ timeline: newest?.timeline ?? 1, number: at });
  if (!newest) return `Recovery: WAL replayed up to ${formatLsn(pos)} (segment …${segment.slice(8)}).`;
  const left = newest.number - at;
  return (
    `Recovery: WAL replayed up to ${formatLsn(pos)} (segment …${segment.slice(8)}); ` +
    (left > 0n
      ? `${left} segment${left === 1n ? '' : 's'} to the archive's newest, ${newestWal}.`
      : `at the archive's newest, ${newestWal}.`)
  );
}

/**
 * The newest archived WAL segment of the stanza's current database (the highest `max` of its archives over
 * every repository), or undefined when nothing is archived.
 */
export function newestArchivedSegment(info: Pick<StanzaInfo, 'archives' | 'walMax'>): string | undefined {
  const archives = info.archives ?? [];
  const ids = archives.map((a) => a.id);
  const current = ids.sort((a, b) => Number(a.split('-')[1] ?? 0) - Number(b.split('-')[1] ?? 0)).at(-1);
  const maxes = archives.filter((a) => a.id === current && a.max).map((a) => a.max!);
  const best = maxes.sort().at(-1) ?? info.walMax;
  return best && parseWalSegment(best) ? best.toUpperCase() : undefined;
}

export interface RecoveryEnd {
  readonly complete: boolean;
  /** The newest segment of the archive, noted before the restore. */
  readonly newest: string;
  /** The segment holding the last replayed position (on the newest segment's timeline unless told). */
  readonly stoppedAt: string;
  readonly replayLsn: string;
  /** For the restore's output; on `complete: false`, the error. */
  readonly message: string;
}

/**
 * Did recovery replay into the newest archived segment (or past it)? `replayLsn`: `pg_last_wal_replay_lsn()`
 * after recovery; `timeline`: the timeline recovery replayed (default: the newest segment's).
 */
export function checkRecoveryEnd(a: {
  readonly newest: string;
  readonly replayLsn: string;
  readonly timeline?: number;
  readonly segBytes?: number;
}): RecoveryEnd {
  const segBytes = a.segBytes ?? DEFAULT_WAL_SEGMENT_BYTES;
  const newest = parseWalSegment(a.newest, segBytes);
  const pos = parseLsn(a.replayLsn);
  if (!newest) throw new OpsError('tool-failed', `"${a.newest}" is not a WAL segment name`);
  if (pos === undefined) throw new OpsError('tool-failed', `"${a.replayLsn}" is not a WAL position (LSN)`);
  const number = pos / BigInt(segBytes);
  const stopped = { timeline: a.timeline ?? newest.timeline, number };
  const stoppedAt = walSegmentName(stopped, segBytes);
  // A later timeline replayed to its own end counts by position: the newest segment is reached when the
  // replay went into it or beyond.
  const complete = number >= newest.number && stopped.timeline >= newest.timeline;
  const message = complete
    ? `Recovery reached the end of the archive: replayed to ${a.replayLsn} (segment ${stoppedAt}; the archive's newest is ${a.newest}).`
    : `The restore is incomplete: recovery stopped at WAL segment ${stoppedAt} (replayed to ${a.replayLsn}), ` +
      `but the archive holds WAL up to ${a.newest}: the changes after ${stoppedAt} are missing. ` +
      "A segment could not be read from the repository (see the server log and pgBackRest's archive-get log).";
  return { complete, newest: a.newest.toUpperCase(), stoppedAt, replayLsn: a.replayLsn, message };
}

export interface RecoveryLog {
  /** Segments PostgreSQL logged as restored from the archive, in order. */
  readonly restored: string[];
  /** `redo done at X` (the end of the replay). */
  readonly redoDoneAt?: string;
  /** A FATAL "could not restore file … from archive" (the wrapper gave up on a segment). */
  readonly fatal?: string;
}

/** What the server log says about a recovery (PostgreSQL 12+ messages, any log_line_prefix). */
export function parseRecoveryLog(lines: readonly string[]): RecoveryLog {
  const restored: string[] = [];
  let redoDoneAt: string | undefined;
  let fatal: string | undefined;
  for (const l of lines) {
    const r = /restored log file "([0-9A-F]{24})" from archive/.exec(l);
    if (r) restored.push(r[1]!);
    const d = /redo done at ([0-9A-F]+\/[0-9A-F]+)/.exec(l);
    if (d) redoDoneAt = d[1];
    if (/FATAL:.*could not restore file/.test(l)) fatal ??= l.slice(l.indexOf('FATAL:')).trim();
  }
  return { restored, redoDoneAt, fatal };
}
