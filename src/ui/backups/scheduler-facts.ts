/**
 * What the Backups overview needs from the engine about the scheduler (core/schedule/scheduler-state):
 * the stack's containers as the live model has them (never a stale model of an unreachable engine), the
 * `tsdbOps.schedule.service` setting, and a reader of the scheduler container's log.
 */
import * as vscode from 'vscode';
import type { StackConfig } from '../../core/infra';
import type { StackModel } from '../../core/docker/model';
import { streamLogs } from '../../core/docker/logs';
import { errorText } from '../../core/format';
import { findScheduler, type SchedulerState } from '../../core/schedule/scheduler-state';
import { loadScheduler, type SchedulerFacts } from '../../core/schedule/scheduler-load';
import { listSavedRuns } from '../../core/logs/ofelia-runs';
import { ofeliaJobs, ofeliaSettings } from '../../core/schedule/ofelia';
import type { DockerService } from '../docker-service';

/** How many lines of the scheduler's log are read for runs that were not saved. */
const LOG_TAIL = 2000;

export function schedulerSetting(stack: StackConfig): string | undefined {
  const v = vscode.workspace
    .getConfiguration('tsdbOps', vscode.Uri.file(stack.workspaceFolder))
    .get<string>('schedule.service');
  return v?.trim() || undefined;
}

export async function schedulerFacts(engine: DockerService, stack: StackConfig): Promise<SchedulerFacts> {
  const setting = schedulerSetting(stack);
  let state;
  try {
    state = await engine.firstState(stack);
  } catch (e) {
    return { setting, engine: { kind: 'unreachable', error: errorText(e) } };
  }
  if (state.kind !== 'ready')
    return { setting, engine: { kind: state.kind, error: state.kind === 'unreachable' ? state.error : undefined } };
  return {
    setting,
    engine: { kind: 'ready', services: state.model.services },
    readLog: async (containerId, signal) => {
      const docker = await engine.docker(stack);
      const lines: string[] = [];
      await streamLogs(docker, containerId, { tail: LOG_TAIL, timestamps: true, signal, onLine: (l) => lines.push(l) });
      return lines;
    },
  };
}

/** The scheduler container's id, state and health, for the controller's reload key. */
export function schedulerKey(model: StackModel, stack: StackConfig): string {
  const name = findScheduler(stack, schedulerSetting(stack)).service?.name;
  const s = name ? model.services.find((x) => x.service === name) : undefined;
  return s ? `${s.containerId ?? 'none'}:${s.state}:${s.health ?? ''}` : 'none';
}

/** The scheduler's state now (the engine asked again, Ofelia's saved runs read), without reloading the whole overview. */
export async function currentScheduler(engine: DockerService, stack: StackConfig): Promise<SchedulerState> {
  await engine.refreshDocker(stack);
  const facts = await schedulerFacts(engine, stack);
  const { runs } = await listSavedRuns(stack.ofeliaLogDir);
  const jobs = ofeliaJobs(stack.compose, ofeliaSettings(stack.compose));
  return (await loadScheduler({ stack, jobs, savedRuns: runs, facts: { ...facts, readLog: undefined } })).scheduler;
}
