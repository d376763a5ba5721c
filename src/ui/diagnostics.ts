/** Infra problems as editor diagnostics (Problems panel, squiggles in docker-compose.yaml and .env). */
import * as vscode from 'vscode';
import { statSync } from 'node:fs';
import type { StackRegistry } from './stacks';

export class InfraDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('tsdbOps');
  private readonly sub: vscode.Disposable;

  constructor(private readonly registry: StackRegistry) {
    this.sub = registry.onDidChange(() => this.update());
    this.update();
  }

  private update(): void {
    const byFile = new Map<string, vscode.Diagnostic[]>();
    for (const p of this.registry.problems) {
      // A problem about a folder (a wrong setting) has no editor to show it in; the views show it.
      const isFile = (() => {
        try {
          return statSync(p.file).isFile();
        } catch {
          return false;
        }
      })();
      if (!isFile) continue;
      const line = Math.max(0, (p.line ?? 1) - 1);
      const col = Math.max(0, (p.column ?? 1) - 1);
      const d = new vscode.Diagnostic(
        new vscode.Range(line, col, line, Number.MAX_SAFE_INTEGER),
        p.fix ? `${p.message} ${p.fix}` : p.message,
        p.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning,
      );
      d.source = 'TimescaleDB Ops';
      const list = byFile.get(p.file) ?? [];
      list.push(d);
      byFile.set(p.file, list);
    }
    this.collection.clear();
    for (const [file, list] of byFile) this.collection.set(vscode.Uri.file(file), list);
  }

  dispose(): void {
    this.sub.dispose();
    this.collection.dispose();
  }
}
