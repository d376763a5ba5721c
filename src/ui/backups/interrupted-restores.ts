/**
 * Interrupted restores: a restore that never finished (VS Code or the machine died midway) left its journal
 * beside PGDATA. Whenever the stacks are (re)discovered, this says so once per journal, with the way back
 * (Roll Back Now runs tsdbOps.restore.recover for that stack).
 */
import * as vscode from 'vscode';
import { findRestoreJournals } from '../../core/backups/restore/stack';
import { inProgressElsewhere } from '../../core/backups/restore/physical';
import { errorText } from '../../core/format';
import { COMMAND } from '../ids';
import type { StackRegistry } from '../stacks';

export class InterruptedRestoreWatcher implements vscode.Disposable {
  /** Journals already shown (forgotten when they go, so a new one at the same path is shown again). */
  private readonly warned = new Set<string>();
  private readonly sub: vscode.Disposable;

  constructor(
    private readonly registry: StackRegistry,
    private readonly log: vscode.LogOutputChannel,
    private readonly output: vscode.OutputChannel,
  ) {
    this.sub = registry.onDidChange(() => void this.check());
    void registry.ready.then(() => this.check());
  }

  private async check(): Promise<void> {
    const present = new Set<string>();
    for (const stack of this.registry.stacks) {
      if (!stack.dbService) continue;
      for (const { file, journal } of await findRestoreJournals(stack.dbService.volumes).catch(() => [])) {
        present.add(file);
        // Another window's restore in progress, not an interrupted one: nothing to offer (its end removes the journal).
        if (this.warned.has(file) || inProgressElsewhere(journal)) continue;
        this.warned.add(file);
        this.log.warn(
          `An interrupted restore of ${stack.projectName} left ${file} (started ${journal.started}, ${journal.source}).`,
        );
        void vscode.window
          .showWarningMessage(
            `A restore of ${stack.projectName} started ${journal.started} did not finish. The data from before it is kept at ${journal.aside}.`,
            'Roll Back Now',
            'Show Output',
          )
          .then((a) => {
            if (a === 'Roll Back Now') this.rollBack(stack.workspaceFolder, journal.dataDir);
            if (a === 'Show Output') this.output.show(true);
          });
      }
    }
    for (const f of this.warned) if (!present.has(f)) this.warned.delete(f);
  }

  private rollBack(folder: string, dataDir: string): void {
    void Promise.resolve(
      vscode.commands.executeCommand<{ recovered: boolean }>(COMMAND.restoreRecover, { folder }),
    ).then(
      (r) =>
        void vscode.window.showInformationMessage(
          r.recovered
            ? `Rolled back: ${dataDir} holds the data from before the restore again.`
            : 'Nothing was left to roll back.',
        ),
      (e: unknown) =>
        void vscode.window
          .showErrorMessage(`Rolling back failed: ${errorText(e)}`, 'Show Output')
          .then((b) => b && this.output.show(true)),
    );
  }

  dispose(): void {
    this.sub.dispose();
  }
}
