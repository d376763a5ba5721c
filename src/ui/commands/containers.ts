/**
 * Stack and container commands: up/down/clean start through the Compose CLI (queued per stack, under
 * a progress notification with Cancel, output in the "TimescaleDB Ops" channel), start/stop/restart
 * through the Engine API, logs into an output channel per service, a shell in a terminal, and the
 * status bar's quick pick of stack actions.
 * With an args object a command asks nothing (destructive ones need `confirm: true`) and returns a
 * result; from the palette or the tree it prompts for what is missing.
 */
import * as vscode from 'vscode';
import type { StackConfig } from '../../core/infra';
import { runCompose } from '../../core/docker/compose-cli';
import {
  cleanStart,
  cleanStartScript,
  defaultProfile,
  profileArgs,
  type StackProfile,
} from '../../core/stack/clean-start';
import { containerAction, hasBash, type ContainerAction } from '../../core/docker/lifecycle';
import { serviceContainer } from '../../core/docker/find';
import { runningServiceContainer, ServiceNotCreatedError } from '../../core/docker/find';
import { streamLogs } from '../../core/docker/logs';
import { describeState, serviceResult, type ServiceStatus } from '../../core/docker/model';
import type { OperationContext } from '../../core/operations/queue';
import type { DockerService } from '../docker-service';
import { readBackupsConfig } from '../backups/controller';
import type { StackRegistry } from '../stacks';
import { isServiceNode } from '../views/containers';
import { requireTrust, stackFor as stackOf, type Args } from './args';
import { CancelledByUser, register } from './register';
import { checkConfirmArg } from '../../core/stack/production';
import { confirmDestructive, guardFor } from '../production';
import { logOutput, runStackOperation } from '../operation';
import { findOnPath } from '../../core/docker/cli-path';
import { COMMAND, CONTEXT_KEY, VIEW, focusCommand } from '../ids';
import { errorText } from '../../core/format';

export interface ContainerCommandContext {
  readonly registry: StackRegistry;
  readonly engine: DockerService;
  readonly log: vscode.LogOutputChannel;
}

/** `interactive`: from the palette, the tree or the status bar (prompt, confirm, show errors). */
type Handler = (args: Args, interactive: boolean) => unknown;

function parseProfile(v: unknown, name = 'profile'): StackProfile | undefined {
  if (v === undefined || v === null) return undefined;
  if (v === 'database' || v === 'full') return v;
  throw new Error(
    `${name} must be "database" (only the database) or "full" (every service, profile full), not ${JSON.stringify(v)}.`,
  );
}

function parseTail(v: unknown): number | 'all' | undefined {
  if (v === undefined || v === null) return undefined;
  if (v === 'all') return 'all';
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  throw new Error(`tail must be a number of lines (0 or more) or "all", not ${JSON.stringify(v)}.`);
}

