/**
 * Run Pending and Revert: the two migration commands that change the live database. Both are declared
 * live (`database` scope) in ./table/migrations.ts: with args `confirm: true` is checked before they run,
 * and on a production stack the database's name (confirmLive); interactively a production stack asks
 * for the typed name instead of the modal.
 */
import * as vscode from 'vscode';
import { relative } from 'node:path';
import type { StackConfig } from '../../core/infra';
import { CancelledError } from '../../core/operations/cancel';
import type { StatusReport } from '../../core/migrations/migrator';
import { folderError } from '../../core/migrations/source';
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
import type { LintService } from '../lint/service';
import { pickStack, requireTrust } from './args';
import { CancelledByUser, confirmLive, type Args } from './register';
import { COMMAND } from '../ids';
import { errorText } from '../../core/format';
import type { OperationQueue } from '../../core/operations/queue';
import { runStackOperation, type OperationOutput } from '../operation';
import { OpsError } from '../../core/errors/error';

export interface MigrationCommandContext {
  readonly registry: StackRegistry;
  readonly controller: MigrationsController;
  readonly log: vscode.LogOutputChannel;
  readonly output: vscode.OutputChannel;
  readonly register: (id: string, handler: (args?: Record<string, unknown>) => unknown) => vscode.Disposable;
  /** Run Pending stops on error-level lint findings unless `force: true`. */
  readonly lint?: LintService;
  /** The stack's operation queue (a migration run waits for, and blocks, the stack's other long operations). */
  readonly queueFor: (stack: StackConfig) => OperationQueue;
}

type Mode = 'builtin' | 'command';

/**
 * Reads the status (one connection) and returns it with its connection target. Interactive use gets a
 * way past a missing password (asked once, kept in SecretStorage) or a missing database (created on request).
 */
