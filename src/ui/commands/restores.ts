/**
 * Restore commands: pgBackRest (latest, a set, a point in time), pg_dump, pg_dumpall, pg_basebackup,
 * deleting a pre-restore copy, and recovering an interrupted restore. With args they ask nothing
 * (destructive ones need `confirm: true`) and return a result; from the palette or a Backups view
 * item they ask what is missing and confirm with a modal that names what is replaced and what is kept.
 * Each runs in the stack's operation queue (a second restore is refused), with a cancellable progress
 * notification and every step and exact command in the "TimescaleDB Ops: Restore" output channel.
 */
import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import type { StackConfig } from '../../core/infra';
import { OperationBusyError } from '../../core/operations/queue';
import { projectContainers } from '../../core/docker/find';
import { ContainerRuntime, HostRuntime, type ToolRuntime } from '../../core/runtime';
import { stackBackupTargets } from '../../core/backups/targets';
import { hostRunAs, manualBackupHostDir } from '../../core/stack/site';
import { readBackupsConfig } from '../backups/controller';
import { formatBytes } from '../../core/backups/manual';
import { pgbackrestInfo, type StanzaInfo } from '../../core/backups/pgbackrest';
import { readSidecar } from '../../core/backups/sidecar';
import { listPreRestoreCopies } from '../../core/backups/pre-restore';
import {
  deletePreRestoreCopy,
  recoverInterruptedRestore,
  restorePhysical,
  type PhysicalRestoreResult,
  type PhysicalSource,
} from '../../core/backups/restore-physical';
import { recoverInOneOff, restoreInOneOff } from '../../core/backups/restore-oneoff';
import { checkDatabaseName, restoreDump, restoreDumpAll, verifyDumpAll } from '../../core/backups/restore-logical';
import { checkNotFuture, formatTimeTarget, parseTimeTarget } from '../../core/backups/restore-pitr';
import { containerPath, findRestoreJournals, hostPath, readRestoreSetup } from '../../core/backups/restore-stack';
import type { RestoreContext, ServerConnection } from '../../core/backups/restore-run';
import type { EngineService } from '../engine';
import type { StackRegistry } from '../stacks';
import { pickStack, requireTrust } from './stack-pick';
import type { DestructiveGuard } from '../../core/stack/production';
import { confirmDestructive, guardFor } from '../production';
import { CancelledByUser, register } from './index';
import { runStackOperation } from '../operation';

export const RESTORE_CHANNEL = 'TimescaleDB Ops: Restore';

export interface RestoreCommandContext {
  readonly registry: StackRegistry;
  readonly engine: EngineService;
  readonly log: vscode.LogOutputChannel;
  readonly output: vscode.OutputChannel;
}

type Args = Record<string, unknown>;

/** Where a stack's restore runs (see setupFor). */
interface Site {
  readonly mode: 'container' | 'host';
  readonly rt: ToolRuntime;
  readonly dataDir: string;
  readonly stanza: string;
  readonly configPath?: string;
  readonly conn: ServerConnection;
  readonly postgresIsPid1: boolean;
  readonly containerId?: string;
  /** "container <name>" or "this machine". */
  readonly where: string;
  /** A backup path as the tools see it. */
  toolPath(path: string): string;
}
/** A Backups view node (the Backups helper's shapes): `set`, `backup`, `copy`, maybe `stack`. */
interface ViewNode {
  readonly item: vscode.TreeItem;
  readonly stack?: StackConfig;
  readonly set?: { label: string };
  readonly stanza?: { name: string };
  readonly backup?: { path: string; database?: string };
  readonly copy?: { path: string; sizeBytes?: number; created?: Date };
}

