/**
 * Backups view: the pgBackRest stanza (status, full backups with their diff/incr children, archived
 * WAL and the point-in-time window), manual backups (pg_dump, pg_dumpall, pg_basebackup with their
 * sidecars), the pre-restore copies a physical restore left, and the Ofelia schedules (backups-schedules.ts:
 * whether the scheduler runs, each job's last real run). The model comes from core (BackupsController → loadBackupsOverview).
 *
 * Context values (stable, for menus and the restore commands): `stanza`, `stanzaError.<action>`,
 * `backupSet.full|diff|incr`, `pitrWindow`, `manualBackup.dump|dumpAll|baseBackup|other`,
 * `preRestoreCopy`, `schedule.ok|stale|unknown`, `repository` / `repository.error`. Each node keeps its model
 * object (`stack`, and `stanza`, `set`, `backup`, `copy`, `pitr` or `job`; `repo` under a repository).
 *
 * Repositories (core/backups/repositories): with one, the stanza lists its sets as it always did (the
 * repository's type, path, encryption and retention are in the stanza's tooltip); with several, the stanza
 * has one node per repository (`repo1`, `repo2` …) holding that repository's sets, WAL and window, and an
 * unreachable one is a problem node with pgBackRest's message while the others list as usual.
 */
import * as vscode from 'vscode';
import { ITEM } from '../ids';
import type { StackConfig } from '../../core/infra';
import { formatBytes } from '../../core/format';
import { groupBackupSets, PgBackRestError, type BackupSet, type StanzaInfo } from '../../core/backups/pgbackrest';
import type { BackupsOverview, ManualBackupEntry } from '../../core/backups/overview';
import type { PreRestoreCopy } from '../../core/backups/restore/pre-restore';
import type { JobFreshness } from '../../core/schedule/freshness';
import type { PgbackrestEnvironmentWarning } from '../../core/backups/pgbackrest-env';
import type { BackupsController } from '../backups/controller';
import { describeArchiver } from '../../core/backups/archiver';
import { drillFreshness, latestPerSource } from '../../core/backups/drill';
import type { StackRegistry } from '../stacks';
import { leaf, StackTreeProvider, type Node } from './node';
import { formatDuration } from '../../core/format';
import { repositorySummary, type Repository } from '../../core/backups/repositories';
import { schedulesNode } from './backups-schedules';

export interface BackupRow {
  depth: number;
  label: string;
  description?: string;
  contextValue?: string;
  tooltip?: string;
}

export interface BackupNode extends Node {
  readonly stack?: StackConfig;
  readonly stanza?: StanzaInfo;
  readonly set?: BackupSet;
  readonly backup?: ManualBackupEntry;
  readonly copy?: PreRestoreCopy;
  readonly pitr?: { from: Date; to: Date; stanza: string };
  readonly job?: JobFreshness;
  /** A disagreement in the pgBackRest environment (the fix command reads its job). */
  readonly envWarning?: PgbackrestEnvironmentWarning;
  /** The pgBackRest repository of a repository node and of what is under it (several repositories only). */
  readonly repo?: number;
}

const MANUAL_LABEL = {
  pg_dump: 'pg_dump',
  pg_dumpall: 'pg_dumpall',
  pg_basebackup: 'pg_basebackup',
  other: 'file',
} as const;

function when(d: Date): string {
  return d.toLocaleString();
}

function md(lines: string[]): vscode.MarkdownString {
  const m = new vscode.MarkdownString(lines.join('\n\n'));
  m.supportThemeIcons = true;
  return m;
}

export class BackupsProvider extends StackTreeProvider {
  private readonly modelSub: vscode.Disposable;

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

  /** Also reloads the model (the refresh command calls this). */
  override refresh(): void {
    this.controller.scheduleRefresh();
  }

  protected async stackChildren(stack: StackConfig): Promise<Node[]> {
    const o = await this.controller.load(stack);
    const nodes: BackupNode[] = [this.stanzaNode(o), this.manualNode(o)];
    if (o.preRestore.length) nodes.push(this.preRestoreNode(o));
    nodes.push(this.drillsNode(o));
    nodes.push(schedulesNode(o));
    return nodes;
  }

