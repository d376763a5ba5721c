/** Drill reports: the Markdown a user reads, the JSON files in the drills folder, freshness. */
import { OpsError } from '../../errors/error';
import { formatBytes } from '../../format';
import { isDiskFull } from '../dump-disk';
import type { DrillReport } from './types';

/** The Markdown a user reads. */
export function drillMarkdown(r: DrillReport): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return [
    `# Restore drill ${r.passed ? 'passed' : 'FAILED'}: ${r.source}`,
    '',
    `- Project: ${r.project}`,
    `- Started: ${r.started}, finished: ${r.finished}`,
    `- RTO: ${s(r.rtoMs)} (${r.phases.map((p) => `${p.name} ${s(p.ms)}`).join(', ')})`,
    `- Recovery point: ${r.recoveryPoint ? `${r.recoveryPoint} (${r.recoveryPointFrom})` : 'unknown'}`,
    `- Image: ${r.image}`,
    ...(r.network && r.network !== 'none' ? [`- Scratch container network: ${r.network}`] : []),
    ...(r.error ? [`- Error: ${r.error}`] : []),
    '',
    '| Check | Result | Details |',
    '|---|---|---|',
    ...r.checks.map((c) => `| ${c.name} | ${c.status} | ${c.message.replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`),
    '',
  ].join('\n');
}

/** A report's file name without the extension: `drill-<started stamp>-<source key>` (the JSON and the Markdown share it). */
export function drillReportBase(r: Pick<DrillReport, 'started' | 'sourceKey'>): string {
  const stamp = r.started.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `drill-${stamp}-${r.sourceKey.replace(/[^a-zA-Z0-9_.-]+/g, '_').slice(0, 80)}`;
}

/** Whether a file name in the drills folder is a report's JSON (what tools and the extension read). */
export function isDrillReportFile(name: string): boolean {
  return /^drill-.*\.json$/.test(name);
}

/**
 * Writes `<stamp>-<source>.json` (for tools) and `.md` (for the user) into the drills folder; returns both paths.
 * Each file is written as `<name>.partial` and renamed when complete, so no half-written report is left; a full
 * disk says so, with the free space there and the drill's own result (the drill itself ran).
 */
export async function writeDrillReport(dir: string, r: DrillReport): Promise<{ json: string; markdown: string }> {
  const { mkdir, writeFile, rename, rm, statfs } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const base = join(dir, drillReportBase(r));
  const files: Array<[string, string]> = [
    [`${base}.json`, `${JSON.stringify(r, null, 2)}\n`],
    [`${base}.md`, drillMarkdown(r)],
  ];
  try {
    await mkdir(dir, { recursive: true });
    for (const [file, text] of files) {
      await writeFile(`${file}.partial`, text);
      await rename(`${file}.partial`, file);
    }
  } catch (e) {
    for (const [file] of files) await rm(`${file}.partial`, { force: true }).catch(() => undefined);
    if (!isDiskFull(e)) throw e;
    for (const [file] of files) await rm(file, { force: true }).catch(() => undefined);
    const free = await statfs(dir).then(
      (s) => formatBytes(Number(s.bavail) * Number(s.bsize)),
      () => 'an unknown amount',
    );
    throw new OpsError(
      'tool-failed',
      `Disk full: the restore drill's report could not be written in ${dir}; ${free} free there now. ` +
        `The drill itself ${r.passed ? `PASSED (RTO ${Math.round(r.rtoMs / 1000)} s)` : `FAILED${r.error ? ` (${r.error})` : ''}`}` +
        '; the live system was not touched and no partial report was kept. Free some space in the backups folder, then ' +
        'run the drill again to keep its report.',
      { facts: { file: dir, hint: 'Free space in the backups folder, then run the drill again.' }, cause: e },
    );
  }
  return { json: `${base}.json`, markdown: `${base}.md` };
}

/** One report file; undefined when it is not a report (yet: a file being written does not parse). */
export async function readDrillReport(file: string): Promise<DrillReport | undefined> {
  const { readFile } = await import('node:fs/promises');
  try {
    const r = JSON.parse(await readFile(file, 'utf8')) as DrillReport;
    return r && r.version === 1 && r.sourceKey && r.started ? r : undefined;
  } catch {
    return undefined; // being written, gone, or not ours
  }
}

/** Every report in the drills folder, newest first (unreadable files are skipped). */
export async function readDrillReports(dir: string): Promise<DrillReport[]> {
  const { readdir } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const names = (await readdir(dir).catch(() => [] as string[])).filter(isDrillReportFile);
  const out: DrillReport[] = [];
  for (const n of names) {
    const r = await readDrillReport(join(dir, n));
    if (r) out.push(r);
  }
  return out.sort(newestFirst);
}

const newestFirst = (a: DrillReport, b: DrillReport) => b.started.localeCompare(a.started);

/**
 * The reports with one more, read from its file (a report written by anyone: the command line, a cron job, another
 * window): it replaces the report of the same file, and the list stays newest first. No folder read.
 */
export function withDrillReport(reports: readonly DrillReport[], r: DrillReport): DrillReport[] {
  const base = drillReportBase(r);
  return [...reports.filter((x) => drillReportBase(x) !== base), r].sort(newestFirst);
}

/** The reports without the one whose file was removed (`drill-….json`, a name or a path). */
export function withoutDrillReport(reports: readonly DrillReport[], file: string): DrillReport[] {
  const base = (file.split(/[\\/]/).pop() ?? file).replace(/\.json$/, '');
  return reports.filter((x) => drillReportBase(x) !== base);
}

/** The newest report per source. */
export function latestPerSource(reports: readonly DrillReport[]): DrillReport[] {
  const seen = new Map<string, DrillReport>();
  for (const r of reports) if (!seen.has(r.sourceKey)) seen.set(r.sourceKey, r);
  return [...seen.values()];
}

/** "verified 2h ago" / a warning when no drill passed within maxAgeDays. */
export function drillFreshness(
  reports: readonly DrillReport[],
  maxAgeDays = 7,
  now = new Date(),
): { lastPassed?: DrillReport; ageMs?: number; stale: boolean; text: string } {
  const lastPassed = reports.find((r) => r.passed);
  if (!lastPassed) return { stale: true, text: 'never verified by a restore drill' };
  const ageMs = now.getTime() - new Date(lastPassed.finished).getTime();
  const h = ageMs / 3_600_000;
  const ago = h < 1 ? `${Math.max(1, Math.round(h * 60))}m` : h < 48 ? `${Math.round(h)}h` : `${Math.round(h / 24)}d`;
  return { lastPassed, ageMs, stale: ageMs > maxAgeDays * 86_400_000, text: `verified ${ago} ago` };
}
