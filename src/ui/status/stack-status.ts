/** Status bar: the stack this window operates, and its problems (issue 6 adds the database state). */
import * as vscode from 'vscode';
import type { StackRegistry } from '../stacks';

export class StackStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('tsdbOps.stack', vscode.StatusBarAlignment.Left, 50);
  private readonly sub: vscode.Disposable;

  constructor(private readonly registry: StackRegistry) {
    this.item.name = 'TimescaleDB Ops';
    this.item.command = 'workbench.view.extension.tsdbOps';
    this.sub = registry.onDidChange(() => this.update());
    this.update();
  }

  private update(): void {
    const stacks = this.registry.stacks;
    const problems = this.registry.problems;
    if (stacks.length === 0 && problems.length === 0) {
      this.item.hide();
      return;
    }
    const errors = problems.filter((p) => p.severity === 'error').length;
    const names = stacks.map((s) => s.projectName).join(', ');
    this.item.text = `$(database) TimescaleDB: ${names || 'infra'}${errors ? ` $(error) ${errors}` : ''}`;
    this.item.backgroundColor = errors ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown('**TimescaleDB Ops**\n\n');
    for (const s of stacks) {
      md.appendMarkdown(`- \`${s.projectName}\` in \`${s.infraDir}\`: ${s.compose?.services.length ?? 0} services, database \`${s.dbService?.name ?? '?'}\`\n`);
    }
    if (errors) md.appendMarkdown(`\n$(error) ${errors} problem${errors > 1 ? 's' : ''} in the infra files (see the Problems panel)\n`);
    md.appendMarkdown('\nClick to open the TimescaleDB Ops views.');
    this.item.tooltip = md;
    this.item.accessibilityInformation = {
      label: `TimescaleDB Ops: ${names || 'infra'}${errors ? `, ${errors} problems` : ''}`,
    };
    this.item.show();
  }

  dispose(): void {
    this.sub.dispose();
    this.item.dispose();
  }
}