/** register() from ./index with the restore's node type, and errors offering the restore channel. */
function registerRestore(
  ctx: RestoreCommandContext,
  id: string,
  handler: (args: Args | undefined, node: ViewNode | undefined) => unknown,
): vscode.Disposable {
  return register(ctx, id, (args, node) => handler(args, node as ViewNode | undefined), {
    showError: (e) => {
      void vscode.window.showErrorMessage(e.message, 'Show Output').then((a) => a && ctx.output.show(true));
      return true;
    },
  });
}

function str(args: Args | undefined, key: string): string | undefined {
  const v = args?.[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new Error(`${key} must be a string, not ${JSON.stringify(v)}.`);
  return v;
}
function bool(args: Args | undefined, key: string): boolean | undefined {
  const v = args?.[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new Error(`${key} must be true or false, not ${JSON.stringify(v)}.`);
  return v;
}

/**
 * The backup a restore starts from: `args[key]`, else the clicked Backups view item, else (from the
 * palette) an open dialog in the stack's manual_backup folder. With args and no path: an error naming it.
 */
async function backupPath(
  args: Args | undefined,
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
    throw new Error(`${id} needs { ${key} }: ${what} (host path under the backups folder, or its container path).`);
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

async function confirm(
  args: Args | undefined,
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
      throw new Error(`${id} replaces data: pass { confirm: true } (it asks nothing when called with args).`);
    return;
  }
  return modal();
}

export function registerRestoreCommands(ctx: RestoreCommandContext): vscode.Disposable[] {
  const { engine, output } = ctx;

  async function stackFor(args: Args | undefined, node: ViewNode | undefined): Promise<StackConfig> {
    const stack = node?.stack ?? (await pickStack(ctx.registry, args));
    if (!stack) throw new CancelledByUser();
    if (!stack.dbService) throw new Error(`${stack.composeFile} has no database service: nothing to restore into.`);
    return stack;
  }

  /** The database service's container (running or not: after a one-off crash it may be stopped). */
  async function dbContainer(stack: StackConfig): Promise<string> {
    const docker = await engine.docker();
    const list = await projectContainers(docker, stack.projectName, stack.dbService!.name);
    const c = list.find((x) => x.State === 'running') ?? list[0];
    if (!c)
      throw new Error(
        `The ${stack.dbService!.name} container of compose project "${stack.projectName}" does not exist: start the stack first.`,
      );
    return c.Id;
  }

  function credentials(stack: StackConfig): ServerConnection {
    const svc = stack.dbService!;
    return {
      user: stack.env.user ?? svc.environment['POSTGRES_USER'] ?? 'postgres',
      password: stack.env.password ?? svc.environment['POSTGRES_PASSWORD'],
      database: stack.env.database ?? svc.environment['POSTGRES_DB'],
    };
  }

  /**
   * Where a restore of this stack runs: the database container (default), or this machine with
   * `tsdbOps.backups.runtime` = host (an install without Docker; the cluster's own user runs VS Code).
   */
  async function setupFor(stack: StackConfig, node?: ViewNode): Promise<Site> {
    const bc = readBackupsConfig(vscode.Uri.file(stack.workspaceFolder));
    const stanzaSetting = node?.stanza?.name ?? bc.stanza;
    const cred = credentials(stack);
    if (bc.runtime === 'host') {
      // The OS user: core/stack/site's rule (postgres when VS Code runs as root), as for backups.
      const rt = new HostRuntime(bc.hostBinDirs, hostRunAs());
      const t = await stackBackupTargets(stack, rt, { ...bc, stanza: stanzaSetting });
      const conn: ServerConnection = { ...cred, host: bc.host ?? 'localhost', port: bc.port ?? stack.env.port ?? 5432 };
      return {
        mode: 'host',
        rt,
        dataDir: t.dataDir,
        stanza: t.pgbackrest.stanza,
        configPath: t.pgbackrest.configPath,
        conn,
        postgresIsPid1: false,
        where: 'this machine',
        toolPath: (p) => p,
      };
    }
    await engine.runtimeFor(stack); // a clear error when the container is not running
    const docker = await engine.docker();
    const setup = await readRestoreSetup({
      stack,
      docker,
      containerId: await dbContainer(stack),
      ...cred,
      settings: { ...bc, stanza: stanzaSetting },
    });
    return {
      ...setup,
      mode: 'container',
      rt: new ContainerRuntime(docker, setup.containerId, `container ${setup.containerName}`),
      where: `container ${setup.containerName}`,
      toolPath: (p) => containerPath(stack.dbService!.volumes, p),
    };
  }

  /** Runs a restore in the stack's queue (refusing a second one) with progress, output and cancel. */
  async function runOperation<T>(
    stack: StackConfig,
    title: string,
    work: (rctx: RestoreContext) => Promise<T>,
  ): Promise<T> {
    const queue = engine.queueFor(stack);
    if (queue.busy) throw new OperationBusyError(queue.running ?? 'another operation', title);
    output.appendLine('');
    output.appendLine(`[${new Date().toISOString()}] ${title} (${stack.projectName})`);
    output.show(true);
    try {
      return await runStackOperation(queue, title, (op) => work({ signal: op.signal, step: op.step, line: op.line }), {
        mode: 'refuse',
        secrets: [stack.env.password],
        onCancel: () => output.appendLine('Cancel requested: stopping the running step and rolling back.'),
        output: { step: (_t, s) => output.appendLine(`▶ ${s}`), line: (_t, l) => output.appendLine(l) },
      });
    } catch (e) {
      output.appendLine(`✖ ${e instanceof Error ? e.message : String(e)}`);
      throw e;
    } finally {
      void vscode.commands.executeCommand('tsdbOps.backup.refresh').then(undefined, () => undefined);
    }
  }

  function physicalDetail(setup: Site, what: string): string {
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

  async function physical(
    stack: StackConfig,
    setup: Site,
    src: PhysicalSource,
    title: string,
  ): Promise<PhysicalRestoreResult> {
    const docker = setup.postgresIsPid1 ? await engine.docker() : undefined;
    const r = await runOperation(stack, title, (rctx) =>
      docker && setup.containerId
        ? restoreInOneOff(
            { docker, containerId: setup.containerId, dataDir: setup.dataDir, conn: setup.conn },
            src,
            rctx,
          )
        : restorePhysical({ rt: setup.rt, dataDir: setup.dataDir, conn: setup.conn }, src, rctx),
    );
    void vscode.window
      .showInformationMessage(
        `${title}: done.${r.preRestoreCopy ? ` The previous data is kept at ${r.preRestoreCopy}.` : ''}`,
        'Show Output',
      )
      .then((a) => a && output.show(true));
    return r;
  }

  async function stanzaInfo(setup: Site): Promise<StanzaInfo> {
    return pgbackrestInfo({ runtime: setup.rt, stanza: setup.stanza, configPath: setup.configPath });
  }

  async function askTime(info: StanzaInfo): Promise<Date> {
    const from = info.pitr?.from ?? info.backups[0]?.stop;
    const to = info.pitr?.to ?? new Date();
    if (!from) throw new Error(`Stanza ${info.name} has no backup: take a full backup first.`);
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
          return e instanceof Error ? e.message : String(e);
        }
      },
    });
    if (!value) throw new CancelledByUser();
    return parseTimeTarget(/[zZ]|[+-]\d{2}(:?\d{2})?$/.test(value.trim()) ? value : `${value.trim()}Z`);
  }

  /**
   * A restore that never finished (VS Code or the machine died midway) left its journal beside PGDATA:
   * say so once per journal, with the way back, whenever the stacks are (re)discovered.
   */
  const warned = new Set<string>();
  const checkJournals = async () => {
    const present = new Set<string>();
    for (const stack of ctx.registry.stacks) {
      if (!stack.dbService) continue;
      for (const { file, journal } of await findRestoreJournals(stack.dbService.volumes).catch(() => [])) {
        present.add(file);
        if (warned.has(file)) continue;
        warned.add(file);
        ctx.log.warn(
          `An interrupted restore of ${stack.projectName} left ${file} (started ${journal.started}, ${journal.source}).`,
        );
        void vscode.window
          .showWarningMessage(
            `A restore of ${stack.projectName} started ${journal.started} did not finish. The data from before it is kept at ${journal.aside}.`,
            'Roll Back Now',
            'Show Output',
          )
          .then((a) => {
            if (a === 'Roll Back Now') {
              void Promise.resolve(
                vscode.commands.executeCommand<{ recovered: boolean }>('tsdbOps.restore.recover', {
                  folder: stack.workspaceFolder,
                }),
              ).then(
                (r) =>
                  void vscode.window.showInformationMessage(
                    r.recovered
                      ? `Rolled back: ${journal.dataDir} holds the data from before the restore again.`
                      : 'Nothing was left to roll back.',
                  ),
                (e: unknown) =>
                  void vscode.window
                    .showErrorMessage(
                      `Rolling back failed: ${e instanceof Error ? e.message : String(e)}`,
                      'Show Output',
                    )
                    .then((b) => b && output.show(true)),
              );
            }
            if (a === 'Show Output') output.show(true);
          });
      }
    }
    for (const f of warned) if (!present.has(f)) warned.delete(f);
  };
  void ctx.registry.ready.then(checkJournals);

  return [
    ctx.registry.onDidChange(() => void checkJournals()),
    registerRestore(ctx, 'tsdbOps.restore.pgbackrest', async (args, node) => {
      requireTrust('Restoring a backup');
      const stack = await stackFor(args, node);
      const setup = await setupFor(stack, node);
      let set = str(args, 'set') ?? node?.set?.label;
      const timeArg = args?.time;
      let time =
        timeArg !== undefined && timeArg !== null && timeArg !== '' ? parseTimeTarget(timeArg, 'time') : undefined;
      const replayWal = bool(args, 'replayWal');
      if (!args) {
        const info = await stanzaInfo(setup);
        if (node?.item.contextValue === 'pitrWindow') time = await askTime(info);
        else if (!set) {
          const newest = info.backups[info.backups.length - 1];
          if (!newest) throw new Error(`Stanza ${setup.stanza} has no backup set: take a full backup first.`);
          type Pick = vscode.QuickPickItem & { set?: string; pitr?: boolean };
          const items: Pick[] = [
            {
              label: `Latest backup set`,
              description: `${newest.label} (${newest.type}, ended ${newest.stop.toLocaleString()})`,
              set: newest.label,
            },
            {
              label: 'Point in time…',
              description: info.pitr
                ? `${info.pitr.from.toLocaleString()} – ${info.pitr.to.toLocaleString()}`
                : undefined,
              pitr: true,
            },
            { label: 'Backup sets', kind: vscode.QuickPickItemKind.Separator },
            ...[...info.backups].reverse().map((b) => ({
              label: b.label,
              description: `${b.type} · ended ${b.stop.toLocaleString()} · ${formatBytes(b.sizeBytes)}`,
              set: b.label,
            })),
          ];
          const picked = await vscode.window.showQuickPick(items, {
            title: `Restore ${stack.projectName} from pgBackRest`,
            placeHolder: 'What to restore',
          });
          if (!picked) throw new CancelledByUser();
          if (picked.pitr) time = await askTime(info);
          else set = picked.set;
        }
      }
      const what = time
        ? `the state at ${formatTimeTarget(time)} (pgBackRest point-in-time recovery)`
        : `backup set ${set ?? '(the newest)'}${replayWal ? ' plus every archived WAL after it' : ''}`;
      await confirm(
        args,
        'tsdbOps.restore.pgbackrest',
        `Restore ${stack.projectName} to ${what}?`,
        physicalDetail(setup, what),
        'Restore',
        guardFor(stack, 'tsdbOps.restore.pgbackrest', 'cluster', undefined, engine.contextName),
      );
      const src: PhysicalSource = {
        kind: 'pgbackrest',
        stanza: setup.stanza,
        configPath: setup.configPath,
        set,
        time,
        replayWal,
      };
      const r = await physical(
        stack,
        setup,
        src,
        time ? `Restoring to ${formatTimeTarget(time)}` : `Restoring backup set ${set ?? 'latest'}`,
      );
      return { ...r, stanza: setup.stanza, dataDir: setup.dataDir, oneOffContainer: setup.postgresIsPid1 };
    }),

    registerRestore(ctx, 'tsdbOps.restore.baseBackup', async (args, node) => {
      requireTrust('Restoring a backup');
      const stack = await stackFor(args, node);
      const dir = await backupPath(
        args,
        node,
        stack,
        'dir',
        'tsdbOps.restore.baseBackup',
        'a pg_basebackup -F t folder',
        { title: 'A pg_basebackup folder (base.tar.gz, pg_wal.tar.gz)' },
      );
      const setup = await setupFor(stack, node);
      const inContainer = setup.toolPath(dir);
      const what = `the pg_basebackup ${basename(dir)}`;
      await confirm(
        args,
        'tsdbOps.restore.baseBackup',
        `Restore ${stack.projectName} from ${what}?`,
        physicalDetail(setup, what),
        'Restore',
        guardFor(stack, 'tsdbOps.restore.baseBackup', 'cluster', undefined, engine.contextName),
      );
      const r = await physical(stack, setup, { kind: 'baseBackup', dir: inContainer }, `Restoring ${basename(dir)}`);
      return { ...r, dataDir: setup.dataDir, oneOffContainer: setup.postgresIsPid1 };
    }),

    registerRestore(ctx, 'tsdbOps.restore.dump', async (args, node) => {
      requireTrust('Restoring a backup');
      const stack = await stackFor(args, node);
      const file = await backupPath(args, node, stack, 'file', 'tsdbOps.restore.dump', 'a pg_dump file', {
        title: 'A pg_dump file (.tar, .dump)',
      });
      // The sidecar (<file>.meta.json) is read on this machine; a container path is mapped back first.
      const onHost = existsSync(file) ? file : hostPath(stack.dbService!.volumes, file);
      const meta = onHost && existsSync(onHost) ? await readSidecar(onHost).catch(() => undefined) : undefined;
      const fromName = /^(.+)_pg_dump_/.exec(basename(file))?.[1];
      let database = str(args, 'database');
      const fallback = node?.backup?.database ?? meta?.database ?? fromName ?? stack.env.database;
      if (!database && !args) {
        database = await vscode.window.showInputBox({
          title: `Restore ${basename(file)} into which database?`,
          prompt: 'A database that does not exist is created.',
          value: fallback,
          validateInput: (v) => {
            try {
              checkDatabaseName(v);
              return undefined;
            } catch (e) {
              return e instanceof Error ? e.message : String(e);
            }
          },
        });
        if (!database) throw new CancelledByUser();
      }
      database = checkDatabaseName(database ?? fallback, 'database');
      let clean = bool(args, 'clean');
      let singleTransaction = bool(args, 'singleTransaction');
      let exitOnError = bool(args, 'exitOnError');
      if (!args) {
        type Opt = vscode.QuickPickItem & { key: 'clean' | 'single' | 'exit' };
        const picked = await vscode.window.showQuickPick<Opt>(
          [
            {
              label: 'Clean',
              description: "drop the dump's objects before recreating them (--clean --if-exists)",
              key: 'clean',
              picked: false,
            },
            {
              label: 'Single transaction',
              description: 'all or nothing: a failure changes nothing (--single-transaction)',
              key: 'single',
              picked: true,
            },
            {
              label: 'Exit on error',
              description: 'stop at the first error (--exit-on-error)',
              key: 'exit',
              picked: true,
            },
          ],
          { canPickMany: true, title: `pg_restore options for ${database}` },
        );
        if (!picked) throw new CancelledByUser();
        clean = picked.some((p) => p.key === 'clean');
        singleTransaction = picked.some((p) => p.key === 'single');
        exitOnError = picked.some((p) => p.key === 'exit');
      }
      const setup = await setupFor(stack, node);
      const inContainer = setup.toolPath(file);
      const detail = [
        `Replaced: ${clean ? `the objects of the dump in ${database} are dropped and recreated` : `the dump's objects are added to ${database}`} ` +
          `(created if it does not exist). ` +
          `TimescaleDB-aware when the dump or the database has the extension.`,
        `Kept: every other database${singleTransaction ? `; with a single transaction a failure leaves ${database} unchanged` : ''}; ` +
          `a database created for this restore is dropped again if it fails.`,
      ].join('\n\n');
      await confirm(
        args,
        'tsdbOps.restore.dump',
        `Restore ${basename(file)} into database ${database}?`,
        detail,
        'Restore',
        guardFor(stack, 'tsdbOps.restore.dump', 'database', database, engine.contextName),
      );
      const r = await runOperation(stack, `Restoring ${basename(file)} into ${database}`, (rctx) =>
        restoreDump(
          { rt: setup.rt, conn: setup.conn },
          {
            file: inContainer,
            database: database!,
            clean,
            singleTransaction,
            exitOnError,
            dumpTimescaledbVersion: meta?.timescaledbVersion,
          },
          rctx,
        ),
      );
      for (const w of r.warnings) void vscode.window.showWarningMessage(w);
      void vscode.window.showInformationMessage(
        `Restored ${basename(file)} into ${database}${r.created ? ' (created)' : ''}.`,
      );
      return r;
    }),

    registerRestore(ctx, 'tsdbOps.restore.dumpAll', async (args, node) => {
      requireTrust('Restoring a backup');
      const stack = await stackFor(args, node);
      const file = await backupPath(args, node, stack, 'file', 'tsdbOps.restore.dumpAll', 'a pg_dumpall .sql file', {
        title: 'A pg_dumpall .sql file',
        filters: { SQL: ['sql'] },
      });
      const setup = await setupFor(stack, node);
      const inContainer = setup.toolPath(file);
      // Read what it holds first (and refuse a file that is not a complete pg_dumpall script).
      const objects = await verifyDumpAll(setup.rt, inContainer, { step: () => undefined, line: () => undefined });
      const dbs = objects.databases.length ? objects.databases.join(', ') : 'none besides postgres and template1';
      const detail = [
        `Replaced: every database the dump holds (${dbs}) is recreated from it (run through psql with ON_ERROR_STOP); ` +
          `roles are created or altered as the dump says.`,
        `Kept: each of those databases that exists now is first renamed to <name>_pre_restore_<time> and kept (drop it when satisfied); ` +
          `other databases are untouched. ` +
          `If the restore fails or you cancel it, the renamed databases get their names back.`,
      ].join('\n\n');
      await confirm(
        args,
        'tsdbOps.restore.dumpAll',
        `Restore every database of ${basename(file)}?`,
        detail,
        'Restore',
        guardFor(stack, 'tsdbOps.restore.dumpAll', 'cluster', undefined, engine.contextName),
      );
      const r = await runOperation(stack, `Restoring ${basename(file)}`, (rctx) =>
        restoreDumpAll({ rt: setup.rt, conn: setup.conn }, { file: inContainer }, rctx),
      );
      const kept = Object.values(r.keptAside);
      void vscode.window.showInformationMessage(
        `Restored ${basename(file)}.${kept.length ? ` The previous databases are kept as ${kept.join(', ')}.` : ''}`,
      );
      return r;
    }),

    registerRestore(ctx, 'tsdbOps.restore.deletePreRestoreCopy', async (args, node) => {
      const stack = await stackFor(args, node);
      const setup = await setupFor(stack, node);
      const rt = setup.rt;
      let path = str(args, 'path') ?? node?.copy?.path;
      let size = node?.copy?.sizeBytes;
      if (!path && !args) {
        const copies = await listPreRestoreCopies(rt, setup.dataDir);
        if (!copies.length) {
          void vscode.window.showInformationMessage('There is no pre-restore copy.');
          return { deleted: undefined };
        }
        const picked = await vscode.window.showQuickPick(
          copies.map((c) => ({
            label: c.name,
            description: `${c.sizeBytes !== undefined ? formatBytes(c.sizeBytes) : '?'} · ${c.created?.toLocaleString() ?? ''}`,
            copy: c,
          })),
          { title: 'Delete which pre-restore copy?' },
        );
        if (!picked) throw new CancelledByUser();
        path = picked.copy.path;
        size = picked.copy.sizeBytes;
      }
      if (!path)
        throw new Error(
          "tsdbOps.restore.deletePreRestoreCopy needs { path }: the copy's path in the container (see the Backups view).",
        );
      await confirm(
        args,
        'tsdbOps.restore.deletePreRestoreCopy',
        `Delete the pre-restore copy ${basename(path)}${size !== undefined ? ` (${formatBytes(size)})` : ''}?`,
        `It holds the data folder from before a restore: the way back to that state. ` +
          `Deleting it cannot be undone; the running database (${setup.dataDir}) is not touched.`,
        'Delete',
        guardFor(stack, 'tsdbOps.restore.deletePreRestoreCopy', 'cluster', undefined, engine.contextName),
      );
      await runOperation(stack, `Deleting ${basename(path)}`, (rctx) =>
        deletePreRestoreCopy({ rt, dataDir: setup.dataDir, conn: setup.conn }, path!, rctx),
      );
      return { deleted: path };
    }),

    registerRestore(ctx, 'tsdbOps.restore.recover', async (args, node) => {
      const stack = await stackFor(args, node);
      if (readBackupsConfig(vscode.Uri.file(stack.workspaceFolder)).runtime === 'host') {
        const site = await setupFor(stack, node);
        const j = await runOperation(stack, 'Recovering an interrupted restore', (rctx) =>
          recoverInterruptedRestore({ rt: site.rt, dataDir: site.dataDir, conn: site.conn }, rctx),
        );
        if (!args)
          void vscode.window.showInformationMessage(
            j
              ? `Rolled back the restore started ${j.started}: ${site.dataDir} holds the previous data again.`
              : 'No interrupted restore found.',
          );
        return { recovered: Boolean(j), journal: j };
      }
      const docker = await engine.docker();
      const containerId = await dbContainer(stack);
      const conn = credentials(stack);
      // Running or stopped, the container's PGDATA comes from core/stack/site like every restore's.
      const setup = await readRestoreSetup({
        stack,
        docker,
        containerId,
        ...conn,
        settings: readBackupsConfig(vscode.Uri.file(stack.workspaceFolder)),
      });
      // A running container that is not PostgreSQL-as-PID-1 recovers in place; otherwise a one-off does it.
      const inPlace = setup.running && !setup.postgresIsPid1;
      const dataDir = setup.dataDir;
      const j = await runOperation(stack, 'Recovering an interrupted restore', (rctx) =>
        inPlace
          ? recoverInterruptedRestore(
              {
                rt: new ContainerRuntime(docker, containerId, `container ${setup.containerName}`),
                dataDir,
                conn,
              },
              rctx,
            )
          : recoverInOneOff({ docker, containerId, dataDir, conn }, rctx),
      );
      if (!args)
        void vscode.window.showInformationMessage(
          j
            ? `Rolled back the restore started ${j.started}: ${dataDir} holds the previous data again.`
            : 'No interrupted restore found.',
        );
      return { recovered: Boolean(j), journal: j };
    }),
  ];
}
