/**
 * Holds the backups overview of each stack (core/backups/overview) for the Backups view and the
 * freshness status item, and reloads it on events. Every reload trigger is here: the stacks, the
 * engine, the database container or the settings changed; a backup command finished (the commands
 * call scheduleRefresh); a file came or went in the manual backups folder; a saved Ofelia run appeared; a
 * pgBackRest command that changes the repository logged its end; a drill report came or went in the drills folder
 * (DrillsWatcher: only that report is read and merged into the overview, nothing else is reloaded).
 */
import * as vscode from 'vscode';
import type { StackConfig } from '../../core/infra';
import type { ToolRuntime } from '../../core/runtime';
import type { DumpTo } from '../../core/backups/dump';
import { loadBackupsOverview, type BackupsOverview } from '../../core/backups/overview';
import { targetsOf, type BackupSettings, type StackBackupTargets } from '../../core/backups/targets';
import { manualBackupHostDir } from '../../core/stack/site';
import { sweepAbandonedPartials } from '../../core/backups/dump-owner';
import type { StackRegistry } from '../stacks';
import type { DockerService } from '../docker-service';
import { Debouncer } from '../debounce';
import { LogFollower } from '../../core/logs/follower';
import { stackStatus, type StackStatus } from '../../core/status/model';
import { schedulerFacts, schedulerKey, schedulerSetting } from './scheduler-facts';
import { DrillsWatcher, type DrillReportChange } from './drills-watcher';
import { withDrillReport, withoutDrillReport } from '../../core/backups/drill';
import { LoadSlots } from './load-slots';

/** Full loads at once (see LoadSlots). */
const FULL_LOADS_AT_ONCE = 3;

/** A pgBackRest log line saying a command that changes what `info` reports has ended. */
const REPOSITORY_CHANGED = / (backup|expire|stanza-create|stanza-upgrade|restore) command end: /;

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
    dumpTo: dumpToSetting(c.get<string>('backups.dumpTo')),
    graceMinutes: Math.max(0, c.get<number>('backups.freshnessGraceMinutes') ?? 15),
  };
}

/** `tsdbOps.backups.dumpTo`; an unknown value names itself and the choices (the dump refuses it). */
function dumpToSetting(v: string | undefined): DumpTo | undefined {
  if (v === undefined || v === '') return undefined;
  return v as DumpTo;
}

export class BackupsController implements vscode.Disposable {
  private readonly overviews = new Map<string, BackupsOverview>();
  /** The newest load of each stack, and whether it has begun reading (one still queued reads what is there then). */
  private readonly loading = new Map<string, { readonly promise: Promise<BackupsOverview>; started: boolean }>();
  /** The first paint's overview of a stack whose first full load has not ended (see load()). */
  private readonly firstPaints = new Map<string, Promise<BackupsOverview>>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private readonly debounce: Debouncer;
  private generation = 0;
  /** Per stack: the database container's id and whether it runs, to reload only when that changes. */
  private readonly dbKeys = new Map<string, string>();
  /** The stacks' folder watchers and pgBackRest log followers (renewed when the stacks change). */
  private watchers: vscode.Disposable[] = [];
  private logFollowers: LogFollower[] = [];
  /**
   * The drill reports the watchers saw, numbered: a reload that read the folder before a report arrived gets it
   * merged when it ends (merging is idempotent, so the last few are kept, not tracked per load).
   */
  private drillChanges: { seq: number; infraDir: string; change: DrillReportChange }[] = [];
  private drillSeq = 0;
  private readonly slots = new LoadSlots(FULL_LOADS_AT_ONCE);

