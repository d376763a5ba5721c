/** One tree node: what VS Code draws, and (for a parent) how to get its children. */
import * as vscode from 'vscode';
import { ITEM } from '../ids';
import { productionOf } from '../production';
import { basename } from 'node:path';
import type { InfraProblem } from '../../core/infra';
import type { StackRegistry } from '../stacks';
import type { StackConfig } from '../../core/infra';

export interface Node {
  readonly item: vscode.TreeItem;
  children?(): Node[] | Promise<Node[]>;
}

export function leaf(item: vscode.TreeItem): Node {
  return { item };
}

export function openFileCommand(file: string, line?: number): vscode.Command {
  const pos = new vscode.Position(Math.max(0, (line ?? 1) - 1), 0);
  return {
    title: 'Open',
    command: 'vscode.open',
    arguments: [
      vscode.Uri.file(file),
      { selection: new vscode.Range(pos, pos) } satisfies vscode.TextDocumentShowOptions,
    ],
  };
}

export function problemNode(p: InfraProblem): Node {
  const item = new vscode.TreeItem(`${basename(p.file)}${p.line ? `:${p.line}` : ''}: ${p.message}`);
  item.iconPath = new vscode.ThemeIcon(
    p.severity === 'error' ? 'error' : 'warning',
    new vscode.ThemeColor(p.severity === 'error' ? 'problemsErrorIcon.foreground' : 'problemsWarningIcon.foreground'),
  );
  item.tooltip = new vscode.MarkdownString(
    `**${p.message}**\n\n${p.fix ?? ''}\n\n\`${p.file}${p.line ? `:${p.line}` : ''}\``,
  );
  item.contextValue = ITEM.problem;
  item.command = openFileCommand(p.file, p.line);
  return leaf(item);
}

/**
 * A view over the registry's stacks: with one workspace folder the stack's nodes are the roots;
 * with several, one root per folder. Refreshes when the registry changes.
 */
export abstract class StackTreeProvider implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  protected readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly sub: vscode.Disposable;

  constructor(protected readonly registry: StackRegistry) {
    this.sub = registry.onDidChange(() => this.changed.fire(undefined));
  }

  /** The nodes of one stack. */
  protected abstract stackChildren(stack: StackConfig): Node[] | Promise<Node[]>;

  /** Nodes shown when a folder's setting is wrong (default: its problems). */
  protected invalidChildren(problems: readonly InfraProblem[]): Node[] {
    return problems.map(problemNode);
  }

  getTreeItem(node: Node): vscode.TreeItem {
    return node.item;
  }

  async getChildren(node?: Node): Promise<Node[]> {
    if (node) return node.children ? node.children() : [];
    await this.registry.ready;
    const relevant = this.registry.all.filter((d) => d.kind !== 'none');
    if (relevant.length === 1) {
      const d = relevant[0]!;
      return d.kind === 'found'
        ? this.stackChildren(d.stack)
        : d.kind === 'invalid'
          ? this.invalidChildren(d.problems)
          : [];
    }
    return relevant.map((d) => {
      const folder = d.kind === 'found' ? d.stack.workspaceFolder : d.workspaceFolder;
      const item = new vscode.TreeItem(basename(folder), vscode.TreeItemCollapsibleState.Expanded);
      item.iconPath = new vscode.ThemeIcon('root-folder');
      // Each stack says which engine it lives on (a folder may have its own tsdbOps.docker.* settings).
      const engine = d.kind === 'found' ? this.registry.engineOf?.(d.stack) : undefined;
      const onEngine = engine ? ` · ${engine.label}` : '';
      if (d.kind === 'found') item.description = `${d.stack.projectName}${onEngine}`;
      // The production guard's badge (tsdbOps.stacks.production): a distinct icon, colour and word.
      const production = d.kind === 'found' ? productionOf(d.stack, engine?.context) : undefined;
      if (production) {
        item.description = `${d.kind === 'found' ? d.stack.projectName : ''} · production${onEngine}`;
        item.iconPath = new vscode.ThemeIcon('shield', new vscode.ThemeColor('list.errorForeground'));
        item.tooltip = `Production stack (${production.matched}, tsdbOps.stacks.production "${production.glob}"): destructive commands ask for the typed name.`;
        item.contextValue = 'productionStack';
      }
      return {
        item,
        children: () =>
          d.kind === 'found'
            ? this.stackChildren(d.stack)
            : d.kind === 'invalid'
              ? this.invalidChildren(d.problems)
              : [],
      };
    });
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  dispose(): void {
    this.sub.dispose();
    this.changed.dispose();
  }
}
