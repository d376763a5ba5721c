/**
 * Stack and container commands: up/down/clean start through the Compose CLI (queued per stack, under
 * a progress notification with Cancel, output in the "TimescaleDB Ops" channel), start/stop/restart
 * through the Engine API, logs into an output channel per service, a shell in a terminal, and the
 * status bar's quick pick of stack actions. Each is declared in ./table/containers.ts; with an args object
 * a command asks nothing (the live ones need `confirm`) and returns a result; from the palette or the
 * tree it prompts for what is missing. The container ones are ./containers-services.ts.
 */
import * as vscode from 'vscode';
import { cleanStart, cleanStartScript, defaultProfile, profileArgs } from '../../core/stack/clean-start';
import { describeState } from '../../core/docker/model';
import { cancel } from '../../core/operations/cancel';
import { isServiceNode } from '../views/containers';
import { requireTrust, stackFor as stackOf, type Args } from './args';
import { confirmLive, register } from './register';
import { COMMAND, VIEW, focusCommand } from '../ids';
import {
  afterChange,
  askProfile,
  cancelled,
  composeOperation,
  modal,
  operation,
  parseProfile,
  type ContainerCommandContext,
  type Cx,
} from './containers-support';
import { containerLogs, containerShell, containerStopLogs, lifecycle } from './containers-services';

export type { ContainerCommandContext } from './containers-support';

/** tsdbOps.stack.up */
export async function stackUp(cx: Cx, args: Args, interactive: boolean) {
  requireTrust('Starting the stack');
  const stack = await stackOf(cx.registry, args);
  const profile =
    parseProfile(args?.profile) ??
    (interactive ? await askProfile(stack, `Start ${stack.projectName}`) : defaultProfile(stack));
  const title = `Starting ${stack.projectName} (${profile === 'full' ? 'every service' : 'database only'})`;
  await composeOperation(cx, stack, title, interactive, [...profileArgs(profile), 'up', '-d']);
  return { profile, ...(await afterChange(cx, stack)) };
}

/** tsdbOps.stack.down */
export async function stackDown(cx: Cx, args: Args, interactive: boolean) {
  requireTrust('Stopping the stack');
  const stack = await stackOf(cx.registry, args);
  const profile = parseProfile(args?.profile) ?? 'full';
  // The confirmation rule of a live command (./table/containers.ts): the typed name on a production stack.
  const ok = await confirmLive(COMMAND.stackDown, interactive ? undefined : args, stack, () =>
    modal(
      `Stop ${stack.projectName}?`,
      `Runs docker compose${profile === 'full' ? ' --profile full' : ''} down: ` +
        `the containers are removed (the data folders and backups stay). ` +
        `The database is unavailable until the stack starts again.`,
      'Stop Stack',
    ),
  ).then(() => true, cancelled);
  if (!ok) return undefined;
  await composeOperation(cx, stack, `Stopping ${stack.projectName}`, interactive, [...profileArgs(profile), 'down']);
  return { profile, ...(await afterChange(cx, stack)) };
}

/** tsdbOps.stack.cleanStart */
export async function stackCleanStart(cx: Cx, args: Args, interactive: boolean) {
  requireTrust('Clean start');
  const stack = await stackOf(cx.registry, args);
  const profile = parseProfile(args?.profile) ?? defaultProfile(stack);
  const script = args?.builtin === true ? undefined : cleanStartScript(stack);
  const what = profile === 'full' ? 'every service' : 'database only';
  const ok = await confirmLive(COMMAND.stackCleanStart, interactive ? undefined : args, stack, () =>
    modal(
      `Clean start ${stack.projectName}?`,
      script
        ? `Runs ${script}: creates the mounted folders, starts the stack (${what}) and sets up pgBackRest. Safe to run again.`
        : `Creates the mounted folders, starts the stack (${what}), then pgBackRest stanza-create and check. Safe to run again.`,
      'Clean Start',
    ),
  ).then(() => true, cancelled);
  if (!ok) return undefined;
  const docker = await cx.engine.docker(stack);
  const dockerEnv = await cx.engine.cliDockerEnv(stack);
  const r = await operation(cx, stack, `Clean start of ${stack.projectName}`, interactive, (op) =>
    cleanStart(stack, {
      docker,
      dockerEnv,
      profile,
      builtin: args?.builtin === true,
      // The setup runs in the database container, whatever tsdbOps.backups.runtime says.
      context: cx.engine.contextFor(stack, { runtime: 'container' }),
      signal: op.signal,
      step: op.step,
      onLine: op.line,
    }),
  );
  return { ...r, ...(await afterChange(cx, stack)) };
}

