/**
 * Holds the discovered stack of each workspace folder and tells the views when it changes.
 * Changes come from events (settings, workspace folders, file watchers), never from polling.
 */
import * as vscode from 'vscode';
import { Debouncer } from './debounce';
import { discoverInfra, formatProblem, type Discovery, type StackConfig, type InfraProblem } from '../core/infra';
import type { StackSummary } from '../api';
import { CONTEXT_KEY } from './ids';

export type InfraState = 'found' | 'none' | 'invalid' | 'noWorkspace';

export class StackRegistry implements vscode.Disposable {
  private discoveries: Discovery[] = [];
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private readonly debouncer = new Debouncer(() => this.refresh());
  private running: Promise<void> | undefined;
  /** The one run queued behind the running one: it reads the settings as they are when it starts. */
  private queued: Promise<void> | undefined;
  readonly ready: Promise<void>;
  /**
   * Which engine a stack lives on, for the view roots of a multi-root workspace ("local engine",
   * "ssh://deploy@staging", "context prod") and the production guard's context glob; set by activate().
   */
  engineOf: ((stack: StackConfig) => { label: string; context?: string }) | undefined;

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.ready = this.refresh();
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('tsdbOps')) this.scheduleRefresh();
      }),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.scheduleRefresh()),
    );
    // Compose files and .env anywhere in the workspace; migrations folders are watched by the view.
    for (const glob of ['**/{docker-compose,compose}.{yaml,yml}', '**/.env']) {
      const w = vscode.workspace.createFileSystemWatcher(glob);
      w.onDidChange(() => this.scheduleRefresh());
      w.onDidCreate(() => this.scheduleRefresh());
      w.onDidDelete(() => this.scheduleRefresh());
      this.disposables.push(w);
    }
  }

  get all(): readonly Discovery[] {
    return this.discoveries;
  }

  get stacks(): StackConfig[] {
    return this.discoveries.flatMap((d) => (d.kind === 'found' ? [d.stack] : []));
  }

  get state(): InfraState {
    if (!vscode.workspace.workspaceFolders?.length) return 'noWorkspace';
    if (this.discoveries.some((d) => d.kind === 'found')) return 'found';
    if (this.discoveries.some((d) => d.kind === 'invalid')) return 'invalid';
    return 'none';
  }

  /** Every problem of every folder. */
  get problems(): InfraProblem[] {
    return this.discoveries.flatMap((d) =>
      d.kind === 'found' ? [...d.stack.problems] : d.kind === 'invalid' ? [...d.problems] : [],
    );
  }

  /** Debounced refresh for bursts of events. */
  scheduleRefresh(delayMs = 300): void {
    this.debouncer.schedule(delayMs);
  }

  /**
   * Discovers every workspace folder again. The promise settles after a run that started after this
   * call (a run already going may have read the settings before they changed): concurrent calls share
   * the running run's one follow-up.
   */
  refresh(): Promise<void> {
    if (!this.running) {
      this.running = this.discoverAll().finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    this.queued ??= this.running.then(
      () => this.startQueued(),
      () => this.startQueued(),
    );
    return this.queued;
  }

  private startQueued(): Promise<void> {
    this.queued = undefined;
    return this.refresh();
  }

  private async discoverAll(): Promise<void> {
    const started = performance.now();
    const folders = vscode.workspace.workspaceFolders ?? [];
    this.discoveries = await Promise.all(
      folders.map(async (folder) => {
        const cfg = vscode.workspace.getConfiguration('tsdbOps', folder.uri);
        try {
          return await discoverInfra({
            workspaceFolder: folder.uri.fsPath,
            infraPath: cfg.get<string>('infraPath'),
            migrationsPath: cfg.get<string>('migrations.path'),
            environment: process.env,
          });
        } catch (e) {
          this.log.error(
            `Reading the infra of ${folder.uri.fsPath} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
          );
          return { kind: 'none', workspaceFolder: folder.uri.fsPath, searched: 0 } satisfies Discovery;
        }
      }),
    );
    for (const d of this.discoveries) {
      if (d.kind === 'found') {
        const s = d.stack;
        this.log.info(
          `Stack "${s.projectName}" in ${s.infraDir}: ${s.compose?.services.length ?? 0} services, ` +
            `database service ${s.dbService?.name ?? '(none)'}, migrations ${s.migrationsDir ?? '(none)'}`,
        );
      } else if (d.kind === 'none') {
        this.log.info(`No infra folder found in ${d.workspaceFolder} (${d.searched} folders searched).`);
      }
      for (const p of d.kind === 'found' ? d.stack.problems : d.kind === 'invalid' ? d.problems : []) {
        this.log.warn(formatProblem(p));
      }
    }
    performance.mark('tsdbOps.discovery.end');
    this.log.debug(`Discovery took ${(performance.now() - started).toFixed(1)} ms.`);
    void vscode.commands.executeCommand('setContext', CONTEXT_KEY.infraState, this.state);
    this.changed.fire();
  }

  summaries(): StackSummary[] {
    return this.stacks.map((s) => ({
      folder: s.workspaceFolder,
      infraDir: s.infraDir,
      composeFile: s.composeFile,
      projectName: s.projectName,
      services: s.compose?.services.map((x) => x.name) ?? [],
      dbService: s.dbService?.name,
      migrationsDir: s.migrationsDir,
      problems: s.problems.map((p) => ({ file: p.file, line: p.line, message: p.message, fix: p.fix })),
    }));
  }

  dispose(): void {
    this.debouncer.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
