/**
 * Migration lint in the editor: diagnostics for pending migrations (as you type, debounced, and in Problems),
 * the findings per migration for the Migrations view, quick fixes, and the lint a command or Run Pending asks for.
 * The parser (WebAssembly) loads on the first lint, never at activation.
 */
import * as vscode from 'vscode';
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { StackConfig } from '../../core/infra';
import type { Finding, LintFile, LintReport, RuleSetting, TableFacts } from '../../core/lint/lint';
import type { LocalMigration } from '../../core/migrations/source';
import { connect } from '../../core/postgres/connection';
import { Debouncer } from '../debounce';
import type { MigrationsController, StackMigrations } from '../migrations/controller';

export interface StackLint {
  readonly stack: StackConfig;
  readonly report: LintReport;
  /** The migrations linted, in order. */
  readonly files: readonly LocalMigration[];
  /** Why sizes are missing, when they are. */
  readonly note?: string;
  readonly database?: string;
}

/** The pending migrations of a stack: by the status when it was read, else every file not recorded as applied last time. */
function pendingFiles(state: StackMigrations, lastApplied: Set<string> | undefined): LocalMigration[] {
  const ups = (state.local?.migrations ?? []).filter((m) => m.type !== 'down');
  if (state.report)
    return state.report.migrations
      .filter((m) => (m.state === 'pending' || m.state === 'outOfOrder') && m.file)
      .map((m) => m.file!);
  return lastApplied ? ups.filter((m) => !lastApplied.has(m.version.toString())) : ups;
}

