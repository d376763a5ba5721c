/**
 * Containers view: one row per compose service with the live state of its container, from the
 * stack's monitor (core/docker/events); refreshes on the monitor's changes. Unreachable Docker shows
 * the welcome content (with Retry), and the view's description names the host that was tried.
 */
import * as vscode from 'vscode';
import type { StackConfig } from '../../core/infra';
import { describeState, formatPort, uptime, type ServiceStatus } from '../../core/docker/model';
import type { MonitorState } from '../../core/docker/events';
import type { DockerService } from '../docker-service';
import type { StackRegistry } from '../stacks';
import { productionOf } from '../production';
import { leaf, openFileCommand, problemNode, StackTreeProvider, type Node } from './node';
import { COMMAND, ITEM, VIEW } from '../ids';

/** A service row: commands invoked from it get the stack and the service. */
export interface ServiceNode extends Node {
  readonly kind: 'service';
  readonly stack: StackConfig;
  readonly status: ServiceStatus;
}

export function isServiceNode(x: unknown): x is ServiceNode {
  return (
    typeof x === 'object' && x !== null && (x as { kind?: string }).kind === 'service' && 'status' in x && 'stack' in x
  );
}

function stateIcon(s: ServiceStatus): vscode.ThemeIcon {
  const icon = (id: string, color?: string) =>
    new vscode.ThemeIcon(id, color ? new vscode.ThemeColor(color) : undefined);
  switch (s.state) {
    case 'running':
      if (s.health === 'unhealthy') return icon('warning', 'list.warningForeground');
      if (s.health === 'starting') return icon('loading~spin', 'charts.yellow');
      return icon(s.health === 'healthy' ? 'pass-filled' : 'circle-filled', 'testing.iconPassed');
    case 'restarting':
      return icon('sync~spin', 'charts.yellow');
    case 'paused':
      return icon('debug-pause', 'charts.yellow');
    case 'exited':
      return s.exitCode ? icon('error', 'testing.iconFailed') : icon('circle-outline', 'disabledForeground');
    case 'dead':
      return icon('error', 'testing.iconFailed');
    case 'removing':
      return icon('trash', 'disabledForeground');
    case 'created':
      return icon('circle-outline');
    case 'notCreated':
      return icon('circle-large-outline', 'disabledForeground');
  }
}

/** The row's text, also what the API reports for tests: label is the service, description the state. */
export function serviceDescription(s: ServiceStatus): string {
  const extra = [
    s.state === 'notCreated' && s.profiles.length ? `profile ${s.profiles.join(', ')}` : '',
    s.inComposeFile ? '' : 'not in the compose file',
  ].filter(Boolean);
  return [describeState(s), ...extra].join(' · ');
}

export function contextValueOf(s: ServiceStatus): string {
  return ITEM.container(s.state, s.isDatabase);
}

function tooltip(stack: StackConfig, s: ServiceStatus): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${s.service}**${s.isDatabase ? ' — database service' : ''}\n\n`);
  md.appendMarkdown(`- state: **${describeState(s)}**${s.restartCount ? ` (restarted ${s.restartCount}×)` : ''}\n`);
  const up = uptime(s);
  if (up) md.appendMarkdown(`- up: ${up} (since ${s.startedAt!.toLocaleString()})\n`);
  else if (s.finishedAt && (s.state === 'exited' || s.state === 'dead'))
    md.appendMarkdown(`- stopped: ${s.finishedAt.toLocaleString()}\n`);
  if (s.containerName)
    md.appendMarkdown(
      `- container: \`${s.containerName}\` (\`${s.containerId?.slice(0, 12)}\`)${s.containers > 1 ? `, ${s.containers} containers` : ''}\n`,
    );
  md.appendMarkdown(`- image: \`${s.image ?? '(none)'}\`\n`);
  if (s.ports.length) md.appendMarkdown(`- ports: ${s.ports.map((p) => `\`${formatPort(p)}\``).join(', ')}\n`);
  md.appendMarkdown(`- profiles: ${s.profiles.length ? s.profiles.join(', ') : '(always started)'}\n`);
  md.appendMarkdown(`- project: \`${stack.projectName}\``);
  if (!s.inComposeFile)
    md.appendMarkdown('\n\n$(warning) This service is no longer in the compose file (an orphan container).');
  if (s.state === 'notCreated')
    md.appendMarkdown(
      `\n\nNo container yet: start the stack${s.profiles.includes('full') ? ' with the full profile' : ''}, or start this service.`,
    );
  return md;
}

export function serviceNode(stack: StackConfig, s: ServiceStatus): ServiceNode {
  const item = new vscode.TreeItem(s.service);
  item.id = `${stack.infraDir}#${s.service}`;
  item.description = serviceDescription(s);
  item.iconPath = stateIcon(s);
  item.contextValue = contextValueOf(s);
  item.tooltip = tooltip(stack, s);
  item.accessibilityInformation = { label: `${s.service}: ${serviceDescription(s)}` };
  if (s.inComposeFile) item.command = openFileCommand(stack.composeFile, s.line);
  return { kind: 'service', stack, status: s, item };
}

