/**
 * Point-in-time restore targets for pgBackRest: parsing what a user (or automation) writes, the exact
 * text pgBackRest accepts (`YYYY-MM-DD HH:MM:SS[.mmm]+00`; an ISO string is refused with [029]),
 * and choosing the backup set a target can start from (its stop time must be earlier than the
 * target at one-second resolution, else [075]).
 */
import { TimeTargetError } from '../../errors/backups';

/** What a restore needs to know of a backup set (a subset of the Backups view's BackupSet). */
export interface RestorableSet {
  readonly label: string;
  readonly type: 'full' | 'diff' | 'incr';
  readonly start: Date;
  readonly stop: Date;
  /** Size of the database at that backup (pgBackRest `info.size`). */
  readonly sizeBytes?: number;
  /** The repository holding it (pgBackRest 2.33+). */
  readonly repoKey?: number;
}

export { TimeTargetError };

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** 2026-11-24T19:54:50.123Z → `2026-11-24 19:54:50.123+00` (always UTC). */
export function formatTimeTarget(at: Date): string {
  if (Number.isNaN(at.getTime())) throw new TimeTargetError('The restore time is not a valid date.');
  const ms = at.getUTCMilliseconds();
  return (
    `${at.getUTCFullYear()}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())} ` +
    `${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())}${ms ? `.${pad(ms, 3)}` : ''}+00`
  );
}

/**
 * Reads a restore time: a Date, epoch milliseconds, an ISO 8601 string with a zone
 * (`2026-11-24T19:54:50Z`, `…+02:00`), or pgBackRest's own form (`2026-11-24 19:54:50[.123][+00]`).
 * A time without a zone is refused (ambiguous), naming the field and an example.
 */
export function parseTimeTarget(value: unknown, field = 'time'): Date {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new TimeTargetError(`${field} is not a valid date.`);
    return value;
  }
  if (typeof value === 'number' && Number.isFinite(value)) return new Date(value);
  if (typeof value !== 'string' || !value.trim()) {
    const shown = typeof value === 'bigint' ? `${value}n` : (JSON.stringify(value) ?? String(value));
    throw new TimeTargetError(
      `${field} must be a time such as "2026-11-24T19:54:50Z" or "2026-11-24 19:54:50+00", not ${shown}.`,
    );
  }
  const s = value.trim();
  const m =
    /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(s);
  if (!m) {
    throw new TimeTargetError(
      `${field} "${s}" is not a time: write it as "2026-11-24T19:54:50Z" (ISO 8601, with a zone) or "2026-11-24 19:54:50+00".`,
    );
  }
  const zone = m[8];
  if (!zone) {
    throw new TimeTargetError(`${field} "${s}" has no time zone: add one, e.g. "${s.replace(' ', 'T')}Z" for UTC.`);
  }
  let offsetMin = 0;
  if (zone.toUpperCase() !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
    offsetMin = (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3] ?? 0));
  }
  const [y, mo, da, h, mi, se] = [+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, m[6] ? +m[6] : 0];
  const frac = m[7] ? Number(m[7].padEnd(3, '0').slice(0, 3)) : 0;
  const local = new Date(Date.UTC(y, mo - 1, da, h, mi, se, frac));
  // Date.UTC rolls 2026-02-31 over to March: refuse such dates.
  if (
    local.getUTCFullYear() !== y ||
    local.getUTCMonth() !== mo - 1 ||
    local.getUTCDate() !== da ||
    h > 23 ||
    mi > 59 ||
    se > 59
  ) {
    throw new TimeTargetError(`${field} "${s}" is not a valid date.`);
  }
  const d = new Date(local.getTime() - offsetMin * 60_000);
  return d;
}

const sec = (d: Date) => Math.floor(d.getTime() / 1000);

/**
 * The newest backup set a time target can be restored from: its stop time is strictly before the
 * target's second (pgBackRest compares at one-second resolution). With `label`, that set must fit.
 */
export function setForTime(sets: readonly RestorableSet[], target: Date, label?: string): RestorableSet {
  const fits = (s: RestorableSet) => sec(s.stop) < sec(target);
  if (label) {
    const s = sets.find((x) => x.label === label);
    if (!s)
      throw new TimeTargetError(
        `Backup set ${label} is not in the repository (sets: ${sets.map((x) => x.label).join(', ') || 'none'}).`,
      );
    if (!fits(s)) {
      throw new TimeTargetError(
        `The restore time ${formatTimeTarget(target)} is not after backup set ${label} ended (${formatTimeTarget(s.stop)}): ` +
          `pick a time at least one second after it.`,
      );
    }
    return s;
  }
  const candidates = sets.filter(fits).sort((a, b) => b.stop.getTime() - a.stop.getTime());
  if (!candidates.length) {
    const first = [...sets].sort((a, b) => a.stop.getTime() - b.stop.getTime())[0];
    throw new TimeTargetError(
      first
        ? `The restore time ${formatTimeTarget(target)} is before the point-in-time window: ` +
            `the oldest backup set (${first.label}) ended at ${formatTimeTarget(first.stop)}; pick a time at least one second after it.`
        : 'There is no backup set to restore from: take a full backup first.',
    );
  }
  return candidates[0]!;
}

/** Refuses a target in the future (a restore would replay every WAL and then wait, or fail). */
export function checkNotFuture(target: Date, now = new Date()): void {
  if (target.getTime() > now.getTime()) {
    throw new TimeTargetError(
      `The restore time ${formatTimeTarget(target)} is in the future (now is ${formatTimeTarget(now)}).`,
    );
  }
}
