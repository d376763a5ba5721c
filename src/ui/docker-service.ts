/**
 * The VS Code side of the engines and the stacks on them: the engine registry (core/docker/engines: one
 * client per distinct engine settings) fed with each folder's settings, the stack context of a stack
 * (core/stack/context, with the folder's settings), and the per-stack pieces that sit on it: the live model
 * of each stack's containers (one events stream per compose project, see core/docker/events) and the
 * stack's operation queue. The clients and the monitors are rebuilt when an engine setting changes.
 */
import * as vscode from 'vscode';
import type Dockerode from 'dockerode';
import { cliDockerEnv, cliDockerHost, engineLabel, type EngineTarget } from '../core/docker/engine-address';
import { EngineRegistry } from '../core/docker/engines';
import { StackMonitor, type MonitorState } from '../core/docker/events';
import type { ToolRuntime } from '../core/runtime';
import { resolveStack, type StackContext, type StackSettings } from '../core/stack/context';
import { stackSettingsOf } from './stack-settings';
import { OperationQueue } from '../core/operations/queue';
import type { StackConfig } from '../core/infra';
import type { StackRegistry } from './stacks';
import { CONTEXT_KEY } from './ids';
import { errorText } from '../core/format';
import { ENGINE_SETTINGS } from './engine-settings';

/** Reachability of the engine over every stack: the `tsdbOps.dockerState` context key. */
export type DockerState = 'unknown' | 'reachable' | 'unreachable';

/** What picks a stack's engine: its workspace folder (folder-scoped settings). Undefined: the window's settings. */
export type EngineScope = Pick<StackConfig, 'workspaceFolder'> | undefined;

interface Watched {
  stack: StackConfig;
  readonly monitor: StackMonitor;
  readonly unsubscribe: () => void;
}

export class DockerService implements vscode.Disposable {
  /** One client per distinct engine (folders with equal settings share it). */
  readonly engines = new EngineRegistry();
  private readonly queues = new Map<string, OperationQueue>();
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when the engine address changes (setting or reload). */
  readonly onDidChangeEngine = this.changed.event;
  private readonly stateChanged = new vscode.EventEmitter<StackConfig | undefined>();
  /** Fires when a stack's container model or the engine's reachability changes. */
  readonly onDidChangeState = this.stateChanged.event;
  private readonly disposables: vscode.Disposable[] = [this.changed, this.stateChanged];
  private readonly watched = new Map<string, Watched>();
  private polling = false;
  private dockerState: DockerState | undefined;
  private hostSource: string | undefined;