export class LintService implements vscode.Disposable, vscode.CodeActionProvider {
  private readonly collection = vscode.languages.createDiagnosticCollection('tsdbOps.lint');
  private readonly results = new Map<string, StackLint>();
  /** Versions recorded as applied at the last status read, per stack (for when the database is unreachable). */
  private readonly lastApplied = new Map<string, Set<string>>();
  private readonly facts = new Map<string, TableFacts[]>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.collection, this.changed];
  private readonly typing = new Debouncer(() => this.relintAll(false));
  private readonly diagnosticFindings = new WeakMap<vscode.Diagnostic, Finding>();

  constructor(
    private readonly controller: MigrationsController,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables.push(
      controller.onDidChange(() => void this.relintAll(true)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.languageId === 'sql' || e.document.fileName.endsWith('.sql'))
          if (this.stackOf(e.document.fileName)) this.typing.schedule(150);
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('tsdbOps.lint')) void this.relintAll(false);
      }),
      vscode.languages.registerCodeActionsProvider({ scheme: 'file', pattern: '**/*.sql' }, this, {
        providedCodeActionKinds: [vscode.CodeActionKind.QuickFix],
      }),
    );
  }

  private stackOf(file: string): StackMigrations | undefined {
    return this.controller.all().find((s) => s.stack.migrationsDir && dirname(file) === s.stack.migrationsDir);
  }

  private settings(stack: StackConfig) {
    const cfg = vscode.workspace.getConfiguration('tsdbOps', vscode.Uri.file(stack.workspaceFolder));
    return {
      enabled: cfg.get<boolean>('lint.enabled', true),
      largeTableBytes: cfg.get<number>('lint.largeTableBytes', 100 * 1024 * 1024),
      rules: cfg.get<Record<string, RuleSetting>>('lint.rules', {}),
    };
  }

  /** The findings of a stack as they stand (undefined before the first lint). */
  get(stack: StackConfig): StackLint | undefined {
    return this.results.get(stack.infraDir);
  }

  /** Findings of one migration file. */
  findingsOf(path: string): Finding[] {
    for (const r of this.results.values()) {
      const list = r.report.findings.filter((f) => f.file === path);
      if (list.length || r.files.some((m) => m.path === path)) return list;
    }
    return [];
  }

  private async relintAll(readSizes: boolean): Promise<void> {
    try {
      // A stack whose status is still being read is linted when it comes (its pending files are not known yet).
      for (const state of this.controller.all()) if (!state.statusPending) await this.lintStack(state, { readSizes });
      this.publish();
    } catch (e) {
      this.log.warn(`Migration lint failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Lints a stack's pending migrations (open editors' text wins over the file on disk). */
  async lintStack(state: StackMigrations, opts: { readSizes?: boolean; paths?: string[] } = {}): Promise<StackLint> {
    const { stack } = state;
    const settings = this.settings(stack);
    if (state.report)
      this.lastApplied.set(
        stack.infraDir,
        new Set(state.report.migrations.filter((m) => m.applied).map((m) => m.version.toString())),
      );
    let files = settings.enabled ? pendingFiles(state, this.lastApplied.get(stack.infraDir)) : [];
    if (opts.paths) files = (state.local?.migrations ?? []).filter((m) => opts.paths!.includes(m.path));
    let note: string | undefined;
    if (state.report && files.length && (opts.readSizes || !this.facts.has(stack.infraDir))) {
      try {
        const client = await connect(state.target ?? (await this.controller.target(stack)));
        try {
          const { readTableFacts } = await import('../../core/lint/sizes');
          this.facts.set(stack.infraDir, await readTableFacts(client));
        } finally {
          await client.end();
        }
      } catch (e) {
        this.facts.delete(stack.infraDir);
        note = `Table sizes not read: ${e instanceof Error ? e.message : String(e)}`;
      }
    }
    if (!state.report) {
      this.facts.delete(stack.infraDir);
      note = state.error
        ? `Database not reachable (${state.error.message}): linted every file not recorded as applied in the last status read, without sizes.`
        : 'No status read: linted every migration, without sizes.';
    }
    const input: LintFile[] = files.map((m) => {
      const doc = vscode.workspace.textDocuments.find((d) => d.fileName === m.path);
      const sql = doc ? stripBom(doc.getText()) : m.sql;
      return { path: m.path, sql, noTx: sql.startsWith('-- no-transaction') };
    });
    // Nothing pending: no parser load at all (it loads on the first lint that has something to read).
    const { lintMigrations } = await import('../../core/lint/lint');
    const report =
      input.length === 0
        ? { findings: [], files: 0, statements: 0, sizesKnown: !!state.report }
        : await lintMigrations(input, {
            rules: settings.rules,
            largeTableBytes: settings.largeTableBytes,
            tables: state.report ? this.facts.get(stack.infraDir) : undefined,
          });
    const result: StackLint = { stack, report, files, note, database: state.report?.database };
    if (!opts.paths) this.results.set(stack.infraDir, result);
    return result;
  }

  private publish(): void {
    this.collection.clear();
    for (const r of this.results.values()) {
      const byFile = new Map<string, vscode.Diagnostic[]>();
      for (const m of r.files) byFile.set(m.path, []);
      for (const f of r.report.findings) {
        const d = new vscode.Diagnostic(
          new vscode.Range(f.line - 1, f.column - 1, f.endLine - 1, f.endColumn - 1),
          `${f.message} ${f.why} Fix: ${f.fix}`,
          f.severity === 'error'
            ? vscode.DiagnosticSeverity.Error
            : f.severity === 'warning'
              ? vscode.DiagnosticSeverity.Warning
              : vscode.DiagnosticSeverity.Information,
        );
        d.source = 'tsdb-ops-lint';
        d.code = f.rule;
        this.diagnosticFindings.set(d, f);
        byFile.set(f.file, [...(byFile.get(f.file) ?? []), d]);
      }
      for (const [file, list] of byFile) this.collection.set(vscode.Uri.file(file), list);
    }
    this.changed.fire();
  }

  provideCodeActions(document: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext) {
    const actions: vscode.CodeAction[] = [];
    for (const d of context.diagnostics) {
      const f = this.diagnosticFindings.get(d);
      if (!f) continue;
      for (const q of f.quickFixes ?? []) {
        const a = new vscode.CodeAction(q.title, vscode.CodeActionKind.QuickFix);
        a.diagnostics = [d];
        a.edit = new vscode.WorkspaceEdit();
        const offset = document.getText().startsWith('\uFEFF') ? 1 : 0;
        for (const e of q.edits)
          a.edit.replace(
            document.uri,
            new vscode.Range(document.positionAt(e.start + offset), document.positionAt(e.end + offset)),
            e.text,
          );
        if (q.newMigration) {
          const target = newMigrationPath(document.fileName, q.newMigration.description);
          a.edit.createFile(vscode.Uri.file(target), { ignoreIfExists: false });
          a.edit.insert(vscode.Uri.file(target), new vscode.Position(0, 0), q.newMigration.sql);
        }
        actions.push(a);
      }
      const ignore = new vscode.CodeAction(`Ignore ${f.rule} here (with a reason)`, vscode.CodeActionKind.QuickFix);
      ignore.diagnostics = [d];
      ignore.edit = new vscode.WorkspaceEdit();
      ignore.edit.insert(
        document.uri,
        new vscode.Position(f.line - 1, 0),
        `-- tsdb-ops-lint: ignore ${f.rule} <reason>\n`,
      );
      actions.push(ignore);
    }
    return actions;
  }

  dispose(): void {
    this.typing.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

function stripBom(s: string): string {
  return s.startsWith('\uFEFF') ? s.slice(1) : s;
}

/** The next free version after a migration's own (sqlx runs it right after), named like `sqlx migrate add`. */
export function newMigrationPath(file: string, description: string): string {
  const name = basename(file);
  const underscore = name.indexOf('_');
  const version = BigInt(name.slice(0, underscore));
  const width = name.slice(0, underscore).length;
  const suffix = name.endsWith('.up.sql') ? '.up.sql' : '.sql';
  const taken = new Set(readdirSync(dirname(file)).map((n) => n.slice(0, n.indexOf('_'))));
  let v = version + 1n;
  while (taken.has(v.toString().padStart(width, '0')) || taken.has(v.toString())) v++;
  return join(dirname(file), `${v.toString().padStart(width, '0')}_${description.replaceAll(' ', '_')}${suffix}`);
}
