/** Migration commands: status, run pending, create, revert, copy the sqlx CLI command, set the password. */
import * as vscode from 'vscode';
import { relative } from 'node:path';
import type { StackConfig } from '../../core/infra';
import { CancelledError } from '../../core/operations/cancel';
import type { StatusReport } from '../../core/migrations/migrator';
import { MigrateError } from '../../core/migrations/sqlx';
import { createMigration } from '../../core/migrations/source';
import { runMigrationCommand, splitCommandLine } from '../../core/migrations/command-runner';
import {
  ConnectionError,
  createDatabase,
  databaseUrl,
  describeTarget,
  type ConnectionTarget,
} from '../../core/postgres/connection';
import type { MigrationStatus } from '../../core/migrations/status';
import type { MigrationsController } from '../migrations/controller';
import { isPasswordProblem } from '../migrations/controller';
import type { StackRegistry } from '../stacks';
import { pickStack, requireTrust } from './args';
import { COMMAND } from '../ids';
import { errorText } from '../../core/format';
import type { LintService } from '../lint/service';

export interface MigrationCommandContext {
  readonly registry: StackRegistry;
  readonly controller: MigrationsController;
  readonly log: vscode.LogOutputChannel;
  readonly output: vscode.OutputChannel;
  readonly register: (id: string, handler: (args?: Record<string, unknown>) => unknown) => vscode.Disposable;
  /** Run Pending stops on error-level lint findings unless `force: true`. */
  readonly lint?: LintService;
}

/** A migration as commands return it (JSON-friendly: versions as strings). */
function toResult(m: MigrationStatus) {
  return {
    version: m.version.toString(),
    description: m.description,
    state: m.state,
    file: m.file?.path,
    installedOn: m.applied?.installedOn.toISOString(),
    executionTimeNs: m.applied ? m.applied.executionTimeNs.toString() : undefined,
    hint: m.hint,
  };
}

function parseVersion(v: unknown, name: string): bigint | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'bigint') return v;
  if ((typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && /^[+-]?\d+$/.test(v)))
    return BigInt(v);
  throw new Error(`${name} must be a migration version (an integer), not ${JSON.stringify(v)}.`);
}

