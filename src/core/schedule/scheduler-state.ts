/**
 * Is anything running the scheduled backups? The Ofelia service's container as the engine sees it (not
 * created, created, running, unhealthy, restarting, paused, exited with its code and time), why it is off
 * when the stack's own settings leave it off (`ONLY_DATABASE=TRUE` in `.env`, its profile not started), and
 * the way to start it. Never "running" on a guess: an engine that does not answer gives "unknown", a
 * compose file without a scheduler gives "noService" naming what was looked for and the setting that
 * points at it (`tsdbOps.schedule.service`).
 */
import type { ComposeService, StackConfig } from '../infra';
import type { ServiceStatus } from '../docker/model';
import type { OfeliaRun } from '../logs/ofelia-runs';
import { ofeliaService, type OfeliaJob } from './ofelia';

export const SCHEDULER_SETTING = 'tsdbOps.schedule.service';

export type SchedulerStatus =
  'running' | 'unhealthy' | 'restarting' | 'paused' | 'created' | 'exited' | 'notCreated' | 'noService' | 'unknown';

/** What the engine says about the stack's containers, as the caller has it. */
export interface SchedulerEngineView {
  /** 'ready': the engine answered; 'unreachable': it did not; 'connecting': no answer yet. */
  readonly kind: 'ready' | 'unreachable' | 'connecting';
  /** Every compose service with its container's state (core/docker/model), when ready. */
  readonly services?: readonly ServiceStatus[];
  readonly error?: string;
}

/** How to start the scheduler the guide's way: the stack with the scheduler's profiles, nothing recreated. */
export interface SchedulerStartPlan {
  readonly service: string;
  readonly profiles: readonly string[];
  /** Compose arguments after the project's own (`--profile full up -d --no-recreate`). */
  readonly composeArgs: readonly string[];
  /** The services whose container is not running now, which this starts (the scheduler among them). */
  readonly starts: readonly string[];
  /** "docker compose --profile full up -d --no-recreate". */
  readonly command: string;
}

export interface SchedulerState {
  readonly status: SchedulerStatus;
  /** Whether jobs run on their schedules: only a running container says yes. */
  readonly scheduling: 'yes' | 'no' | 'unknown';
  /** The compose service found (or named by the setting). */
  readonly service?: string;
  /** How the service was found, or what was looked for when none was. */
  readonly lookedFor: string;
  readonly foundBy?: 'setting' | 'image' | 'name' | 'label';
  readonly image?: string;
  readonly containerName?: string;
  readonly profiles: readonly string[];
  readonly exitCode?: number;
  readonly startedAt?: Date;
  readonly finishedAt?: Date;
  /** Off by the stack's own settings (a container never created). */
  readonly offBy?: { readonly kind: 'onlyDatabase' | 'profile'; readonly text: string };
  /** The newest run Ofelia recorded (saved runs or its log), of any job. */
  readonly lastRecordedRun?: Date;
  /** Since when no scheduled backup runs: the container's exit, else the newest recorded run. */
  readonly since?: Date;
  /** No container ran and no run was ever recorded. */
  readonly neverStarted: boolean;
  /** One line for the Schedules node ("Ofelia not running — no scheduled backups since …"). */
  readonly headline: string;
  /** Why jobs don't run, for the freshness reasons ("Ofelia is not running (not created: ONLY_DATABASE=TRUE in .env)"). */
  readonly cause?: string;
  /** What it means and how to fix it, one sentence each. */
  readonly detail: readonly string[];
  readonly start?: SchedulerStartPlan;
  /** The engine's error when the state is unknown. */
  readonly engineError?: string;
}