  constructor(
    private readonly registry: StackRegistry,
    private readonly engine: DockerService,
  ) {
    this.debounce = new Debouncer(() => this.refresh());
    this.disposables.push(
      registry.onDidChange(() => {
        this.watchFolders();
        this.scheduleRefresh();
      }),
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
        if (e.affectsConfiguration('tsdbOps.backups') || e.affectsConfiguration('tsdbOps.schedule'))
          this.scheduleRefresh();
      }),
    );
    this.watchFolders();
  }

  /** Watches each stack's manual_backup and Ofelia save folders and follows its pgBackRest log folder. */
  private watchFolders(): void {
    for (const w of this.watchers) w.dispose();
    this.watchers = [];
    for (const stack of this.registry.stacks) {
      const manual = this.watch(manualBackupHostDir(stack), '*');
      manual.onDidCreate(() => this.scheduleRefresh());
      manual.onDidDelete(() => this.scheduleRefresh());
      manual.onDidChange(() => this.scheduleRefresh());
      this.watch(stack.ofeliaLogDir, '*.json').onDidCreate(() => this.scheduleRefresh());
      // Reports written by anyone (the command line, a timer, another window) show without a reload.
      const drills = new DrillsWatcher(this.engine.contextFor(stack).drillsDir, (c) =>
        this.applyDrillChanges(stack, c),
      );
      this.watchers.push(drills);
    }
    this.followLogs();
  }

  private watch(dir: string, glob: string): vscode.FileSystemWatcher {
    const w = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(dir), glob));
    this.watchers.push(w);
    return w;
  }

  /** One follower per pgBackRest log folder: kept while it watches, made again for one that could not (yet). */
  private followLogs(): void {
    const dirs = new Set(this.registry.stacks.map((s) => s.pgbackrestLogDir));
    const keep = this.logFollowers.filter((f) => f.watching && dirs.has(f.dir));
    for (const f of this.logFollowers) if (!keep.includes(f)) f.dispose();
    this.logFollowers = keep;
    for (const dir of dirs) {
      if (keep.some((f) => f.dir === dir)) continue;
      const f = new LogFollower(dir, ({ line }) => {
        if (REPOSITORY_CHANGED.test(line)) this.scheduleRefresh();
      });
      this.logFollowers.push(f);
      void f.start();
    }
  }

  /** Merges the reports that came or went into the stack's overview and fires onDidChange (no other reload). */
  private applyDrillChanges(stack: StackConfig, changes: readonly DrillReportChange[]): void {
    for (const change of changes) this.drillChanges.push({ seq: ++this.drillSeq, infraDir: stack.infraDir, change });
    this.drillChanges = this.drillChanges.slice(-100);
    const o = this.overviews.get(stack.infraDir);
    if (!o) return; // not loaded yet: the load reads the folder
    this.overviews.set(stack.infraDir, withDrillChanges(o, changes));
    this.changed.fire();
  }

  config(stack: StackConfig): BackupsConfig {
    return readBackupsConfig(vscode.Uri.file(stack.workspaceFolder));
  }

  /** Where the tools of this stack run (setting `tsdbOps.backups.runtime`). */
  async runtime(stack: StackConfig): Promise<ToolRuntime> {
    const ctx = this.engine.contextFor(stack);
    return ctx.runtimeKind.value === 'host' ? (await ctx.tools()).tools! : ctx.databaseRuntime();
  }

  async targets(stack: StackConfig): Promise<StackBackupTargets> {
    const rt = await this.runtime(stack);
    return targetsOf(stack, rt, await this.engine.contextFor(stack).site(), this.config(stack));
  }

  /** The one stack status (core/status: the same as `tsdb-ops status`) at `now`, with this stack's settings. */
  status(o: BackupsOverview, now = new Date()): StackStatus {
    const cfg = vscode.workspace.getConfiguration('tsdbOps', vscode.Uri.file(o.stack.workspaceFolder));
    const graceMs = this.config(o.stack).graceMinutes * 60_000;
    return stackStatus(o, { now, graceMs, maxAgeDays: cfg.get<number>('drill.maxAgeDays', 7) });
  }

  get(stack: StackConfig): BackupsOverview | undefined {
    return this.overviews.get(stack.infraDir);
  }

  all(): BackupsOverview[] {
    return this.registry.stacks
      .map((s) => this.overviews.get(s.infraDir))
      .filter((o): o is BackupsOverview => Boolean(o));
  }

  /**
   * The overview of a stack for the view, loading it if needed. Before its first load ends, the first paint's
   * (`pending`: the stack's folders only, read in milliseconds) while the engine and pgBackRest are asked;
   * onDidChange fires when the full one is there. get() and all() never return a first paint's.
   */
  async load(stack: StackConfig): Promise<BackupsOverview> {
    const key = stack.infraDir;
    const loaded = this.overviews.get(key);
    if (loaded) return loaded;
    const running = this.firstPaints.get(key);
    if (running) return running.catch(() => this.loadOne(stack));
    const first = this.loadFiles(stack);
    this.firstPaints.set(key, first);
    // The full load starts once the folders are read: on a busy machine (20 stacks) it would hold up the paint.
    const full = first.catch(() => undefined).then(() => this.loadOne(stack, false, true));
    // A backup whose window died (killed, crashed) left its partial file: removed once its process is gone.
    void full
      .then(() => this.targets(stack))
      .then((t) => sweepAbandonedPartials(t.manual))
      .catch(() => undefined);
    full.then(
      () => {
        if (this.firstPaints.delete(key)) this.changed.fire();
      },
      () => this.firstPaints.delete(key),
    );
    return first.catch(() => full);
  }

  /** A first paint's overview: what the stack's folders hold, nothing asked of the engine or pgBackRest. */
  private loadFiles(stack: StackConfig): Promise<BackupsOverview> {
    const cfg = this.config(stack);
    return loadBackupsOverview({
      context: this.engine.contextFor(stack),
      runtime: () => this.runtime(stack),
      settings: cfg,
      graceMs: cfg.graceMinutes * 60_000,
      scheduler: { setting: schedulerSetting(stack), engine: { kind: 'connecting' } },
      engine: false,
    });
  }

  scheduleRefresh(): void {
    this.debounce.schedule();
  }

  /** Reloads every stack and fires onDidChange. */
  async refresh(): Promise<void> {
    await this.registry.ready;
    const gen = ++this.generation;
    const stacks = this.registry.stacks;
    await Promise.all(stacks.map((s) => this.loadOne(s, true)));
    if (gen !== this.generation) return;
    // A log folder that did not exist yet (a fresh stack) is followed after the next reload.
    if (this.logFollowers.some((f) => !f.watching)) this.followLogs();
    for (const key of [...this.overviews.keys()])
      if (!stacks.some((s) => s.infraDir === key)) this.overviews.delete(key);
    this.changed.fire();
  }

  /**
   * Loads a stack's overview. A load already running is shared; with `fresh`, one that started before this
   * call is waited for and then a new one runs (a refresh after a change must not answer with what was read
   * before it); one still waiting for its turn is shared (it reads after the call). `urgent`: a view waits for it.
   */
  private loadOne(stack: StackConfig, fresh = false, urgent = false): Promise<BackupsOverview> {
    const running = this.loading.get(stack.infraDir);
    // A load still waiting for its turn reads after this call: it is fresh enough.
    if (running && (!fresh || !running.started)) return running.promise;
    const entry = { started: false } as { promise: Promise<BackupsOverview>; started: boolean };
    const p: Promise<BackupsOverview> = (running?.promise ?? Promise.resolve())
      .catch(() => undefined)
      // Every stack's first paint (its folders) before any full load; then a few at a time, a view's first.
      .then(() => Promise.allSettled([...this.firstPaints.values()]))
      .then(() =>
        this.slots.run(urgent, () => {
          entry.started = true;
          return this.fullLoad(stack);
        }),
      )
      .then((o) => {
        performance.mark('tsdbOps.backups.overview');
        this.overviews.set(stack.infraDir, o);
        return o;
      })
      .finally(() => {
        if (this.loading.get(stack.infraDir) === entry) this.loading.delete(stack.infraDir);
      });
    entry.promise = p;
    this.loading.set(stack.infraDir, entry);
    return p;
  }

  /** One full load of a stack's overview: its folders, the engine's answer and pgBackRest's. */
  private async fullLoad(stack: StackConfig): Promise<BackupsOverview> {
    performance.mark('tsdbOps.backups.load');
    const cfg = this.config(stack);
    const drillSeq = this.drillSeq;
    // The engine's first answer comes while the stack's folders are read (not before they are).
    const scheduler = schedulerFacts(this.engine, stack).finally(() => performance.mark('tsdbOps.backups.scheduler'));
    const o = await loadBackupsOverview({
      context: this.engine.contextFor(stack),
      runtime: () => this.runtime(stack),
      settings: cfg,
      graceMs: cfg.graceMinutes * 60_000,
      remoteFiles: cfg.runtime === 'container' && this.engine.isRemoteFor(stack),
      scheduler,
    });
    // Reports that arrived while it loaded (it may have read the folder before them).
    const late = this.drillChanges.filter((c) => c.seq > drillSeq && c.infraDir === stack.infraDir);
    return late.length
      ? withDrillChanges(
          o,
          late.map((c) => c.change),
        )
      : o;
  }

  dispose(): void {
    this.debounce.dispose();
    for (const d of this.disposables) d.dispose();
    for (const w of this.watchers) w.dispose();
    for (const f of this.logFollowers) f.dispose();
  }
}

function withDrillChanges(o: BackupsOverview, changes: readonly DrillReportChange[]): BackupsOverview {
  let drills = o.drills;
  for (const c of changes) drills = c.report ? withDrillReport(drills, c.report) : withoutDrillReport(drills, c.file);
  return { ...o, drills };
}

/** The database container and the scheduler container: a change of either reloads the overview. */
function databaseKey(engine: DockerService, stack: StackConfig): string {
  const state = engine.state(stack);
  if (!state || state.kind !== 'ready') return state?.kind ?? 'unknown';
  const db = state.model.database;
  return `${db?.containerId ?? 'none'}:${db?.state ?? 'notCreated'}|${schedulerKey(state.model, stack)}`;
}
