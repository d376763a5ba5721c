/**
 * Restore commands: pgBackRest (latest, a set, a point in time), pg_dump, pg_dumpall, pg_basebackup,
 * deleting a pre-restore copy, and recovering an interrupted restore. With args they ask nothing
 * (destructive ones need `confirm: true`) and return a result; from the palette or a Backups view
 * item they ask what is missing and confirm with a modal that names what is replaced and what is kept.
 * Each runs in the stack's operation queue (a second restore is refused), with a cancellable progress
 * notification and every step and exact command in the "TimescaleDB Ops: Restore" output channel.
 * The warning about a restore that never finished is ui/backups/interrupted-restores.ts.
 */
import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { formatBytes } from '../../core/format';
import { readSidecar } from '../../core/backups/sidecar';
import { listPreRestoreCopies } from '../../core/backups/restore/pre-restore';
import { deletePreRestoreCopy, type PhysicalSource } from '../../core/backups/restore/physical';
import { checkDatabaseName, restoreDump, restoreDumpAll, verifyDumpAll } from '../../core/backups/restore/logical';
import { formatTimeTarget } from '../../core/backups/restore/pitr';
import { hostPath } from '../../core/backups/restore/stack';
import { describeRestoreTarget, parseRestoreTarget, type RestoreTarget } from '../../core/backups/restore/target';
import { repositoriesOf, stanzaInRepository } from '../../core/backups/repositories';
import { askRepository } from './repositories';
import { describeArchiver, readArchiverStatus, type ArchiverStatus } from '../../core/backups/archiver';
import { bool, requireTrust, str } from './args';
import { restoreRecover } from './restore-recover';
import { COMMAND, ITEM } from '../ids';
import { errorText } from '../../core/format';
import { CancelledByUser, liveGuard } from './register';
import {
  RestoreCommandContext,
  registerRestore,
  backupPath,
  confirm,
  Restores,
  type Site,
  type ViewNode,
} from './restore-support';
import type { StackConfig } from '../../core/infra';
import { OpsError } from '../../core/errors/error';

/** A logical restore's outcome: with warnings (errors ignored, workers not back …) never a plain success. */
function announce(done: string, warnings: readonly string[]): void {
  if (warnings.length) void vscode.window.showWarningMessage(`${done} With warnings: ${warnings.join(' ')}`);
  else void vscode.window.showInformationMessage(done);
}

/** From the palette or a Backups view item: which repository and what to restore (latest, a set, a time). */
async function askTarget(
  restores: Restores,
  setup: Site,
  stack: StackConfig,
  node: ViewNode | undefined,
  start: RestoreTarget,
  archiver: ArchiverStatus | undefined,
): Promise<RestoreTarget> {
  let t = start;
  const all = await restores.stanzaInfo(setup);
  const repo =
    node?.repo ??
    (node?.set?.label
      ? undefined
      : await askRepository(repositoriesOf({ stanza: all.name, info: all }), 'Restore from which repository?'));
  const info = stanzaInRepository(all, repo);
  const withRepo = (x: RestoreTarget): RestoreTarget => (repo !== undefined ? { ...x, repo } : x);
  t = withRepo(t);
  if (node?.item.contextValue === ITEM.pitrWindow) t = withRepo({ target: 'time', time: await restores.askTime(info) });
  else if (!node?.set?.label) {
    const newest = info.backups[info.backups.length - 1];
    if (!newest) throw new OpsError('config', `Stanza ${setup.stanza} has no backup set: take a full backup first.`);
    type Pick = vscode.QuickPickItem & { t?: RestoreTarget; pitr?: boolean };
    const items: Pick[] = [
      {
        label: 'Latest state (newest backup + all archived WAL)',
        description: archiver?.lastArchivedTime
          ? `up to ${archiver.lastArchivedTime.toLocaleString()}`
          : `${newest.label} and every WAL after it`,
        t: { target: 'latest' },
      },
      {
        label: `Exactly backup set ${newest.label}`,
        description: `${newest.type}, ended ${newest.stop.toLocaleString()}; no WAL after it`,
        t: { target: 'set', set: newest.label },
      },
      {
        label: 'Point in time…',
        description: info.pitr
          ? `${info.pitr.from.toLocaleString()} – ${(archiver?.lastArchivedTime ?? info.pitr.to).toLocaleString()}`
          : undefined,
        pitr: true,
      },
      { label: 'Exactly one of the backup sets', kind: vscode.QuickPickItemKind.Separator },
      ...[...info.backups].reverse().map((b) => ({
        label: b.label,
        description: `${b.type} · ended ${b.stop.toLocaleString()} · ${formatBytes(b.sizeBytes)}`,
        t: { target: 'set' as const, set: b.label },
      })),
    ];
    const picked = await vscode.window.showQuickPick(items, {
      title: `Restore ${stack.projectName} from pgBackRest`,
      placeHolder: 'What to restore',
    });
    if (!picked) throw new CancelledByUser();
    t = withRepo(picked.pitr ? { target: 'time', time: await restores.askTime(info) } : picked.t!);
  }
  return t;
}