  private stanzaNode(o: BackupsOverview): BackupNode {
    const s = o.stanza;
    const item = new vscode.TreeItem(`pgBackRest (stanza ${o.stanzaName})`, vscode.TreeItemCollapsibleState.Expanded);
    item.id = `${o.stack.infraDir}#stanza`;
    item.contextValue = ITEM.stanza;
    if (s) {
      const ok = s.status.code === 0;
      const stopped = o.stanzaStopFile ? 'stopped — backups refused · ' : '';
      const count = `${s.backups.length} backup${s.backups.length === 1 ? '' : 's'}`;
      item.description = `${stopped}${s.status.message}${s.lockHeld ? ' · backup running' : ''} · ${count}`;
      item.iconPath = new vscode.ThemeIcon(
        s.lockHeld ? 'sync~spin' : ok ? 'archive' : 'warning',
        ok ? undefined : new vscode.ThemeColor('problemsWarningIcon.foreground'),
      );
      item.tooltip = md(
        [
          `**Stanza ${s.name}**: ${s.status.message} (code ${s.status.code})`,
          s.pgVersion ? `PostgreSQL ${s.pgVersion}, system-id ${s.systemId?.toString() ?? '?'}` : '',
          ...s.repos.filter((r) => r.code !== 0).map((r) => `repo${r.key}: ${r.message}`),
          ...o.repositories.map((r) => `${r.name}: ${repositorySummary(r)}`),
          `Tools run in ${o.targets?.pgbackrest.runtime.description ?? '?'}`,
        ].filter(Boolean),
      );
    } else {
      item.description = o.stanzaError ? 'unavailable' : 'loading';
      item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
      item.tooltip = o.stanzaError?.message;
    }
    return { item, stack: o.stack, stanza: s, children: () => this.stanzaChildren(o) };
  }

  /** What disagrees in the pgBackRest environment (warnings), then the environment itself (collapsed). */
  private environmentNodes(o: BackupsOverview): BackupNode[] {
    const out: BackupNode[] = o.pgbackrestEnvWarnings.map((w) => {
      const item = new vscode.TreeItem(w.title);
      item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
      item.tooltip = md([w.message]);
      item.contextValue = ITEM.pgbackrestEnvWarning(w.code);
      return { ...leaf(item), stack: o.stack, envWarning: w };
    });
    if (!o.pgbackrestEnvRows.length && !o.pgbackrestEnvError) return out;
    const env = new vscode.TreeItem('Environment', vscode.TreeItemCollapsibleState.Collapsed);
    env.id = `${o.stack.infraDir}#pgbackrestEnv`;
    env.iconPath = new vscode.ThemeIcon('symbol-variable');
    env.contextValue = ITEM.pgbackrestEnv;
    env.description =
      o.pgbackrestEnvError ??
      o.pgbackrestEnvRows
        .filter((r) => r.label === 'PGBACKREST_STANZA' || r.label === 'pgbackrest version')
        .map((r) => (r.label === 'pgbackrest version' ? `pgBackRest ${r.value}` : `${r.label}=${r.value}`))
        .join(' · ');
    env.tooltip = `The pgBackRest environment of ${o.targets?.pgbackrest.runtime.description ?? 'the database container'}.`;
    out.push({
      item: env,
      stack: o.stack,
      children: () =>
        o.pgbackrestEnvRows.map((r) => {
          const i = new vscode.TreeItem(r.label);
          i.description = r.value;
          i.tooltip = md([r.tooltip]);
          return { ...leaf(i), stack: o.stack };
        }),
    });
    return out;
  }

