/**
 * Start Scheduler…: starts the Ofelia service the way the infra guide does (the stack with its profile,
 * core/schedule/scheduler-start) after a confirmation naming what starts. It changes the stack: with args
 * it needs `{ confirm: true }` (the stack's name on a production stack; declared live in ./table, so register
 * checks it) and asks nothing; `{ dryRun: true }`
 * returns the plan and the confirmation text without starting anything. The Backups view's Schedules node
 * carries it as an inline action while the scheduler is not running.
 */
import * as vscode from 'vscode';
import { schedulerResult } from '../../core/schedule/scheduler-load';
import { schedulerStartConfirmation, startPlanOf, startScheduler } from '../../core/schedule/scheduler-start';
import type { SchedulerState } from '../../core/schedule/scheduler-state';
import type { StackConfig } from '../../core/infra';
import type { BackupsController } from '../backups/controller';
import { currentScheduler } from '../backups/scheduler-facts';
import type { DockerService } from '../docker-service';
import type { StackRegistry } from '../stacks';
import { COMMAND } from '../ids';
import { logOutput, runStackOperation } from '../operation';
import { requireTrust, stackFor } from './args';
import { CancelledByUser, confirmLive, register, type Handler } from './register';

export interface ScheduleCommandContext {
  readonly registry: StackRegistry;
  readonly engine: DockerService;
  readonly controller: BackupsController;
  readonly log: vscode.LogOutputChannel;
}

interface SchedulesNodeLike {
  readonly stack?: StackConfig;
  readonly scheduler?: SchedulerState;
}

function isSchedulesNode(x: unknown): x is SchedulesNodeLike {
  return !!x && typeof x === 'object' && 'scheduler' in x && 'stack' in x;
}

export function registerScheduleCommands(ctx: ScheduleCommandContext): vscode.Disposable[] {
  const { controller, engine, log } = ctx;

  /** Start Scheduler…: the plan from the state now, the confirmation, then compose; args are checked by the table. */
  const scheduleStart: Handler<SchedulesNodeLike> = async (args, node) => {
    const dryRun = args?.['dryRun'] === true;
    if (!dryRun) requireTrust('Starting the scheduler');
    const stack = await stackFor(ctx.registry, args, node);
    // The state now (the engine asked again), not the one the tree was drawn from.
    const state = await currentScheduler(engine, stack);
    const plan = startPlanOf(state);
    const confirmation = schedulerStartConfirmation(stack, state);
    if (dryRun) return { started: false, plan: { ...plan }, confirmation, scheduler: schedulerResult(state) };
    await confirmLive(COMMAND.scheduleStart, args, stack, async () => {
      const ok = await vscode.window.showWarningMessage(
        confirmation.message,
        { modal: true, detail: confirmation.detail },
        confirmation.button,
      );
      if (ok !== confirmation.button) throw new CancelledByUser();
    });
    const title = `Starting the scheduler of ${stack.projectName}`;
    log.info(`${title} (${engine.describeHost(stack)}): ${plan.command}`);
    const r = await runStackOperation(
      engine.queueFor(stack),
      title,
      async (op) => {
        op.step(plan.command);
        return startScheduler(stack, plan, {
          dockerEnv: await engine.cliDockerEnv(stack),
          signal: op.signal,
          onLine: op.line,
        });
      },
      { output: logOutput(log), secrets: [stack.env.password] },
    );
    const after = await currentScheduler(engine, stack);
    controller.scheduleRefresh();
    if (!args)
      void vscode.window.showInformationMessage(
        after.scheduling === 'yes' ? `${after.headline}: the scheduled backups run.` : after.headline,
      );
    return { started: true, argv: r.argv, plan: { ...plan }, scheduler: schedulerResult(after) };
  };

  return [register<SchedulesNodeLike>(ctx, COMMAND.scheduleStart, scheduleStart, { isNode: isSchedulesNode })];
}
