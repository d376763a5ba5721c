/** Status bar: "N pending migrations" (hidden at 0), error colour when a migration is modified or failed. */
import * as vscode from 'vscode';
import type { MigrationsController } from '../migrations/controller';
import { COMMAND, VIEW, focusCommand } from '../ids';

export class MigrationsStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('tsdbOps.migrations', vscode.StatusBarAlignment.Left, 49);
  private readonly sub: vscode.Disposable;

  constructor(private readonly controller: MigrationsController) {
    this.item.name = 'TimescaleDB Ops: Migrations';
    this.sub = controller.onDidChange(() => this.update());
  }

  private update(): void {
    let pending = 0;
    let broken = 0;
    for (const s of this.controller.all()) {
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