export function registerRestoreCommands(ctx: RestoreCommandContext): vscode.Disposable[] {
  const { engine } = ctx;
  return [
    registerRestore(ctx, COMMAND.restorePgbackrest, 'Restore from pgBackRest', async (args, node, restores) => {
      requireTrust('Restoring a backup');
      const stack = await restores.stackFor(args, node);
      const setup = await restores.setupFor(stack, node);
      // The one args schema (core/backups/restore/target.ts); a clicked set means "exactly that set".
      // A node under a repository (several repositories) restores from that repository.
      const nodeRepo = node?.repo !== undefined ? { repo: node.repo } : {};
      let t: RestoreTarget = args
        ? parseRestoreTarget(args)
        : node?.set?.label
          ? { target: 'set', set: node.set.label, ...nodeRepo }
          : { target: 'latest', ...nodeRepo };
      const archiver = await readArchiverStatus(setup.rt, setup.conn).catch(() => undefined);
      if (!args) t = await askTarget(restores, setup, stack, node, t, archiver);
      const what = describeRestoreTarget(t);
      const reach =
        t.target === 'latest'
          ? archiver?.lastArchivedTime
            ? `Newest recoverable moment: ${archiver.lastArchivedTime.toISOString()} ` +
              `(the newest archived WAL, ${archiver.lastArchivedWal}). ` +
              'Not in it: writes after that WAL was archived (still only in the live pg_wal).'
            : 'Newest recoverable moment: the newest archived WAL; writes not yet archived are not in it.'
          : t.target === 'set'
            ? `Not in it: every write after backup set ${t.set ?? '(the newest)'} ended (archived WAL after it is not replayed).`
            : 'Not in it: every write after the target.';
      const failing = archiver?.failing ? `\n\nWarning: ${describeArchiver(archiver)}` : '';
      await confirm(
        args,
        COMMAND.restorePgbackrest,
        `Restore ${stack.projectName} to ${what}?`,
        `${reach}${failing}\n\n${restores.physicalDetail(setup, what)}`,
        'Restore',
        liveGuard(COMMAND.restorePgbackrest, stack),
      );
      const src: PhysicalSource = {
        kind: 'pgbackrest',
        stanza: setup.stanza,
        configPath: setup.configPath,
        target: t.target,
        set: t.set,
        time: t.time,
        xid: t.xid,
        exclusive: t.exclusive,
        ...(t.repo !== undefined ? { repo: t.repo } : {}),
      };
      const title =
        t.target === 'time'
          ? `Restoring to ${formatTimeTarget(t.time!)}`
          : t.target === 'xid'
            ? `Restoring to transaction ${t.xid}`
            : t.target === 'set'
              ? `Restoring exactly backup set ${t.set ?? '(the newest)'}`
              : `Restoring the latest state${t.set ? ` from ${t.set}` : ''}`;
      const r = await restores.physical(stack, setup, src, title);
      return {
        ...r,
        restoreTarget: t.target,
        ...(t.repo !== undefined ? { repo: t.repo } : {}),
        stanza: setup.stanza,
        dataDir: setup.dataDir,
        oneOffContainer: setup.postgresIsPid1,
        newestArchivedWal: archiver?.lastArchivedWal,
        newestArchivedTime: archiver?.lastArchivedTime?.toISOString(),
      };
    }),

    registerRestore(ctx, COMMAND.restoreBaseBackup, 'Restore a pg_basebackup', async (args, node, restores) => {
      requireTrust('Restoring a backup');
      const stack = await restores.stackFor(args, node);
      const dir = await backupPath(args, node, stack, 'dir', COMMAND.restoreBaseBackup, 'a pg_basebackup -F t folder', {
        title: 'A pg_basebackup folder (base.tar.gz, pg_wal.tar.gz)',
      });
      const setup = await restores.setupFor(stack, node);
      const inContainer = setup.toolPath(dir);
      const what = `the pg_basebackup ${basename(dir)}`;
      await confirm(
        args,
        COMMAND.restoreBaseBackup,
        `Restore ${stack.projectName} from ${what}?`,
        restores.physicalDetail(setup, what),
        'Restore',
        liveGuard(COMMAND.restoreBaseBackup, stack),
      );
      const r = await restores.physical(
        stack,
        setup,
        { kind: 'baseBackup', dir: inContainer },
        `Restoring ${basename(dir)}`,
      );
      return { ...r, dataDir: setup.dataDir, oneOffContainer: setup.postgresIsPid1 };
    }),

    registerRestore(ctx, COMMAND.restoreDump, 'Restore a pg_dump', async (args, node, restores) => {
      requireTrust('Restoring a backup');
      const stack = await restores.stackFor(args, node);
      const file = await backupPath(args, node, stack, 'file', COMMAND.restoreDump, 'a pg_dump file', {
        title: 'A pg_dump file (.tar, .dump)',
      });
      // The sidecar (<file>.meta.json) is read on this machine; a container path is mapped back first.
      const onHost = existsSync(file) ? file : hostPath(stack.dbService!.volumes, file);
      const meta = onHost && existsSync(onHost) ? await readSidecar(onHost).catch(() => undefined) : undefined;
      const fromName = /^(.+)_pg_dump_/.exec(basename(file))?.[1];
      let database = str(args, 'database');
      const fallback =
        node?.backup?.database ?? meta?.database ?? fromName ?? engine.contextFor(stack).toolConnection.database.value;
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
              return errorText(e);
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
      const setup = await restores.setupFor(stack, node);
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
        COMMAND.restoreDump,
        `Restore ${basename(file)} into database ${database}?`,
        detail,
        'Restore',
        liveGuard(COMMAND.restoreDump, stack, database),
      );
      const r = await restores.runOperation(stack, `Restoring ${basename(file)} into ${database}`, (rctx) =>
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
      announce(`Restored ${basename(file)} into ${database}${r.created ? ' (created)' : ''}.`, r.warnings);
      return r;
    }),

    registerRestore(ctx, COMMAND.restoreDumpAll, 'Restore a pg_dumpall', async (args, node, restores) => {
      requireTrust('Restoring a backup');
      const stack = await restores.stackFor(args, node);
      const file = await backupPath(args, node, stack, 'file', COMMAND.restoreDumpAll, 'a pg_dumpall .sql file', {
        title: 'A pg_dumpall .sql file',
        filters: { SQL: ['sql'] },
      });
      const setup = await restores.setupFor(stack, node);
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
        COMMAND.restoreDumpAll,
        `Restore every database of ${basename(file)}?`,
        detail,
        'Restore',
        liveGuard(COMMAND.restoreDumpAll, stack),
      );
      const r = await restores.runOperation(stack, `Restoring ${basename(file)}`, (rctx) =>
        restoreDumpAll({ rt: setup.rt, conn: setup.conn }, { file: inContainer }, rctx),
      );
      const kept = Object.values(r.keptAside);
      announce(
        `Restored ${basename(file)}.${kept.length ? ` The previous databases are kept as ${kept.join(', ')}.` : ''}`,
        r.warnings,
      );
      return r;
    }),

    registerRestore(
      ctx,
      COMMAND.restoreDeletePreRestoreCopy,
      'Delete a pre-restore copy',
      async (args, node, restores) => {
        const stack = await restores.stackFor(args, node);
        const setup = await restores.setupFor(stack, node);
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
          throw new OpsError(
            'config',
            "tsdbOps.restore.deletePreRestoreCopy needs { path }: the copy's path in the container (see the Backups view).",
          );
        await confirm(
          args,
          COMMAND.restoreDeletePreRestoreCopy,
          `Delete the pre-restore copy ${basename(path)}${size !== undefined ? ` (${formatBytes(size)})` : ''}?`,
          `It holds the data folder from before a restore: the way back to that state. ` +
            `Deleting it cannot be undone; the running database (${setup.dataDir}) is not touched.`,
          'Delete',
          liveGuard(COMMAND.restoreDeletePreRestoreCopy, stack),
        );
        await restores.runOperation(stack, `Deleting ${basename(path)}`, (rctx) =>
          deletePreRestoreCopy({ rt, dataDir: setup.dataDir, conn: setup.conn }, path!, rctx),
        );
        return { deleted: path };
      },
    ),

    registerRestore(ctx, COMMAND.restoreRecover, 'Recover an interrupted restore', (args, node, restores) =>
      restoreRecover(ctx, args, node, restores),
    ),
  ];
}
