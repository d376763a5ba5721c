/**
 * Starting the scheduler the way the infra guide does: the stack with the scheduler's profile
 * (`docker compose --profile full up -d`), with `--no-recreate` so a running database container is never
 * recreated on the way. The confirmation names what starts and what stays as it is.
 */
import type { StackConfig } from '../infra';
import { runCompose, type RunComposeOptions } from '../docker/compose-cli';
import type { SchedulerStartPlan, SchedulerState } from './scheduler-state';

export interface SchedulerStartConfirmation {
  readonly message: string;
  readonly detail: string;
  readonly button: string;
}

import type { OpsError } from '../errors/error';
import { schedulerNotStartable } from '../errors/misc';

/** Why the scheduler cannot be started by this action (already running, no service, state unknown …). */
function notStartable(state: SchedulerState): OpsError {
  return schedulerNotStartable(
    state.status === 'running'
      ? `${state.headline}: nothing to start.`
      : `${state.headline}. ${state.detail.join(' ')}`.replace(/\.\./g, '.'),
  );
}

/** The plan, or an error saying why there is none. */
export function startPlanOf(state: SchedulerState): SchedulerStartPlan {
  if (!state.start) throw notStartable(state);
  return state.start;
}

export function schedulerStartConfirmation(
  stack: Pick<StackConfig, 'projectName' | 'infraDir' | 'envFile'>,
  state: SchedulerState,
): SchedulerStartConfirmation {
  const plan = startPlanOf(state);
  const others = plan.starts.filter((s) => s !== plan.service);
  const lines = [
    `Runs \`${plan.command}\` in ${stack.infraDir}.`,
    `Starts: ${plan.starts.join(', ') || plan.service}` +
      (others.length ? ` (${others.join(', ')} ${others.length === 1 ? 'is' : 'are'} not running either).` : '.'),
    'Containers that run keep running (--no-recreate): the database is not restarted.',
    `Then service ${plan.service} runs the Ofelia jobs on their schedules.`,
  ];
  if (state.offBy?.kind === 'onlyDatabase')
    lines.push(`${stack.envFile} keeps ONLY_DATABASE=TRUE: a clean start leaves the scheduler off again.`);
  return {
    message: `Start the scheduler (${plan.service}) of ${stack.projectName}?`,
    detail: lines.join(' '),
    button: 'Start Scheduler',
  };
}

/** Runs the plan's compose command for the stack (streamed, cancellable). */
export async function startScheduler(
  stack: Parameters<typeof runCompose>[0],
  plan: SchedulerStartPlan,
  opts: RunComposeOptions,
): Promise<{ argv: readonly string[] }> {
  const r = await runCompose(stack, plan.composeArgs, opts);
  return { argv: r.argv };
}
