/**
 * Backup commands. With an args object they ask nothing, throw on error and return a result; from
 * the palette or the Backups view they prompt for what is missing. Long work runs in the stack's
 * operation queue under a progress notification with Cancel; tool output goes to the extension log
 * (secrets masked), pgBackRest's own log files to the "pgBackRest" channel.
 */
import * as vscode from 'vscode';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { StackConfig } from '../../core/infra';
import {
  BACKUP_TYPES,
  PgBackRestError,
  pgbackrestBackup,
  pgbackrestCheck,
  pgbackrestStanzaCreate,
  pgbackrestStart,
  pgbackrestStopFile,
  type BackupType,
} from '../../core/backups/pgbackrest';
import { findRestoreJournals } from '../../core/backups/restore/stack';
import {
  createBaseBackup,
  createDump,
  createDumpAll,
  listDatabases,
  type ManualBackupResult,
} from '../../core/backups/dump';
import { parseRepoArg, repositoriesInConf } from '../../core/backups/repositories';
import { askRepository } from './repositories';
import type { OperationContext } from '../../core/operations/queue';
import type { StackRegistry } from '../stacks';
import type { DockerService } from '../docker-service';
import type { BackupsController } from '../backups/controller';
import type { OfeliaChannel, PgBackRestChannel } from '../output/backup-channels';
import type { BackupNode } from '../views/backups';
import { addOfeliaUserLabel, jobsRunningPgbackrestAsRoot } from '../../core/backups/pgbackrest-env';
import { requireTrust, stackFor as stackOf, str, type Args } from './args';
import { CancelledByUser, confirmLive, register } from './register';
import { logOutput, runStackOperation } from '../operation';
import { COMMAND } from '../ids';
import { overviewResult } from './backups-result';
import { OpsError } from '../../core/errors/error';
import { argsError } from '../../core/errors/misc';

export interface BackupCommandContext {
  readonly registry: StackRegistry;
  readonly engine: DockerService;
  readonly controller: BackupsController;
  readonly log: vscode.LogOutputChannel;
  readonly pgbackrestChannel: PgBackRestChannel;
  readonly ofeliaChannel: OfeliaChannel;
}

const KINDS = ['full', 'diff', 'incr', 'dump', 'dumpAll', 'baseBackup'] as const;
type Kind = (typeof KINDS)[number];
const KIND_PICKS: { label: string; description: string; backupKind: Kind }[] = [
  { label: 'pgBackRest full', description: 'the whole cluster, into the pgBackRest repository', backupKind: 'full' },
  { label: 'pgBackRest differential', description: 'changes since the last full backup', backupKind: 'diff' },
  { label: 'pgBackRest incremental', description: 'changes since the last backup of any type', backupKind: 'incr' },
  { label: 'pg_dump', description: 'one database, tar file in manual_backup', backupKind: 'dump' },
  { label: 'pg_dumpall', description: 'all databases and roles, SQL file in manual_backup', backupKind: 'dumpAll' },
  { label: 'pg_basebackup', description: 'the whole cluster, folder in manual_backup', backupKind: 'baseBackup' },
];

function isNode(a: unknown): a is BackupNode {
  return typeof a === 'object' && a !== null && 'item' in a && (a as { item: unknown }).item instanceof vscode.TreeItem;
}

function toResult(r: ManualBackupResult) {
  return {
    kind: r.kind,
    path: r.path,
    name: r.name,
    sizeBytes: r.sizeBytes,
    sidecarPath: r.sidecarPath,
    meta: r.meta,
    wroteIn: r.wroteIn,
    ...(r.restoreNote ? { restoreNote: r.restoreNote } : {}),
  };
}

