/**
 * The stack a command acts on, resolved the way the extension resolves it: the workspace's `tsdbOps.*` values
 * as the plain StackSettings object core/stack takes (the keys ui/stack-settings.ts reads), the engine from
 * `tsdbOps.docker.*`, else DOCKER_HOST / the Docker context / ssh:// (core/docker/engines), then `resolveStack`.
 * Before anything is started the engine must answer: no engine is a usage error (exit 2) naming where it looked.
 */
import type Dockerode from 'dockerode';
import type { StackConfig } from '../core/infra';
import { EngineRegistry } from '../core/docker/engines';
import { EngineConfigError, engineLabel, type EngineTarget } from '../core/docker/engine-address';
import { readStackModel } from '../core/docker/events';
import { streamLogs } from '../core/docker/logs';
import { errorText } from '../core/format';
import type { SchedulerFacts } from '../core/schedule/scheduler-load';
import { resolveStack, type StackContext, type StackSettings } from '../core/stack/context';
import { readStackSettings } from '../core/stack/settings';
import { type CliIo, UsageError } from './io';
import { findStack, isNumber, isString, setting, type CliWorkspace } from './workspace';
import { OpsError } from '../core/errors/error';

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
const RUNTIMES = ['container', 'host'] as const;
const isRuntime = (v: unknown): v is 'container' | 'host' => RUNTIMES.includes(v as 'container');

/** What a wrong value's usage error says the key wants, where "a string" / "a number" / "a list" is too vague. */
const WANTS: Readonly<Record<string, string>> = {
  'backups.port': 'a port number',
  'backups.hostBinDirs': 'a list of folders',
  'drill.checks': 'a list of SQL files',
  'stacks.production': 'a list of patterns',
};

/** The workspace's `tsdbOps.*` values that decide something about a stack, as core's plain object. */
export function stackSettingsOf(ws: CliWorkspace, overrides: { dockerHost?: string } = {}): StackSettings {
  const runtime = setting(ws, 'tsdbOps.backups.runtime', isRuntime, '"container" or "host"');
  const s = readStackSettings({
    string: (k) => (k === 'backups.runtime' ? runtime : setting(ws, `tsdbOps.${k}`, isString, 'a string')),
    number: (k) => setting(ws, `tsdbOps.${k}`, isNumber, WANTS[k] ?? 'a number'),
    strings: (k) => setting(ws, `tsdbOps.${k}`, isStrings, WANTS[k] ?? 'a list of strings'),
  });
  return overrides.dockerHost ? { ...s, docker: { ...s.docker, host: overrides.dockerHost } } : s;
}

/** A numeric setting with its default (`tsdbOps.drill.maxAgeDays`, `tsdbOps.backups.freshnessGraceMinutes`). */
export function numberSetting(ws: CliWorkspace, key: string, fallback: number): number {
  const v = setting(ws, `tsdbOps.${key}`, isNumber, 'a number');
  return v === undefined ? fallback : Math.max(0, v);
}

export interface CliStack {
  readonly stack: StackConfig;
  readonly ctx: StackContext;
  readonly docker: Dockerode;
  readonly engine: EngineTarget;
  /** Closes the engine connections (an ssh:// engine keeps one open). */
  dispose(): void;
}

/** How long the engine has to answer its first ping. */
const PING_MS = 15_000;

/**
 * The stack (`--infra`, else the settings, else the workspace search), its context and a reachable engine.
 * Every failure here is a UsageError: nothing has been started yet.
 */
export async function openStack(
  io: CliIo,
  ws: CliWorkspace,
  flags: { infra?: string; dockerHost?: string },
): Promise<CliStack> {
  const stack = await findStack(io, ws, flags.infra);
  if (!stack)
    throw new UsageError(
      `no stack found under ${ws.folder} (no compose file with a TimescaleDB or PostgreSQL service); pass --infra <dir> or set tsdbOps.infraPath.`,
    );
  if (!stack.dbService)
    throw new UsageError(
      `${stack.composeFile} has no database service (a service running a timescaledb or postgres image); point --infra at the stack's folder.`,
    );
  const settings = stackSettingsOf(ws, { dockerHost: flags.dockerHost });
  const engines = new EngineRegistry(io.env);
  const ctx = resolveStack(stack, settings, { engines, processEnv: io.env });
  const where =
    flags.dockerHost !== undefined ? '--docker-host' : 'tsdbOps.docker.*, DOCKER_HOST or the Docker context';
  let engine: EngineTarget;
  try {
    engine = ctx.engine().target;
  } catch (e) {
    engines.dispose();
    if (e instanceof EngineConfigError) throw new UsageError(`Docker engine: ${e.message}`);
    throw e;
  }
  let docker: Dockerode;
  try {
    docker = await ctx.docker();
    await ping(docker);
  } catch (e) {
    engines.dispose();
    throw new UsageError(
      `no Docker engine answers at ${engine.host} (from ${engine.source}): ${errorText(e).split('\n')[0]!.replace(/\.$/, '')}; ` +
        `start the engine, or point ${where} at a running one.`,
    );
  }
  return { stack, ctx, docker, engine, dispose: () => engines.dispose() };
}

async function ping(docker: Dockerode): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new OpsError('timeout', `no answer within ${PING_MS / 1000} s`)), PING_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** "local engine", "ssh://…", "context prod": for the output. */
export function engineText(s: CliStack): string {
  return engineLabel(s.engine);
}

/** What the Backups overview needs about the scheduler, read once from the engine (ui/backups/scheduler-facts.ts does it live). */
export async function schedulerFactsOf(s: CliStack, ws: CliWorkspace): Promise<SchedulerFacts> {
  const settingValue = setting(ws, 'tsdbOps.schedule.service', isString, 'a string')?.trim() || undefined;
  try {
    const model = await readStackModel(s.docker, {
      project: s.stack.projectName,
      services: s.stack.compose?.services ?? [],
      dbService: s.stack.dbService?.name,
    });
    return {
      setting: settingValue,
      engine: { kind: 'ready', services: model.services },
      readLog: async (containerId, signal) => {
        const lines: string[] = [];
        await streamLogs(s.docker, containerId, { tail: 2000, timestamps: true, signal, onLine: (l) => lines.push(l) });
        return lines;
      },
    };
  } catch (e) {
    return { setting: settingValue, engine: { kind: 'unreachable', error: errorText(e) } };
  }
}
