/** Migrations view: the sqlx migration files of the stack (issue 7 adds applied/pending status). */
import * as vscode from 'vscode';
import type { StackConfig } from '../../core/infra';
import { resolveMigrationFiles } from '../../core/migrations/files';
import { leaf, openFileCommand, StackTreeProvider, type Node } from './node';

export class MigrationsProvider extends StackTreeProvider {
  protected override invalidChildren(): Node[] {
    return [];
  }

  protected async stackChildren(stack: StackConfig): Promise<Node[]> {
    const dir = stack.migrationsDir;
    if (!dir) {
      const item = new vscode.TreeItem('No migrations folder');
      item.description = 'database/migrations or migrations, or set tsdbOps.migrations.path';
      item.iconPath = new vscode.ThemeIcon('info');
      item.command = { title: 'Open Settings', command: 'tsdbOps.openSettings' };
      return [leaf(item)];
    }
    let resolved;
    try {
      resolved = await resolveMigrationFiles(dir);
    } catch (e) {
      const item = new vscode.TreeItem(`Cannot read ${dir}`);
      item.description = e instanceof Error ? e.message : String(e);
      item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('problemsErrorIcon.foreground'));
      return [leaf(item)];
    }
    const errors = resolved.errors.map((e) => {
      const item = new vscode.TreeItem(e.fileName);
      item.description = 'invalid version prefix';
      item.tooltip = e.message;
      item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('problemsErrorIcon.foreground'));
      item.command = openFileCommand(`${dir}/${e.fileName}`);
      return leaf(item);
    });
    const files = resolved.files
      .filter((f) => f.type !== 'down')
      .map((f) => {
        const item = new vscode.TreeItem(`${f.version} ${f.description}`);
        item.id = f.path;
        item.description = f.type === 'up' ? 'reversible' : '';
        item.tooltip = new vscode.MarkdownString(`**${f.description}**\n\n- version: \`${f.version}\`\n- file: \`${f.fileName}\``);
        item.iconPath = new vscode.ThemeIcon('file-code');
        item.contextValue = `migration.${f.type}`;
        item.resourceUri = vscode.Uri.file(f.path);
        item.command = openFileCommand(f.path);
        return leaf(item);
      });
    return [...errors, ...files];
  }
}
