/**
 * Backups view: the pgBackRest stanza (status, full backups with their diff/incr children, archived
 * WAL and the point-in-time window), manual backups (pg_dump, pg_dumpall, pg_basebackup with their
 * sidecars), the pre-restore copies a physical restore left, and the Ofelia schedules (backups-schedules.ts:
 * whether the scheduler runs, each job's last real run). The model comes from core (BackupsController → loadBackupsOverview).
 *
 * Context values (stable, for menus and the restore commands): `stanza`, `stanzaError.<action>`,
 * `backupSet.full|diff|incr`, `pitrWindow`, `manualBackup.dump|dumpAll|baseBackup|other`,
 * `preRestoreCopy`, `interruptedRestore`, `schedule.ok|stale|unknown`, `repository` / `repository.error`. Each node keeps its model
 * object (`stack`, and `stanza`, `set`, `backup`, `copy`, `pitr` or `job`; `repo` under a repository).
 *
 * Repositories (core/backups/repositories): with one, the stanza lists its sets as it always did (the
 * repository's type, path, encryption and retention are in the stanza's tooltip); with several, the stanza
 * has one node per repository (`repo1`, `repo2` …) holding that repository's sets, WAL and window, and an
 * unreachable one is a problem node with pgBackRest's message while the others list as usual.
 */

import * as vscode from 'vscode';
import type { StackConfig } from '../../core/infra';
import type { BackupsController } from '../backups/controller';
import type { StackRegistry } from '../stacks';
import { StackTreeProvider, type Node } from './node';
import type { BackupNode, BackupRow } from './backup-node';
import { stanzaNode } from './backups-stanza';
import {
  drillsNode,
  interruptedLogicalNode,
  interruptedRestoreNode,
  manualNode,
  preRestoreNode,
} from './backups-other';
import type { InterruptedLogicalRestore } from '../../core/backups/restore/logical';
import { findRestoreJournals } from '../../core/backups/restore/stack';
import { inProgressElsewhere } from '../../core/backups/restore/physical';
import { schedulesNode } from './backups-schedules';

export type { BackupNode, BackupRow } from './backup-node';

/** Who knows the interrupted logical restores of a stack (ui/backups/interrupted-restores.ts asks the servers). */
export interface InterruptedLogicalSource {
  logicalOf(stack: StackConfig): readonly InterruptedLogicalRestore[];
  readonly onDidChangeLogical: vscode.Event<void>;
}

export class BackupsProvider extends StackTreeProvider {
  private readonly modelSub: vscode.Disposable;
  private logicalSub: vscode.Disposable | undefined;
  private logical: InterruptedLogicalSource | undefined;

  constructor(
    registry: StackRegistry,
    private readonly controller: BackupsController,
  ) {
    super(registry);
    this.modelSub = controller.onDidChange(() => this.changed.fire(undefined));
  }

  protected override invalidChildren(): Node[] {
    return [];
  }

  /** Shows the interrupted logical restores `source` finds as problem rows. */
  showInterruptedLogical(source: InterruptedLogicalSource): void {
    this.logical = source;
    this.logicalSub?.dispose();
    this.logicalSub = source.onDidChangeLogical(() => this.changed.fire(undefined));
  }

  /** Also reloads the model (the refresh command calls this). */
  override refresh(): void {
    this.controller.scheduleRefresh();
  }

  protected async stackChildren(stack: StackConfig): Promise<Node[]> {
    const [o, journals] = await Promise.all([
      this.controller.load(stack),
      findRestoreJournals(stack.dbService?.volumes ?? []).catch(() => []),
    ]);
    // A restore that never finished comes first: a problem to act on before anything else here.
    const nodes: BackupNode[] = journals
      .filter(({ journal }) => !inProgressElsewhere(journal))
      .map(({ file, journal }) => interruptedRestoreNode(stack, file, journal));
    for (const r of this.logical?.logicalOf(stack) ?? []) nodes.push(interruptedLogicalNode(stack, r));
    nodes.push(stanzaNode(o), manualNode(o));
    if (o.preRestore.length) nodes.push(preRestoreNode(o));
    nodes.push(drillsNode(o));
    nodes.push(schedulesNode(o));
    return nodes;
  }

  /** Every row of the tree, depth first, as a person sees it (automation and the in-host tests). */
  async rows(): Promise<BackupRow[]> {
    // Siblings are expanded at once (as the tree does with every folder of a multi-root window), listed in order.
    const walk = async (nodes: Node[], depth: number): Promise<BackupRow[]> => {
      const below = await Promise.all(nodes.map(async (n) => (n.children ? walk(await n.children(), depth + 1) : [])));
      return nodes.flatMap((n, k) => {
        const i = n.item;
        const row: BackupRow = {
          depth,
          label: typeof i.label === 'string' ? i.label : (i.label?.label ?? ''),
          description: typeof i.description === 'string' ? i.description : undefined,
          contextValue: i.contextValue,
          tooltip: typeof i.tooltip === 'string' ? i.tooltip : i.tooltip?.value,
        };
        return [row, ...below[k]!];
      });
    };
    return walk(await this.getChildren(), 0);
  }

  override dispose(): void {
    this.modelSub.dispose();
    this.logicalSub?.dispose();
    super.dispose();
  }
}
