/** Drill reports: the Markdown a user reads, the JSON files in the drills folder, freshness. */
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

/** Writes `<stamp>-<source>.json` (for tools) and `.md` (for the user) into the drills folder; returns both paths. */
export async function writeDrillReport(dir: string, r: DrillReport): Promise<{ json: string; markdown: string }> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  await mkdir(dir, { recursive: true });
  const stamp = r.started.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const base = join(dir, `drill-${stamp}-${r.sourceKey.replace(/[^a-zA-Z0-9_.-]+/g, '_').slice(0, 80)}`);
  await writeFile(`${base}.json`, `${JSON.stringify(r, null, 2)}\n`);
  await writeFile(`${base}.md`, drillMarkdown(r));
  return { json: `${base}.json`, markdown: `${base}.md` };
}

/** Every report in the drills folder, newest first (unreadable files are skipped). */
export async function readDrillReports(dir: string): Promise<DrillReport[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => /^drill-.*\.json$/.test(n));
  const out: DrillReport[] = [];
  for (const n of names) {
    try {
      const r = JSON.parse(await readFile(join(dir, n), 'utf8')) as DrillReport;
      if (r.version === 1 && r.sourceKey && r.started) out.push(r);
    } catch {
      // being written, or not ours
    }
  }
  return out.sort((a, b) => b.started.localeCompare(a.started));
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
