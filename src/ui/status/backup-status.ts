/**
 * Status bar: the age of the newest backup ("$(archive) 12m"), in warning colours when the newest
 * full or differential backup is older than its Ofelia schedule allows (plus the grace period). The
 * tooltip lists each schedule with its last and next run. The clock is injectable (tests).
 */
import * as vscode from 'vscode';
import { freshnessAt } from '../../core/backups/overview';
import type { Freshness } from '../../core/schedule/freshness';
import type { BackupsController } from '../backups/controller';
import { VIEW, focusCommand } from '../ids';
import { formatDuration } from '../../core/format';

export class BackupStatus implements vscode.Disposable {
  readonly item = vscode.window.createStatusBarItem('tsdbOps.backups', vscode.StatusBarAlignment.Left, 48);
  private readonly sub: vscode.Disposable;
  private readonly timer: NodeJS.Timeout;
  /** What is shown (tests read it). */
  state: { text: string; level: Freshness['level']; tooltip: string } | undefined;

  constructor(
    private readonly controller: BackupsController,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.item.name = 'TimescaleDB Ops: Backup Freshness';
    this.item.command = focusCommand(VIEW.backups);
    this.sub = controller.onDidChange(() => void this.update());
    // The age changes with time: re-render from the loaded model each minute (no I/O).
    this.timer = setInterval(() => void this.update(), 60_000);
    this.timer.unref?.();
  }

  /** Renders at `at` (default: the clock). Returns what is shown. */
  update(at: Date = this.now()): BackupStatus['state'] {
    const overviews = this.controller.all();
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
    const warn = shown.some((p) => p.f.level === 'warning');
    const newest = shown
      .map((p) => p.f)
      .filter((f) => f.newest)
      .sort((a, b) => (a.ageMs ?? 0) - (b.ageMs ?? 0))[0];
    const unknown = shown.some((p) => p.f.unknown);
    const text =
      `$(${warn ? 'warning' : 'archive'}) ` +
      `${newest?.ageMs !== undefined ? `backup ${formatDuration(newest.ageMs)} ago` : unknown ? 'backups ?' : 'no backup'}`;
    const lines: string[] = [];
    for (const { o, f } of shown) {
      lines.push(
        `**Backups of ${o.stack.projectName}**${f.newest ? `: newest ${f.newest.name} (${f.newest.kind}), ${formatDuration(f.ageMs ?? 0)} ago` : ': none yet'}`,
      );
      for (const r of f.reasons) lines.push(`$(warning) ${r}`);
      if (f.unknown) lines.push(`$(question) pgBackRest backups unknown: ${f.unknown.split('\n')[0]}`);
      for (const j of f.jobs) {
        const last = j.lastRun
          ? `last run ${j.lastRun.date.toISOString()}${j.lastRun.failed ? ' (failed)' : ''}`
          : j.lastScheduled
            ? `last scheduled ${j.lastScheduled.toISOString()}`
            : 'no run known';
        lines.push(
          `- ${j.job.name}: ${j.job.schedule?.describe ?? j.job.scheduleSpec ?? '?'}; ${last}; next ${j.nextRun?.toISOString() ?? '?'} — ${j.state}`,
        );
      }
    }
    const tooltip = lines.join('\n\n');
    this.state = { text, level: warn ? 'warning' : 'ok', tooltip };
    this.item.text = text;
    this.item.backgroundColor = warn ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    const md = new vscode.MarkdownString(tooltip);
    md.supportThemeIcons = true;
    this.item.tooltip = md;
    this.item.accessibilityInformation = {
      label: `Newest backup ${newest?.ageMs !== undefined ? formatDuration(newest.ageMs) : 'none'} old${warn ? ', behind schedule' : ''}`,
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
