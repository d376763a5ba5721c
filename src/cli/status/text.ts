/** `tsdb-ops status` for a person: one block per part, the problems first. */
import type { StackStatus } from '../../core/status/model';

export function ageText(seconds: number): string {
  const h = seconds / 3600;
  if (h < 1) return `${Math.max(0, Math.round(seconds / 60))} min`;
  if (h < 48) return `${Math.round(h)} h`;
  return `${Math.round(h / 24)} d`;
}

export function formatStatusText(s: StackStatus, failed: readonly string[]): string {
  const out: string[] = [`${s.project} (${s.infraDir}): ${s.level.toUpperCase()}`];
  for (const r of s.reasons) out.push(`  ! ${r}`);
  const b = s.backups;
  out.push(
    '',
    'Backups',
    `  newest: ${b.newest ? `${b.newest.name} (${b.newest.kind}), ${b.newest.at}, ${ageText(b.newest.ageSeconds)} ago` : 'none'}`,
    `  schedules: ${b.freshness === 'none' ? 'no backup schedule to judge' : b.freshness === 'ok' ? 'on time' : 'missed'}`,
  );
  if (b.repositories.length) out.push(`  repositories: ${b.repositories.join('; ')}`);
  if (b.unknown) out.push(`  pgBackRest info not read: ${b.unknown}`);
  const a = s.archiving;
  out.push('', 'WAL archiving', `  ${a.state}: ${a.text}`);
  if (a.lastArchivedWal) out.push(`  last archived: ${a.lastArchivedWal} at ${a.lastArchivedAt ?? '?'}`);
  if (a.failedCount)
    out.push(`  failures: ${a.failedCount}${a.lastFailedWal ? ` (last ${a.lastFailedWal} at ${a.lastFailedAt})` : ''}`);
  if (a.recoveryPoint) out.push(`  recovery point: ${a.recoveryPoint}`);
  const d = s.drills;
  out.push(
    '',
    'Restore drills',
    `  last pass: ${d.lastPassed ? `${d.lastPassed.finished} (${d.lastPassed.source}), ${ageText(d.lastPassed.ageSeconds)} ago` : 'none'}`,
  );
  if (d.newest && !d.newest.passed)
    out.push(
      `  newest FAILED: ${d.newest.finished} (${d.newest.source})${d.newest.error ? `: ${d.newest.error}` : ''}`,
    );
  out.push(`  ${d.stale ? `stale (none passed within ${d.maxAgeDays} days)` : `fresh (within ${d.maxAgeDays} days)`}`);
  out.push('', 'Migrations');
  const m = s.migrations;
  if (!m) out.push('  not read (no migrations folder)');
  else if ('error' in m) out.push(`  not read: ${m.error}`);
  else
    out.push(
      `  ${m.applied} applied, ${m.pending} pending, ${m.modified} modified, ${m.failed} failed, ${m.missing} missing`,
    );
  if (failed.length) out.push('', 'Fails on:', ...failed.map((f) => `  ${f}`));
  return `${out.join('\n')}\n`;
}
