/**
 * tsdbOps.restore.recover { action: 'finish' | 'rollback' | 'show' }: the outcomes of a physical restore that never
 * finished (its window died). Roll back puts the pre-restore copy back; Finish completes a restore whose restore tool
 * completed (start, leave recovery, the recovery proof, then the copy and the journal go); Show what happened gives
 * the journal as text in the restore output. From the palette or the Backups view's problem item without an action:
 * a pick of the three; with args and no action: roll back (as before the choice existed).
 */
import * as vscode from 'vscode';
import {
  describeJournal,
  finishInterruptedRestore,
  inProgressElsewhere,
  journalPath,
  previousDataWhere,
  readJournal,
  recoverInterruptedRestore,
  type PhysicalTarget,
  type RestoreJournal,
} from '../../core/backups/restore/physical';
import { recoverInOneOff } from '../../core/backups/restore/oneoff';
import {
  describeLogical,
  dropHalfRestoredDatabases,
  interruptedLogicalRestores,
  rollBackKeptAside,
  type InterruptedLogicalRestore,
} from '../../core/backups/restore/logical';
import { findRestoreJournals, serverConnectionOf } from '../../core/backups/restore/stack';
import type { RestoreContext } from '../../core/backups/restore/run';
import type { StackConfig } from '../../core/infra';
import { str, type Args } from './args';
import { CancelledByUser } from './register';
import type { Restores, RestoreCommandContext, ViewNode } from './restore-support';
import { OpsError } from '../../core/errors/error';

export type RecoverAction = 'finish' | 'rollback' | 'show';
export const RECOVER_ACTIONS: readonly RecoverAction[] = ['finish', 'rollback', 'show'];

/** Where the recovery runs: the data folder in place (tools see PGDATA), or a one-off container (server is PID 1). */
type RecoveryPlace =
  | { readonly kind: 'in-place'; readonly t: PhysicalTarget }
  | { readonly kind: 'one-off'; readonly run: (rctx: RestoreContext) => Promise<RestoreJournal | undefined> };

async function placeOf(
  ctx: RestoreCommandContext,
  restores: Restores,
  stack: StackConfig,
  node: ViewNode | undefined,
): Promise<RecoveryPlace> {
  const sctx = ctx.engine.contextFor(stack);
  if (sctx.runtimeKind.value === 'host') {
    const site = await restores.setupFor(stack, node);
    return { kind: 'in-place', t: { rt: site.rt, dataDir: site.dataDir, conn: site.conn } };
  }
  const [place, site, db] = await Promise.all([sctx.tools(), sctx.site(), sctx.database()]);
  const conn = serverConnectionOf(sctx);
  const dataDir = site.dataDir;
  if (place.restore.value === 'in-place' && place.tools)
    return { kind: 'in-place', t: { rt: place.tools, dataDir, conn } };
  const docker = await sctx.docker();
  return {
    kind: 'one-off',
    run: (rctx) => recoverInOneOff({ docker, containerId: db.id, dataDir, conn, user: place.user.value }, rctx),
  };
}

/** The journal as the user's machine sees it (the bind-mounted folder beside PGDATA), or through the runtime. */
async function journalOf(
  stack: StackConfig,
  place: RecoveryPlace,
): Promise<{ file: string; journal: RestoreJournal } | undefined> {
  if (place.kind === 'in-place') {
    const journal = await readJournal(place.t, { step: () => undefined, line: () => undefined });
    return journal && { file: journalPath(place.t.dataDir), journal };
  }
  return (await findRestoreJournals(stack.dbService?.volumes ?? []))[0];
}

/** The logical restores whose window died, as the server's marks say (in place only; none when it does not answer). */
async function logicalOf(place: RecoveryPlace): Promise<InterruptedLogicalRestore[]> {
  if (place.kind !== 'in-place') return [];
  return interruptedLogicalRestores(place.t, { step: () => undefined, line: () => undefined }).catch(() => []);
}

/**
 * The pick: Finish only when the restore tool completed and Finish runs here (in place, not in a one-off container);
 * without a journal, the logical restores' Roll back or Show.
 */
