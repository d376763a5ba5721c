/** Backups view: the pgBackRest repository folder and the manual backups on disk (issue 8 adds pgBackRest info). */
import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { StackConfig } from '../../core/infra';
import { formatBytes, listManualBackups } from '../../core/backups/manual';
import { leaf, StackTreeProvider, type Node } from './node';

const KIND_LABEL = { pg_dump: 'pg_dump', pg_dumpall: 'pg_dumpall', pg_basebackup: 'pg_basebackup', other: 'file' } as const;

export class BackupsProvider extends StackTreeProvider {
  protected override invalidChildren(): Node[] {
    return [];
  }

  protected stackChildren(stack: StackConfig): Node[] {
    const repoDir = join(stack.backupsDir, 'backup');
    const repo = new vscode.TreeItem('pgBackRest repository');
    repo.description = existsSync(repoDir) ? repoDir : `${repoDir} (not created yet)`;
    repo.iconPath = new vscode.ThemeIcon('archive');
    repo.tooltip = `Repository folder mounted at /var/lib/pgbackrest/backup in the ${stack.dbService?.name ?? 'database'} container.`;
    repo.resourceUri = vscode.Uri.file(repoDir);

    const manualDir = join(stack.backupsDir, 'manual_backup');
    const manual = new vscode.TreeItem('Manual backups', vscode.TreeItemCollapsibleState.Expanded);
    manual.iconPath = new vscode.ThemeIcon('folder');
    manual.tooltip = manualDir;
    return [
      leaf(repo),
      {
        item: manual,
        children: async () => {
          const list = await listManualBackups(manualDir);
          if (list.length === 0) {
            const none = new vscode.TreeItem('No manual backups yet');
            none.description = manualDir;
            return [leaf(none)];
          }
          return list.map((b) => {
            const item = new vscode.TreeItem(b.name);
            item.description = `${KIND_LABEL[b.kind]} · ${formatBytes(b.size)} · ${b.modified.toLocaleString()}`;
            item.iconPath = new vscode.ThemeIcon(b.isDirectory ? 'file-directory' : 'file-binary');
            item.contextValue = `manualBackup.${b.kind}`;
            item.resourceUri = vscode.Uri.file(b.path);
            return leaf(item);
          });
        },
      },
    ];
  }
}
