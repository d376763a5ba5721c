/**
 * What the restore handlers (ui/commands/restores.ts) share: the Backups view node they accept, the stack and
 * where its restore runs (container or host), the backup path and the confirmation, the operation with its
 * progress and output, and the PITR time prompt.
 */
import type { DestructiveGuard } from '../../core/stack/production';
import { confirmDestructive } from '../production';
import * as vscode from 'vscode';
import type { StackConfig } from '../../core/infra';
import { operationBusy, type OperationClaim } from '../../core/operations/queue';
import { manualBackupHostDir } from '../../core/stack/site';
import { pgbackrestInfo, type StanzaInfo } from '../../core/backups/pgbackrest';
import { restorePhysical, type PhysicalRestoreResult, type PhysicalSource } from '../../core/backups/restore/physical';
import { restoreInOneOff } from '../../core/backups/restore/oneoff';
import { checkNotFuture, formatTimeTarget, parseTimeTarget } from '../../core/backups/restore/pitr';
import { restoreSiteOf, serverConnectionOf, type RestoreSite } from '../../core/backups/restore/stack';
import type { RestoreContext, ServerConnection } from '../../core/backups/restore/run';
import type { DockerService } from '../docker-service';
import type { StackRegistry } from '../stacks';
import { stackFor as stackOf, str, type Args } from './args';
import { CancelledByUser, register } from './register';
import { runStackOperation } from '../operation';
import { COMMAND } from '../ids';
import { errorText } from '../../core/format';
import { OpsError } from '../../core/errors/error';

export const RESTORE_CHANNEL = 'TimescaleDB Ops: Restore';

export interface RestoreCommandContext {
  readonly registry: StackRegistry;
  readonly engine: DockerService;
  readonly log: vscode.LogOutputChannel;
  readonly output: vscode.OutputChannel;
}

/** Where a stack's restore runs (see setupFor). */
export type Site = RestoreSite;
/** A Backups view node (the Backups helper's shapes): `set`, `backup`, `copy`, maybe `stack`. */
export interface ViewNode {
  readonly item: vscode.TreeItem;
  readonly stack?: StackConfig;
  readonly set?: { label: string };
  readonly stanza?: { name: string };
  /** The pgBackRest repository of a node under a repository (several repositories). */
  readonly repo?: number;
  readonly backup?: { path: string; database?: string };
  readonly copy?: { path: string; sizeBytes?: number; created?: Date };
}

/**
 * register() with the Backups view's node, and errors offering the restore channel. Each call gets its own
 * Restores, which takes the stack queue's place as soon as the stack is known (`what` names it until the
 * operation runs): a second restore fired while this one still reads the stack or asks is refused.
 */
export function registerRestore(
  ctx: RestoreCommandContext,
  id: string,
  what: string,
  handler: (args: Args, node: ViewNode | undefined, restores: Restores) => unknown,
): vscode.Disposable {
  const call = async (args: Args, node: ViewNode | undefined): Promise<unknown> => {
    const restores = new Restores(ctx, what);
    try {
      return await handler(args, node, restores);
    } finally {
      restores.release();
    }
  };
  return register<ViewNode>(ctx, id, call, {
    showError: (e) => {
      void vscode.window.showErrorMessage(e.message, 'Show Output').then((a) => a && ctx.output.show(true));
      return true;
    },
  });
}

/**
 * The backup a restore starts from: `args[key]`, else the clicked Backups view item, else (from the
 * palette) an open dialog in the stack's manual_backup folder. With args and no path: an error naming it.
 */
