/**
 * Status bar: the age of the newest backup ("$(archive) 12m"), in warning colours when the newest
 * full or differential backup is older than its Ofelia schedule allows (plus the grace period), or when
 * nothing runs the Ofelia jobs ("no scheduled backups": the scheduler is not running). The
 * tooltip lists each schedule with its last and next run. The clock is injectable (tests).
 */
import * as vscode from 'vscode';
import { freshnessAt } from '../../core/backups/overview';
import type { Freshness } from '../../core/schedule/freshness';
import type { BackupsController } from '../backups/controller';
import { VIEW, focusCommand } from '../ids';
import { formatDuration } from '../../core/format';
import { describeArchiver } from '../../core/backups/archiver';
import { drillFreshness } from '../../core/backups/drill';
import type { StackFocus } from './focus';
import { describeJobSchedule } from '../../core/schedule/scheduler-state';

export class BackupStatus implements vscode.Disposable {
  readonly item = vscode.window.createStatusBarItem('tsdbOps.backups', vscode.StatusBarAlignment.Left, 48);
  private readonly sub: vscode.Disposable;
  private readonly timer: NodeJS.Timeout;
  /** What is shown (tests read it). */
  state: { text: string; level: Freshness['level'] | 'error'; tooltip: string } | undefined;

  constructor(
    private readonly controller: BackupsController,
    private readonly now: () => Date = () => new Date(),
    private readonly focus?: StackFocus,
  ) {
    this.item.name = 'TimescaleDB Ops: Backup Freshness';
    this.item.command = focusCommand(VIEW.backups);
    this.sub = vscode.Disposable.from(
      controller.onDidChange(() => void this.update()),
      ...(focus ? [focus.onDidChange(() => void this.update())] : []),
    );
    // The age changes with time: re-render from the loaded model each minute (no I/O).
    this.timer = setInterval(() => void this.update(), 60_000);
    this.timer.unref?.();
  }

