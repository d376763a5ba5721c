/** Migrations view: Problems / Pending / Applied, from the migration controller's status. */
import * as vscode from 'vscode';
import type { StackConfig } from '../../core/infra';
import { formatRustDuration } from '../../core/migrations/sqlx';
import type { MigrationStatus } from '../../core/migrations/status';
import type { LocalMigration } from '../../core/migrations/source';
import type { MigrationsController } from '../migrations/controller';
import { isPasswordProblem } from '../migrations/controller';
import type { StackRegistry } from '../stacks';
import { leaf, openFileCommand, StackTreeProvider, type Node } from './node';
import { COMMAND, ITEM } from '../ids';

const ICON: Record<MigrationStatus['state'], [string, string | undefined]> = {
  applied: ['pass', 'testing.iconPassed'],
  pending: ['circle-large-outline', undefined],
  outOfOrder: ['history', 'problemsWarningIcon.foreground'],
  modified: ['diff-modified', 'problemsErrorIcon.foreground'],
  failed: ['error', 'problemsErrorIcon.foreground'],
  missing: ['question', 'problemsWarningIcon.foreground'],
};

const STATE_TEXT: Record<MigrationStatus['state'], string> = {
  applied: 'applied',
  pending: 'pending',
  outOfOrder: 'pending, older than the newest applied',
  modified: 'modified after it was applied',
  failed: 'failed (success = false)',
  missing: 'applied, file missing',
};

function group(label: string, children: Node[], icon: string, expanded = true): Node {
  const item = new vscode.TreeItem(
    label,
    expanded ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed,
  );
  item.iconPath = new vscode.ThemeIcon(icon);
  item.description = String(children.length);
  item.contextValue = ITEM.migrationGroup(label);
  return { item, children: () => children };
}

/** Lint findings of a migration file, for its mark in the view. */
export type LintMarks = (path: string) => ReadonlyArray<{ severity: string; rule: string; message: string }>;

function lintMark(item: vscode.TreeItem, md: vscode.MarkdownString, findings: ReturnType<LintMarks>): void {
  if (findings.length === 0) return;
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.length - errors;
  const text = [
    errors ? `${errors} lint error${errors > 1 ? 's' : ''}` : '',
    warnings ? `${warnings} lint warning${warnings > 1 ? 's' : ''}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  item.description = [item.description, text].filter(Boolean).join(' · ');
  item.iconPath = new vscode.ThemeIcon(
    errors ? 'error' : 'warning',
    new vscode.ThemeColor(errors ? 'problemsErrorIcon.foreground' : 'problemsWarningIcon.foreground'),
  );
  md.appendMarkdown(`\n**Lint** (${text}):\n`);
  for (const f of findings.slice(0, 10)) md.appendMarkdown(`- \`${f.rule}\` ${f.message}\n`);
}

function migrationNode(m: MigrationStatus, marks?: LintMarks): Node {
  const item = new vscode.TreeItem(`${m.version} ${m.description}`);
  const [icon, color] = ICON[m.state];
  item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
  item.id = `${m.state}:${m.version}`;
  const parts: string[] = [];
  if (m.applied && m.state !== 'failed') {
    parts.push(m.applied.installedOn.toLocaleString());
    if (m.applied.executionTimeNs >= 0n) parts.push(formatRustDuration(m.applied.executionTimeNs));
  }
  if (m.state !== 'applied' && m.state !== 'pending') parts.push(STATE_TEXT[m.state]);
  if (m.file?.noTx) parts.push('no transaction');
  item.description = parts.join(' · ');
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${m.version}** ${m.description}\n\n- state: ${STATE_TEXT[m.state]}\n`);
  if (m.applied)
    md.appendMarkdown(
      `- applied: ${m.applied.installedOn.toISOString()}${m.applied.executionTimeNs >= 0n ? ` in ${formatRustDuration(m.applied.executionTimeNs)}` : ''}\n`,
    );
  if (m.file) md.appendMarkdown(`- file: \`${m.file.fileName}\`${m.down ? ` (down: \`${m.down.fileName}\`)` : ''}\n`);
  if (m.hint) md.appendMarkdown(`\n$(lightbulb) ${m.hint}\n`);
  if (m.detail) md.appendCodeblock(m.detail, 'text');
  if (marks && m.file && (m.state === 'pending' || m.state === 'outOfOrder')) lintMark(item, md, marks(m.file.path));
  item.tooltip = md;
  item.contextValue = ITEM.migration(m.state, !!m.down);
  if (m.file) {
    item.resourceUri = vscode.Uri.file(m.file.path);
    item.command = openFileCommand(m.file.path);
  }
  return leaf(item);
}

function localNode(m: LocalMigration, marks?: LintMarks, asking?: string): Node {
  const item = new vscode.TreeItem(`${m.version} ${m.description}`);
  item.iconPath = new vscode.ThemeIcon('file-code');
  item.description = asking ? `status: asking ${asking}…` : 'status unknown';
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${m.version}** ${m.description}\n`);
  if (marks) lintMark(item, md, marks(m.path));
  item.tooltip = md;
  item.resourceUri = vscode.Uri.file(m.path);
  item.command = openFileCommand(m.path);
  item.contextValue = ITEM.migrationUnknown;
  return leaf(item);
}

