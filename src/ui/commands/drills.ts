/**
 * `tsdbOps.backup.drill` — "Verify Backup by Restoring…": a restore drill (core/backups/drill) of a
 * pgBackRest set (default: the newest, latest state) or a pg_basebackup folder in a scratch container,
 * never touching the live one. With args it asks nothing and returns `{ report, files }`; from the
 * palette or a set / base backup in the Backups view it runs with a cancellable progress and opens the
 * Markdown report. At activation, scratch containers whose owner is gone are swept.
 */
import * as vscode from 'vscode';
import type { StackConfig } from '../../core/infra';
import { runDrill, sweepDrills, writeDrillReport, type DrillSource } from '../../core/backups/drill';
import { drillCheckFiles } from '../../core/backups/drill-checks';
import { containerPath } from '../../core/backups/restore/stack';
import { drillTargetOf } from '../../core/backups/drill-target';
import type { DockerService } from '../docker-service';
import type { StackRegistry } from '../stacks';
import { pickStack, requireTrust, str, type Args } from './args';
import { CancelledByUser, register } from './register';
import { COMMAND } from '../ids';
import { runStackOperation } from '../operation';
import { parseRepoArg } from '../../core/backups/repositories';
import { OpsError } from '../../core/errors/error';

export interface DrillCommandContext {
  readonly registry: StackRegistry;
  readonly engine: DockerService;
  readonly log: vscode.LogOutputChannel;
  readonly output: vscode.OutputChannel;
}

interface ViewNode {
  readonly item?: vscode.TreeItem;
  readonly stack?: StackConfig;
  readonly set?: { label: string };
  readonly backup?: { path: string; kind?: string };
  readonly repo?: number;
}

type DrillStack = StackConfig & { dbService: NonNullable<StackConfig['dbService']> };

/** What the drill restores: `source` (else the clicked node's kind, else pgBackRest) and its file, folder or set. */
function drillSource(args: Args, node: ViewNode | undefined, stack: DrillStack): DrillSource {
  let src: DrillSource;
  const fromNode =
    node?.backup?.kind === 'pg_dump'
      ? 'dump'
      : node?.backup?.kind === 'pg_dumpall'
        ? 'dumpAll'
        : node?.backup
          ? 'baseBackup'
          : 'pgbackrest';
  const kind = str(args, 'source') ?? fromNode;
  if (kind === 'baseBackup') {
    const dir = str(args, 'dir') ?? node?.backup?.path;
    if (!dir)
      throw new OpsError(
        'config',
        'tsdbOps.backup.drill needs { dir } for source "baseBackup": a pg_basebackup -F t folder.',
      );
    src = { kind: 'baseBackup', dir: containerPath(stack.dbService.volumes, dir) };
  } else if (kind === 'dump' || kind === 'dumpAll') {
    const file = str(args, 'file') ?? node?.backup?.path;
    if (!file)
      throw new OpsError(
        'config',
        `tsdbOps.backup.drill needs { file } for source "${kind}": a ${kind === 'dump' ? 'pg_dump' : 'pg_dumpall'} file.`,
      );
    src = { kind, file: containerPath(stack.dbService.volumes, file), database: str(args, 'database') };
  } else if (kind === 'pgbackrest') {
    const target = str(args, 'target') ?? (node?.set ? 'set' : 'latest');
    if (target !== 'latest' && target !== 'set')
      throw new OpsError(
        'config',
        `tsdbOps.backup.drill: target must be 'latest' or 'set', not ${JSON.stringify(target)}.`,
      );
    const repo = parseRepoArg(args?.['repo'], COMMAND.backupDrill) ?? node?.repo;
    src = { kind: 'pgbackrest', set: str(args, 'set') ?? node?.set?.label, target, ...(repo ? { repo } : {}) };
  } else
    throw new OpsError(
      'config',
      `tsdbOps.backup.drill: source must be 'pgbackrest', 'baseBackup', 'dump' or 'dumpAll', not ${JSON.stringify(kind)}.`,
    );
  return src;
}

export function registerDrillCommands(ctx: DrillCommandContext): vscode.Disposable[] {
  const { engine, output } = ctx;

  // Abandoned scratch containers (a window or machine that died midway) go at activation and whenever the
  // stacks are read again (a folder added, a tsdbOps setting changed, Refresh): one label-filtered list per
  // engine, never on a timer. A drill still owned by a live process (here or elsewhere) is left alone.
  const sweeping = new Set<Promise<unknown>>();
  const sweepEngines = async (): Promise<void> => {
    // Each distinct engine once (folders of a multi-root workspace may each have their own).
    const engines = new Set(
      ctx.registry.stacks.map((s) => {
        try {
          return engine.docker(s); // one cached promise per distinct engine
        } catch (e) {
          return Promise.reject(e instanceof Error ? e : new OpsError('internal', String(e)));
        }
      }),
    );
    for (const client of engines) {
      if (sweeping.has(client)) continue;
      sweeping.add(client);
      try {
        const docker = await client;
        const r = await sweepDrills(docker, (l) => ctx.log.info(l));
        if (r.containers.length || r.volumes.length || r.networks.length)
          ctx.log.info(
            `Swept ${r.containers.length} abandoned drill containers, ${r.volumes.length} volumes and ${r.networks.length} networks.`,
          );
      } catch (e) {
        ctx.log.debug(`Drill sweep skipped: ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        sweeping.delete(client);
      }
    }
  };
  void ctx.registry.ready.then(sweepEngines);
  const onStacks = ctx.registry.onDidChange(() => void sweepEngines());

  return [
    onStacks,
    register<ViewNode>(ctx, COMMAND.backupDrill, async (args: Args, node) => {
      requireTrust('A restore drill');
      const stack = node?.stack ?? (await pickStack(ctx.registry, args));
      if (!stack) throw new CancelledByUser();
      if (!stack.dbService)
        throw new OpsError('config', `${stack.composeFile} has no database service: nothing to drill.`);
      const stackCtx = engine.contextFor(stack);
      const src = drillSource(args, node, stack as DrillStack); // dbService checked above

      const checks = await drillCheckFiles(stack, stackCtx.settings.drill?.checks ?? []);
      const target = await drillTargetOf(stackCtx, { pgbackrest: src.kind === 'pgbackrest', checks });
      const title = `Restore drill of ${stack.projectName}`;
      output.appendLine('');
      output.appendLine(`[${new Date().toISOString()}] ${title}`);
      if (!args) output.show(true);
      // In the stack's queue (one operation at a time) under the one cancellable progress path (ui/operation.ts).
      const report = await runStackOperation(
        engine.queueFor(stack),
        title,
        (op) => runDrill(target, src, { signal: op.signal, step: op.step, line: op.line }),
        {
          output: { step: (_t, s) => output.appendLine(`▶ ${s}`), line: (_t, l) => output.appendLine(l) },
          secrets: [target.conn.password],
        },
      );
      const files = await writeDrillReport(stackCtx.drillsDir, report);
      void vscode.commands.executeCommand('tsdbOps.backup.refresh').then(undefined, () => undefined);
      if (!args) {
        await vscode.window.showTextDocument(vscode.Uri.file(files.markdown), { preview: true });
        const failed = report.checks.filter((c) => c.status === 'failed');
        if (report.passed)
          void vscode.window.showInformationMessage(`${title}: passed (RTO ${Math.round(report.rtoMs / 1000)} s).`);
        else
          void vscode.window.showErrorMessage(
            `${title}: FAILED — ${report.error ?? failed.map((c) => `${c.name}: ${c.message}`).join('; ')}`,
          );
      }
      return { report, files };
    }),
  ];
}