export async function backupPath(
  args: Args,
  node: ViewNode | undefined,
  stack: StackConfig,
  key: 'file' | 'dir',
  id: string,
  what: string,
  dialog: Pick<vscode.OpenDialogOptions, 'title' | 'filters'>,
): Promise<string> {
  const given = str(args, key) ?? node?.backup?.path;
  if (given) return given;
  if (args)
    throw new OpsError(
      'config',
      `${id} needs { ${key} }: ${what} (host path under the backups folder, or its container path).`,
    );
  const picked = await vscode.window.showOpenDialog({
    ...dialog,
    canSelectFolders: key === 'dir',
    canSelectFiles: key === 'file',
    defaultUri: vscode.Uri.file(manualBackupHostDir(stack)),
  });
  const path = picked?.[0]?.fsPath;
  if (!path) throw new CancelledByUser();
  return path;
}

export async function confirm(
  args: Args,
  id: string,
  message: string,
  detail: string,
  button: string,
  guard?: DestructiveGuard,
): Promise<void> {
  const modal = async (): Promise<void> => {
    const choice = await vscode.window.showWarningMessage(message, { modal: true, detail }, button);
    if (choice !== button) throw new CancelledByUser();
  };
  // A production stack (tsdbOps.stacks.production) needs the typed name, with args too.
  if (guard?.production) return confirmDestructive(args as Record<string, unknown> | undefined, guard, modal);
  if (args) {
    if (args.confirm !== true)
      throw new OpsError(
        'refused',
        `${id} replaces data: pass { confirm: true } (it asks nothing when called with args).`,
      );
    return;
  }
  return modal();
}

/**
 * What a restore handler needs (one per call): the stack and where its restore runs, the operation, the
 * confirmations' texts.
 */
export class Restores {
  private claim: OperationClaim | undefined;

  constructor(
    private readonly ctx: RestoreCommandContext,
    private readonly what: string,
  ) {}

  /**
   * The stack, and its queue's place taken at once (before anything is read or asked): while this call
   * prepares and runs, another restore on the stack is refused (an operationBusy error, kind 'busy').
   */
  async stackFor(args: Args, node: ViewNode | undefined): Promise<StackConfig> {
    const stack = await stackOf(this.ctx.registry, args, node);
    if (!stack.dbService)
      throw new OpsError('config', `${stack.composeFile} has no database service: nothing to restore into.`);
    this.claim ??= this.ctx.engine.queueFor(stack).claim(this.what);
    return stack;
  }

  /** Gives the queue's place up when the call ends without running (done by registerRestore). */
  release(): void {
    this.claim?.release();
  }

  /** The database service's container (running or not: after a one-off crash it may be stopped). */
  async dbContainer(stack: StackConfig): Promise<string> {
    return (await this.ctx.engine.contextFor(stack).database()).id;
  }

  credentials(stack: StackConfig): ServerConnection {
    return serverConnectionOf(this.ctx.engine.contextFor(stack));
  }

  /**
   * Where a restore of this stack runs (core/backups/restore/stack's restoreSiteOf, from the stack context): the
   * database container (default), or this machine with `tsdbOps.backups.runtime` = host. A stanza node of the
   * Backups view names the stanza.
   */
  async setupFor(stack: StackConfig, node?: ViewNode): Promise<Site> {
    const stanza = node?.stanza?.name;
    return restoreSiteOf(this.ctx.engine.contextFor(stack, stanza ? { stanza } : undefined));
  }

  /** Runs a restore in the stack's queue (refusing a second one) with progress, output and cancel. */
  async runOperation<T>(stack: StackConfig, title: string, work: (rctx: RestoreContext) => Promise<T>): Promise<T> {
    const queue = this.ctx.engine.queueFor(stack);
    const claim = this.claim;
    this.claim = undefined;
    if (queue.busyBesides(claim)) {
      claim?.release();
      throw operationBusy(queue.running ?? 'another operation', title);
    }
    this.ctx.output.appendLine('');
    this.ctx.output.appendLine(`[${new Date().toISOString()}] ${title} (${stack.projectName})`);
    this.ctx.output.show(true);
    try {
      return await runStackOperation(queue, title, (op) => work({ signal: op.signal, step: op.step, line: op.line }), {
        mode: 'refuse',
        claim,
        secrets: [this.ctx.engine.contextFor(stack).toolConnection.password.value],
        onCancel: () => this.ctx.output.appendLine('Cancel requested: stopping the running step and rolling back.'),
        output: {
          step: (_t, s) => this.ctx.output.appendLine(`▶ ${s}`),
          line: (_t, l) => this.ctx.output.appendLine(l),
        },
      });
    } catch (e) {
      this.ctx.output.appendLine(`✖ ${errorText(e)}`);
      throw e;
    } finally {
      void vscode.commands.executeCommand(COMMAND.backupRefresh).then(undefined, () => undefined);
    }
  }

