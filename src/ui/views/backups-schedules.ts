/**
 * The Backups view's Schedules node: whether anything runs the Ofelia jobs (a warning when the scheduler
 * is not running: "Ofelia not running — no scheduled backups since …", "Ofelia never started on this
 * stack"), each job with what it would do and the last run that happened (a failed run is a problem item
 * with the job's output), never a schedule's previous time presented as a run.
 *
 * Context values: `schedules` (running), `schedules.off` (not running, with the start action),
 * `schedules.warning` (no scheduler service, unhealthy, restarting, paused, unknown), `schedule.<state>` for a job,
 * `scheduleRun.failed` for a failed last run, `schedule.invalid`.
 */
import * as vscode from 'vscode';
import { ITEM } from '../ids';
import type { StackConfig } from '../../core/infra';
import type { BackupsOverview } from '../../core/backups/overview';
import type { JobFreshness } from '../../core/schedule/freshness';
import type { OfeliaRun } from '../../core/logs/ofelia-runs';
import { describeJobSchedule, type SchedulerState } from '../../core/schedule/scheduler-state';
import { formatDuration } from '../../core/format';
import { leaf, type Node } from './node';

export interface ScheduleNode extends Node {
  readonly stack?: StackConfig;
  readonly job?: JobFreshness;
  readonly scheduler?: SchedulerState;
}

const WARN = new vscode.ThemeColor('problemsWarningIcon.foreground');
const ERR = new vscode.ThemeColor('problemsErrorIcon.foreground');

function md(lines: string[]): vscode.MarkdownString {
  const m = new vscode.MarkdownString(lines.join('\n\n'));
  m.supportThemeIcons = true;
  return m;
}

function when(d: Date): string {
  return d.toLocaleString();
}

function runResult(r: OfeliaRun): string {
  return r.skipped ? 'skipped' : r.failed ? 'failed' : 'ok';
}

/** "last run 12/6/2026, 12:00:00 AM (ok)", or that none was recorded. */
export function lastRunText(r: OfeliaRun | undefined): string {
  return r ? `last run ${when(r.date)} (${runResult(r)})` : 'no recorded run';
}

function schedulerContext(s: SchedulerState): string {
  if (s.status === 'running') return ITEM.schedules;
  return s.start ? ITEM.schedulesOff : ITEM.schedulesWarning;
}

export function schedulesNode(o: BackupsOverview): ScheduleNode {
  const f = o.freshness;
  const s = o.scheduler;
  const item = new vscode.TreeItem('Schedules', vscode.TreeItemCollapsibleState.Expanded);
  item.id = `${o.stack.infraDir}#schedules`;
  const hasJobs = o.jobs.length > 0;
  const off = hasJobs && s.status !== 'running';
  const warn = (off && s.status !== 'unknown') || f.level === 'warning';
  item.iconPath = new vscode.ThemeIcon(warn ? 'warning' : off ? 'question' : 'watch', warn ? WARN : undefined);
  const age = f.newest ? `newest backup ${formatDuration(f.ageMs ?? 0)} ago` : 'no backups yet';
  item.description = off ? s.headline : age;
  item.tooltip = md(
    [
      off ? `**${s.headline}**` : '',
      ...(hasJobs ? s.detail : []),
      ...f.reasons.map((r) => `$(warning) ${r}`),
      off ? `Backups: ${age}.` : '',
      hasJobs ? `Scheduler: looked for ${s.lookedFor}.` : 'Ofelia job-exec labels in the compose file.',
      o.schedulerLogError ?? '',
    ].filter(Boolean),
  );
  item.contextValue = hasJobs ? schedulerContext(s) : ITEM.schedules;
  return { item, stack: o.stack, scheduler: s, children: () => jobNodes(o) };
}

