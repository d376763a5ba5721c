/**
 * Ofelia schedules (robfig/cron) as croner patterns: 6 fields with leading seconds, 5 fields,
 * descriptors (`@daily` …) and `@every <Go duration>`.
 *
 * Five fields are ambiguous: Ofelia v0.3.x (`:latest`) reads them as *sec min hour dom month*
 * (`0 2 * * *` runs at minute 2 of every hour), 0.4 (master) as standard cron. `fiveField` says
 * which; `ofeliaFiveFieldMode` guesses it from the Ofelia image tag.
 */
import { Cron } from 'croner';
import { scheduleError } from '../errors/misc';
import { OpsError } from '../errors/error';

export type FiveFieldMode = 'seconds-first' | 'standard';

export interface ParsedSchedule {
  /** As written in the label. */
  readonly spec: string;
  /** Plain-words description ("every 15 minutes", "daily at 00:00:00"). */
  readonly describe: string;
  /** The pattern given to croner (6 fields), or undefined for `@every`. */
  readonly pattern?: string;
  /** `@every` interval in ms. */
  readonly everyMs?: number;
  readonly timezone: string;
  /** The first run strictly after `from` (undefined for `@every` without a known last run). */
  next(from: Date, lastRun?: Date): Date | undefined;
  /** The last scheduled time at or before `at` (`@every`: unknown without a last run). */
  previous(at: Date, lastRun?: Date): Date | undefined;
  /** Typical time between runs in ms (the largest gap in the next few runs). */
  readonly periodMs: number;
}

/**
 * Names of UTC in the tz database. croner's `timezone` option formats a date through Intl on every step of
 * every search (about 70 ms a schedule on a busy machine: seconds for 20 stacks' jobs while a window opens);
 * UTC is a fixed offset of 0 and croner's `utcOffset: 0` gives the same runs without Intl.
 */
const UTC_ZONES = new Set(
  ['UTC', 'UCT', 'GMT', 'GMT0', 'GMT+0', 'GMT-0', 'Greenwich', 'Universal', 'Zulu'].flatMap((z) => [z, `Etc/${z}`]),
);

const DESCRIPTORS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 0 1 1 *',
  '@annually': '0 0 0 1 1 *',
  '@monthly': '0 0 0 1 * *',
  '@weekly': '0 0 0 * * 0',
  '@daily': '0 0 0 * * *',
  '@midnight': '0 0 0 * * *',
  '@hourly': '0 0 * * * *',
};

/** A Go duration (`1h30m`, `15m`, `90s`, `1.5h`, `500ms`) in ms. */
export function parseGoDuration(s: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) {
    total += Number(m[1]) * units[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos !== s.length || pos === 0)
    throw new OpsError('schedule', `"${s}" is not a Go duration (like 15m, 1h30m, 90s)`);
  return total;
}