  constructor(
    private readonly registry?: StackRegistry,
    private readonly log?: vscode.LogOutputChannel,
  ) {
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (ENGINE_SETTINGS.some((k) => e.affectsConfiguration(k))) {
          this.engines.clear();
          this.stopWatching();
          this.updateContext();
          this.changed.fire();
          this.sync();
        }
      }),
    );
    if (registry) {
      this.disposables.push(registry.onDidChange(() => this.sync()));
      // After the first discovery, off the activation path.
      void registry.ready.then(() => this.sync());
    }
    this.updateContext();
  }

  /** Where the window's engine is (the settings without a folder); see targetOf for a stack's. */
  get target(): EngineTarget {
    return this.targetOf(undefined);
  }

  /**
   * Where a stack's engine is: its folder's `tsdbOps.docker.host`, else `.context`, else DOCKER_HOST, else the
   * CLI's current context, else the local socket. Throws EngineConfigError on a bad value.
   */
  targetOf(scope: EngineScope): EngineTarget {
    return this.engines.engine(stackSettingsOf(scope?.workspaceFolder).docker).target;
  }

  /** True when the engine is on another machine (ssh://, or tcp:// to a host other than this one). */
  get isRemote(): boolean {
    return this.isRemoteFor(undefined);
  }

  isRemoteFor(scope: EngineScope): boolean {
    try {
      const t = this.targetOf(scope);
      if (t.ssh) return true;
      const host = (t.options as { host?: string }).host;
      return host !== undefined && !['localhost', '127.0.0.1', '::1'].includes(host);
    } catch {
      return false;
    }
  }

  /** The Docker context in use (for the Containers view's title), if the engine came from one. */
  get contextName(): string | undefined {
    return this.contextOf(undefined);
  }

  contextOf(scope: EngineScope): string | undefined {
    try {
      return this.targetOf(scope).context;
    } catch {
      return undefined;
    }
  }

  /**
   * DOCKER_HOST for CLI children (compose, docker exec in a terminal); undefined for the local default.
   * For ssh:// it is a private local socket over the checked SSH connection (a refused host key throws here).
   */
  cliDockerHost(scope?: EngineScope): Promise<string | undefined> {
    return cliDockerHost(this.targetOf(scope));
  }

  /** DOCKER_HOST, and DOCKER_CERT_PATH + DOCKER_TLS_VERIFY for a TLS engine, for CLI children. */
  cliDockerEnv(scope?: EngineScope): Promise<Record<string, string>> {
    return cliDockerEnv(this.targetOf(scope));
  }

  /** The engine address for messages ("unix:///var/run/docker.sock (DOCKER_HOST)"), never throws. */
  describeHost(scope?: EngineScope): string {
    try {
      const t = this.targetOf(scope);
      return `${t.host}${t.source === 'default' ? '' : ` (${t.source})`}`;
    } catch (e) {
      return errorText(e);
    }
  }

  /** A short name of a stack's engine for the view roots ("local engine", "ssh://…", "context prod"), never throws. */
  engineLabelOf(scope: EngineScope): string {
    try {
      return engineLabel(this.targetOf(scope));
    } catch {
      return 'engine setting invalid';
    }
  }

  /** DOCKER_HOST for CLI children (compose, docker exec in a terminal); undefined for the local default. */
  dockerHostEnv(scope?: EngineScope): string | undefined {
    try {
      const t = this.targetOf(scope);
      return t.source === 'default' ? undefined : t.host;
    } catch {
      return undefined;
    }
  }

  /** The dockerode client of a stack's engine (the window's without a stack). */
  docker(scope?: EngineScope): Promise<Dockerode> {
    return this.engines.engine(stackSettingsOf(scope?.workspaceFolder).docker).client();
  }

  /** What every operation knows about a stack (core/stack/context), with its folder's settings. Resolved anew each call. */
  contextFor(stack: StackConfig, backups?: StackSettings['backups']): StackContext {
    const settings = stackSettingsOf(stack.workspaceFolder);
    return resolveStack(stack, backups ? { ...settings, backups: { ...settings.backups, ...backups } } : settings, {
      engines: this.engines,
    });
  }

  /** The tools of a stack run in its running database container. */
  async runtimeFor(stack: StackConfig): Promise<ToolRuntime> {
    return this.contextFor(stack).databaseRuntime();
  }

  /** One operation at a time per stack. */
  queueFor(stack: StackConfig): OperationQueue {
    let q = this.queues.get(stack.infraDir);
    if (!q) this.queues.set(stack.infraDir, (q = new OperationQueue()));
    return q;
  }

  // ---- the live model ----

  /** The monitor of a stack's compose project (created and started on first use). */
  monitorFor(stack: StackConfig): StackMonitor {
    let w = this.watched.get(stack.infraDir);
    if (w && w.monitor.project !== stack.projectName) {
      this.unwatch(stack.infraDir);
      w = undefined;
    }
    if (!w) w = this.watch(stack);
    else if (w.stack !== stack) {
      // Discovery read the infra again (compose file or .env changed): the services may differ.
      const servicesChanged =
        JSON.stringify(w.stack.compose?.services) !== JSON.stringify(stack.compose?.services) ||
        w.stack.dbService?.name !== stack.dbService?.name;
      w.stack = stack;
      if (servicesChanged && w.monitor.state.kind === 'ready') void w.monitor.refresh();
    }
    return w.monitor;
  }

  /** The current state of a stack's containers (undefined before its monitor exists). */
  state(stack: StackConfig): MonitorState | undefined {
    const w = this.watched.get(stack.infraDir);
    return w && w.monitor.project === stack.projectName ? w.monitor.state : undefined;
  }

  /** Resolves once the stack's monitor has had its first answer (ready or unreachable). */
  async firstState(stack: StackConfig): Promise<MonitorState> {
    const m = this.monitorFor(stack);
    if (m.state.kind !== 'connecting') return m.state;
    return m.refresh();
  }

  /** Reads every stack's containers again now (and retries an unreachable engine at once). */
  async refreshDocker(stack?: StackConfig): Promise<void> {
    const stacks = stack ? [stack] : (this.registry?.stacks ?? [...this.watched.values()].map((w) => w.stack));
    await Promise.all(stacks.map((s) => this.monitorFor(s).refresh()));
  }

  get reachability(): DockerState {
    return this.dockerState ?? 'unknown';
  }

  /** The slow fallback poll runs only while a view showing the model is visible. */
  setPolling(on: boolean): void {
    this.polling = on;
    for (const w of this.watched.values()) w.monitor.setPolling(on);
  }

  private watch(stack: StackConfig): Watched {
    const key = stack.infraDir;
    const monitor = new StackMonitor({
      connect: () => this.docker(this.watched.get(key)?.stack ?? stack),
      project: stack.projectName,
      services: () => this.watched.get(key)?.stack.compose?.services ?? stack.compose?.services ?? [],
      dbService: () => (this.watched.get(key)?.stack ?? stack).dbService?.name,
      log: (level, message) => this.log?.[level](message),
    });
    const w: Watched = {
      stack,
      monitor,
      unsubscribe: monitor.onChange(() => {
        if (monitor.state.kind !== 'connecting') performance.mark('tsdbOps.docker.answer');
        this.updateContext();
        this.stateChanged.fire(this.watched.get(key)?.stack ?? stack);
      }),
    };
    this.watched.set(key, w);
    performance.mark('tsdbOps.docker.watch');
    monitor.setPolling(this.polling);
    monitor.start();
    return w;
  }

  private unwatch(key: string): void {
    const w = this.watched.get(key);
    if (!w) return;
    w.unsubscribe();
    w.monitor.dispose();
    this.watched.delete(key);
  }

  private stopWatching(): void {
    for (const key of [...this.watched.keys()]) this.unwatch(key);
    this.updateContext();
  }

  /** One monitor per discovered stack; monitors of stacks that are gone stop. */
  private sync(): void {
    if (!this.registry) return;
    const stacks = this.registry.stacks;
    const keys = new Set(stacks.map((s) => s.infraDir));
    for (const key of [...this.watched.keys()]) if (!keys.has(key)) this.unwatch(key);
    for (const s of stacks) this.monitorFor(s);
    this.updateContext();
    this.stateChanged.fire(undefined);
  }

  private updateContext(): void {
    const states = [...this.watched.values()].map((w) => w.monitor.state.kind);
    const next: DockerState = states.includes('unreachable')
      ? 'unreachable'
      : states.length && states.every((s) => s === 'ready')
        ? 'reachable'
        : 'unknown';
    let source: string;
    try {
      source = this.target.source;
    } catch {
      source = 'invalid';
    }
    if (source !== this.hostSource) {
      this.hostSource = source;
      void vscode.commands.executeCommand('setContext', CONTEXT_KEY.dockerHostSource, source);
    }
    if (next === this.dockerState) return;
    this.dockerState = next;
    void vscode.commands.executeCommand('setContext', CONTEXT_KEY.dockerState, next);
  }

  dispose(): void {
    this.stopWatching();
    this.engines.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