export async function readyState(
  ctx: MigrationCommandContext,
  stack: StackConfig,
  interactive: boolean,
): Promise<{ target: ConnectionTarget; report?: StatusReport }> {
  const { controller } = ctx;
  await controller.refresh();
  let state = controller.get(stack);
  const e = state?.error;
  if (e) {
    if (!interactive) throw e;
    if (isPasswordProblem(e)) {
      if (!(await controller.askPassword(stack))) throw new CancelledError();
    } else if (e instanceof ConnectionError && e.failure === 'noDatabase') {
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
async function lintGate(ctx: MigrationCommandContext, stack: StackConfig, pending: MigrationStatus[], force: boolean) {
  const state = ctx.controller.get(stack);
  const paths = pending.flatMap((m) => (m.file ? [m.file.path] : []));
  if (!ctx.lint || force || !state || paths.length === 0) return undefined;
  const r = await ctx.lint.lintStack(state, { paths });
  const errors = r.report.findings.filter((f) => f.severity === 'error');
  return errors.length ? errors : undefined;
}

/** Lint findings stop Run Pending: with args an error (unless force), interactively a choice. */
async function checkLint(ctx: MigrationCommandContext, stack: StackConfig, pending: MigrationStatus[], args: Args) {
  const lintErrors = await lintGate(ctx, stack, pending, args?.['force'] === true);
  if (!lintErrors) return;
  const list = lintErrors.map((f) => `• ${relative(stack.migrationsDir ?? '', f.file)}: ${f.message}`).join('\n');
  if (args)
    throw new OpsError(
      'refused',
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
  if (choice !== 'Run Anyway') throw new CancelledByUser();
}

/** The runner `command`: the configured command line with DATABASE_URL, its lines in the output. */
async function runCommandRunner(
  ctx: MigrationCommandContext,
  stack: StackConfig,
  conn: ConnectionTarget,
  signal: AbortSignal,
) {
  const cfg = vscode.workspace.getConfiguration('tsdbOps', vscode.Uri.file(stack.workspaceFolder));
  const line = cfg.get<string>('migrations.command', 'cargo run --bin tables_migration');
  const argv = splitCommandLine(line);
  ctx.output.appendLine(`$ ${argv.join(' ')}   (cwd ${stack.workspaceFolder}, DATABASE_URL=${describeTarget(conn)})`);
  const r = await runMigrationCommand({
    argv,
    cwd: stack.workspaceFolder,
    databaseUrl: databaseUrl(conn),
    signal,
    onLine: (l) => ctx.output.appendLine(l),
  });
  await ctx.controller.refresh();
  if (r.cancelled) throw new CancelledError();
  if (r.exitCode !== 0)
    throw new OpsError(
      'tool-failed',
      `"${line}" exited with code ${r.exitCode}: see the "TimescaleDB Ops: Migrations" output.`,
    );
  return { mode: 'command' as const, exitCode: r.exitCode, summary: ctx.controller.get(stack)?.report?.summary };
}

/** Steps and lines of a migration operation go to the Migrations output. */
const outputOf = (ctx: MigrationCommandContext): OperationOutput => ({
  step: (_t, l) => ctx.output.appendLine(l),
  line: (_t, l) => ctx.output.appendLine(l),
});

/**
 * Applies the pending migrations (or runs the command runner) in the stack's queue under the one cancellable
 * progress path (ui/operation.ts): each line in the notification and the Migrations output.
 */
async function apply(
  ctx: MigrationCommandContext,
  stack: StackConfig,
  conn: ConnectionTarget,
  mode: Mode,
  target: bigint | undefined,
) {
  return runStackOperation(
    ctx.queueFor(stack),
    'Running migrations',
    async (op) => {
      if (mode === 'command') return runCommandRunner(ctx, stack, conn, op.signal);
      const r = await ctx.controller.migrator(stack, conn).run({ target, signal: op.signal, onLine: op.step });
      await ctx.controller.refresh();
      return {
        mode,
        applied: r.applied.map((a) => ({
          version: a.version.toString(),
          description: a.description,
          elapsedMs: Number(a.elapsedNs) / 1e6,
        })),
      };
    },
    { output: outputOf(ctx), secrets: [conn.password] },
  );
}

function parseVersion(v: unknown): bigint | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  return BigInt(v as string | number);
}

/** tsdbOps.migrations.runPending */
export async function runPending(ctx: MigrationCommandContext, args: Args) {
  requireTrust('Running migrations');
  const stack = await pickStack(ctx.registry, args);
  if (!stack) return undefined;
  const target = parseVersion(args?.['target']);
  const cfg = vscode.workspace.getConfiguration('tsdbOps', vscode.Uri.file(stack.workspaceFolder));
  const mode = cfg.get<Mode>('migrations.runner', 'builtin');
  const { target: conn, report } = await readyState(ctx, stack, !args);
  // A folder sqlx would not run as it is (one version twice, a name it cannot parse): refused before anything.
  const problem = mode === 'builtin' && report ? folderError(stack.migrationsDir ?? '', report.fileErrors) : undefined;
  if (problem) throw problem;
  const pending = (report?.migrations ?? []).filter(
    (m) => (m.state === 'pending' || m.state === 'outOfOrder') && (target === undefined || m.version <= target),
  );
  const problems = (report?.summary.modified ?? 0) + (report?.summary.failed ?? 0) + (report?.summary.missing ?? 0);
  // With a modified, failed or missing migration, run anyway: sqlx's checks report it, as `sqlx migrate run` would.
  if (mode === 'builtin' && pending.length === 0 && problems === 0) {
    if (!args) void vscode.window.showInformationMessage('No pending migrations.');
    return { applied: [], mode };
  }
  try {
    await checkLint(ctx, stack, pending, args);
    const list = pending
      .map((m) => `• ${m.version} ${m.description}${m.file?.noTx ? ' (no transaction)' : ''}`)
      .join('\n');
    const what =
      mode === 'builtin'
        ? `Apply ${pending.length} pending migration${pending.length > 1 ? 's' : ''} to ${describeTarget(conn)}?\n\n${list}`
        : `Run "${cfg.get<string>('migrations.command')}" with DATABASE_URL=${describeTarget(conn)}?\n\n${list}`;
    await confirmLive(
      COMMAND.migrationsRunPending,
      args,
      stack,
      async () => {
        if ((await vscode.window.showWarningMessage(what, { modal: true }, 'Apply')) !== 'Apply')
          throw new CancelledByUser();
      },
      conn.database,
    );
  } catch (e) {
    if (e instanceof CancelledByUser) return undefined;
    throw e;
  }
  ctx.output.show(true);
  ctx.output.appendLine(
    `\n[${new Date().toISOString()}] ${mode === 'builtin' ? 'sqlx migrate run (built in)' : 'command runner'}` +
      ` on ${describeTarget(conn)}${target !== undefined ? ` --target-version ${target}` : ''}`,
  );
  try {
    return await apply(ctx, stack, conn, mode, target);
  } catch (e) {
    ctx.output.appendLine(`error: ${errorText(e)}`);
    await ctx.controller.refresh();
    if (e instanceof CancelledError && !args) return undefined;
    throw e; // register shows it, with an Open File button at its position in the file
  }
}

/** tsdbOps.migrations.revert */
export async function revert(ctx: MigrationCommandContext, args: Args) {
  requireTrust('Reverting a migration');
  const stack = await pickStack(ctx.registry, args);
  if (!stack) return undefined;
  const { target: conn, report } = await readyState(ctx, stack, !args);
  const candidate = (report?.migrations ?? []).filter((m) => m.applied && m.down && m.state !== 'failed').at(-1);
  if (!candidate) {
    if (!args)
      void vscode.window.showInformationMessage(
        'No migrations available to revert (none applied has a .down.sql file).',
      );
    return { reverted: [] };
  }
  try {
    await confirmLive(
      COMMAND.migrationsRevert,
      args,
      stack,
      async () => {
        const ok = await vscode.window.showWarningMessage(
          `Revert ${candidate.version} ${candidate.description} on ${describeTarget(conn)}?\n\n` +
            `Runs ${candidate.down!.fileName} and removes its row from _sqlx_migrations.`,
          { modal: true },
          'Revert',
        );
        if (ok !== 'Revert') throw new CancelledByUser();
      },
      conn.database,
    );
  } catch (e) {
    if (e instanceof CancelledByUser) return undefined;
    throw e;
  }
  ctx.output.appendLine(`\n[${new Date().toISOString()}] sqlx migrate revert (built in) on ${describeTarget(conn)}`);
  try {
    // In the stack's queue under the one cancellable progress path, like Run Pending.
    return await runStackOperation(
      ctx.queueFor(stack),
      'Reverting a migration',
      async (op) => {
        const r = await ctx.controller.migrator(stack, conn).revert({ signal: op.signal, onLine: op.step });
        await ctx.controller.refresh();
        return { reverted: r.reverted.map((a) => ({ version: a.version.toString(), description: a.description })) };
      },
      { output: outputOf(ctx), secrets: [conn.password] },
    );
  } catch (e) {
    ctx.output.appendLine(`error: ${errorText(e)}`);
    await ctx.controller.refresh();
    if (e instanceof CancelledError && !args) return undefined;
    throw e; // register shows it, with an Open File button at its position in the file
  }
}