/** v0.3.x when the Ofelia image tag says so (or says nothing: `:latest` is v0.3.21), else 0.4 semantics. */
export function ofeliaFiveFieldMode(image: string | undefined): FiveFieldMode {
  const tag = image && /:([^/:@]+)$/.exec(image)?.[1];
  if (!tag || tag === 'latest' || /^v?0\.3(\.|$)/.test(tag)) return 'seconds-first';
  return 'standard';
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function describePattern(p: string): string {
  const [sec, min, hour, dom, mon, dow] = p.split(/\s+/);
  const stepMin = /^\*\/(\d+)$/.exec(min ?? '');
  const stepSec = /^\*\/(\d+)$/.exec(sec ?? '');
  const allDays = dom === '*' && mon === '*' && (dow === '*' || dow === '?');
  const num = (v: string | undefined) => v !== undefined && /^\d+$/.test(v);
  if (allDays && stepSec && min === '*' && hour === '*') return `every ${stepSec[1]} seconds`;
  if (allDays && num(sec) && stepMin && hour === '*') return `every ${stepMin[1]} minutes`;
  if (allDays && num(sec) && num(min) && hour === '*') return `hourly at minute ${min}`;
  if (num(sec) && num(min) && num(hour)) {
    const at = `${pad(+hour!)}:${pad(+min!)}:${pad(+sec!)}`;
    if (allDays) return `daily at ${at}`;
    if (dom === '*' && mon === '*' && dow && dow !== '*') return `at ${at} on weekdays ${dow}`;
    if (mon === '*' && dow === '*' && dom) return `at ${at} on day ${dom} of the month`;
  }
  return p;
}

/** Parses one Ofelia schedule. Throws a scheduleError naming the spec and what is wrong. */
export function parseOfeliaSchedule(
  spec: string,
  opts: { timezone?: string; fiveField?: FiveFieldMode } = {},
): ParsedSchedule {
  let s = spec.trim();
  let timezone = opts.timezone || 'UTC';
  const tz = /^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/.exec(s);
  if (tz) {
    timezone = tz[1]!;
    s = tz[2]!;
  }
  if (s.startsWith('@every')) {
    const d = s.slice('@every'.length).trim();
    let everyMs: number;
    try {
      everyMs = parseGoDuration(d);
    } catch (e) {
      throw scheduleError(spec, (e as Error).message);
    }
    if (everyMs <= 0) throw scheduleError(spec, 'the interval must be positive');
    return {
      spec,
      describe: `every ${d}`,
      everyMs,
      timezone,
      periodMs: everyMs,
      next: (from, lastRun) => {
        if (!lastRun) return undefined;
        let n = lastRun.getTime() + everyMs;
        while (n <= from.getTime()) n += everyMs;
        return new Date(n);
      },
      previous: (at, lastRun) => {
        if (!lastRun || lastRun > at) return undefined;
        return new Date(lastRun.getTime() + Math.floor((at.getTime() - lastRun.getTime()) / everyMs) * everyMs);
      },
    };
  }
  let pattern: string;
  if (s.startsWith('@')) {
    const p = DESCRIPTORS[s.toLowerCase()];
    if (!p)
      throw scheduleError(spec, `unknown descriptor (use ${Object.keys(DESCRIPTORS).join(', ')} or @every <duration>)`);
    pattern = p;
  } else {
    const fields = s.split(/\s+/);
    if (fields.length === 6) pattern = fields.join(' ');
    else if (fields.length === 5)
      pattern = (opts.fiveField ?? 'standard') === 'seconds-first' ? `${fields.join(' ')} *` : `0 ${fields.join(' ')}`;
    else
      throw scheduleError(
        spec,
        `${fields.length} fields; Ofelia takes 6 (sec min hour day month weekday), 5, a descriptor like @daily or @every <duration>`,
      );
  }
  let cron: Cron;
  try {
    cron = new Cron(pattern, UTC_ZONES.has(timezone) ? { utcOffset: 0, paused: true } : { timezone, paused: true });
  } catch (e) {
    throw scheduleError(spec, (e as Error).message);
  }
  const next = (from: Date): Date | undefined => cron.nextRun(from) ?? undefined;
  const runs = cron.nextRuns(6, new Date(Date.UTC(2026, 0, 1)));
  let periodMs = 0;
  for (let i = 1; i < runs.length; i++) periodMs = Math.max(periodMs, runs[i]!.getTime() - runs[i - 1]!.getTime());
  if (!periodMs) periodMs = 365 * 86_400_000;
  return {
    spec,
    describe: describePattern(pattern),
    pattern,
    timezone,
    periodMs,
    next: (from) => next(from),
    previous: (at) => {
      // Step back until a run falls before `at`, then walk forward to the last one not after it.
      let back = Math.max(1000, Math.min(periodMs, 60_000));
      for (let i = 0; i < 40; i++) {
        let cur = next(new Date(at.getTime() - back));
        if (cur && cur.getTime() <= at.getTime()) {
          let prev = cur;
          while ((cur = next(prev)) && cur.getTime() <= at.getTime()) prev = cur;
          return prev;
        }
        back *= 2;
      }
      return undefined;
    },
  };
}