  physicalDetail(setup: Site, what: string): string {
    return [
      `Replaced: the whole cluster in ${setup.dataDir} (every database) with ${what}. ` +
        `PostgreSQL is stopped during the restore` +
        (setup.postgresIsPid1
          ? ` (PostgreSQL is the main process of the ${setup.where}: ` +
            `the container is stopped and the restore runs in a one-off container with the same volumes)`
          : ` (${setup.where})`) +
        '.',
      `Kept: the current data folder is moved to ${setup.dataDir}.pre-restore-<time>, listed under the Backups view's pre-restore copies until you delete it.`,
      'If the restore fails or you cancel it, the old folder is put back and PostgreSQL is started again.',
    ].join('\n\n');
  }

  async physical(stack: StackConfig, setup: Site, src: PhysicalSource, title: string): Promise<PhysicalRestoreResult> {
    const docker = setup.postgresIsPid1 ? await this.ctx.engine.docker(stack) : undefined;
    const r = await this.runOperation(stack, title, (rctx) =>
      docker && setup.containerId
        ? restoreInOneOff(
            {
              docker,
              containerId: setup.containerId,
              dataDir: setup.dataDir,
              conn: setup.conn,
              user: setup.toolUser,
              conf: setup.site.conf,
            },
            src,
            rctx,
          )
        : restorePhysical({ rt: setup.rt, dataDir: setup.dataDir, conn: setup.conn, conf: setup.site.conf }, src, rctx),
    );
    void vscode.window
      .showInformationMessage(
        `${title}: done.${r.preRestoreCopy ? ` The previous data is kept at ${r.preRestoreCopy}.` : ''}`,
        'Show Output',
      )
      .then((a) => a && this.ctx.output.show(true));
    return r;
  }

  async stanzaInfo(setup: Site): Promise<StanzaInfo> {
    return pgbackrestInfo({ runtime: setup.rt, stanza: setup.stanza, configPath: setup.configPath });
  }

  async askTime(info: StanzaInfo): Promise<Date> {
    const from = info.pitr?.from ?? info.backups[0]?.stop;
    const to = info.pitr?.to ?? new Date();
    if (!from) throw new OpsError('config', `Stanza ${info.name} has no backup: take a full backup first.`);
    const earliest = new Date(Math.floor(from.getTime() / 1000) * 1000 + 1000);
    const value = await vscode.window.showInputBox({
      title: 'Restore to a point in time',
      prompt: `A time between ${formatTimeTarget(earliest)} and ${formatTimeTarget(to)} (UTC unless you give a zone).`,
      value: formatTimeTarget(new Date(Math.floor(to.getTime() / 1000) * 1000)),
      validateInput: (v) => {
        try {
          const d = parseTimeTarget(/[zZ]|[+-]\d{2}(:?\d{2})?$/.test(v.trim()) ? v : `${v.trim()}Z`);
          checkNotFuture(d);
          if (d < earliest)
            return `Pick a time at or after ${formatTimeTarget(earliest)} (the oldest backup ended just before).`;
          return undefined;
        } catch (e) {
          return errorText(e);
        }
      },
    });
    if (!value) throw new CancelledByUser();
    return parseTimeTarget(/[zZ]|[+-]\d{2}(:?\d{2})?$/.test(value.trim()) ? value : `${value.trim()}Z`);
  }
}