export function registerContainerCommands(ctx: ContainerCommandContext): vscode.Disposable[] {
  const { registry, engine, log } = ctx;
  const logChannels = new Map<string, vscode.OutputChannel>();
  const following = new Map<string, AbortController>();

  /** A service row of the Containers view becomes `{ service, folder }` (interactive). */
  const reg = (id: string, handler: Handler): vscode.Disposable =>
    register(
      { log },
      id,
      (plain, row) =>
        handler(row ? { service: row.status.service, folder: row.stack.infraDir } : plain, plain === undefined),
      { isNode: isServiceNode },
    );

  const stackFor = (args: Args) => stackOf(registry, args);

  /** The stack's services as the monitor sees them now (read again first). */
  async function services(stack: StackConfig): Promise<ServiceStatus[]> {
    const state = await engine.monitorFor(stack).refresh();
    if (state.kind === 'ready') return [...state.model.services];
    if (state.kind === 'unreachable')
      throw new Error(
        `Docker not reachable at ${engine.describeHost(stack)}: ${state.error}. Start Docker, or set tsdbOps.docker.host.`,
      );
    return [];
  }

  async function pickService(
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
        const list = (await services(stack).catch(() => [])).map((s) => s.service);
        if (!list.includes(given))
          throw new Error(
            `No service "${given}" in ${stack.composeFile}: the services are ${(stack.compose?.services ?? []).map((s) => s.name).join(', ') || 'none'}.`,
          );
      }
      return given;
    }
    if (!interactive)
      throw new Error(`${what} needs { service }, e.g. { service: "${stack.dbService?.name ?? 'timescaledb'}" }.`);
    const all = await services(stack);
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

  /** A compose operation: queued on the stack, under a progress notification with Cancel, lines in the log. */
  function operation<T>(
    stack: StackConfig,
    title: string,
    interactive: boolean,
    work: (op: OperationContext) => Promise<T>,
  ): Promise<T> {
    if (interactive) log.show(true);
    log.info(`${title} (${stack.projectName}, ${engine.describeHost(stack)})`);
    return runStackOperation(engine.queueFor(stack), title, work, {
      output: logOutput(log),
      secrets: [stack.env.password],
    });
  }

  async function afterChange(stack: StackConfig) {
    const list = await services(stack).catch(() => []);
    return { project: stack.projectName, services: list.map(serviceResult) };
  }

  async function askProfile(stack: StackConfig, title: string): Promise<StackProfile> {
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

  const stackUp: Handler = async (args, interactive) => {
    requireTrust('Starting the stack');
    const stack = await stackFor(args);
    const profile =
      parseProfile(args?.profile) ??
      (interactive ? await askProfile(stack, `Start ${stack.projectName}`) : defaultProfile(stack));
    const title = `Starting ${stack.projectName} (${profile === 'full' ? 'every service' : 'database only'})`;
    await composeOperation(stack, title, interactive, [...profileArgs(profile), 'up', '-d']);
    return { profile, ...(await afterChange(stack)) };
  };

  /** One compose command (`compose <args>`) as an operation on the stack. */
  const composeOperation = (stack: StackConfig, title: string, interactive: boolean, composeArgs: string[]) =>
    operation(stack, title, interactive, async (op) => {
      op.step(`compose ${composeArgs.join(' ')}`);
      await runCompose(stack, composeArgs, {
        dockerEnv: await engine.cliDockerEnv(stack),
        signal: op.signal,
        onLine: op.line,
      });
    });

  const stackDown: Handler = async (args, interactive) => {
    requireTrust('Stopping the stack');
    const stack = await stackFor(args);
    const profile = parseProfile(args?.profile) ?? 'full';
    const guard = guardFor(stack, 'tsdbOps.stack.down', 'cluster', undefined, engine.contextOf(stack));
    if (interactive && guard.production) {
      await confirmDestructive(undefined, guard, async () => undefined);
    } else if (interactive) {
      const ok = await vscode.window.showWarningMessage(
        `Stop ${stack.projectName}?`,
        {
          modal: true,
          detail:
            `Runs docker compose${profile === 'full' ? ' --profile full' : ''} down: ` +
            `the containers are removed (the data folders and backups stay). ` +
            `The database is unavailable until the stack starts again.`,
        },
        'Stop Stack',
      );
      if (ok !== 'Stop Stack') return undefined;
    } else if (guard.production) {
      checkConfirmArg(args?.confirm, guard);
    } else if (args?.confirm !== true) {
      throw new Error('tsdbOps.stack.down stops and removes the stack’s containers: pass { confirm: true }.');
    }
    await composeOperation(stack, `Stopping ${stack.projectName}`, interactive, [...profileArgs(profile), 'down']);
    return { profile, ...(await afterChange(stack)) };
  };

  const stackCleanStart: Handler = async (args, interactive) => {
    requireTrust('Clean start');
    const stack = await stackFor(args);
    const profile = parseProfile(args?.profile) ?? defaultProfile(stack);
    const script = args?.builtin === true ? undefined : cleanStartScript(stack);
    if (interactive) {
      const ok = await vscode.window.showWarningMessage(
        `Clean start ${stack.projectName}?`,
        {
          modal: true,
          detail: script
            ? `Runs ${script}: creates the mounted folders, ` +
              `starts the stack (${profile === 'full' ? 'every service' : 'database only'}) ` +
              `and sets up pgBackRest. Safe to run again.`
            : `Creates the mounted folders, starts the stack (${profile === 'full' ? 'every service' : 'database only'}), ` +
              `then pgBackRest stanza-create and check. Safe to run again.`,
        },
        'Clean Start',
      );
      if (ok !== 'Clean Start') return undefined;
    } else if (args?.confirm !== true) {
      throw new Error(
        'tsdbOps.stack.cleanStart runs the infra’s start script and starts the stack: pass { confirm: true }.',
      );
    }
    const docker = await engine.docker(stack);
    const dockerEnv = await engine.cliDockerEnv(stack);
    const r = await operation(stack, `Clean start of ${stack.projectName}`, interactive, (op) =>
      cleanStart(stack, {
        docker,
        dockerEnv,
        profile,
        builtin: args?.builtin === true,
        settings: readBackupsConfig(vscode.Uri.file(stack.workspaceFolder)),
        signal: op.signal,
        step: op.step,
        onLine: op.line,
      }),
    );
    return { ...r, ...(await afterChange(stack)) };
  };

  const lifecycle =
    (action: ContainerAction): Handler =>
    async (args, interactive) => {
      const stack = await stackFor(args);
      const verb = action[0]!.toUpperCase() + action.slice(1);
      const service = await pickService(stack, args, interactive, `${verb} Container`, (s) =>
        action === 'start'
          ? s.state !== 'running'
          : s.state === 'running' || s.state === 'restarting' || s.state === 'paused',
      );
      if (interactive && action !== 'start' && service === stack.dbService?.name) {
        const ok = await vscode.window.showWarningMessage(
          `${verb} the database container (${service})?`,
          { modal: true, detail: 'Connections to the database drop while it stops.' },
          verb,
        );
        if (ok !== verb) return undefined;
      }
      const docker = await engine.docker(stack);
      const title = `${verb === 'Stop' ? 'Stopping' : verb === 'Start' ? 'Starting' : 'Restarting'} ${service}`;
      const result = await operation(stack, title, false, async (op) => {
        try {
          op.step(title);
          return await containerAction(docker, stack.projectName, service, action);
        } catch (e) {
          if (!(e instanceof ServiceNotCreatedError) || action === 'stop') throw e;
          // No container yet: Compose creates it (with its profiles, so profile services start too).
          requireTrust('Creating a container with Compose');
          const profiles = stack.compose?.services.find((s) => s.name === service)?.profiles ?? [];
          const argv = [...profiles.flatMap((p) => ['--profile', p]), 'up', '-d', service];
          op.step(`compose ${argv.join(' ')}`);
          await runCompose(stack, argv, {
            dockerEnv: await engine.cliDockerEnv(stack),
            signal: op.signal,
            onLine: op.line,
          });
          const c = await serviceContainer(docker, stack.projectName, service);
          return {
            service,
            containerId: c.Id,
            containerName: (c.Names[0] ?? c.Id).replace(/^\//, ''),
            action,
            changed: true,
          };
        }
      });
      const after = (await services(stack).catch(() => [])).find((s) => s.service === service);
      return { ...result, status: after ? serviceResult(after) : undefined };
    };

  const logs: Handler = async (args, interactive) => {
    const stack = await stackFor(args);
    const service = await pickService(stack, args, interactive, 'Show Logs', (s) => s.state !== 'notCreated');
    const tail = parseTail(args?.tail) ?? 200;
    const follow = typeof args?.follow === 'boolean' ? args.follow : interactive;
    const docker = await engine.docker(stack);
    const c = await serviceContainer(docker, stack.projectName, service);
    const key = `${stack.infraDir}#${service}`;
    let channel = logChannels.get(key);
    const name = `TimescaleDB Ops: ${service} logs${registry.stacks.length > 1 ? ` (${stack.projectName})` : ''}`;
    if (!channel) logChannels.set(key, (channel = vscode.window.createOutputChannel(name)));
    following.get(key)?.abort();
    following.delete(key);
    channel.clear();
    const cname = (c.Names[0] ?? c.Id).replace(/^\//, '');
    channel.appendLine(`── ${cname} (${c.Id.slice(0, 12)}): last ${tail} lines${follow ? ', following' : ''} ──`);
    if (interactive || args?.show === true) channel.show(true);
    const out = channel;
    if (!follow) {
      const r = await streamLogs(docker, c.Id, { tail, follow: false, onLine: (l) => out.appendLine(l) });
      return { service, containerId: c.Id, channel: name, lines: r.lines, following: false };
    }
    const ac = new AbortController();
    following.set(key, ac);
    void vscode.commands.executeCommand('setContext', CONTEXT_KEY.followingLogs, following.size > 0);
    void streamLogs(docker, c.Id, { tail, follow: true, signal: ac.signal, onLine: (l) => out.appendLine(l) })
      .then(
        (r) =>
          out.appendLine(
            r.ended === 'cancelled' ? '── following stopped ──' : `── ${cname} stopped: following ended ──`,
          ),
        (e: unknown) => out.appendLine(`── following ended: ${errorText(e)} ──`),
      )
      .finally(() => {
        if (following.get(key) === ac) following.delete(key);
        void vscode.commands.executeCommand('setContext', CONTEXT_KEY.followingLogs, following.size > 0);
      });
    return { service, containerId: c.Id, channel: name, following: true };
  };

  const stopLogs: Handler = async (args, interactive) => {
    let keys = [...following.keys()];
    if (typeof args?.service === 'string') {
      const stack = await stackFor(args);
      keys = keys.filter((k) => k === `${stack.infraDir}#${args.service as string}`);
    } else if (interactive && keys.length > 1) {
      const picked = await vscode.window.showQuickPick(
        keys.map((k) => ({ label: k.split('#').pop()!, key: k })),
        { title: 'Stop following which logs?', canPickMany: true },
      );
      if (!picked) return undefined;
      keys = picked.map((p) => p.key);
    }
    for (const k of keys) following.get(k)?.abort();
    return { stopped: keys.map((k) => k.split('#').pop()!) };
  };

  const shell: Handler = async (args, interactive) => {
    const stack = await stackFor(args);
    const cli = findOnPath('docker');
    if (!cli)
      throw new Error(
        'Open Shell runs "docker exec -it" in a terminal, and no docker CLI is on PATH. ' +
          'Install the Docker CLI (the engine can stay remote: tsdbOps.docker.host is passed as DOCKER_HOST).',
      );
    const service = await pickService(stack, args, interactive, 'Open Shell', (s) => s.state === 'running');
    const docker = await engine.docker(stack);
    const c = await runningServiceContainer(docker, stack.projectName, service);
    const sh = (await hasBash(docker, c.Id)) ? 'bash' : 'sh';
    const dockerEnv = await engine.cliDockerEnv(stack);
    const name = `${service} (${sh})`;
    const terminal = vscode.window.createTerminal({
      name,
      shellPath: cli,
      shellArgs: ['exec', '-it', c.Id, sh],
      env: Object.keys(dockerEnv).length ? dockerEnv : undefined,
      iconPath: new vscode.ThemeIcon('terminal'),
    });
    terminal.show(args?.preserveFocus === true);
    return { service, containerId: c.Id, shell: sh, terminal: name };
  };

  const actions: Handler = async (args) => {
    const stack = await stackFor(args);
    const db = stack.dbService?.name;
    const state = engine.state(stack);
    const dbStatus = state?.kind === 'ready' ? state.model.database : undefined;
    const running = dbStatus?.state === 'running';
    type Item = vscode.QuickPickItem & { run?: () => unknown };
    const withStack = { folder: stack.infraDir };
    const items: Item[] = [
      {
        label: '$(play) Start Stack: database only',
        description: 'compose up -d',
        run: () => stackUp({ ...withStack, profile: 'database' }, true),
      },
      {
        label: '$(run-all) Start Stack: every service',
        description: 'compose --profile full up -d',
        run: () => stackUp({ ...withStack, profile: 'full' }, true),
      },
      ...(db
        ? [
            running
              ? {
                  label: `$(debug-restart) Restart ${db}`,
                  run: () => lifecycle('restart')({ ...withStack, service: db }, true),
                }
              : {
                  label: `$(debug-start) Start ${db}`,
                  run: () => lifecycle('start')({ ...withStack, service: db }, true),
                },
            ...(dbStatus && dbStatus.state !== 'notCreated'
              ? [
                  {
                    label: `$(output) Show ${db} Logs`,
                    run: () => logs({ ...withStack, service: db, follow: true, show: true }, true),
                  },
                ]
              : []),
            ...(running
              ? [{ label: `$(terminal) Open Shell in ${db}`, run: () => shell({ ...withStack, service: db }, true) }]
              : []),
          ]
        : []),
      { label: '$(refresh) Refresh', run: () => vscode.commands.executeCommand(COMMAND.refresh) },
      {
        label: '$(list-tree) Show Containers View',
        run: () => vscode.commands.executeCommand(focusCommand(VIEW.containers)),
      },
      { label: '', kind: vscode.QuickPickItemKind.Separator },
      {
        label: '$(debug-restart-frame) Clean Start…',
        description: cleanStartScript(stack) ? 'scripts/clean_start.sh' : 'folders, up, pgBackRest stanza',
        run: () => stackCleanStart({ ...withStack }, true),
      },
      {
        label: '$(debug-stop) Stop Stack…',
        description: 'compose --profile full down',
        run: () => stackDown({ ...withStack }, true),
      },
    ];
    const picked = await vscode.window.showQuickPick(items, {
      title:
        `${stack.projectName}: ` +
        `${dbStatus ? `${db} ${describeState(dbStatus)}` : engine.reachability === 'unreachable' ? 'Docker not reachable' : 'stack actions'}`,
    });
    return picked?.run?.();
  };

  return [
    reg(COMMAND.stackUp, stackUp),
    reg(COMMAND.stackDown, stackDown),
    reg(COMMAND.stackCleanStart, stackCleanStart),
    reg(COMMAND.stackActions, actions),
    reg(COMMAND.containerStart, lifecycle('start')),
    reg(COMMAND.containerStop, lifecycle('stop')),
    reg(COMMAND.containerRestart, lifecycle('restart')),
    reg(COMMAND.containerLogs, logs),
    reg(COMMAND.containerStopLogs, stopLogs),
    reg(COMMAND.containerShell, shell),
    new vscode.Disposable(() => {
      for (const ac of following.values()) ac.abort();
      following.clear();
      for (const c of logChannels.values()) c.dispose();
      logChannels.clear();
    }),
  ];
}