  private stanzaChildren(o: BackupsOverview): BackupNode[] {
    const out: BackupNode[] = this.environmentNodes(o);
    if (o.stanzaStopFile) {
      const item = new vscode.TreeItem('Stanza stopped — backups refused');
      item.description = 'pgbackrest stop is in effect';
      item.iconPath = new vscode.ThemeIcon('debug-pause', new vscode.ThemeColor('problemsWarningIcon.foreground'));
      item.tooltip = md([
        `**${o.stanzaStopFile}** exists: every backup, expire and WAL archive command of the stanza fails with [062].`,
        'A restore stops the stanza until `pgbackrest restore` has returned. If no restore is running (one failed ' +
          'or was killed), **Start pgBackRest Stanza** (`pgbackrest start`) allows backups again.',
      ]);
      item.contextValue = ITEM.stanzaStopped;
      out.push({ ...leaf(item), stack: o.stack, stanza: o.stanza });
    }
    const e = o.stanzaError;
    if (e) {
      const item = new vscode.TreeItem(
        e instanceof PgBackRestError
          ? `[${String(e.code).padStart(3, '0')}] ${e.pgbMessage.split('\n')[0]}`
          : e.message.split('\n')[0]!,
      );
      item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('problemsErrorIcon.foreground'));
      item.tooltip = md([e.message.replace(/\n/g, '\n\n')]);
      item.contextValue = ITEM.stanzaError(e instanceof PgBackRestError ? e.action : undefined);
      out.push({ ...leaf(item), stack: o.stack });
      return out;
    }
    const s = o.stanza;
    if (!s) return out;
    const several = o.repositories.length > 1;
    const perRepoProblem = several && o.repositories.some((r) => r.problem);
    if (s.status.code !== 0 && s.status.code !== 2 && !perRepoProblem) {
      const item = new vscode.TreeItem(`Stanza status: ${s.status.message}`);
      item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
      item.contextValue = ITEM.stanzaError(s.status.code === 1 ? 'stanzaCreate' : undefined);
      item.tooltip = md([
        ...s.repos.map((r) => `repo${r.key}: ${r.message}`),
        s.status.code === 1 ? 'Run **Create Stanza** (pgbackrest stanza-create) before the first backup.' : '',
      ]);
      out.push({ ...leaf(item), stack: o.stack, stanza: s });
    }
    if (several) {
      for (const r of o.repositories) out.push(this.repositoryNode(o, s, r));
    } else {
      out.push(...this.setNodes(o, s, s.backups, s.status.code !== 1));
    }
    if (!several && (s.walMin || s.walMax)) {
      const wal = new vscode.TreeItem('Archived WAL');
      wal.description = `${s.walMin ?? '?'} … ${s.walMax ?? '?'}`;
      wal.iconPath = new vscode.ThemeIcon('list-ordered');
      wal.tooltip = 'The oldest and newest WAL segments in the repository (there may be gaps between them).';
      wal.contextValue = ITEM.walRange;
      out.push({ ...leaf(wal), stack: o.stack, stanza: s });
    }
    const a = o.archiver;
    if (a && (a.failing || a.archiveMode === 'off')) {
      const w = new vscode.TreeItem(a.failing ? 'WAL archiving is failing' : 'WAL archiving is off');
      w.description = a.failing
        ? `${a.failedCount} failures · last ${a.lastFailedWal ?? '?'} at ${a.lastFailedTime ? when(a.lastFailedTime) : '?'}`
        : 'archive_mode=off';
      w.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('problemsErrorIcon.foreground'));
      w.tooltip = md([
        describeArchiver(a),
        'Point-in-time recovery ends at the newest archived WAL until archiving works again.',
      ]);
      w.contextValue = 'archivingFailing';
      out.push({ ...leaf(w), stack: o.stack, stanza: s });
    }
    if (!several && s.pitr) out.push(this.pitrNode(o, s, s.pitr));
    return out;
  }

  /** Full sets with their diff/incr children, newest first (or "No backups yet"). */
  private setNodes(
    o: BackupsOverview,
    s: StanzaInfo,
    backups: BackupSet[],
    sayNone: boolean,
    repo?: number,
  ): BackupNode[] {
    const out: BackupNode[] = [];
    const groups = groupBackupSets(backups).reverse();
    if (!groups.length && sayNone) {
      const none = new vscode.TreeItem('No backups yet');
      none.description = 'New Backup… takes one';
      out.push({ ...leaf(none), stack: o.stack, repo });
    }
    for (const g of groups) {
      const node = this.setNode(o, s, g.full, g.children.length > 0, repo);
      out.push({ ...node, children: () => [...g.children].reverse().map((c) => this.setNode(o, s, c, false, repo)) });
    }
    return out;
  }

  /** One repository (several only): its sets, WAL and window; a problem node when pgBackRest cannot read it. */
  private repositoryNode(o: BackupsOverview, s: StanzaInfo, r: Repository): BackupNode {
    const item = new vscode.TreeItem(
      r.name,
      r.problem ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.Expanded,
    );
    item.id = `${o.stack.infraDir}#repo#${r.key}`;
    item.contextValue = ITEM.repository(Boolean(r.problem));
    item.description = r.problem
      ? `${r.location} · ${r.problem.split('\n')[0]}`
      : `${r.location} · ${r.backups.length} backup${r.backups.length === 1 ? '' : 's'}`;
    item.iconPath = r.problem
      ? new vscode.ThemeIcon('error', new vscode.ThemeColor('problemsErrorIcon.foreground'))
      : new vscode.ThemeIcon(r.config?.type === 'posix' || r.config?.type === 'cifs' ? 'database' : 'cloud');
    item.tooltip = md(
      [
        `**${r.name}**: ${repositorySummary(r)}`,
        r.status ? `pgBackRest: ${r.status.message} (code ${r.status.code})` : '',
        r.config?.secretOptions.length ? `Set, never shown: ${r.config.secretOptions.join(', ')}` : '',
      ].filter(Boolean),
    );
    const children = (): BackupNode[] => {
      if (r.problem) {
        const e = new vscode.TreeItem(r.problem.split('\n')[0]!);
        e.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('problemsErrorIcon.foreground'));
        e.tooltip = md([r.problem.replace(/\n/g, '\n\n')]);
        e.contextValue = ITEM.repository(true);
        return [{ ...leaf(e), stack: o.stack, stanza: s, repo: r.key }];
      }
      const nodes = this.setNodes(o, s, r.backups, true, r.key);
      if (r.walMin || r.walMax) {
        const wal = new vscode.TreeItem('Archived WAL');
        wal.description = `${r.walMin ?? '?'} … ${r.walMax ?? '?'}`;
        wal.iconPath = new vscode.ThemeIcon('list-ordered');
        wal.tooltip = `The oldest and newest WAL segments in ${r.name} (there may be gaps between them).`;
        wal.contextValue = ITEM.walRange;
        nodes.push({ ...leaf(wal), stack: o.stack, stanza: s, repo: r.key });
      }
      if (r.pitr) nodes.push(this.pitrNode(o, s, r.pitr, r.key));
      return nodes;
    };
    return { item, stack: o.stack, stanza: s, repo: r.key, children };
  }

  private pitrNode(o: BackupsOverview, s: StanzaInfo, pitr: { from: Date; to: Date }, repo?: number): BackupNode {
    {
      const p = new vscode.TreeItem('Point-in-time window');
      if (repo !== undefined) p.id = `${o.stack.infraDir}#repo#${repo}#pitr`;
      p.description = `${when(pitr.from)} → ${when(pitr.to)}`;
      p.iconPath = new vscode.ThemeIcon('history');
      p.contextValue = ITEM.pitrWindow;
      p.tooltip = md([
        `A restore${repo !== undefined ? ` from repo${repo}` : ''} can target any time from **${pitr.from.toISOString()}** ` +
          `(the oldest backup's end) to **${pitr.to.toISOString()}**.`,
        o.archiver?.lastArchivedTime
          ? `The end is the newest archived WAL (${o.archiver.lastArchivedWal}, pg_stat_archiver): later writes are not in the repository yet.`
          : 'pgBackRest does not report the time of the newest archived WAL: ' +
            "the end is when this view was loaded if WAL was archived after the newest backup, else the newest backup's end.",
      ]);
      return { ...leaf(p), stack: o.stack, stanza: s, pitr: { ...pitr, stanza: s.name }, repo };
    }
  }

  private setNode(o: BackupsOverview, s: StanzaInfo, b: BackupSet, hasChildren: boolean, repo?: number): BackupNode {
    const item = new vscode.TreeItem(
      b.label,
      hasChildren ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None,
    );
    item.id = `${o.stack.infraDir}#set#${b.label}`;
    item.description = `${b.type} · ${when(b.stop)} · ${formatBytes(b.sizeBytes)} · repo ${formatBytes(b.repoSizeBytes)}${b.error ? ' · checksum errors' : ''}`;
    item.iconPath = new vscode.ThemeIcon(
      b.error ? 'warning' : b.type === 'full' ? 'package' : 'diff',
      b.error ? new vscode.ThemeColor('problemsWarningIcon.foreground') : undefined,
    );
    item.contextValue = ITEM.backupSet(b.type);
    const ann = Object.entries(b.annotations);
    item.tooltip = md(
      [
        `**${b.label}** (${b.type})`,
        `Started ${b.start.toISOString()}, finished ${b.stop.toISOString()} (${formatDuration(b.stop.getTime() - b.start.getTime())})`,
        `Size ${formatBytes(b.sizeBytes)} (backed up ${formatBytes(b.deltaBytes)}); ` +
          `in the repository ${formatBytes(b.repoSizeBytes)} (this backup ${formatBytes(b.repoDeltaBytes)})`,
        `WAL ${b.walStart ?? '?'} … ${b.walStop ?? '?'}${b.lsnStart ? `, LSN ${b.lsnStart} … ${b.lsnStop ?? '?'}` : ''}`,
        b.prior ? `Prior: ${b.prior}` : '',
        b.error ? '$(warning) pgBackRest found page checksum errors in this backup.' : '',
        ann.length ? `Annotations: ${ann.map(([k, v]) => `${k}=${v}`).join(', ')}` : '',
      ].filter(Boolean),
    );
    return { item, stack: o.stack, stanza: s, set: b, repo };
  }

  private manualNode(o: BackupsOverview): BackupNode {
    const dir = o.site.manualHostDir;
    const item = new vscode.TreeItem('Manual backups', vscode.TreeItemCollapsibleState.Expanded);
    item.id = `${o.stack.infraDir}#manual`;
    item.iconPath = new vscode.ThemeIcon('folder');
    item.tooltip = dir;
    item.description = o.manual.length ? `${o.manual.length}` : undefined;
    item.contextValue = ITEM.manualBackups;
    return {
      item,
      stack: o.stack,
      children: () => {
        if (!o.manual.length) {
          const none = new vscode.TreeItem('No manual backups yet');
          none.description = dir;
          return [leaf(none)];
        }
        return o.manual.map((b): BackupNode => {
          const i = new vscode.TreeItem(b.name);
          i.id = `${o.stack.infraDir}#manual#${b.name}`;
          i.description = `${MANUAL_LABEL[b.kind]} · ${formatBytes(b.size)} · ${when(b.sidecar ? new Date(b.sidecar.created) : b.modified)}`;
          i.iconPath = new vscode.ThemeIcon(b.isDirectory ? 'file-directory' : 'file-binary');
          i.contextValue = ITEM.manualBackup(b.kind);
          i.resourceUri = vscode.Uri.file(b.path);
          const m = b.sidecar;
          i.tooltip = md(
            [
              `**${b.name}**`,
              b.path,
              m
                ? `PostgreSQL ${m.pgVersion}${m.timescaledbVersion ? `, TimescaleDB ${m.timescaledbVersion}` : ', no TimescaleDB'}` +
                  `${m.database ? `, database ${m.database}` : ''}`
                : 'No metadata sidecar (made outside the extension).',
              m ? `Made with \`${m.command.join(' ')}\` in ${m.ranIn ?? '?'}` : '',
              b.sidecarError ?? '',
            ].filter(Boolean),
          );
          return { ...leaf(i), stack: o.stack, backup: b };
        });
      },
    };
  }

  private preRestoreNode(o: BackupsOverview): BackupNode {
    const item = new vscode.TreeItem('Pre-restore copies', vscode.TreeItemCollapsibleState.Expanded);
    item.id = `${o.stack.infraDir}#prerestore`;
    item.iconPath = new vscode.ThemeIcon('history');
    item.tooltip =
      'Data folders a physical restore moved aside: the way back. Delete them when the restore is confirmed good.';
    item.contextValue = ITEM.preRestoreCopies;
    return {
      item,
      stack: o.stack,
      children: () =>
        o.preRestore.map((c): BackupNode => {
          const i = new vscode.TreeItem(c.name);
          i.id = `${o.stack.infraDir}#prerestore#${c.name}`;
          i.description = [c.sizeBytes !== undefined ? formatBytes(c.sizeBytes) : '', c.created ? when(c.created) : '']
            .filter(Boolean)
            .join(' · ');
          i.iconPath = new vscode.ThemeIcon('file-directory');
          i.contextValue = ITEM.preRestoreCopy;
          i.tooltip = `${c.path} (in ${o.targets?.manual.runtime.description ?? 'the database container'})`;
          return { ...leaf(i), stack: o.stack, copy: c };
        }),
    };
  }

  /** Restore drills: the last result per source, when, RTO, recovery point, failed checks with their message. */
  private drillsNode(o: BackupsOverview): BackupNode {
    const latest = latestPerSource(o.drills);
    const maxAgeDays = vscode.workspace
      .getConfiguration('tsdbOps', vscode.Uri.file(o.stack.workspaceFolder))
      .get<number>('drill.maxAgeDays', 7);
    const f = drillFreshness(o.drills, maxAgeDays);
    const item = new vscode.TreeItem('Drills', vscode.TreeItemCollapsibleState.Expanded);
    item.id = `${o.stack.infraDir}#drills`;
    item.contextValue = 'drills';
    item.description = latest.length ? f.text : 'no restore drill yet';
    item.iconPath = new vscode.ThemeIcon(
      f.stale ? 'warning' : 'beaker',
      f.stale ? new vscode.ThemeColor('problemsWarningIcon.foreground') : undefined,
    );
    item.tooltip = f.stale
      ? `No restore drill passed within ${maxAgeDays} days: run "Verify Backup by Restoring…".`
      : 'Restore drills restore a backup into a scratch container and check it (reports in backups/drills).';
    const secs = (ms: number) => `${Math.round(ms / 1000)} s`;
    return {
      item,
      stack: o.stack,
      children: () =>
        latest.map((r): BackupNode => {
          const failed = r.checks.filter((c) => c.status === 'failed');
          const i = new vscode.TreeItem(
            r.source,
            failed.length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None,
          );
          i.id = `${o.stack.infraDir}#drill#${r.sourceKey}`;
          i.description = [
            r.passed ? 'passed' : 'FAILED',
            when(new Date(r.finished)),
            `RTO ${secs(r.rtoMs)}`,
            r.recoveryPoint ? `recovery point ${when(new Date(r.recoveryPoint))}` : '',
          ]
            .filter(Boolean)
            .join(' · ');
          i.iconPath = new vscode.ThemeIcon(
            r.passed ? 'pass' : 'error',
            new vscode.ThemeColor(r.passed ? 'testing.iconPassed' : 'problemsErrorIcon.foreground'),
          );
          i.contextValue = r.passed ? 'drill.passed' : 'drill.failed';
          i.tooltip = md(
            [
              `**${r.source}**: ${r.passed ? 'passed' : 'FAILED'} (${r.finished})`,
              `RTO ${secs(r.rtoMs)}: ${r.phases.map((p) => `${p.name} ${secs(p.ms)}`).join(', ')}`,
              r.recoveryPoint ? `Recovery point ${r.recoveryPoint} (${r.recoveryPointFrom})` : '',
              ...r.checks.map(
                (c) =>
                  `${c.status === 'passed' ? '$(pass)' : c.status === 'failed' ? '$(error)' : '$(circle-slash)'} ${c.name}: ${c.message}`,
              ),
            ].filter(Boolean),
          );
          return {
            item: i,
            stack: o.stack,
            children: failed.length
              ? () =>
                  failed.map((c) => {
                    const ci = new vscode.TreeItem(c.name);
                    ci.description = c.message;
                    ci.tooltip = c.message;
                    ci.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('problemsErrorIcon.foreground'));
                    ci.contextValue = 'drillCheck.failed';
                    return { ...leaf(ci), stack: o.stack };
                  })
              : undefined,
          };
        }),
    };
  }

  /** Every row of the tree, depth first, as a person sees it (automation and the in-host tests). */
  async rows(): Promise<BackupRow[]> {
    const out: BackupRow[] = [];
    const walk = async (nodes: Node[], depth: number): Promise<void> => {
      for (const n of nodes) {
        const i = n.item;
        out.push({
          depth,
          label: typeof i.label === 'string' ? i.label : (i.label?.label ?? ''),
          description: typeof i.description === 'string' ? i.description : undefined,
          contextValue: i.contextValue,
          tooltip: typeof i.tooltip === 'string' ? i.tooltip : i.tooltip?.value,
        });
        if (n.children) await walk(await n.children(), depth + 1);
      }
    };
    await walk(await this.getChildren(), 0);
    return out;
  }

  override dispose(): void {
    this.modelSub.dispose();
    super.dispose();
  }
}