/** tsdbOps.stack.actions */
export async function stackActions(cx: Cx, args: Args) {
  const stack = await stackOf(cx.registry, args);
  const db = stack.dbService?.name;
  const state = cx.engine.state(stack);
  const dbStatus = state?.kind === 'ready' ? state.model.database : undefined;
  const running = dbStatus?.state === 'running';
  type Item = vscode.QuickPickItem & { run?: () => unknown };
  const withStack = { folder: stack.infraDir };
  const items: Item[] = [
    {
      label: '$(play) Start Stack: database only',
      description: 'compose up -d',
      run: () => stackUp(cx, { ...withStack, profile: 'database' }, true),
    },
    {
      label: '$(run-all) Start Stack: every service',
      description: 'compose --profile full up -d',
      run: () => stackUp(cx, { ...withStack, profile: 'full' }, true),
    },
    ...(db
      ? [
          running
            ? {
                label: `$(debug-restart) Restart ${db}`,
                run: () => lifecycle(cx, 'restart', { ...withStack, service: db }, true),
              }
            : {
                label: `$(debug-start) Start ${db}`,
                run: () => lifecycle(cx, 'start', { ...withStack, service: db }, true),
              },
          ...(dbStatus && dbStatus.state !== 'notCreated'
            ? [
                {
                  label: `$(output) Show ${db} Logs`,
                  run: () => containerLogs(cx, { ...withStack, service: db, follow: true, show: true }, true),
                },
              ]
            : []),
          ...(running
            ? [
                {
                  label: `$(terminal) Open Shell in ${db}`,
                  run: () => containerShell(cx, { ...withStack, service: db }, true),
                },
              ]
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
      run: () => stackCleanStart(cx, { ...withStack }, true),
    },
    {
      label: '$(debug-stop) Stop Stack…',
      description: 'compose --profile full down',
      run: () => stackDown(cx, { ...withStack }, true),
    },
  ];
  const picked = await vscode.window.showQuickPick(items, {
    title:
      `${stack.projectName}: ` +
      `${dbStatus ? `${db} ${describeState(dbStatus)}` : cx.engine.reachability === 'unreachable' ? 'Docker not reachable' : 'stack actions'}`,
  });
  return picked?.run?.();
}

/** `interactive`: from the palette, the tree or the status bar (prompt, confirm, show errors). */
type Handler = (cx: Cx, args: Args, interactive: boolean) => unknown;

export function registerContainerCommands(ctx: ContainerCommandContext): vscode.Disposable[] {
  const cx: Cx = { ...ctx, logChannels: new Map(), following: new Map() };
  /** A service row of the Containers view becomes `{ service, folder }` (interactive). */
  const reg = (id: string, handler: Handler): vscode.Disposable =>
    register(
      { log: ctx.log },
      id,
      (plain, row) =>
        handler(cx, row ? { service: row.status.service, folder: row.stack.infraDir } : plain, plain === undefined),
      { isNode: isServiceNode },
    );
  return [
    reg(COMMAND.stackUp, stackUp),
    reg(COMMAND.stackDown, stackDown),
    reg(COMMAND.stackCleanStart, stackCleanStart),
    reg(COMMAND.stackActions, stackActions),
    reg(COMMAND.containerStart, (c, args, i) => lifecycle(c, 'start', args, i)),
    reg(COMMAND.containerStop, (c, args, i) => lifecycle(c, 'stop', args, i)),
    reg(COMMAND.containerRestart, (c, args, i) => lifecycle(c, 'restart', args, i)),
    reg(COMMAND.containerLogs, containerLogs),
    reg(COMMAND.containerStopLogs, containerStopLogs),
    reg(COMMAND.containerShell, containerShell),
    new vscode.Disposable(() => {
      for (const ac of cx.following.values()) cancel(ac);
      cx.following.clear();
      for (const c of cx.logChannels.values()) c.dispose();
      cx.logChannels.clear();
    }),
  ];
}