function jobNodes(o: BackupsOverview): Node[] {
  const s = o.scheduler;
  const scheduling = o.jobs.length ? s.scheduling : undefined;
  const nodes: Node[] = o.freshness.jobs.map((j) => jobNode(o, j, scheduling));
  for (const j of o.jobs.filter((x) => x.scheduleError)) {
    const i = new vscode.TreeItem(j.name);
    i.description = 'invalid schedule';
    i.iconPath = new vscode.ThemeIcon('error', ERR);
    i.tooltip = j.scheduleError;
    i.contextValue = ITEM.scheduleInvalid;
    nodes.push({ ...leaf(i), stack: o.stack } as ScheduleNode);
  }
  if (!nodes.length) {
    const none = new vscode.TreeItem('No Ofelia backup jobs');
    none.description = 'ofelia.job-exec.* labels in the compose file';
    nodes.push(leaf(none));
  }
  return nodes;
}

function jobNode(
  o: BackupsOverview,
  j: JobFreshness,
  scheduling: SchedulerState['scheduling'] | undefined,
): ScheduleNode {
  const last = j.lastRun;
  const failed = last?.failed === true;
  const i = new vscode.TreeItem(
    j.job.name,
    failed ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None,
  );
  i.id = `${o.stack.infraDir}#schedule#${j.job.name}`;
  const running = scheduling === 'yes';
  i.description = [
    describeJobSchedule(j.job, scheduling),
    lastRunText(last),
    running && j.nextRun ? `next ${when(j.nextRun)}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  const bad = j.state === 'stale' || failed || scheduling === 'no';
  i.iconPath = new vscode.ThemeIcon(
    failed ? 'error' : bad ? 'warning' : j.state === 'ok' ? 'pass' : 'clock',
    failed ? ERR : bad ? WARN : undefined,
  );
  i.contextValue = ITEM.schedule(j.state);
  const source = last?.source === 'log' ? "Ofelia's log" : 'Ofelia saved run';
  i.tooltip = md(
    [
      `**${j.job.name}** (${j.job.type} on ${j.job.service}): ` +
        `\`${j.job.scheduleSpec ?? ''}\` = ${j.job.schedule?.describe ?? '?'} (${j.job.schedule?.timezone ?? 'UTC'})`,
      `\`${j.job.command ?? ''}\`${j.job.user ? ` as ${j.job.user}` : ''}`,
      scheduling === 'no' ? `$(warning) ${o.scheduler.headline}: this job does not run.` : '',
      last
        ? `Last run (${source}): ${last.date.toISOString()}, ` +
          `${failed ? `**failed**${last.errorLine ? `: ${last.errorLine}` : ''}` : runResult(last)}`
        : 'No recorded run: Ofelia saved none and its log shows none.',
      j.lastScheduled ? `Last scheduled time (the schedule, not a run): ${j.lastScheduled.toISOString()}` : '',
      running && j.nextRun ? `Next: ${j.nextRun.toISOString()}` : '',
      j.newest ? `Newest matching backup: ${j.newest.name} (${j.newest.at.toISOString()})` : 'No matching backup yet.',
    ].filter(Boolean),
  );
  const node: ScheduleNode = { item: i, stack: o.stack, job: j };
  if (!failed || !last) return node;
  return { ...node, children: () => [failedRunNode(o, last)] };
}

/** The failed last run as a problem item, its output in the tooltip. */
function failedRunNode(o: BackupsOverview, r: OfeliaRun): ScheduleNode {
  const i = new vscode.TreeItem(`Last run failed ${when(r.date)}`);
  i.description = r.errorLine ?? r.output?.find((l) => l.trim()) ?? 'no output';
  i.iconPath = new vscode.ThemeIcon('error', ERR);
  i.contextValue = ITEM.scheduleRunFailed;
  const out = (r.output ?? []).slice(-40);
  i.tooltip = md(
    [
      `**${r.job}** failed at ${r.date.toISOString()}${r.durationMs !== undefined ? ` after ${formatDuration(r.durationMs)}` : ''}`,
      r.command ? `\`${r.command}\`` : '',
      out.length ? `\`\`\`\n${out.join('\n')}\n\`\`\`` : 'No output was recorded.',
    ].filter(Boolean),
  );
  return { ...leaf(i), stack: o.stack };
}
