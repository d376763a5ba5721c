/**
 * Ofelia's saved runs (`save-folder`, middlewares/save.go): for each execution
 * `<YYYYMMDD_HHMMSS>_<job>.json` ({Job, Execution}), `.stdout.log` and `.stderr.log`. Also the
 * Ofelia container's own log lines when nothing is saved (`[Job "name" (id)] Started - …`,
 * `… Finished in "…", failed: <bool>, skipped: <bool>, error: …`).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { readTail } from './follower';
import { OpsError } from '../errors/error';

export interface OfeliaRun {
  readonly job: string;
  readonly id?: string;
  /** Execution.Date. */
  readonly date: Date;
  readonly durationMs?: number;
  readonly failed: boolean;
  readonly skipped: boolean;
  readonly command?: string;
  /** pgBackRest's `ERROR: [NNN]: …` found in the output, if any. */
  readonly errorLine?: string;
  /** `<base>` path without extension (add `.json`, `.stdout.log`, `.stderr.log`). */
  readonly base?: string;
  /** Where it was read: a saved run (`save-folder`) or the Ofelia container's log. */
  readonly source?: 'saved' | 'log';
  /** The job's output (the tail), when read: a failed run shows it. */
  readonly output?: readonly string[];
}

const SAVED = /^(\d{8}_\d{6})_(.+)\.json$/;

const runSchema = z.looseObject({
  Job: z
    .looseObject({ Name: z.string().optional(), Command: z.string().optional(), Schedule: z.string().optional() })
    .optional(),
  Execution: z.looseObject({
    ID: z.string().optional(),
    Date: z.string(),
    Duration: z.number().optional(),
    IsRunning: z.boolean().optional(),
    Failed: z.boolean().optional(),
    Skipped: z.boolean().optional(),
  }),
});

/** One saved run from its `.json` file (throws naming the file when it is not Ofelia's shape). */
export async function readSavedRun(jsonPath: string): Promise<OfeliaRun> {
  const text = await readFile(jsonPath, 'utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new OpsError('config', `${jsonPath} is not JSON: ${(e as Error).message}`);
  }
  const r = runSchema.safeParse(raw);
  if (!r.success)
    throw new OpsError(
      'config',
      `${jsonPath} is not an Ofelia saved run: ${r.error.issues[0]?.path.join('.')} ${r.error.issues[0]?.message}`,
    );
  const name = /([^/]+)\.json$/.exec(jsonPath)![1]!;
  const m = SAVED.exec(`${name}.json`);
  const base = jsonPath.slice(0, -'.json'.length);
  const date = new Date(r.data.Execution.Date);
  let errorLine: string | undefined;
  for (const ext of ['.stdout.log', '.stderr.log']) {
    if (errorLine) break;
    const tail = await readTail(`${base}${ext}`, 64 * 1024).catch(() => undefined);
    errorLine = tail?.lines.find((l) => /ERROR: \[\d+\]/.test(l))?.trim();
  }
  return {
    job: r.data.Job?.Name ?? m?.[2] ?? name,
    id: r.data.Execution.ID,
    date: Number.isNaN(date.getTime()) ? stampDate(m?.[1]) : date,
    durationMs: r.data.Execution.Duration !== undefined ? r.data.Execution.Duration / 1e6 : undefined,
    failed: r.data.Execution.Failed === true,
    skipped: r.data.Execution.Skipped === true,
    command: r.data.Job?.Command,
    errorLine,
    base,
    source: 'saved',
  };
}

function stampDate(stamp: string | undefined): Date {
  const m = /^(\d{4})(\d\d)(\d\d)_(\d\d)(\d\d)(\d\d)$/.exec(stamp ?? '');
  return m ? new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) : new Date(0);
}

/** Every saved run in the folder, newest first (unreadable files are skipped and reported). */
export async function listSavedRuns(dir: string): Promise<{ runs: OfeliaRun[]; problems: string[] }> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const runs: OfeliaRun[] = [];
  const problems: string[] = [];
  for (const n of names) {
    if (!SAVED.test(n)) continue;
    try {
      runs.push(await readSavedRun(join(dir, n)));
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  runs.sort((a, b) => b.date.getTime() - a.date.getTime());
  return { runs, problems };
}

/** The newest run of each job. */
export function lastRunByJob(runs: readonly OfeliaRun[]): Map<string, OfeliaRun> {
  const out = new Map<string, OfeliaRun>();
  for (const r of runs) {
    const cur = out.get(r.job);
    if (!cur || cur.date < r.date) out.set(r.job, r);
  }
  return out;
}

/** The text of a saved run for the Ofelia channel: a header line, then stdout and stderr (tails). */
export async function formatSavedRun(run: OfeliaRun, maxBytes = 256 * 1024): Promise<string[]> {
  const status = run.skipped ? 'skipped' : run.failed ? 'FAILED' : 'ok';
  const dur = run.durationMs !== undefined ? ` in ${(run.durationMs / 1000).toFixed(1)}s` : '';
  const out = [`[${run.date.toISOString()}] job ${run.job}: ${status}${dur}${run.command ? ` — ${run.command}` : ''}`];
  if (!run.base) return out;
  for (const [ext, label] of [
    ['.stdout.log', 'stdout'],
    ['.stderr.log', 'stderr'],
  ] as const) {
    const s = await stat(`${run.base}${ext}`).catch(() => undefined);
    if (!s || s.size === 0) continue;
    const t = await readTail(`${run.base}${ext}`, maxBytes);
    out.push(`  ${label}${t.truncated ? ' (last part)' : ''}:`, ...t.lines.map((l) => `    ${l}`));
  }
  return out;
}
