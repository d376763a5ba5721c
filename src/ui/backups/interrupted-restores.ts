/**
 * Interrupted restores: a restore that never finished (VS Code or the machine died midway) left its journal
 * beside PGDATA. Whenever the stacks are (re)discovered, this says so where the user looks: a notification once per
 * journal with the choices (Finish when the restore tool completed, Roll Back, Show What Happened: each runs
 * tsdbOps.restore.recover { action } for that stack), and a status bar error while any is left. The Backups view's
 * problem rows are views/backups-other.ts `interruptedRestoreNode` (the journal, read by the view itself) and
 * `interruptedLogicalNode` (the server's marks, which this watcher asks for and hands to the view: `logicalOf`).
 */
import * as vscode from 'vscode';
import { findRestoreJournals, finishApplies, restoreSiteOf } from '../../core/backups/restore/stack';
import { interruptedLogicalRestores, type InterruptedLogicalRestore } from '../../core/backups/restore/logical';
import type { DockerService } from '../docker-service';
import { inProgressElsewhere, previousDataWhere, type RestoreJournal } from '../../core/backups/restore/physical';
import { errorText } from '../../core/format';
import { COMMAND } from '../ids';
import type { StackRegistry } from '../stacks';

const CHOICES = { finish: 'Finish', rollback: 'Roll Back', show: 'Show What Happened' } as const;
type Action = keyof typeof CHOICES;

export class InterruptedRestoreWatcher implements vscode.Disposable {
  /** Journals already shown (forgotten when they go, so a new one at the same path is shown again). */
  private readonly warned = new Set<string>();
  private readonly sub: vscode.Disposable;
  private readonly status: vscode.StatusBarItem;
  /** The logical restores found at the last check, per stack (infra folder). */
  private readonly logicalNow = new Map<string, InterruptedLogicalRestore[]>();
  private readonly logicalChanged = new vscode.EventEmitter<void>();
  /** Fires when the interrupted logical restores found change (the Backups view shows them). */
  readonly onDidChangeLogical = this.logicalChanged.event;

  constructor(
    private readonly registry: StackRegistry,
    private readonly log: vscode.LogOutputChannel,
    private readonly output: vscode.OutputChannel,
    /** To ask a running server for the marks of logical restores whose window died (kept-aside.ts). */
    private readonly engine?: DockerService,
  ) {
    this.status = vscode.window.createStatusBarItem('tsdbOps.interruptedRestore', vscode.StatusBarAlignment.Left, 100);
    this.status.name = 'TimescaleDB Ops: Interrupted Restore';
    this.status.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
    this.sub = registry.onDidChange(() => void this.check());
    void registry.ready.then(() => this.check());
  }

  private async check(): Promise<void> {
    const present = new Set<string>();
    const stacks: string[] = [];
    for (const stack of this.registry.stacks) {
      if (!stack.dbService) continue;
      for (const { file, journal } of await findRestoreJournals(stack.dbService.volumes).catch(() => [])) {
        // Another window's restore in progress, not an interrupted one: nothing to offer (its end removes the journal).
        if (inProgressElsewhere(journal)) continue;
        present.add(file);
        stacks.push(stack.projectName);
        if (this.warned.has(file)) continue;
        this.warned.add(file);
        this.log.warn(
          `An interrupted restore of ${stack.projectName} left ${file} (started ${journal.started}, ${journal.source}).`,
        );
        this.notify(
          stack.projectName,
          stack.workspaceFolder,
          journal,
          journal.restored ? await this.finishHere(stack) : false,
        );
      }
    }
    const before = JSON.stringify([...this.logicalNow]);
    this.logicalNow.clear();
    for (const stack of this.registry.stacks) {
      const found = await this.logical(stack);
      if (found.length) this.logicalNow.set(stack.infraDir, found);
      for (const r of found) {
        const key = `${stack.projectName}:${r.database}:${r.mark.started}`;
        present.add(key);
        stacks.push(stack.projectName);
        if (this.warned.has(key)) continue;
        this.warned.add(key);
        this.log.warn(`An interrupted restore of ${stack.projectName} left ${r.database} (${r.kind}, ${r.mark.file}).`);
        this.notifyLogical(stack.projectName, stack.workspaceFolder, r);
      }
    }
    for (const f of this.warned) if (!present.has(f)) this.warned.delete(f);
    if (JSON.stringify([...this.logicalNow]) !== before) this.logicalChanged.fire();
    if (stacks.length) {
      this.status.text = `$(error) Interrupted restore: ${stacks.join(', ')}`;
      this.status.tooltip = 'A restore did not finish: Finish, Roll Back or Show What Happened (Backups view)';
      this.status.command = { command: COMMAND.restoreRecover, title: 'Recover Interrupted Restore' };
      this.status.show();
    } else this.status.hide();
  }

