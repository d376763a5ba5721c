/**
 * Holds the backups overview of each stack (core/backups/overview) for the Backups view and the
 * freshness status item, and reloads it on events: the stacks or the engine changed, a backup
 * command finished, the manual backups, pgBackRest log or Ofelia save folders changed.
 */
import * as vscode from 'vscode';
import type { StackConfig } from '../../core/infra';
import { HostRuntime, type ToolRuntime } from '../../core/runtime';
import { loadBackupsOverview, type BackupsOverview } from '../../core/backups/overview';
import { stackBackupTargets, type BackupSettings, type StackBackupTargets } from '../../core/backups/targets';
import { hostRunAs } from '../../core/stack/site';
import type { StackRegistry } from '../stacks';
import type { EngineService } from '../engine';
import { Debouncer } from '../debounce';

export interface BackupsConfig extends BackupSettings {
  runtime: 'container' | 'host';
  /** Extra folders for the host tools (pg_dump, pgbackrest). */
  hostBinDirs: string[];
  graceMinutes: number;
}

export function readBackupsConfig(scope?: vscode.Uri): BackupsConfig {
  const c = vscode.workspace.getConfiguration('tsdbOps', scope);
  return {
    runtime: c.get<string>('backups.runtime') === 'host' ? 'host' : 'container',
    stanza: c.get<string>('backups.stanza') || undefined,
    pgbackrestConfig: c.get<string>('backups.pgbackrestConfig') || undefined,
    hostBinDirs: c.get<string[]>('backups.hostBinDirs') ?? [],
    graceMinutes: Math.max(0, c.get<number>('backups.freshnessGraceMinutes') ?? 15),
  };
}

export class BackupsController implements vscode.Disposable {
  private readonly overviews = new Map<string, BackupsOverview>();
  private readonly loading = new Map<string, Promise<BackupsOverview>>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private readonly debounce: Debouncer;
  private generation = 0;
  /** Per stack: the database container's id and whether it runs, to reload only when that changes. */
  private readonly dbKeys = new Map<string, string>();

  constructor(
    private readonly registry: StackRegistry,
    private readonly engine: EngineService,
  ) {
    this.debounce = new Debouncer(() => this.refresh());
    this.disposables.push(
      registry.onDidChange(() => this.scheduleRefresh()),
      engine.onDidChangeEngine(() => this.scheduleRefresh()),
      // The database container came up, went down or was replaced: what pgBackRest can tell changes.
      // Health checks and other services' changes don't trigger a reload.
      engine.onDidChangeState((stack) => {
        if (!stack) return;
        const key = databaseKey(engine, stack);
        if (this.dbKeys.get(stack.infraDir) === key) return;
        this.dbKeys.set(stack.infraDir, key);
        this.scheduleRefresh();
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('tsdbOps.backups')) this.scheduleRefresh();
      }),
    );
  }

  config(stack: StackConfig): BackupsConfig {
    return readBackupsConfig(vscode.Uri.file(stack.workspaceFolder));
  }

  /** Where the tools of this stack run (setting `tsdbOps.backups.runtime`). */
  async runtime(stack: StackConfig): Promise<ToolRuntime> {
    const cfg = this.config(stack);
    if (cfg.runtime === 'host') return new HostRuntime(cfg.hostBinDirs, hostRunAs());
    return this.engine.runtimeFor(stack);
  }

  async targets(stack: StackConfig): Promise<StackBackupTargets> {
    return stackBackupTargets(stack, await this.runtime(stack), this.config(stack));
  }

  get(stack: StackConfig): BackupsOverview | undefined {
    return this.overviews.get(stack.infraDir);
  }

  all(): BackupsOverview[] {
    return this.registry.stacks
      .map((s) => this.overviews.get(s.infraDir))
      .filter((o): o is BackupsOverview => Boolean(o));
  }

  /** The overview of a stack, loading it if needed. */
  async load(stack: StackConfig): Promise<BackupsOverview> {
    return this.overviews.get(stack.infraDir) ?? this.loadOne(stack);
  }

  scheduleRefresh(): void {
    this.debounce.schedule();
  }

  /** Reloads every stack and fires onDidChange. */
  async refresh(): Promise<void> {
    await this.registry.ready;
    const gen = ++this.generation;
    const stacks = this.registry.stacks;
    await Promise.all(stacks.map((s) => this.loadOne(s)));
    if (gen !== this.generation) return;
    for (const key of [...this.overviews.keys()])
      if (!stacks.some((s) => s.infraDir === key)) this.overviews.delete(key);
    this.changed.fire();
  }

  private loadOne(stack: StackConfig): Promise<BackupsOverview> {
    const running = this.loading.get(stack.infraDir);
    if (running) return running;
    const cfg = this.config(stack);
    const p = loadBackupsOverview({
      stack,
      runtime: () => this.runtime(stack),
      settings: cfg,
      graceMs: cfg.graceMinutes * 60_000,
      remoteFiles: cfg.runtime === 'container' && this.engine.isRemote,
    })
      .then((o) => {
        this.overviews.set(stack.infraDir, o);
        return o;
      })
      .finally(() => this.loading.delete(stack.infraDir));
    this.loading.set(stack.infraDir, p);
    return p;
  }

  dispose(): void {
    this.debounce.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

function databaseKey(engine: EngineService, stack: StackConfig): string {
  const state = engine.state(stack);
  if (!state || state.kind !== 'ready') return state?.kind ?? 'unknown';
  const db = state.model.database;
  return `${db?.containerId ?? 'none'}:${db?.state ?? 'notCreated'}`;
}
