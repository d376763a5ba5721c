/**
 * The Docker Engine client shared by every view and command, and the per-stack pieces that sit on
 * it: the tool runtime of a stack (its database container, through docker exec) and the stack's
 * operation queue. The client is rebuilt when `tsdbOps.docker.host` changes.
 */
import * as vscode from 'vscode';
import type Dockerode from 'dockerode';
import { connectEngine, resolveEngine, type EngineTarget } from '../core/docker/engine';
import { runningServiceContainer } from '../core/docker/find';
import { ContainerRuntime, type ToolRuntime } from '../core/runtime';
import { OperationQueue } from '../core/operations/queue';
import type { StackConfig } from '../core/infra';

export class EngineService implements vscode.Disposable {
  private client: Promise<Dockerode> | undefined;
  private targetCache: EngineTarget | undefined;
  private readonly queues = new Map<string, OperationQueue>();
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when the engine address changes (setting or reload). */
  readonly onDidChangeEngine = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];

  constructor() {
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('tsdbOps.docker.host')) {
          this.client = undefined;
          this.targetCache = undefined;
          this.changed.fire();
        }
      }),
    );
  }

  /** Where the engine is (setting, else DOCKER_HOST, else the local socket). Throws EngineConfigError on a bad value. */
  get target(): EngineTarget {
    this.targetCache ??= resolveEngine(vscode.workspace.getConfiguration('tsdbOps').get<string>('docker.host'));
    return this.targetCache;
  }

  docker(): Promise<Dockerode> {
    this.client ??= connectEngine(this.target);
    return this.client;
  }

  /** The tools of a stack run in its running database container. */
  async runtimeFor(stack: StackConfig): Promise<ToolRuntime> {
    if (!stack.dbService) throw new Error(`${stack.composeFile} has no database service (a service running a timescaledb or postgres image).`);
    const docker = await this.docker();
    const c = await runningServiceContainer(docker, stack.projectName, stack.dbService.name);
    const name = c.Names[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12);
    return new ContainerRuntime(docker, c.Id, `container ${name}`);
  }

  /** One operation at a time per stack. */
  queueFor(stack: StackConfig): OperationQueue {
    let q = this.queues.get(stack.infraDir);
    if (!q) this.queues.set(stack.infraDir, (q = new OperationQueue()));
    return q;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