  /** Finish runs for the stack (not in a one-off container); unknown (no engine answer): offered, the command says. */
  private async finishHere(stack: StackRegistry['stacks'][number]): Promise<boolean> {
    if (!this.engine) return true;
    return finishApplies(this.engine.contextFor(stack)).catch(() => true);
  }

  private notify(project: string, folder: string, j: RestoreJournal, finishHere: boolean): void {
    const choices: Action[] = [...(j.restored && finishHere ? (['finish'] as const) : []), 'rollback', 'show'];
    void vscode.window
      .showErrorMessage(
        `A restore of ${project} started ${j.started} did not finish${j.restored ? ' (its data was restored; it was not yet checked)' : ''}. ` +
          `The data from before it is in ${previousDataWhere(j)}.`,
        ...choices.map((c) => CHOICES[c]),
      )
      .then((label) => {
        const action = choices.find((c) => CHOICES[c] === label);
        if (action) this.run(folder, action, j);
      });
  }

  /** The interrupted logical restores of a stack found at the last check. */
  logicalOf(stack: { readonly infraDir: string }): readonly InterruptedLogicalRestore[] {
    return this.logicalNow.get(stack.infraDir) ?? [];
  }

  /** Logical restores whose window died, from the running server's marks (none when it does not answer). */
  private async logical(stack: StackRegistry['stacks'][number]): Promise<InterruptedLogicalRestore[]> {
    if (!this.engine || !stack.dbService) return [];
    const engine = this.engine;
    const ask = async () => {
      const site = await restoreSiteOf(engine.contextFor(stack));
      return interruptedLogicalRestores(
        { rt: site.rt, conn: site.conn },
        { step: () => undefined, line: () => undefined },
      );
    };
    // A hung engine must not hold back the physical journals' status: 15 s, then the next check asks again.
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<InterruptedLogicalRestore[]>((r) => (timer = setTimeout(() => r([]), 15_000)));
    try {
      return await Promise.race([ask(), bound]);
    } catch {
      return [];
    } finally {
      clearTimeout(timer);
    }
  }

  private notifyLogical(project: string, folder: string, r: InterruptedLogicalRestore): void {
    const what =
      r.kind === 'half-restored'
        ? `A pg_dump restore into ${r.database} (${project}) started ${r.mark.started} did not finish: ${r.database} is half restored.`
        : `A pg_dumpall restore of ${project} started ${r.mark.started} did not finish; the previous database is kept aside as ${r.database}.`;
    void vscode.window.showErrorMessage(what, CHOICES.rollback, CHOICES.show).then((label) => {
      if (label === CHOICES.rollback) this.run(folder, 'rollback');
      else if (label === CHOICES.show) this.run(folder, 'show');
    });
  }

  private run(folder: string, action: Action, j?: RestoreJournal): void {
    void Promise.resolve(
      vscode.commands.executeCommand<{ recovered?: boolean; finished?: boolean }>(COMMAND.restoreRecover, {
        folder,
        action,
      }),
    ).then(
      (r) => {
        if (action === 'show') return;
        const done = action === 'finish' ? r.finished : r.recovered;
        void vscode.window.showInformationMessage(
          !done
            ? 'Nothing was left to recover.'
            : action === 'finish'
              ? `Finished: ${j?.dataDir} holds the restored data; the pre-restore copy is deleted.`
              : j
                ? `Rolled back: ${j.dataDir} holds the data from before the restore again.`
                : 'Rolled back: the databases are as before the restore.',
        );
        void vscode.commands.executeCommand(COMMAND.refresh);
      },
      (e: unknown) =>
        void vscode.window
          .showErrorMessage(`${CHOICES[action]} failed: ${errorText(e)}`, 'Show Output')
          .then((b) => b && this.output.show(true)),
    );
  }

  dispose(): void {
    this.sub.dispose();
    this.logicalChanged.dispose();
    this.status.dispose();
  }
}
