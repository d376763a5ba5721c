/**
 * What the stack and container commands share: their context (the engine, the log, the followed logs),
 * the stack's services, the service pick, the compose operation (queued per stack, under a progress
 * notification with Cancel, lines in the log) and the confirmation modal.
 */
import * as vscode from 'vscode';
import type { StackConfig } from '../../core/infra';
import { runCompose } from '../../core/docker/compose-cli';
import { defaultProfile, type StackProfile } from '../../core/stack/clean-start';
import { describeState, serviceResult, type ServiceStatus } from '../../core/docker/model';
import type { OperationContext } from '../../core/operations/queue';
import type { DockerService } from '../docker-service';
import type { StackRegistry } from '../stacks';
import type { Args } from './args';
import { CancelledByUser } from './register';
import { logOutput, runStackOperation } from '../operation';
import { OpsError } from '../../core/errors/error';

export interface ContainerCommandContext {
  readonly registry: StackRegistry;
  readonly engine: DockerService;
  readonly log: vscode.LogOutputChannel;
}

/** The commands' context: the area's, plus the log channels and the logs being followed. */
export interface Cx extends ContainerCommandContext {
  readonly logChannels: Map<string, vscode.OutputChannel>;
  readonly following: Map<string, AbortController>;
}

/** A modal confirmation; dismissed, it throws CancelledByUser. */
export async function modal(message: string, detail: string, button: string): Promise<void> {
  const ok = await vscode.window.showWarningMessage(message, { modal: true, detail }, button);
  if (ok !== button) throw new CancelledByUser();
}

/** For `.then(() => true, cancelled)`: a dismissed confirmation is false, any other error goes on. */
export function cancelled(e: unknown): false {
  if (e instanceof CancelledByUser) return false;
  throw e;
}

export function parseProfile(v: unknown, name = 'profile'): StackProfile | undefined {
  if (v === undefined || v === null) return undefined;
  if (v === 'database' || v === 'full') return v;
  throw new OpsError(
    'config',
    `${name} must be "database" (only the database) or "full" (every service, profile full), not ${JSON.stringify(v)}.`,
  );
}

export function parseTail(v: unknown): number | 'all' | undefined {
  if (v === undefined || v === null) return undefined;
  if (v === 'all') return 'all';
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  throw new OpsError('config', `tail must be a number of lines (0 or more) or "all", not ${JSON.stringify(v)}.`);
}

/** The stack's services as the monitor sees them now (read again first). */
export async function services(cx: Cx, stack: StackConfig): Promise<ServiceStatus[]> {
  const state = await cx.engine.monitorFor(stack).refresh();
  if (state.kind === 'ready') return [...state.model.services];
  if (state.kind === 'unreachable')
    throw new OpsError(
      'engine-unreachable',
      `Docker not reachable at ${cx.engine.describeHost(stack)}: ${state.error}. Start Docker, or set tsdbOps.docker.host.`,
    );
  return [];
}

export async function pickService(
  cx: Cx,
  stack: StackConfig,
  args: Args,
  interactive: boolean,
  what: string,
  fits: (s: ServiceStatus) => boolean,
): Promise<string> {
  const given = args?.service;
  if (typeof given === 'string' && given) {
    const known = stack.compose?.services.some((s) => s.name === given);
    if (!known) {
      const list = (await services(cx, stack).catch(() => [])).map((s) => s.service);
      if (!list.includes(given))
        throw new OpsError(
          'config',
          `No service "${given}" in ${stack.composeFile}: the services are ${(stack.compose?.services ?? []).map((s) => s.name).join(', ') || 'none'}.`,
        );
    }
    return given;
  }
  if (!interactive)
    throw new OpsError(
      'config',
      `${what} needs { service }, e.g. { service: "${stack.dbService?.name ?? 'timescaledb'}" }.`,
    );
  const all = await services(cx, stack);
  const items = all.filter(fits).map((s) => ({
    label: s.service,
    description: describeState(s),
    detail: s.isDatabase ? 'database' : undefined,
    service: s.service,
  }));
  if (!items.length) {
    void vscode.window.showInformationMessage(`No service of ${stack.projectName} to ${what.toLowerCase()}.`);
    throw new CancelledByUser();
  }
  const picked =
    items.length === 1 ? items[0] : await vscode.window.showQuickPick(items, { title: what, placeHolder: 'Service' });
  if (!picked) throw new CancelledByUser();
  return picked.service;
}

/** A compose operation: queued on the stack, under a progress notification with Cancel, lines in the cx.log. */
export function operation<T>(
  cx: Cx,
  stack: StackConfig,
  title: string,
  interactive: boolean,
  work: (op: OperationContext) => Promise<T>,
): Promise<T> {
  if (interactive) cx.log.show(true);
  cx.log.info(`${title} (${stack.projectName}, ${cx.engine.describeHost(stack)})`);
  return runStackOperation(cx.engine.queueFor(stack), title, work, {
    output: logOutput(cx.log),
    secrets: [stack.env.password],
  });
}

export async function afterChange(cx: Cx, stack: StackConfig) {
  const list = await services(cx, stack).catch(() => []);
  return { project: stack.projectName, services: list.map(serviceResult) };
}

export async function askProfile(stack: StackConfig, title: string): Promise<StackProfile> {
  const def = defaultProfile(stack);
  const items: Array<vscode.QuickPickItem & { profile: StackProfile }> = [
    { label: 'Database only', description: 'docker compose up -d', profile: 'database' },
    { label: 'Every service', description: 'docker compose --profile full up -d', profile: 'full' },
  ];
  items.sort((a) => (a.profile === def ? -1 : 1));
  items[0]!.detail = `Default: ONLY_DATABASE=${stack.env.onlyDatabase === true ? 'TRUE' : stack.env.onlyDatabase === false ? 'FALSE' : '(not set)'} in .env`;
  const picked = await vscode.window.showQuickPick(items, { title });
  if (!picked) throw new CancelledByUser();
  return picked.profile;
}

/** One compose command (`compose <args>`) as an operation on the stack. */
export const composeOperation = (
  cx: Cx,
  stack: StackConfig,
  title: string,
  interactive: boolean,
  composeArgs: string[],
) =>
  operation(cx, stack, title, interactive, async (op) => {
    op.step(`compose ${composeArgs.join(' ')}`);
    await runCompose(stack, composeArgs, {
      dockerEnv: await cx.engine.cliDockerEnv(stack),
      signal: op.signal,
      onLine: op.line,
    });
  });