/**
 * Rows read from the compose file alone, shown until the engine answers: each service with its image
 * and profiles, "waiting for Docker at <host>" as its state (never a guessed one), opening its line.
 */
export function composeRows(stack: StackConfig, host: string): Node[] {
  const services = stack.compose?.services ?? [];
  if (!services.length) {
    const item = new vscode.TreeItem('Connecting to Docker…');
    item.iconPath = new vscode.ThemeIcon('loading~spin');
    return [leaf(item)];
  }
  return services.map((svc) => {
    const item = new vscode.TreeItem(svc.name);
    item.id = `${stack.infraDir}#${svc.name}#compose`;
    item.description = [
      `waiting for Docker at ${host}`,
      svc.profiles.length ? `profile ${svc.profiles.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' · ');
    item.iconPath = new vscode.ThemeIcon('loading~spin');
    item.tooltip = `${svc.name}: image ${svc.image ?? '(none)'} — from ${stack.composeFile}; its container's state comes when Docker answers.`;
    item.contextValue = ITEM.containerPending;
    item.command = openFileCommand(stack.composeFile, svc.line);
    return leaf(item);
  });
}

export class ContainersProvider extends StackTreeProvider {
  private readonly engineSub: vscode.Disposable | undefined;

  constructor(
    registry: StackRegistry,
    private readonly engine?: DockerService,
  ) {
    super(registry);
    this.engineSub = engine?.onDidChangeState(() => this.refresh());
  }

  protected async stackChildren(stack: StackConfig): Promise<Node[]> {
    const problems = stack.problems.map(problemNode);
    if (!this.engine) return problems;
    const state: MonitorState | undefined = this.engine.state(stack);
    if (!state || state.kind === 'connecting') {
      // The compose file's facts first; the engine's answer fills them in (onDidChangeState refreshes).
      if (!state) void this.engine.firstState(stack).catch(() => undefined);
      return [...problems, ...composeRows(stack, this.engine.describeHost(stack))];
    }
    if (state.kind === 'unreachable') {
      // One stack: the welcome content (Retry) shows on an empty view. Several: say it in the folder.
      if (this.registry.stacks.length <= 1) return [];
      const item = new vscode.TreeItem(`Docker not reachable at ${this.engine.describeHost(stack)}`);
      item.description = state.error;
      item.iconPath = new vscode.ThemeIcon('debug-disconnect', new vscode.ThemeColor('list.warningForeground'));
      item.command = { title: 'Retry', command: COMMAND.refresh };
      item.contextValue = ITEM.dockerUnreachable;
      return [...problems, leaf(item)];
    }
    return [...problems, ...state.model.services.map((s) => serviceNode(stack, s))];
  }

  override dispose(): void {
    this.engineSub?.dispose();
    super.dispose();
  }
}

/**
 * The Containers tree view: its description names the Docker host when it is unreachable, and the
 * engine's slow fallback poll runs only while the view is visible.
 */
export function createContainersView(
  registry: StackRegistry,
  engine: DockerService,
): { provider: ContainersProvider; view: vscode.TreeView<Node>; disposable: vscode.Disposable } {
  const provider = new ContainersProvider(registry, engine);
  const view = vscode.window.createTreeView(VIEW.containers, {
    treeDataProvider: provider,
    showCollapseAll: false,
  });
  // Not view.message: VS Code hides the welcome content (with Retry) while a view has a message.
  // The welcome names where the host came from; the title's description names the host itself.
  const updateMessage = () => {
    const unreachable = registry.stacks.find((s) => engine.state(s)?.kind === 'unreachable');
    // The title names the context when every stack's engine comes from the same one.
    const contexts = new Set(registry.stacks.length ? registry.stacks.map((s) => engine.contextOf(s)) : [undefined]);
    const context = contexts.size === 1 ? [...contexts][0] : undefined;
    const production = registry.stacks.length === 1 && productionOf(registry.stacks[0]!, context);
    view.description = unreachable
      ? `unreachable: ${engine.describeHost(unreachable)}`
      : production
        ? `$(shield) production (${production.matched})`
        : undefined;
    view.title = context ? `Containers (${context})` : 'Containers';
  };
  engine.setPolling(view.visible);
  const disposable = vscode.Disposable.from(
    provider,
    view,
    view.onDidChangeVisibility((e) => {
      engine.setPolling(e.visible);
      // Catch up on what happened while hidden only when something may have been missed (no stream).
      if (e.visible) updateMessage();
    }),
    engine.onDidChangeState(updateMessage),
    registry.onDidChange(updateMessage),
    engine.onDidChangeEngine(updateMessage),
  );
  updateMessage();
  return { provider, view, disposable };
}
