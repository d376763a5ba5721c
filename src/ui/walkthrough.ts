/**
 * The first-run walkthrough's progress (package.json `contributes.walkthroughs`, "TimescaleDB Ops: First Run"):
 * each step completes on its real event, a context key set here when the models say the real thing happened, never
 * on a click of its button:
 *  - infra folder: `tsdbOps.infraState == found` (ui/stacks sets it);
 *  - start the stack: a stack's database container runs (the Docker events' model);
 *  - migrations: a stack's migrations were read from its database with nothing pending and nothing failed;
 *  - first full backup: a pgBackRest full set is in a stack's `pgbackrest info`;
 *  - first drill: a passing restore drill report is in a stack's drills folder (this window's, or `tsdb-ops drill`'s);
 *  - nightly drill: the copy command ran (`onCommand`, no key).
 * The keys only turn true: a step once done stays done (VS Code keeps a step's completion anyway).
 */
import * as vscode from 'vscode';
import { CONTEXT_KEY } from './ids';
import type { StackRegistry } from './stacks';
import type { DockerService } from './docker-service';
import type { MigrationsController } from './migrations/controller';
import type { BackupsController } from './backups/controller';

type Key = (typeof CONTEXT_KEY)[
  'walkthroughStackRunning' | 'walkthroughMigrationsApplied' | 'walkthroughFullBackup' | 'walkthroughDrillPassed'];

export class WalkthroughProgress implements vscode.Disposable {
  private readonly done = new Set<Key>();
  private readonly subs: vscode.Disposable[];

  constructor(
    private readonly registry: StackRegistry,
    private readonly engine: DockerService,
    private readonly migrations: MigrationsController,
    private readonly backups: BackupsController,
  ) {
    this.subs = [
      engine.onDidChangeState(() => this.update()),
      migrations.onDidChange(() => this.update()),
      backups.onDidChange(() => this.update()),
    ];
    this.update();
  }

  /** What the models say now (tests and the API read it). */
  state(): Record<Key, boolean> {
    const stacks = this.registry.stacks;
    const overviews = this.backups.all();
    return {
      [CONTEXT_KEY.walkthroughStackRunning]: stacks.some((s) => {
        const st = this.engine.state(s);
        return st?.kind === 'ready' && st.model.database?.state === 'running';
      }),
      [CONTEXT_KEY.walkthroughMigrationsApplied]: this.migrations
        .all()
        .some((m) => !!m.report && m.report.summary.pending === 0 && m.report.summary.failed === 0),
      [CONTEXT_KEY.walkthroughFullBackup]: overviews.some((o) => o.stanza?.backups.some((b) => b.type === 'full')),
      [CONTEXT_KEY.walkthroughDrillPassed]: overviews.some((o) => o.drills.some((d) => d.passed)),
    } as Record<Key, boolean>;
  }

  private update(): void {
    for (const [key, value] of Object.entries(this.state()) as [Key, boolean][]) {
      if (!value || this.done.has(key)) continue;
      this.done.add(key);
      void vscode.commands.executeCommand('setContext', key, true);
    }
  }

  dispose(): void {
    for (const s of this.subs) s.dispose();
  }
}