  /** Renders at `at` (default: the clock). Returns what is shown. */
  update(at: Date = this.now()): BackupStatus['state'] {
    // Several stacks: the one the status bar follows (active editor's folder, or pinned).
    const focused = this.focus?.several ? this.focus.current : undefined;
    const overviews = this.controller.all().filter((o) => !focused || o.stack.infraDir === focused.infraDir);
    const parts = overviews.map((o) => ({
      o,
      f: freshnessAt(o, at, this.controller.config(o.stack).graceMinutes * 60_000),
    }));
    const shown = parts.filter((p) => p.f.level !== 'none');
    if (!shown.length) {
      this.state = undefined;
      this.item.hide();
      return undefined;
    }
    // Restore drills ("verified 2h ago", warning when none passed within tsdbOps.drill.maxAgeDays)
    // and live archiving (error when pg_stat_archiver says it fails).
    const drills = shown.map(({ o }) => ({
      o,
      d: drillFreshness(
        o.drills ?? [],
        vscode.workspace
          .getConfiguration('tsdbOps', vscode.Uri.file(o.stack.workspaceFolder))
          .get<number>('drill.maxAgeDays', 7),
        at,
      ),
    }));
    const drillStale = drills.some((x) => x.d.stale);
    const failingArchive = shown.filter((p) => p.o.archiver?.failing);
    // The level is the one stack status's (core/status: also tsdb-ops status and tsdbOps.backup.info): red when
    // archiving fails or the newest drill failed, yellow for a missed schedule or no recent passing drill.
    const statuses = shown.map((p) => this.controller.status(p.o, at));
    const failedDrills = statuses.filter((st) => st.drills.newest && !st.drills.newest.passed);
    const red = statuses.some((st) => st.level === 'error');
    // Jobs in the compose file, and nothing runs them (Ofelia not created, exited, no scheduler service …).
    const unscheduled = shown.filter((p) => p.o.jobs.length > 0 && p.o.scheduler.scheduling === 'no');
    const warn = statuses.some((st) => st.level === 'warning') || drillStale || unscheduled.length > 0;
    const newest = shown
      .map((p) => p.f)
      .filter((f) => f.newest)
      .sort((a, b) => (a.ageMs ?? 0) - (b.ageMs ?? 0))[0];
    const unknown = shown.some((p) => p.f.unknown);
    const verified = drills.length === 1 ? drills[0]!.d : (drills.find((x) => x.d.stale)?.d ?? drills[0]?.d);
    const text =
      `$(${red ? 'error' : warn ? 'warning' : 'archive'}) ` +
      `${newest?.ageMs !== undefined ? `backup ${formatDuration(newest.ageMs)} ago` : unknown ? 'backups ?' : 'no backup'}` +
      (unscheduled.length ? ' · no scheduled backups' : '') +
      (verified ? ` · ${verified.lastPassed ? verified.text : 'not verified'}` : '');
    const lines: string[] = [];
    for (const { o } of failingArchive) lines.push(`$(error) ${o.stack.projectName}: ${describeArchiver(o.archiver!)}`);
    for (const st of failedDrills)
      lines.push(
        `$(error) ${st.project}: the newest restore drill failed (${st.drills.newest!.source}, ${st.drills.newest!.finished})` +
          `${st.drills.newest!.error ? `: ${st.drills.newest!.error}` : ''}`,
      );
    for (const { o } of unscheduled)
      lines.push(
        `$(warning) ${o.stack.projectName}: ${o.scheduler.headline}` +
          (o.scheduler.start
            ? ` — start it: \`${o.scheduler.start.command}\``
            : ` — ${o.scheduler.detail.at(-1) ?? ''}`),
      );
    for (const { o, d } of drills) {
      const last = d.lastPassed
        ? `last passing restore drill ${d.text.replace('verified ', '')}`
        : 'no restore drill passed yet';
      lines.push(
        d.stale
          ? `$(warning) ${o.stack.projectName}: ${last} — run "Verify Backup by Restoring…"`
          : `$(beaker) ${o.stack.projectName}: ${d.text} (restore drill of ${d.lastPassed?.source})`,
      );
    }
    for (const { o, f } of shown) {
      lines.push(
        `**Backups of ${o.stack.projectName}**${f.newest ? `: newest ${f.newest.name} (${f.newest.kind}), ${formatDuration(f.ageMs ?? 0)} ago` : ': none yet'}`,
      );
      for (const r of f.reasons) lines.push(`$(warning) ${r}`);
      if (f.unknown) lines.push(`$(question) pgBackRest backups unknown: ${f.unknown.split('\n')[0]}`);
      const scheduling = o.jobs.length ? o.scheduler.scheduling : undefined;
      for (const j of f.jobs) {
        const last = j.lastRun
          ? `last run ${j.lastRun.date.toISOString()} (${j.lastRun.skipped ? 'skipped' : j.lastRun.failed ? 'failed' : 'ok'})`
          : 'no recorded run';
        const next = scheduling === 'yes' ? `; next ${j.nextRun?.toISOString() ?? '?'}` : '';
        lines.push(`- ${j.job.name}: ${describeJobSchedule(j.job, scheduling)}; ${last}${next} — ${j.state}`);
      }
    }
    const tooltip = lines.join('\n\n');
    const level = red ? 'error' : warn ? 'warning' : 'ok';
    this.state = { text, level, tooltip };
    this.item.text = text;
    this.item.backgroundColor =
      level === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : warn
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
    const md = new vscode.MarkdownString(tooltip);
    md.supportThemeIcons = true;
    this.item.tooltip = md;
    this.item.accessibilityInformation = {
      label:
        `Newest backup ${newest?.ageMs !== undefined ? formatDuration(newest.ageMs) : 'none'} old` +
        (unscheduled.length ? ', no scheduled backups' : warn ? ', behind schedule' : ''),
    };
    this.item.show();
    return this.state;
  }

  dispose(): void {
    clearInterval(this.timer);
    this.sub.dispose();
    this.item.dispose();
  }
}