async function askAction(
  j: { journal: RestoreJournal } | undefined,
  finishHere: boolean,
  logical: readonly InterruptedLogicalRestore[],
): Promise<RecoverAction> {
  if (!j && logical.length) {
    const picked = await vscode.window.showQuickPick(
      [
        { label: 'Roll back', detail: logical.map((r) => r.rollBack).join('; '), a: 'rollback' as const },
        { label: 'Show what happened', detail: 'What each restore left, as text', a: 'show' as const },
      ],
      { title: `${logical.length === 1 ? 'A logical restore' : `${logical.length} logical restores`} did not finish` },
    );
    if (!picked) throw new CancelledByUser();
    return picked.a;
  }
  if (!j) return 'rollback';
  const picked = await vscode.window.showQuickPick(
    [
      ...(j.journal.restored && finishHere
        ? [
            {
              label: 'Finish',
              detail: 'Start the restored data, check it, then delete the pre-restore copy',
              a: 'finish' as const,
            },
          ]
        : []),
      {
        label: 'Roll back',
        detail: `Keep the previous data (${previousDataWhere(j.journal)}), remove what the restore wrote`,
        a: 'rollback' as const,
      },
      { label: 'Show what happened', detail: 'The restore journal as text', a: 'show' as const },
    ],
    { title: `A restore started ${j.journal.started} did not finish` },
  );
  if (!picked) throw new CancelledByUser();
  return picked.a;
}

function actionOf(args: Args): RecoverAction | undefined {
  const a = str(args, 'action');
  if (a === undefined) return undefined;
  if (!(RECOVER_ACTIONS as readonly string[]).includes(a))
    throw new OpsError('config', `tsdbOps.restore.recover: action "${a}" is not one of ${RECOVER_ACTIONS.join(', ')}.`);
  return a as RecoverAction;
}

export async function restoreRecover(
  ctx: RestoreCommandContext,
  args: Args,
  node: ViewNode | undefined,
  restores: Restores,
): Promise<unknown> {
  const stack = await restores.stackFor(args, node);
  const place = await placeOf(ctx, restores, stack, node);
  const found = await journalOf(stack, place).catch(() => undefined);
  const action =
    actionOf(args) ??
    (args ? 'rollback' : await askAction(found, place.kind === 'in-place', found ? [] : await logicalOf(place)));
  if (action === 'show') {
    if (!found) {
      // A logical restore whose window died keeps its journal in the server (the databases' marks).
      const logical = await logicalOf(place);
      const text = logical.length ? logical.map(describeLogical).join('\n') : 'No interrupted restore found.';
      if (logical.length) {
        ctx.output.appendLine('');
        ctx.output.appendLine(text);
        ctx.output.show(true);
      }
      return { journal: undefined, logical, text };
    }
    const text = describeJournal(
      found.journal,
      found.file,
      inProgressElsewhere(found.journal),
      place.kind === 'in-place',
    );
    ctx.output.appendLine('');
    ctx.output.appendLine(text);
    ctx.output.show(true);
    return { journal: found.journal, text };
  }
  if (action === 'finish') {
    if (place.kind !== 'in-place')
      throw new OpsError(
        'refused',
        'Finish runs where the tools see the data folder; this stack restores in a one-off container: use Roll back.',
      );
    const r = await restores.runOperation(stack, 'Finishing an interrupted restore', (rctx) =>
      finishInterruptedRestore(place.t, rctx),
    );
    if (!args)
      void vscode.window.showInformationMessage(
        r
          ? `Finished the restore started ${r.journal.started}; the pre-restore copy is deleted.`
          : 'No interrupted restore found.',
      );
    return { finished: Boolean(r), journal: r?.journal, deleted: r?.deleted, databases: r?.databases };
  }
  const { j, dropped, putBack } = await restores.runOperation(
    stack,
    'Recovering an interrupted restore',
    async (rctx) => {
      const journal =
        place.kind === 'in-place' ? await recoverInterruptedRestore(place.t, rctx) : await place.run(rctx);
      // A pg_dump restore into a new database that failed while the server was down left it marked half-restored;
      // a pg_dumpall restore whose window died left the databases it kept aside marked (kept-aside.ts): put back.
      const gone = place.kind === 'in-place' ? await dropHalfRestoredDatabases(place.t, rctx).catch(() => []) : [];
      const back = place.kind === 'in-place' ? await rollBackKeptAside(place.t, rctx).catch(() => []) : [];
      return { j: journal, dropped: gone, putBack: back };
    },
  );
  if (!args)
    void vscode.window.showInformationMessage(
      j
        ? `Rolled back the restore started ${j.started}: ${j.dataDir} holds the previous data again.`
        : dropped.length || putBack.length
          ? [
              dropped.length ? `Dropped the half-restored database(s) ${dropped.join(', ')}.` : '',
              putBack.length
                ? `Put back the database(s) ${putBack.join(', ')} an interrupted pg_dumpall restore kept aside.`
                : '',
            ]
              .filter(Boolean)
              .join(' ')
          : 'No interrupted restore found.',
    );
  return { recovered: Boolean(j) || dropped.length > 0 || putBack.length > 0, journal: j, dropped, putBack };
}
