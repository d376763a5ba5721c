/**
 * Runs that happened, read from the Ofelia container's own log (for jobs with no saved run): Ofelia logs
 * each execution as `[Job "<name>" (<id>)] Started - <command>`, then its output (`StdOut: …`, `StdErr: …`,
 * or `Output: …` on older versions, continued on the following lines), then
 * `[Job "<name>" (<id>)] Finished in "<Go duration>", failed: <bool>, skipped: <bool>, error: <text>`.
 * The lines are read with the Engine's timestamps (`docker logs --timestamps`), which date each run.
 */
import type { OfeliaRun } from '../logs/ofelia-runs';
import { parseGoDuration } from './cron';

const STAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d) ?(.*)$/;
const JOB = /\[Job "((?:[^"\\]|\\.)*)" \(([^)]*)\)\] (.*)$/;
const FINISHED = /^Finished in "([^"]*)", failed: (true|false), skipped: (true|false), error: (.*)$/;
const OUTPUT = /^(StdOut|StdErr|Output): ?(.*)$/;

/** A run read from the log: its output lines are kept (the view shows them for a failed run). */
export interface LoggedRun extends OfeliaRun {
  readonly output: readonly string[];
  readonly error?: string;
}

interface Open {
  job: string;
  id: string;
  date: Date;
  command?: string;
  output: string[];
}

/** A line's Engine timestamp (nanoseconds cut to milliseconds) and the rest of the line. */
function splitStamp(line: string): { at?: Date; text: string } {
  const m = STAMP.exec(line);
  if (!m) return { text: line };
  const at = new Date(`${m[1]}${(m[2] ?? '').slice(0, 4)}${m[3]}`);
  return { at: Number.isNaN(at.getTime()) ? undefined : at, text: m[4] ?? '' };
}

/** Every finished run in the log lines, oldest first (a run still going, or one whose start fell off the tail, is left out). */
export function parseOfeliaLog(lines: readonly string[]): LoggedRun[] {
  const open = new Map<string, Open>();
  const runs: LoggedRun[] = [];
  let current: Open | undefined;
  for (const raw of lines) {
    const { at, text } = splitStamp(raw);
    const m = JOB.exec(text);
    if (!m) {
      // A continuation of the last job's output (Ofelia logs multi-line output as one message).
      if (current && text.trim()) current.output.push(text);
      continue;
    }
    const [, name, id, msg] = m as unknown as [string, string, string, string];
    const key = `${name}\u0000${id}`;
    current = undefined;
    if (msg.startsWith('Started - ') || msg === 'Started') {
      if (!at) continue;
      const run: Open = { job: name, id, date: at, command: msg.slice('Started - '.length) || undefined, output: [] };
      open.set(key, run);
      continue;
    }
    const run = open.get(key);
    if (!run) continue;
    const out = OUTPUT.exec(msg);
    if (out) {
      if (out[2]) run.output.push(out[2]);
      current = run;
      continue;
    }
    const fin = FINISHED.exec(msg);
    if (!fin) continue;
    open.delete(key);
    let durationMs: number | undefined;
    try {
      durationMs = parseGoDuration(fin[1]!);
    } catch {
      durationMs = undefined;
    }
    const error = fin[4] && fin[4] !== 'none' ? fin[4] : undefined;
    runs.push({
      job: run.job,
      id: run.id,
      date: run.date,
      durationMs,
      failed: fin[2] === 'true',
      skipped: fin[3] === 'true',
      command: run.command,
      errorLine: run.output.find((l) => /ERROR: \[\d+\]/.test(l))?.trim() ?? error,
      output: run.output,
      error,
      source: 'log',
    });
  }
  return runs.sort((a, b) => a.date.getTime() - b.date.getTime());
}