export function registerBackupCommands(ctx: BackupCommandContext): vscode.Disposable[] {
  const { controller, log } = ctx;

  const reg = (id: string, handler: (args: Args, node: BackupNode | undefined) => unknown): vscode.Disposable =>
    register<BackupNode>({ log }, id, handler, {
      isNode,
      showError: (e, node) => {
        if (!(e instanceof PgBackRestError)) return false;
        void showPgBackRestError(e, node?.stack);
        return true;
      },
    });

  const stackFor = (args: Args, node: BackupNode | undefined) => stackOf(ctx.registry, args, node);

  /** Runs `work` in the stack's queue under a cancellable progress notification. */
  function operation<T>(stack: StackConfig, title: string, work: (op: OperationContext) => Promise<T>): Promise<T> {
    return runStackOperation(ctx.engine.queueFor(stack), title, work, {
      output: logOutput(log),
      secrets: [stack.env.password],
    }).finally(() => controller.scheduleRefresh());
  }

  async function showPgBackRestError(e: PgBackRestError, stack: StackConfig | undefined): Promise<unknown> {
    const actions: string[] = [];
    if (e.remedy === 'stanzaCreate') actions.push('Create Stanza');
    if (e.remedy === 'stopFile') actions.push('Start Stanza');
    actions.push('Show pgBackRest Log');
    const hint =
      e.remedy === 'anotherBackupRunning'
        ? ' Another backup (or expire) is running: wait for it, see the pgBackRest channel.'
        : e.remedy === 'postgresRunning'
          ? ' PostgreSQL is still running: a restore needs it stopped.'
          : '';
    const choice = await vscode.window.showErrorMessage(`${e.message}${hint}`, ...actions);
    if (choice === 'Create Stanza')
      return vscode.commands.executeCommand(
        COMMAND.backupStanzaCreate,
        stack ? { folder: stack.workspaceFolder, interactive: true } : undefined,
      );
    if (choice === 'Start Stanza')
      return vscode.commands.executeCommand(
        COMMAND.backupStanzaStart,
        stack ? { folder: stack.workspaceFolder, interactive: true } : undefined,
      );
    if (choice === 'Show pgBackRest Log') ctx.pgbackrestChannel.channel.show(true);
    return undefined;
  }

  async function pgbackrest(args: Args, node: BackupNode | undefined, presetType?: BackupType) {
    const stack = await stackFor(args, node);
    requireTrust('A pgBackRest backup');
    let type = (str(args, 'type') as BackupType | undefined) ?? presetType;
    if (type !== undefined && !BACKUP_TYPES.includes(type))
      throw argsError(`type must be full, diff or incr, not "${type}".`);
    if (!type) {
      if (args) type = 'incr';
      else {
        const pick = await vscode.window.showQuickPick(
          KIND_PICKS.filter((k) => BACKUP_TYPES.includes(k.backupKind as BackupType)),
          { title: 'pgBackRest backup type' },
        );
        if (!pick) throw new CancelledByUser();
        type = pick.backupKind as BackupType;
      }
    }
    const targets = await controller.targets(stack);
    // The repository: args.repo, the clicked repository's, else (palette, several repositories) asked.
    const known = repositoriesInConf(targets.conf, targets.pgbackrest.stanza).map((r) => r.key);
    let repo = parseRepoArg(args?.['repo'], COMMAND.backupPgbackrest, targets.conf ? known : undefined) ?? node?.repo;
    if (repo === undefined && !args && known.length > 1)
      repo = await askRepository(controller.get(stack)?.repositories ?? [], 'pgBackRest backup: to which repository?');
    const to = repo !== undefined ? ` to repo${repo}` : '';
    const label = await operation(
      stack,
      `pgBackRest ${type} backup${to} (stanza ${targets.pgbackrest.stanza})`,
      async (op) => {
        op.step(
          `Running pgbackrest backup --type=${type}${repo !== undefined ? ` --repo=${repo}` : ''} in ${targets.pgbackrest.runtime.description}`,
        );
        return pgbackrestBackup(targets.pgbackrest, type!, { signal: op.signal, onLine: op.line, repo });
      },
    );
    log.info(`pgBackRest ${type} backup${to} ${label.label} done.`);
    if (!args) void vscode.window.showInformationMessage(`pgBackRest ${type} backup${to} ${label.label} done.`);
    return { label: label.label, type, stanza: targets.pgbackrest.stanza, ...(repo !== undefined ? { repo } : {}) };
  }

  async function manual(kind: 'dump' | 'dumpAll' | 'baseBackup', args: Args, node: BackupNode | undefined) {
    const stack = await stackFor(args, node);
    requireTrust('A manual backup');
    const targets = await controller.targets(stack);
    const t = targets.manual;
    let database = str(args, 'database');
    const format = str(args, 'format') ?? 'tar';
    if (format !== 'tar' && format !== 'custom') throw argsError(`format must be "tar" or "custom", not "${format}".`);
    if (kind === 'dump' && !database) {
      if (args) database = t.maintenanceDb;
      else {
        const dbs = await listDatabases(t);
        const pick = await vscode.window.showQuickPick(
          dbs.map((d) => ({ label: d, description: d === t.maintenanceDb ? "the stack's database" : undefined })),
          { title: 'pg_dump: which database?' },
        );
        if (!pick) throw new CancelledByUser();
        database = pick.label;
      }
    }
    const title = kind === 'dump' ? `pg_dump of ${database}` : kind === 'dumpAll' ? 'pg_dumpall' : 'pg_basebackup';
    const result = await operation(stack, title, async (op) => {
      op.step(`Running ${title} in ${t.runtime.description}`);
      const c = { signal: op.signal, onLine: op.line };
      if (kind === 'dump') return createDump(t, { database: database!, format }, c);
      if (kind === 'dumpAll') return createDumpAll(t, c);
      return createBaseBackup(t, c);
    });
    log.info(`${title}: ${result.path} (${result.sizeBytes} bytes).`);
    if (result.restoreNote) log.info(result.restoreNote);
    if (!args)
      void vscode.window.showInformationMessage(
        `${title} written to ${result.name}.${result.restoreNote ? ` ${result.restoreNote}` : ''}`,
      );
    return toResult(result);
  }

  return [
    reg(COMMAND.backupNew, async (args, node) => {
      let kind = str(args, 'kind') as Kind | undefined;
      if (kind !== undefined && !KINDS.includes(kind))
        throw argsError(`kind must be one of ${KINDS.join(', ')}, not "${kind}".`);
      if (!kind) {
        if (args) throw argsError(`Pass { kind } (one of ${KINDS.join(', ')}).`);
        const pick = await vscode.window.showQuickPick(KIND_PICKS, { title: 'New backup' });
        if (!pick) return undefined;
        kind = pick.backupKind;
      }
      if (kind === 'full' || kind === 'diff' || kind === 'incr') return pgbackrest({ ...args, type: kind }, node);
      return manual(kind, args, node);
    }),
    reg(COMMAND.backupPgbackrest, (args, node) =>
      pgbackrest(args, node, node?.set?.type === 'full' ? 'diff' : undefined),
    ),
    reg(COMMAND.backupDump, (args, node) => manual('dump', args, node)),
    reg(COMMAND.backupDumpAll, (args, node) => manual('dumpAll', args, node)),
    reg(COMMAND.backupBaseBackup, (args, node) => manual('baseBackup', args, node)),

    reg(COMMAND.backupCheck, async (args, node) => {
      const stack = await stackFor(args, node);
      requireTrust('pgBackRest check');
      const targets = await controller.targets(stack);
      await operation(stack, `pgBackRest check (stanza ${targets.pgbackrest.stanza})`, (op) =>
        pgbackrestCheck(targets.pgbackrest, { signal: op.signal, onLine: op.line }),
      );
      if (!args)
        void vscode.window.showInformationMessage(
          `pgBackRest check of stanza ${targets.pgbackrest.stanza} passed: WAL archiving works.`,
        );
      return { ok: true, stanza: targets.pgbackrest.stanza };
    }),

    reg(COMMAND.backupStanzaCreate, async (args, node) => {
      const stack = await stackFor(args, node);
      requireTrust('pgBackRest stanza-create');
      const targets = await controller.targets(stack);
      const interactive = !args || args['interactive'] === true;
      await operation(stack, `pgBackRest stanza-create (stanza ${targets.pgbackrest.stanza})`, (op) =>
        pgbackrestStanzaCreate(targets.pgbackrest, { signal: op.signal, onLine: op.line }),
      );
      if (interactive)
        void vscode.window.showInformationMessage(`pgBackRest stanza ${targets.pgbackrest.stanza} created.`);
      return { stanza: targets.pgbackrest.stanza };
    }),

    // `pgbackrest start` for a stanza a failed or killed operation left stopped (never during a restore).
    reg(COMMAND.backupStanzaStart, async (args, node) => {
      const stack = await stackFor(args, node);
      requireTrust('pgBackRest start');
      const journals = stack.dbService ? await findRestoreJournals(stack.dbService.volumes).catch(() => []) : [];
      if (journals.length)
        throw new OpsError(
          'busy',
          `A restore of ${stack.projectName} is running or was interrupted (${journals[0]!.file}): its end starts the ` +
            'stanza again; for an interrupted one run "Recover Interrupted Restore" (tsdbOps.restore.recover).',
        );
      const targets = await controller.targets(stack);
      const stopFile = await operation(stack, `pgBackRest start (stanza ${targets.pgbackrest.stanza})`, async (op) => {
        const f = await pgbackrestStopFile(targets.pgbackrest, op.signal);
        await pgbackrestStart(targets.pgbackrest, { signal: op.signal, onLine: op.line });
        return f;
      });
      if (!args || args['interactive'] === true)
        void vscode.window.showInformationMessage(
          stopFile
            ? `pgBackRest stanza ${targets.pgbackrest.stanza} started: backups run again.`
            : `pgBackRest stanza ${targets.pgbackrest.stanza} was not stopped.`,
        );
      return { stanza: targets.pgbackrest.stanza, wasStopped: !!stopFile, stopFile };
    }),

    reg(COMMAND.backupRefresh, async () => {
      await controller.refresh();
      return { stacks: controller.all().map((o) => overviewResult(o, controller.status(o))) };
    }),

    reg(COMMAND.backupInfo, async (args, node) => {
      const stack = await stackFor(args, node);
      if (args?.['refresh'] !== false) await controller.refresh();
      const loaded = await controller.load(stack);
      const result = overviewResult(loaded, controller.status(loaded));
      if (!args) {
        const doc = await vscode.workspace.openTextDocument({
          language: 'json',
          content: JSON.stringify(result, null, 2),
        });
        await vscode.window.showTextDocument(doc, { preview: true });
      }
      return result;
    }),

    reg(COMMAND.backupOpenLog, async (args, node) => {
      const stack = await stackFor(args, node);
      const dir = stack.pgbackrestLogDir;
      let file = str(args, 'file');
      if (!file) {
        const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.log')).sort();
        if (!names.length)
          throw new OpsError(
            'config',
            `No pgBackRest log files in ${dir} yet (they appear after the first pgBackRest command).`,
          );
        if (args) throw argsError(`Pass { file } (one of ${names.join(', ')}).`);
        const pick = await vscode.window.showQuickPick(names, { title: `pgBackRest logs in ${dir}` });
        if (!pick) return undefined;
        file = pick;
      }
      const path = file.startsWith('/') ? file : join(dir, file);
      await vscode.window.showTextDocument(vscode.Uri.file(path), { preview: true });
      return { file: path };
    }),

    reg(COMMAND.backupFixOfeliaUser, async (args, node) => {
      const stack = await stackFor(args, node);
      requireTrust('Changing the compose file');
      const candidates = jobsRunningPgbackrestAsRoot(stack.compose);
      let name = str(args, 'job') ?? node?.envWarning?.job?.name;
      if (!name) {
        if (candidates.length === 1) name = candidates[0]!.name;
        else if (!candidates.length)
          throw new OpsError(
            'config',
            `No Ofelia job in ${stack.composeFile} runs pgBackRest as root: nothing to fix.`,
          );
        else if (args) throw argsError(`Pass { job } (one of ${candidates.map((j) => j.name).join(', ')}).`);
        else {
          const pick = await vscode.window.showQuickPick(
            candidates.map((j) => ({ label: j.name, description: j.command })),
            { title: 'Run which Ofelia job as postgres?' },
          );
          if (!pick) throw new CancelledByUser();
          name = pick.label;
        }
      }
      const job = candidates.find((j) => j.name === name);
      if (!job)
        throw argsError(
          `job "${name}" is not an Ofelia job-exec running pgBackRest as root in ${stack.composeFile}` +
            (candidates.length ? ` (those are: ${candidates.map((j) => j.name).join(', ')}).` : ' (there is none).'),
        );
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(stack.composeFile));
      const text = addOfeliaUserLabel(doc.getText(), job.name, job.service);
      // Live (./table/backups.ts): it edits the stack's compose file; the typed name on a production stack.
      await confirmLive(COMMAND.backupFixOfeliaUser, args, stack, async () => {
        const ok = await vscode.window.showWarningMessage(
          `Add ofelia.job-exec.${job.name}.user: "postgres" to service ${job.service} in ${stack.composeFile}?`,
          { modal: true, detail: 'Ofelia reads labels from the container: recreate it (docker compose up -d).' },
          'Add user label',
        );
        if (ok !== 'Add user label') throw new CancelledByUser();
      });
      const edit = new vscode.WorkspaceEdit();
      edit.replace(doc.uri, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), text);
      if (!(await vscode.workspace.applyEdit(edit)) || !(await doc.save()))
        throw new OpsError('tool-failed', `Could not write ${stack.composeFile}.`);
      // Re-read the compose file now (an infra folder outside the workspace has no file watcher).
      await ctx.registry.refresh();
      controller.scheduleRefresh();
      const note = `Ofelia job ${job.name} now runs as postgres. Recreate the ${job.service} container (docker compose up -d) so Ofelia sees the label.`;
      log.info(note);
      if (!args) void vscode.window.showInformationMessage(note);
      return { file: stack.composeFile, job: job.name, service: job.service, note };
    }),

    reg(COMMAND.backupShowLog, async (args, node) => {
      const which = str(args, 'channel') ?? 'pgBackRest';
      if (which !== 'pgBackRest' && which !== 'Ofelia')
        throw argsError(`channel must be "pgBackRest" or "Ofelia", not "${which}".`);
      if (which === 'pgBackRest') {
        ctx.pgbackrestChannel.channel.show(true);
        return { channel: which, lines: ctx.pgbackrestChannel.printed.slice(-1000) };
      }
      const stack = node?.stack ?? (ctx.registry.stacks.length ? await stackFor(args, node) : undefined);
      const r = await ctx.ofeliaChannel.show(stack);
      return { channel: which, ...r, lines: ctx.ofeliaChannel.printed.slice(-1000) };
    }),
  ];
}
