/**
 * The migration status of each stack, refreshed on events (migrations folder changes, stack changes,
 * after a run). Holds the connection details; a password no file holds is asked once and kept in SecretStorage.
 */
import * as vscode from 'vscode';
import { Debouncer } from '../debounce';
import type { StackConfig } from '../../core/infra';
import { Migrator, type StatusReport } from '../../core/migrations/migrator';
import { loadMigrations, type LoadedMigrations } from '../../core/migrations/source';
import { connect, ConnectionError, describeTarget, type ConnectionTarget } from '../../core/postgres/connection';
import type { StackRegistry } from '../stacks';
import { resolveStack } from '../../core/stack/context';
import { stackSettingsOf } from '../stack-settings';
import { OpsError } from '../../core/errors/error';

export interface StackMigrations {
  readonly stack: StackConfig;
  /** Local files, always (even when the database is unreachable). */
  readonly local?: LoadedMigrations;
  /** Status against the database, when it could be read. */
  readonly report?: StatusReport;
  /** Why the database could not be read. */
  readonly error?: Error;
  readonly target?: ConnectionTarget;
  /**
   * The files are read and the database is being asked (the first read of a stack only): the view lists the
   * files at once, the status fills them in.
   */
  readonly statusPending?: boolean;
}

export class MigrationsController implements vscode.Disposable {
  private readonly state = new Map<string, StackMigrations>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private watchers: vscode.Disposable[] = [];
  private readonly debouncer = new Debouncer(() => this.refresh());
  private running: Promise<void> | undefined;

  constructor(
    private readonly registry: StackRegistry,
    private readonly secrets: vscode.SecretStorage,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables.push(
      registry.onDidChange(() => {
        this.watch();
        this.schedule(0);
      }),
    );
  }

  /** Folder key of a stack. */
  private key(stack: StackConfig): string {
    return stack.infraDir;
  }

  get(stack: StackConfig): StackMigrations | undefined {
    return this.state.get(this.key(stack));
  }

  all(): StackMigrations[] {
    return this.registry.stacks.map((s) => this.state.get(this.key(s)) ?? { stack: s });
  }

  private watch(): void {
    for (const w of this.watchers) w.dispose();
    this.watchers = this.registry.stacks.flatMap((s) => {
      if (!s.migrationsDir) return [];
      const w = vscode.workspace.createFileSystemWatcher(
        new vscode.RelativePattern(vscode.Uri.file(s.migrationsDir), '*.sql'),
      );
      const on = () => this.schedule();
      w.onDidChange(on);
      w.onDidCreate(on);
      w.onDidDelete(on);
      return [w];
    });
  }

  /** Debounced refresh for bursts of events. */
  schedule(delayMs = 300): void {
    this.debouncer.schedule(delayMs);
  }

  /** Reads every stack's status; calls queue behind the one running, so each caller sees a read that started after it asked. */
  refresh(): Promise<void> {
    const next = (this.running ?? Promise.resolve()).then(async () => {
      await this.registry.ready;
      const stacks = this.registry.stacks;
      const files = await Promise.all(stacks.map((s) => this.readFiles(s)));
      // A stack read for the first time shows its files now; the database's answer fills them in.
      const first = stacks.filter((s, i) => {
        if (this.state.has(this.key(s)) || !s.migrationsDir) return false;
        this.state.set(this.key(s), { stack: s, local: files[i], statusPending: true });
        return true;
      });
      if (first.length) {
        performance.mark('tsdbOps.migrations.files');
        this.changed.fire();
      }
      const results = await Promise.all(stacks.map((s, i) => this.read(s, files[i])));
      this.state.clear();
      for (const r of results) this.state.set(this.key(r.stack), r);
      performance.mark('tsdbOps.migrations.status');
      this.changed.fire();
    });
    const tracked: Promise<void> = next.finally(() => {
      if (this.running === tracked) this.running = undefined;
    });
    this.running = tracked;
    return tracked;
  }

  private async readFiles(stack: StackConfig): Promise<LoadedMigrations | undefined> {
    if (!stack.migrationsDir) return undefined;
    return loadMigrations(stack.migrationsDir).catch((e: unknown) => {
      this.log.warn(`Cannot read ${stack.migrationsDir}: ${String(e)}`);
      return undefined;
    });
  }

  private async read(stack: StackConfig, local: LoadedMigrations | undefined): Promise<StackMigrations> {
    if (!stack.migrationsDir) return { stack };
    let target: ConnectionTarget | undefined;
    try {
      target = await this.target(stack);
      const report = await this.migrator(stack, target).status();
      return { stack, local, report, target };
    } catch (e) {
      const error = e instanceof Error ? e : new OpsError('internal', String(e));
      this.log.info(`Migration status of ${stack.projectName} not read: ${error.message}`);
      return { stack, local, error, target };
    }
  }

  /** The connection of a stack, with the password from SecretStorage when no file holds one. */
  async target(stack: StackConfig): Promise<ConnectionTarget> {
    const t = await resolveStack(stack, stackSettingsOf(stack.workspaceFolder), {}).connection();
    if (t.password !== undefined) return t;
    const stored = await this.secrets.get(secretKey(t));
    return stored === undefined ? t : { ...t, password: stored };
  }

  migrator(stack: StackConfig, target: ConnectionTarget): Migrator {
    if (!stack.migrationsDir)
      throw new OpsError('config', `No migrations folder for ${stack.projectName}: set tsdbOps.migrations.path.`);
    return new Migrator(stack.migrationsDir, () => connect(target));
  }

  /**
   * Asks the password once (interactive use only) and keeps it in SecretStorage, after checking it works.
   * Returns the target with the password, or undefined if the user cancelled.
   */
  async askPassword(stack: StackConfig, password?: string): Promise<ConnectionTarget | undefined> {
    const t = await resolveStack(stack, stackSettingsOf(stack.workspaceFolder), {}).connection();
    const value =
      password ??
      (await vscode.window.showInputBox({
        title: `Password for ${describeTarget(t)}`,
        prompt: `${t.source} holds no password for user "${t.user}". It is kept in VS Code's secret storage, never in settings or files.`,
        password: true,
        ignoreFocusOut: true,
      }));
    if (value === undefined) return undefined;
    const withPassword = { ...t, password: value };
    const client = await connect(withPassword); // throws a ConnectionError naming what is wrong
    await client.end();
    await this.secrets.store(secretKey(t), value);
    return withPassword;
  }

  dispose(): void {
    this.debouncer.dispose();
    for (const w of this.watchers) w.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

export function secretKey(t: ConnectionTarget): string {
  return `tsdbOps.password:${t.user}@${t.host}:${t.port}/${t.database}`;
}

export function isPasswordProblem(e: unknown): boolean {
  return e instanceof ConnectionError && (e.failure === 'passwordRequired' || e.failure === 'auth');
}
