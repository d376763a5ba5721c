/** `tsdbOps.migrations.lint`: the findings of the pending migrations (or of the files named) as JSON. */
import * as vscode from 'vscode';
import { isAbsolute, join } from 'node:path';
import type { Finding } from '../../core/lint/lint';
import type { MigrationsController } from '../migrations/controller';
import type { LintService } from '../lint/service';
import type { StackRegistry } from '../stacks';
import { pickStack } from './args';
import { COMMAND } from '../ids';
import { OpsError } from '../../core/errors/error';

export interface LintCommandContext {
  readonly registry: StackRegistry;
  readonly controller: MigrationsController;
  readonly lint: LintService;
  readonly register: (id: string, handler: (args?: Record<string, unknown>) => unknown) => vscode.Disposable;
}

/** A finding as commands return it. */
export function findingResult(f: Finding) {
  return {
    rule: f.rule,
    severity: f.severity,
    category: f.category,
    message: f.message,
    why: f.why,
    fix: f.fix,
    file: f.file,
    line: f.line,
    column: f.column,
    table: f.table,
    tableFacts: f.tableFacts,
    quickFixes: f.quickFixes?.map((q) => q.title),
  };
}

export function registerLintCommands(ctx: LintCommandContext): vscode.Disposable[] {
  return [
    ctx.register(COMMAND.migrationsLint, async (args) => {
      const stack = await pickStack(ctx.registry, args);
      if (!stack) return undefined;
      if (!stack.migrationsDir)
        throw new OpsError('config', `No migrations folder for ${stack.projectName}: set tsdbOps.migrations.path.`);
      const files = args?.files;
      if (files !== undefined && !(Array.isArray(files) && files.every((f) => typeof f === 'string')))
        throw new OpsError(
          'config',
          'tsdbOps.migrations.lint: files must be an array of paths (absolute or in the migrations folder).',
        );
      await ctx.controller.refresh();
      const state = ctx.controller.get(stack) ?? { stack };
      const paths = (files as string[] | undefined)?.map((f) => (isAbsolute(f) ? f : join(stack.migrationsDir!, f)));
      const r = await ctx.lint.lintStack(state, { readSizes: true, paths });
      const result = {
        database: r.database,
        sizesKnown: r.report.sizesKnown,
        note: r.note,
        files: r.files.map((m) => m.path),
        statements: r.report.statements,
        errors: r.report.findings.filter((f) => f.severity === 'error').length,
        warnings: r.report.findings.filter((f) => f.severity === 'warning').length,
        findings: r.report.findings.map(findingResult),
      };
      if (!args) {
        await vscode.commands.executeCommand('workbench.actions.view.problems');
        void vscode.window.showInformationMessage(
          `Migration lint: ${result.errors} error(s), ${result.warnings} warning(s) in ${result.files.length} pending file(s).` +
            (r.note ? ` ${r.note}` : ''),
        );
      }
      return result;
    }),
  ];
}