export function registerMigrationCommands(ctx: MigrationCommandContext): vscode.Disposable[] {
  const { controller, output } = ctx;

  /**
   * Reads the status (one connection) and returns it with its connection target. Interactive use gets a
   * way past a missing password (asked once, kept in SecretStorage) or a missing database (created on request).
   */
  async function readyState(
    stack: StackConfig,
    interactive: boolean,
  ): Promise<{ target: ConnectionTarget; report?: StatusReport }> {
    await controller.refresh();
    let state = controller.get(stack);
    const e = state?.error;
    if (e) {
      if (!interactive) throw e;
      if (isPasswordProblem(e)) {
        if (!(await controller.askPassword(stack))) throw new CancelledError();
      } else if (e instanceof ConnectionError && e.kind === 'noDatabase') {
        const choice = await vscode.window.showWarningMessage(e.message, { modal: true }, 'Create Database');
        if (choice !== 'Create Database') throw new CancelledError();
        await createDatabase(e.target);
        ctx.log.info(`Created database "${e.target.database}" at ${describeTarget(e.target)}.`);
      } else {
        throw e;
      }
      await controller.refresh();
      state = controller.get(stack);
      if (state?.error) throw state.error;
    }
    // Without a local migrations folder there is no status, but the `command` runner can still run.
    return { target: state?.target ?? (await controller.target(stack)), report: state?.report };
  }

  /** Error-level lint findings of the pending migrations (undefined: none, forced, or no lint). */
  async function lintGate(stack: StackConfig, pending: MigrationStatus[], force: boolean) {
    const state = controller.get(stack);
    const paths = pending.flatMap((m) => (m.file ? [m.file.path] : []));
    if (!ctx.lint || force || !state || paths.length === 0) return undefined;
    const r = await ctx.lint.lintStack(state, { paths });
    const errors = r.report.findings.filter((f) => f.severity === 'error');
    return errors.length ? errors : undefined;
  }

  /** Shows a migration failure with a way to its position in the file, and rethrows it (flagged as shown). */
  function showFailure(e: unknown): never {
    if (e instanceof MigrateError && e.position) {
      const pos = e.position;
      void vscode.window
        .showErrorMessage(
          `${e.message} (${relative(vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '', pos.file)}:${pos.line}:${pos.column})`,
          'Open File',
        )
        .then((a) => {
          if (a === 'Open File') {
            const p = new vscode.Position(pos.line - 1, pos.column - 1);
            void vscode.window.showTextDocument(vscode.Uri.file(pos.file), { selection: new vscode.Range(p, p) });
          }
        });
      Object.assign(e, { shown: true });
    }
    throw e;
  }

  return [
    ctx.register(COMMAND.migrationsRefresh, async () => {
      await controller.refresh();
      return {
        stacks: controller
          .all()
          .map((s) => ({ folder: s.stack.workspaceFolder, summary: s.report?.summary, error: s.error?.message })),
      };
    }),

    ctx.register(COMMAND.migrationsStatus, async (args) => {
      const stack = await pickStack(ctx.registry, args);
      if (!stack) return undefined;
      await controller.refresh();
      const s = controller.get(stack);
      if (s?.error) throw s.error;
      if (!s?.report) throw new Error(`No migrations folder for ${stack.projectName}: set tsdbOps.migrations.path.`);
      return {
        database: s.report.database,
        tableExists: s.report.tableExists,
        summary: s.report.summary,
        migrations: s.report.migrations.map(toResult),
        fileErrors: s.report.fileErrors.map((e) => e.message),
      };
    }),

    ctx.register(COMMAND.migrationsRunPending, async (args) => {
      requireTrust('Running migrations');
      const stack = await pickStack(ctx.registry, args);
      if (!stack) return undefined;
      const interactive = args === undefined;
      const target = parseVersion(args?.target, 'target');
      const cfg = vscode.workspace.getConfiguration('tsdbOps', vscode.Uri.file(stack.workspaceFolder));
      const mode = cfg.get<'builtin' | 'command'>('migrations.runner', 'builtin');
      const { target: conn, report } = await readyState(stack, interactive);
      const pending = (report?.migrations ?? []).filter(
        (m) => (m.state === 'pending' || m.state === 'outOfOrder') && (target === undefined || m.version <= target),
      );
      const problems = (report?.summary.modified ?? 0) + (report?.summary.failed ?? 0) + (report?.summary.missing ?? 0);
      // With a modified, failed or missing migration, run anyway: sqlx's checks report it, as `sqlx migrate run` would.
      if (mode === 'builtin' && pending.length === 0 && problems === 0) {
        if (interactive) void vscode.window.showInformationMessage('No pending migrations.');
        return { applied: [], mode };
      }
      const lintErrors = await lintGate(stack, pending, args?.force === true);
      if (lintErrors) {
        const list = lintErrors.map((f) => `• ${relative(stack.migrationsDir ?? '', f.file)}: ${f.message}`).join('\n');
        if (!interactive)
          throw new Error(
            `Run Pending stopped: ${lintErrors.length} error-level lint finding(s) in the pending migrations ` +
              `(pass { force: true } to run anyway):\n${list}`,
          );
        const choice = await vscode.window.showWarningMessage(
          `${lintErrors.length} error-level lint finding(s) in the pending migrations:\n\n${list}`,
          { modal: true },
          'Run Anyway',
          'Show Problems',
        );
        if (choice === 'Show Problems') await vscode.commands.executeCommand('workbench.actions.view.problems');
        if (choice !== 'Run Anyway') return undefined;
      }
      if (interactive) {
        const list = pending
          .map((m) => `• ${m.version} ${m.description}${m.file?.noTx ? ' (no transaction)' : ''}`)
          .join('\n');
        const what =
          mode === 'builtin'
            ? `Apply ${pending.length} pending migration${pending.length > 1 ? 's' : ''} to ${describeTarget(conn)}?\n\n${list}`
            : `Run "${cfg.get<string>('migrations.command')}" with DATABASE_URL=${describeTarget(conn)}?\n\n${list}`;
        const ok = await vscode.window.showWarningMessage(what, { modal: true }, 'Apply');
        if (ok !== 'Apply') return undefined;
      } else if (args?.confirm !== true) {
        throw new Error('tsdbOps.migrations.runPending changes the database: pass { confirm: true }.');
      }
      output.show(true);
      output.appendLine(
        `\n[${new Date().toISOString()}] ${mode === 'builtin' ? 'sqlx migrate run (built in)' : 'command runner'}` +
          ` on ${describeTarget(conn)}${target !== undefined ? ` --target-version ${target}` : ''}`,
      );
      try {
        return await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: 'Running migrations', cancellable: true },
          async (progress, token) => {
            const ac = new AbortController();
            token.onCancellationRequested(() => ac.abort());
            if (mode === 'command') {
              const line = cfg.get<string>('migrations.command', 'cargo run --bin tables_migration');
              const argv = splitCommandLine(line);
              output.appendLine(
                `$ ${argv.join(' ')}   (cwd ${stack.workspaceFolder}, DATABASE_URL=${describeTarget(conn)})`,
              );
              const r = await runMigrationCommand({
                argv,
                cwd: stack.workspaceFolder,
                databaseUrl: databaseUrl(conn),
                signal: ac.signal,
                onLine: (l) => output.appendLine(l),
              });
              await controller.refresh();
              if (r.cancelled) throw new CancelledError();
              if (r.exitCode !== 0)
                throw new Error(
                  `"${line}" exited with code ${r.exitCode}: see the "TimescaleDB Ops: Migrations" output.`,
                );
              return { mode, exitCode: r.exitCode, summary: controller.get(stack)?.report?.summary };
            }
            const r = await controller.migrator(stack, conn).run({
              target,
              signal: ac.signal,
              onLine: (l) => {
                output.appendLine(l);
                progress.report({ message: l });
              },
            });
            await controller.refresh();
            return {
              mode,
              applied: r.applied.map((a) => ({
                version: a.version.toString(),
                description: a.description,
                elapsedMs: Number(a.elapsedNs) / 1e6,
              })),
            };
          },
        );
      } catch (e) {
        output.appendLine(`error: ${errorText(e)}`);
        await controller.refresh();
        if (e instanceof CancelledError && interactive) return undefined;
        return showFailure(e);
      }
    }),

    ctx.register(COMMAND.migrationsCreate, async (args) => {
      const stack = await pickStack(ctx.registry, args);
      if (!stack) return undefined;
      if (!stack.migrationsDir)
        throw new Error(`No migrations folder for ${stack.projectName}: set tsdbOps.migrations.path.`);
      let name = typeof args?.name === 'string' ? args.name : undefined;
      if (!name) {
        if (args) throw new Error('tsdbOps.migrations.create needs { name }, e.g. { name: "add sensor kind" }.');
        name = await vscode.window.showInputBox({
          title: 'New migration',
          prompt: 'Description (sqlx turns spaces into _ in the file name)',
          placeHolder: 'add sensor kind',
          validateInput: (v) => (v.trim() ? undefined : 'A description is needed.'),
        });
        if (!name) return undefined;
      }
      const created = await createMigration(stack.migrationsDir, name, {
        reversible: typeof args?.reversible === 'boolean' ? args.reversible : undefined,
      });
      ctx.log.info(`Created ${created.files.join(', ')} (${created.versioning} versioning).`);
      if (args?.open !== false) await vscode.window.showTextDocument(vscode.Uri.file(created.files[0]!));
      controller.schedule(0);
      return created;
    }),

    ctx.register(COMMAND.migrationsRevert, async (args) => {
      requireTrust('Reverting a migration');
      const stack = await pickStack(ctx.registry, args);
      if (!stack) return undefined;
      const interactive = args === undefined;
      const { target: conn, report } = await readyState(stack, interactive);
      const candidate = (report?.migrations ?? []).filter((m) => m.applied && m.down && m.state !== 'failed').at(-1);
      if (!candidate) {
        if (interactive)
          void vscode.window.showInformationMessage(
            'No migrations available to revert (none applied has a .down.sql file).',
          );
        return { reverted: [] };
      }
      if (interactive) {
        const ok = await vscode.window.showWarningMessage(
          `Revert ${candidate.version} ${candidate.description} on ${describeTarget(conn)}?\n\n` +
            `Runs ${candidate.down!.fileName} and removes its row from _sqlx_migrations.`,
          { modal: true },
          'Revert',
        );
        if (ok !== 'Revert') return undefined;
      } else if (args?.confirm !== true) {
        throw new Error('tsdbOps.migrations.revert changes the database: pass { confirm: true }.');
      }
      output.appendLine(`\n[${new Date().toISOString()}] sqlx migrate revert (built in) on ${describeTarget(conn)}`);
      try {
        const r = await controller.migrator(stack, conn).revert({ onLine: (l) => output.appendLine(l) });
        await controller.refresh();
        return { reverted: r.reverted.map((a) => ({ version: a.version.toString(), description: a.description })) };
      } catch (e) {
        output.appendLine(`error: ${errorText(e)}`);
        await controller.refresh();
        return showFailure(e);
      }
    }),

    ctx.register(COMMAND.migrationsCopyCliCommand, async (args) => {
      const stack = await pickStack(ctx.registry, args);
      if (!stack) return undefined;
      const action = args?.action === 'info' || args?.action === 'revert' ? args.action : 'run';
      const conn = await controller.target(stack).catch(() => undefined);
      const source = stack.migrationsDir ? relative(stack.workspaceFolder, stack.migrationsDir) || '.' : 'migrations';
      // The password never goes to the clipboard: sqlx reads it from DATABASE_URL in .env or the environment.
      const url = conn ? describeTarget(conn) : '$DATABASE_URL';
      const command = `sqlx migrate ${action} --source ${source} --database-url '${url}'`;
      await vscode.env.clipboard.writeText(command);
      if (!args) void vscode.window.showInformationMessage(`Copied: ${command}`);
      return { command };
    }),

    ctx.register(COMMAND.migrationsSetPassword, async (args) => {
      const stack = await pickStack(ctx.registry, args);
      if (!stack) return undefined;
      const pw = typeof args?.password === 'string' ? args.password : undefined;
      if (args && pw === undefined) throw new Error('tsdbOps.migrations.setPassword needs { password }.');
      const t = await controller.askPassword(stack, pw);
      await controller.refresh();
      return t ? { stored: true, target: describeTarget(t) } : undefined;
    }),
  ];
}