/** "2026-12-06 00:00 UTC". */
export function utcMinute(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

const LOOKED_FOR =
  'a service whose image is Ofelia (…/ofelia:tag), whose name contains "ofelia", or labelled ofelia.service=true';

/** The scheduler's compose service: the one the setting names, else Ofelia by image, name or label. */
export function findScheduler(
  stack: Pick<StackConfig, 'compose' | 'composeFile'>,
  setting: string | undefined,
): { service?: ComposeService; foundBy?: SchedulerState['foundBy']; lookedFor: string; problem?: string } {
  const services = stack.compose?.services ?? [];
  const name = setting?.trim();
  if (name) {
    const lookedFor = `service "${name}" (setting ${SCHEDULER_SETTING})`;
    const service = services.find((s) => s.name === name);
    if (service) return { service, foundBy: 'setting', lookedFor };
    return {
      lookedFor,
      problem:
        `${SCHEDULER_SETTING} is "${name}", but ${stack.composeFile} has no such service ` +
        `(its services: ${services.map((s) => s.name).join(', ') || 'none'}). Set it to the service that runs Ofelia.`,
    };
  }
  const service = ofeliaService(stack.compose);
  if (!service) {
    return {
      lookedFor: LOOKED_FOR,
      problem:
        `${stack.composeFile} has no scheduler service: looked for ${LOOKED_FOR}. If another service runs the ` +
        `Ofelia jobs, name it in the setting ${SCHEDULER_SETTING}.`,
    };
  }
  const foundBy = /(^|\/)ofelia(:|@|$)/i.test(service.image ?? '')
    ? 'image'
    : /ofelia/i.test(service.name)
      ? 'name'
      : 'label';
  return { service, foundBy, lookedFor: LOOKED_FOR };
}

/** Compose's services that `--profile <profiles> up -d` starts and whose container is not running now. */
function startPlan(
  stack: Pick<StackConfig, 'compose'>,
  svc: ComposeService,
  engine: readonly ServiceStatus[],
): SchedulerStartPlan {
  const profiles = [...svc.profiles];
  const composeArgs = [...profiles.flatMap((p) => ['--profile', p]), 'up', '-d', '--no-recreate'];
  const starts = (stack.compose?.services ?? [])
    .filter((s) => !s.profiles.length || s.profiles.some((p) => profiles.includes(p)))
    .filter((s) => (engine.find((e) => e.service === s.name)?.state ?? 'notCreated') !== 'running')
    .map((s) => s.name);
  return { service: svc.name, profiles, composeArgs, starts, command: `docker compose ${composeArgs.join(' ')}` };
}

function newestRun(runs: readonly OfeliaRun[]): Date | undefined {
  let best: Date | undefined;
  for (const r of runs) if (!best || r.date > best) best = r.date;
  return best;
}

/** The scheduler's state from the compose file, `.env`, the engine's answer, the setting and the recorded runs. */
export function schedulerState(input: {
  stack: Pick<StackConfig, 'compose' | 'composeFile' | 'envFile' | 'env'>;
  jobs: readonly OfeliaJob[];
  runs: readonly OfeliaRun[];
  engine: SchedulerEngineView;
  /** `tsdbOps.schedule.service`. */
  setting?: string;
}): SchedulerState {
  const { stack, engine } = input;
  const found = findScheduler(stack, input.setting);
  const lastRecordedRun = newestRun(input.runs);
  const base = { lookedFor: found.lookedFor, lastRecordedRun, profiles: found.service?.profiles ?? [] };
  const jobsText = `${input.jobs.length} Ofelia job${input.jobs.length === 1 ? '' : 's'}`;
  if (!found.service) {
    return {
      ...base,
      status: 'noService',
      scheduling: 'no',
      since: lastRecordedRun,
      neverStarted: !lastRecordedRun,
      headline: 'No scheduler service — no scheduled backups',
      cause: `no scheduler runs them (${found.problem})`,
      detail: [`The compose file defines ${jobsText}, but nothing runs them.`, found.problem!],
    };
  }
  const svc = found.service;
  const name = `Ofelia (service ${svc.name})`;
  const known = { ...base, service: svc.name, foundBy: found.foundBy, image: svc.image };
  if (engine.kind !== 'ready' || !engine.services) {
    const why =
      engine.kind === 'unreachable'
        ? `the Docker engine cannot be reached${engine.error ? `: ${engine.error.split('\n')[0]}` : ''}`
        : 'the Docker engine has not answered yet';
    return {
      ...known,
      status: 'unknown',
      scheduling: 'unknown',
      neverStarted: false,
      headline: `Ofelia state unknown — ${why.split(':')[0]}`,
      detail: [`Whether ${name} runs is unknown: ${why}. Scheduled backups may not be running.`],
      engineError: engine.error,
    };
  }
  const s = engine.services.find((x) => x.service === svc.name);
  const state = s?.state ?? 'notCreated';
  const cont = {
    ...known,
    image: s?.image ?? svc.image,
    containerName: s?.containerName,
    exitCode: s?.exitCode,
    startedAt: s?.startedAt,
    finishedAt: s?.finishedAt,
  };
  const start = startPlan(stack, svc, engine.services);
  const startText = `Start it the way the guide does: ${start.command} (Start Scheduler…).`;
  if (state === 'running') {
    if (s?.health === 'unhealthy') {
      return {
        ...cont,
        status: 'unhealthy',
        scheduling: 'yes',
        neverStarted: false,
        headline: 'Ofelia unhealthy — scheduled backups may not run',
        cause: `${name} is unhealthy`,
        detail: [`${name} runs, but its health check fails: scheduled backups may not run. See its log.`],
      };
    }
    return {
      ...cont,
      status: 'running',
      scheduling: 'yes',
      neverStarted: false,
      headline: `${name} running`,
      detail: [`${name} runs the ${jobsText} on their schedules.`],
    };
  }
  const since = state === 'exited' || state === 'dead' ? (s?.finishedAt ?? lastRecordedRun) : lastRecordedRun;
  const sinceText = since ? `no scheduled backups since ${utcMinute(since)}` : 'no scheduled backups';
  if (state === 'restarting') {
    return {
      ...cont,
      status: 'restarting',
      scheduling: 'no',
      since,
      neverStarted: false,
      headline: `Ofelia restarting — ${sinceText}`,
      cause: `${name} keeps restarting${s?.exitCode !== undefined ? ` (exit code ${s.exitCode})` : ''}`,
      detail: [`${name} exits and restarts again: it runs no job. See its log for why it exits.`],
    };
  }
  if (state === 'paused') {
    return {
      ...cont,
      status: 'paused',
      scheduling: 'no',
      since,
      neverStarted: false,
      headline: `Ofelia paused — ${sinceText}`,
      cause: `${name} is paused`,
      detail: [`${name} is paused: it runs no job until it is unpaused (docker unpause).`],
    };
  }
  const what = `${jobsText} (the scheduled backups) do not run.`;
  if (state === 'exited' || state === 'dead' || state === 'removing') {
    const exit = `exited${s?.exitCode !== undefined ? ` with code ${s.exitCode}` : ''}${s?.finishedAt ? ` at ${utcMinute(s.finishedAt)}` : ''}`;
    return {
      ...cont,
      status: 'exited',
      scheduling: 'no',
      since,
      neverStarted: false,
      headline: `Ofelia not running — ${sinceText}`,
      cause: `${name} is not running (${exit})`,
      detail: [`${name} ${exit}: ${what}`, startText],
      start,
    };
  }
  // Not created, or created and never started.
  const onlyDb = svc.profiles.length > 0 && stack.env.onlyDatabase === true;
  const offBy: SchedulerState['offBy'] = onlyDb
    ? {
        kind: 'onlyDatabase',
        text: `ONLY_DATABASE=TRUE in ${stack.envFile}: the stack starts without the ${svc.profiles.join(', ')} profile`,
      }
    : svc.profiles.length
      ? {
          kind: 'profile',
          text: `service ${svc.name} is in the ${svc.profiles.join(', ')} profile, which was not started (up -d without --profile ${svc.profiles[0]})`,
        }
      : undefined;
  const neverStarted = !lastRecordedRun;
  const status = state === 'created' ? 'created' : 'notCreated';
  const stateText = status === 'created' ? 'created but never started' : 'not created';
  return {
    ...cont,
    status,
    scheduling: 'no',
    since,
    neverStarted,
    offBy,
    headline: neverStarted
      ? 'Ofelia never started on this stack — no scheduled backups'
      : `Ofelia not running — ${sinceText}`,
    cause: `${name} is ${stateText}${offBy ? `: ${offBy.text}` : ''}`,
    detail: [
      `${name} is ${stateText}${offBy ? ` (${offBy.text})` : ''}: ${what}`,
      neverStarted
        ? 'Ofelia has recorded no run on this stack.'
        : `Its last recorded run: ${utcMinute(lastRecordedRun)}.`,
      startText,
      ...(onlyDb ? [`To start it with the stack every time, set ONLY_DATABASE=FALSE in ${stack.envFile}.`] : []),
    ],
    start,
  };
}

/** "would run daily at 00:00 UTC" (a job while nothing runs it), or the schedule as written. */
export function describeJobSchedule(job: OfeliaJob, scheduling: SchedulerState['scheduling'] | undefined): string {
  const s = job.schedule;
  if (!s) return job.scheduleSpec ?? '?';
  const when = s.describe.replace(/\b(\d\d:\d\d):00\b/, '$1');
  const text = /\bat \d\d:\d\d/.test(when) ? `${when} ${s.timezone}` : when;
  return scheduling === 'no' ? `would run ${text}` : text;
}
