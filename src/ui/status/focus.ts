/**
 * Which stack the status bar items show when a workspace has several: the pinned one ("Pin Stack for the
 * Status Bar…"), else the stack of the active editor's folder, else the one last followed, else the first.
 * Changes come from events (editor switches, discovery, pin), never polling. The pin is kept per workspace.
 */
import * as vscode from 'vscode';
import { sep } from 'node:path';
import type { StackConfig } from '../../core/infra';
import type { StackRegistry } from '../stacks';

const PIN_KEY = 'tsdbOps.statusBar.pinnedStack';

/** Whether `file` is `dir` or inside it. */
function inside(file: string, dir: string): boolean {
  return file === dir || file.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

export class StackFocus implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly subs: vscode.Disposable[] = [this.changed];
  private pinnedDir: string | undefined;
  private followed: string | undefined;

  constructor(
    private readonly registry: StackRegistry,
    private readonly memento?: vscode.Memento,
  ) {
    this.pinnedDir = memento?.get<string>(PIN_KEY);
    this.followEditor(vscode.window.activeTextEditor);
    this.subs.push(
      vscode.window.onDidChangeActiveTextEditor((e) => {
        if (this.followEditor(e)) this.changed.fire();
      }),
      registry.onDidChange(() => {
        this.followEditor(vscode.window.activeTextEditor);
        this.changed.fire();
      }),
    );
  }

  /** The stack the status bar shows (undefined without stacks). */
  get current(): StackConfig | undefined {
    const stacks = this.registry.stacks;
    return this.pinned ?? stacks.find((s) => s.infraDir === this.followed) ?? stacks[0];
  }

  /** The pinned stack, if it is still open. */
  get pinned(): StackConfig | undefined {
    return this.pinnedDir ? this.registry.stacks.find((s) => s.infraDir === this.pinnedDir) : undefined;
  }

  /** Whether the status bar names its stack (more than one open). */
  get several(): boolean {
    return this.registry.stacks.length > 1;
  }

  /** Pins a stack (undefined: follow the active editor again). */
  async pin(stack: StackConfig | undefined): Promise<void> {
    this.pinnedDir = stack?.infraDir;
    await this.memento?.update(PIN_KEY, this.pinnedDir);
    this.changed.fire();
  }

  /** Follows the editor's stack (its folder's, or the one whose infra folder holds the file). True when it moved. */
  private followEditor(editor: vscode.TextEditor | undefined): boolean {
    const uri = editor?.document.uri;
    if (!uri || uri.scheme !== 'file') return false; // output panes, untitled: keep the last one
    const stacks = this.registry.stacks;
    const file = uri.fsPath;
    const folder = vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath;
    const stack =
      stacks.find((s) => inside(file, s.infraDir)) ??
      (folder ? stacks.find((s) => s.workspaceFolder === folder) : undefined);
    if (!stack || stack.infraDir === this.followed) return false;
    this.followed = stack.infraDir;
    return true;
  }

  dispose(): void {
    for (const s of this.subs) s.dispose();
  }
}
