/** Container commands (start, stop, restart, logs, stop following, shell): declared in ./table/containers.ts. */
import * as vscode from 'vscode';
import { runCompose } from '../../core/docker/compose-cli';
import { containerAction, hasBash, type ContainerAction } from '../../core/docker/lifecycle';
import { runningServiceContainer, serviceContainer, ServiceNotCreatedError } from '../../core/docker/find';
import { streamLogs } from '../../core/docker/logs';
import { serviceResult } from '../../core/docker/model';
import { findOnPath } from '../../core/docker/cli-path';
import { errorText } from '../../core/format';
import { CancelledError } from '../../core/operations/cancel';
import { requireTrust, stackFor as stackOf, type Args } from './args';
import { confirmLive } from './register';
import { COMMAND, CONTEXT_KEY } from '../ids';
import { cancelled, modal, operation, parseTail, pickService, services, type Cx } from './containers-support';
import { OpsError } from '../../core/errors/error';

/** tsdbOps.container.start / stop / restart */
export async function lifecycle(cx: Cx, action: ContainerAction, args: Args, interactive: boolean) {
  const stack = await stackOf(cx.registry, args);
  const verb = action[0]!.toUpperCase() + action.slice(1);
  const service = await pickService(cx, stack, args, interactive, `${verb} Container`, (s) =>
    action === 'start'
      ? s.state !== 'running'
      : s.state === 'running' || s.state === 'restarting' || s.state === 'paused',
  );
  // Stop / Restart of the database are live (./table/containers.ts): confirmed, on production by the typed name.
  if (action !== 'start' && service === stack.dbService?.name) {
    const id = action === 'stop' ? COMMAND.containerStop : COMMAND.containerRestart;
    const ok = await confirmLive(id, interactive ? undefined : args, stack, () =>
      modal(`${verb} the database container (${service})?`, 'Connections to the database drop while it stops.', verb),
    ).then(() => true, cancelled);
    if (!ok) return undefined;
  }
  const docker = await cx.engine.docker(stack);
  const title = `${verb === 'Stop' ? 'Stopping' : verb === 'Start' ? 'Starting' : 'Restarting'} ${service}`;
  const result = await operation(cx, stack, title, false, async (op) => {
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
        dockerEnv: await cx.engine.cliDockerEnv(stack),
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
  const after = (await services(cx, stack).catch(() => [])).find((s) => s.service === service);
  return { ...result, status: after ? serviceResult(after) : undefined };
}

/** tsdbOps.container.logs */
export async function containerLogs(cx: Cx, args: Args, interactive: boolean) {
  const stack = await stackOf(cx.registry, args);
  const service = await pickService(cx, stack, args, interactive, 'Show Logs', (s) => s.state !== 'notCreated');
  const tail = parseTail(args?.tail) ?? 200;
  const follow = typeof args?.follow === 'boolean' ? args.follow : interactive;
  const docker = await cx.engine.docker(stack);
  const c = await serviceContainer(docker, stack.projectName, service);
  const key = `${stack.infraDir}#${service}`;
  let channel = cx.logChannels.get(key);
  const name = `TimescaleDB Ops: ${service} logs${cx.registry.stacks.length > 1 ? ` (${stack.projectName})` : ''}`;
  if (!channel) cx.logChannels.set(key, (channel = vscode.window.createOutputChannel(name)));
  cx.following.get(key)?.abort(new CancelledError());
  cx.following.delete(key);
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
  cx.following.set(key, ac);
  void vscode.commands.executeCommand('setContext', CONTEXT_KEY.followingLogs, cx.following.size > 0);
  void streamLogs(docker, c.Id, { tail, follow: true, signal: ac.signal, onLine: (l) => out.appendLine(l) })
    .then(
      (r) =>
        out.appendLine(r.ended === 'cancelled' ? '── following stopped ──' : `── ${cname} stopped: following ended ──`),
      (e: unknown) => out.appendLine(`── following ended: ${errorText(e)} ──`),
    )
    .finally(() => {
      if (cx.following.get(key) === ac) cx.following.delete(key);
      void vscode.commands.executeCommand('setContext', CONTEXT_KEY.followingLogs, cx.following.size > 0);
    });
  return { service, containerId: c.Id, channel: name, following: true };
}

/** tsdbOps.container.stopLogs */
export async function containerStopLogs(cx: Cx, args: Args, interactive: boolean) {
  let keys = [...cx.following.keys()];
  if (typeof args?.service === 'string') {
    const stack = await stackOf(cx.registry, args);
    keys = keys.filter((k) => k === `${stack.infraDir}#${args.service as string}`);
  } else if (interactive && keys.length > 1) {
    const picked = await vscode.window.showQuickPick(
      keys.map((k) => ({ label: k.split('#').pop()!, key: k })),
      { title: 'Stop following which logs?', canPickMany: true },
    );
    if (!picked) return undefined;
    keys = picked.map((p) => p.key);
  }
  for (const k of keys) cx.following.get(k)?.abort(new CancelledError());
  return { stopped: keys.map((k) => k.split('#').pop()!) };
}

/** tsdbOps.container.shell */
export async function containerShell(cx: Cx, args: Args, interactive: boolean) {
  const stack = await stackOf(cx.registry, args);
  const cli = findOnPath('docker');
  if (!cli)
    throw new OpsError(
      'tool-missing',
      'Open Shell runs "docker exec -it" in a terminal, and no docker CLI is on PATH. ' +
        'Install the Docker CLI (the engine can stay remote: tsdbOps.docker.host is passed as DOCKER_HOST).',
    );
  const service = await pickService(cx, stack, args, interactive, 'Open Shell', (s) => s.state === 'running');
  const docker = await cx.engine.docker(stack);
  const c = await runningServiceContainer(docker, stack.projectName, service);
  const sh = (await hasBash(docker, c.Id)) ? 'bash' : 'sh';
  const dockerEnv = await cx.engine.cliDockerEnv(stack);
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
}
