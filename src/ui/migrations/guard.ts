/**
 * The guard on applied migrations: a diagnostic on an applied file open in the editor, a warning with
 * ways back when one is saved changed, and Explorer decorations (applied / pending / modified).
 */
import * as vscode from 'vscode';
import { dirname, basename } from 'node:path';
import type { MigrationStatus } from '../../core/migrations/status';
import type { MigrationsController } from './controller';
import { COMMAND } from '../ids';

export class MigrationGuard implements vscode.Disposable, vscode.FileDecorationProvider {
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('tsdbOps.migrations');
  private readonly decorationsChanged = new vscode.EventEmitter<vscode.Uri[] | undefined>();
  readonly onDidChangeFileDecorations = this.decorationsChanged.event;
  private byPath = new Map<string, MigrationStatus>();
  private readonly disposables: vscode.Disposable[];

  constructor(
    private readonly controller: MigrationsController,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables = [
      this.diagnostics,
      this.decorationsChanged,
      vscode.window.registerFileDecorationProvider(this),
      controller.onDidChange(() => this.update()),
      vscode.workspace.onDidOpenTextDocument((d) => this.diagnose(d)),
      vscode.workspace.onDidCloseTextDocument((d) => this.diagnostics.delete(d.uri)),
      vscode.workspace.onDidSaveTextDocument((d) => void this.onSave(d)),
    ];
  }

  private update(): void {
    this.byPath = new Map();
    for (const s of this.controller.all()) {
      for (const m of s.report?.migrations ?? []) if (m.file) this.byPath.set(m.file.path, m);
    }
    this.diagnostics.clear();
    for (const d of vscode.workspace.textDocuments) this.diagnose(d);
    this.decorationsChanged.fire(undefined);
  }

  private diagnose(doc: vscode.TextDocument): void {
    const m = this.byPath.get(doc.uri.fsPath);
    if (!m?.applied) return;
    const when = m.applied.installedOn.toLocaleString();
    const range = new vscode.Range(0, 0, 0, Math.max(1, doc.lineAt(0).text.length));
    const d =
      m.state === 'modified'
        ? new vscode.Diagnostic(
            range,
            `Modified after it was applied on ${when}: sqlx will refuse to run ` +
              `("migration ${m.version} was previously applied but has been modified").` +
              `${m.hint ? ` ${m.hint}` : ''} Restore the applied content and put the change in a new migration.`,
            vscode.DiagnosticSeverity.Error,
          )
        : new vscode.Diagnostic(
            range,
            `Applied on ${when}: applied migrations are immutable; create a new migration for any change.`,
            vscode.DiagnosticSeverity.Information,
          );
    d.source = 'TimescaleDB Ops';
    this.diagnostics.set(doc.uri, [d]);
  }

  private async onSave(doc: vscode.TextDocument): Promise<void> {
    const m = this.byPath.get(doc.uri.fsPath);
    if (!m?.applied) return;
    const { sha384 } = await import('../../core/migrations/checksum');
    if (sha384(Buffer.from(doc.getText(), 'utf8')).equals(m.applied.checksum)) return;
    const choice = await vscode.window.showWarningMessage(
      `${basename(doc.uri.fsPath)} was applied on ${m.applied.installedOn.toLocaleString()}: ` +
        `changing it breaks sqlx ("previously applied but has been modified"). Put the change in a new migration.`,
      'Restore Applied Version',
      'Create New Migration',
    );
    if (choice === 'Restore Applied Version') await this.restore(doc, m);
    if (choice === 'Create New Migration') await vscode.commands.executeCommand(COMMAND.migrationsCreate);
  }

  /** Puts back the committed content when its checksum is the applied one (git), else says how. */
  private async restore(doc: vscode.TextDocument, m: MigrationStatus): Promise<void> {
    const { execa } = await import('execa');
    const cwd = dirname(doc.uri.fsPath);
    const rel = await execa('git', ['ls-files', '--full-name', '--', basename(doc.uri.fsPath)], { cwd, reject: false });
    const path = rel.stdout.trim();
    if (rel.exitCode === 0 && path) {
      const show = await execa('git', ['show', `HEAD:${path}`], {
        cwd,
        reject: false,
        encoding: 'buffer',
        stripFinalNewline: false,
      });
      const { sha384 } = await import('../../core/migrations/checksum');
      if (show.exitCode === 0 && sha384(show.stdout as Uint8Array).equals(m.applied!.checksum)) {
        const edit = new vscode.WorkspaceEdit();
        edit.replace(
          doc.uri,
          new vscode.Range(0, 0, doc.lineCount, 0),
          Buffer.from(show.stdout as Uint8Array).toString('utf8'),
        );
        await vscode.workspace.applyEdit(edit);
        await doc.save();
        this.log.info(`Restored ${doc.uri.fsPath} from git HEAD (its checksum is the applied one).`);
        return;
      }
    }
    void vscode.window.showWarningMessage(
      `No committed version of ${basename(doc.uri.fsPath)} has the applied checksum: undo your edits (Ctrl+Z) or restore it from your history.`,
    );
  }

  provideFileDecoration(uri: vscode.Uri): vscode.FileDecoration | undefined {
    const m = this.byPath.get(uri.fsPath);
    if (!m) return undefined;
    switch (m.state) {
      case 'applied':
        return { badge: '✓', tooltip: `Applied migration (${m.applied!.installedOn.toLocaleString()})` };
      case 'modified':
        return {
          badge: 'M',
          tooltip: 'Applied migration modified after it was applied',
          color: new vscode.ThemeColor('list.errorForeground'),
        };
      case 'pending':
      case 'outOfOrder':
        return { badge: 'P', tooltip: 'Pending migration', color: new vscode.ThemeColor('list.warningForeground') };
      default:
        return undefined;
    }
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
