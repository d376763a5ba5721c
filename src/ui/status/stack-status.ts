/**
 * Status bar: the state of the stack's database container (running/healthy, unhealthy, stopped, not
 * created, Docker unreachable) with the warning background when it is not running well, the infra
 * problems count, and a click that opens the stack actions. Without an engine state yet it shows the
 * stack's name.
 */
import * as vscode from 'vscode';
import type { StackConfig } from '../../core/infra';
import { describeState, formatPort, uptime, type ServiceStatus } from '../../core/docker/model';
import type { MonitorState } from '../../core/docker/events';
import type { DockerService } from '../docker-service';
import type { StackRegistry } from '../stacks';
import { COMMAND } from '../ids';
import type { StackFocus } from './focus';
import { basename } from 'node:path';

export interface StatusBarSnapshot {
  readonly text: string;
  readonly tooltip: string;
  /** The theme colour id of the background, if any. */
  readonly background?: string;
  readonly command?: string;
  readonly visible: boolean;
  /** The stack shown (its compose project), and whether it is pinned (several stacks: see StackFocus). */
  readonly stack?: string;
  readonly pinned?: boolean;
}

interface DbView {
  icon: string;
  text: string;
  warn: boolean;
}

/** How the database service's state reads in the status bar. */
export function databaseView(state: MonitorState | undefined, stack: StackConfig): DbView | undefined {
  if (!state || state.kind === 'connecting') return undefined;
  if (state.kind === 'unreachable') return { icon: 'debug-disconnect', text: 'Docker unreachable', warn: true };
  const db = state.model.database;
  if (!db) return stack.dbService ? undefined : { icon: 'question', text: 'no database service', warn: true };
  return dbStateView(db);
}

function dbStateView(db: ServiceStatus): DbView {
  switch (db.state) {
    case 'running':
      if (db.health === 'unhealthy') return { icon: 'warning', text: 'unhealthy', warn: true };
      if (db.health === 'starting') return { icon: 'loading~spin', text: 'starting', warn: false };
      return { icon: 'database', text: db.health === 'healthy' ? 'healthy' : 'running', warn: false };
    case 'restarting':
      return { icon: 'sync~spin', text: 'restarting', warn: true };
    case 'paused':
      return { icon: 'debug-pause', text: 'paused', warn: true };
    case 'notCreated':
      return { icon: 'circle-slash', text: 'not created', warn: true };
    case 'exited':
    case 'dead':
      return { icon: 'debug-stop', text: `stopped${db.exitCode ? ` (exit ${db.exitCode})` : ''}`, warn: true };
    default:
      return { icon: 'debug-stop', text: db.state === 'created' ? 'stopped' : db.state, warn: true };
  }
}

export class StackStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('tsdbOps.stack', vscode.StatusBarAlignment.Left, 50);
  private readonly subs: vscode.Disposable[] = [];
  private last: StatusBarSnapshot = { text: '', tooltip: '', visible: false };

  constructor(
    private readonly registry: StackRegistry,
    private readonly engine?: DockerService,
    private readonly focus?: StackFocus,
  ) {
    this.item.name = 'TimescaleDB Ops';
    this.item.command = engine ? COMMAND.stackActions : 'workbench.view.extension.tsdbOps';
    this.subs.push(registry.onDidChange(() => this.update()));
    if (engine) this.subs.push(engine.onDidChangeState(() => this.update()));
    if (focus) this.subs.push(focus.onDidChange(() => this.update()));
    this.update();
  }

  /** What the item shows now (the API hands it to tests). */
  snapshot(): StatusBarSnapshot {
    return this.last;
  }

  private update(): void {
    const stacks = this.registry.stacks;
    const problems = this.registry.problems;
    if (stacks.length === 0 && problems.length === 0) {
      this.item.hide();
      this.last = { text: '', tooltip: '', visible: false };
      return;
    }
    const errors = problems.filter((p) => p.severity === 'error').length;
    const names = stacks.map((s) => s.projectName).join(', ');
    // Several stacks: the one of the active editor's folder, or the pinned one, named in the item.
    const stack = this.focus?.current ?? stacks[0];
    const pinned = Boolean(stack && this.focus?.pinned === stack);
    const which = stack && stacks.length > 1 ? ` ${basename(stack.workspaceFolder)}${pinned ? ' $(pinned)' : ''}` : '';
    const state = stack && this.engine ? this.engine.state(stack) : undefined;
    const db = stack ? databaseView(state, stack) : undefined;
    const errorText = errors ? ` $(error) ${errors}` : '';
    this.item.text = db
      ? `$(${db.icon}) TimescaleDB${which}: ${db.text}${errorText}`
      : `$(database) TimescaleDB${which}: ${which ? stack!.projectName : names || 'infra'}${errorText}`;
    const background = errors
      ? 'statusBarItem.errorBackground'
      : db?.warn
        ? 'statusBarItem.warningBackground'
        : undefined;
    this.item.backgroundColor = background ? new vscode.ThemeColor(background) : undefined;

    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown('**TimescaleDB Ops**\n\n');
    for (const s of stacks) {
      const st = this.engine?.state(s);
      const marker = s === stack && stacks.length > 1 ? (pinned ? '$(pinned) ' : '$(arrow-right) ') : '';
      const on = this.engine ? ` on ${this.engine.engineLabelOf(s)}` : '';
      md.appendMarkdown(
        `- ${marker}\`${s.projectName}\` in \`${s.infraDir}\`: ${s.compose?.services.length ?? 0} services, ` +
          `database \`${s.dbService?.name ?? '?'}\`${on}\n`,
      );
      if (st?.kind === 'unreachable') {
        md.appendMarkdown(`  - Docker not reachable at \`${this.engine!.describeHost(s)}\`: ${st.error}\n`);
      } else if (st?.kind === 'ready' && st.model.database) {
        const d = st.model.database;
        md.appendMarkdown(`  - state: **${describeState(d)}**\n`);
        if (d.containerName) md.appendMarkdown(`  - container: \`${d.containerName}\`\n`);
        if (d.image) md.appendMarkdown(`  - image: \`${d.image}\`\n`);
        const up = uptime(d);
        if (up) md.appendMarkdown(`  - up: ${up}\n`);
        const port = d.ports.find((p) => p.hostPort) ?? d.ports[0];
        if (port) md.appendMarkdown(`  - port: \`${formatPort(port)}\`\n`);
      }
    }
    if (errors)
      md.appendMarkdown(
        `\n$(error) ${errors} problem${errors > 1 ? 's' : ''} in the infra files (see the Problems panel)\n`,
      );
    if (stacks.length > 1)
      md.appendMarkdown(
        pinned
          ? '\nPinned ("Unpin Status Bar Stack" follows the active editor again).\n'
          : '\nFollows the active editor\'s folder ("Pin Stack for the Status Bar…" keeps one).\n',
      );
    md.appendMarkdown(this.engine ? '\nClick for the stack actions.' : '\nClick to open the TimescaleDB Ops views.');
    this.item.tooltip = md;
    const label = db
      ? `TimescaleDB${which.replace(' $(pinned)', ' pinned')} ${db.text}`
      : `TimescaleDB Ops: ${names || 'infra'}`;
    this.item.accessibilityInformation = { label: `${label}${errors ? `, ${errors} problems` : ''}` };
    this.item.show();
    this.last = {
      text: this.item.text,
      tooltip: md.value,
      background,
      command: typeof this.item.command === 'string' ? this.item.command : undefined,
      visible: true,
      stack: stack?.projectName,
      pinned,
    };
  }

  dispose(): void {
    for (const s of this.subs) s.dispose();
    this.item.dispose();
  }
}