export class MigrationsProvider extends StackTreeProvider {
  private readonly controllerSub: vscode.Disposable;
  private lintSub: vscode.Disposable | undefined;
  private marks: LintMarks | undefined;

  constructor(
    registry: StackRegistry,
    private readonly controller: MigrationsController,
  ) {
    super(registry);
    this.controllerSub = controller.onDidChange(() => this.refresh());
  }

  /** Shows a lint mark on each pending migration, refreshed when the lint changes. */
  setLint(marks: LintMarks, onDidChange: vscode.Event<void>): void {
    this.marks = marks;
    this.lintSub = onDidChange(() => this.refresh());
  }

  protected override invalidChildren(): Node[] {
    return [];
  }

  protected stackChildren(stack: StackConfig): Node[] {
    if (!stack.migrationsDir) {
      const item = new vscode.TreeItem('No migrations folder');
      item.description = 'database/migrations or migrations, or set tsdbOps.migrations.path';
      item.iconPath = new vscode.ThemeIcon('info');
      item.command = { title: 'Open Settings', command: COMMAND.openSettings };
      return [leaf(item)];
    }
    const state = this.controller.get(stack);
    if (!state) {
      const item = new vscode.TreeItem('Reading migrations…');
      item.iconPath = new vscode.ThemeIcon('loading~spin');
      return [leaf(item)];
    }
    const problems: Node[] = [];
    for (const e of state.report?.fileErrors ?? state.local?.errors ?? []) {
      const item = new vscode.TreeItem(e.message);
      item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('problemsErrorIcon.foreground'));
      problems.push(leaf(item));
    }
    if (state.error) {
      const item = new vscode.TreeItem(
        isPasswordProblem(state.error) ? 'Database password needed' : 'Database not reachable',
      );
      item.description = state.error.message;
      item.tooltip = state.error.message;
      item.iconPath = new vscode.ThemeIcon('debug-disconnect', new vscode.ThemeColor('problemsWarningIcon.foreground'));
      item.contextValue = ITEM.migrationsConnectionError;
      item.command = isPasswordProblem(state.error)
        ? { title: 'Enter Password', command: COMMAND.migrationsSetPassword }
        : { title: 'Retry', command: COMMAND.migrationsRefresh };
      problems.push(leaf(item));
    }
    if (!state.report) {
      // The files first (statusPending: the database is being asked), or the files alone (it could not be read).
      const files = (state.local?.migrations ?? [])
        .filter((m) => m.type !== 'down')
        .map((m) => localNode(m, this.marks, state.statusPending ? 'the database' : undefined));
      return [...problems, ...files];
    }
    const list = state.report.migrations;
    problems.push(
      ...list
        .filter((m) => m.state === 'modified' || m.state === 'failed' || m.state === 'missing')
        .map((m) => migrationNode(m)),
    );
    const pending = list
      .filter((m) => m.state === 'pending' || m.state === 'outOfOrder')
      .map((m) => migrationNode(m, this.marks));
    const applied = list
      .filter((m) => m.state === 'applied')
      .map((m) => migrationNode(m))
      .reverse();
    return [
      ...(problems.length ? [group('Problems', problems, 'warning')] : []),
      group('Pending', pending, 'clock'),
      group('Applied', applied, 'check-all', pending.length === 0 || applied.length < 50),
    ];
  }

  override dispose(): void {
    this.controllerSub.dispose();
    this.lintSub?.dispose();
    super.dispose();
  }
}
