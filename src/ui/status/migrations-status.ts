/** Status bar: "N pending migrations" (hidden at 0), error colour when a migration is modified or failed. */
import * as vscode from 'vscode';
import type { MigrationsController } from '../migrations/controller';
import { COMMAND, VIEW, focusCommand } from '../ids';
import type { StackFocus } from './focus';

export class MigrationsStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('tsdbOps.migrations', vscode.StatusBarAlignment.Left, 49);
  private readonly sub: vscode.Disposable;

  constructor(
    private readonly controller: MigrationsController,
    private readonly focus?: StackFocus,
  ) {
    this.item.name = 'TimescaleDB Ops: Migrations';
    this.sub = vscode.Disposable.from(
      controller.onDidChange(() => this.update()),
      ...(focus ? [focus.onDidChange(() => this.update())] : []),
    );
  }

  private update(): void {
    let pending = 0;
    let broken = 0;
    // Several stacks: the one the status bar follows (active editor's folder, or pinned).
    const focused = this.focus?.several ? this.focus.current : undefined;
    for (const s of this.controller.all()) {
      if (focused && s.stack.infraDir !== focused.infraDir) continue;
      pending += s.report?.summary.pending ?? 0;
      broken += (s.report?.summary.modified ?? 0) + (s.report?.summary.failed ?? 0) + (s.report?.summary.missing ?? 0);
    }
    if (pending === 0 && broken === 0) {
      this.item.hide();
      return;
    }
    const parts = [
      pending ? `${pending} pending migration${pending > 1 ? 's' : ''}` : '',
      broken ? `${broken} migration problem${broken > 1 ? 's' : ''}` : '',
    ].filter(Boolean);
    this.item.text = `$(${broken ? 'error' : 'arrow-circle-up'}) ${parts.join(', ')}`;
    this.item.backgroundColor = broken ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    this.item.tooltip = broken
      ? 'A migration was modified after it was applied, failed, or is missing: see the Migrations view.'
      : 'Click to apply the pending migrations (asks first).';
    this.item.command = broken ? focusCommand(VIEW.migrations) : COMMAND.migrationsRunPending;
    this.item.accessibilityInformation = { label: `TimescaleDB Ops: ${parts.join(', ')}` };
    this.item.show();
  }

  dispose(): void {
    this.sub.dispose();
    this.item.dispose();
  }
}
