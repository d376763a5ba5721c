/** The Backups view's pgBackRest part: the stanza, its environment, repositories, sets and point-in-time window. */
import * as vscode from 'vscode';
import { ITEM } from '../ids';
import { groupBackupSets, PgBackRestError, type BackupSet, type StanzaInfo } from '../../core/backups/pgbackrest';
import type { BackupsOverview } from '../../core/backups/overview';
import { describeArchiver } from '../../core/backups/archiver';
import { leaf } from './node';
import { repositorySummary, type Repository } from '../../core/backups/repositories';
import { md, when, type BackupNode } from './backup-node';
import { formatBytes, formatDuration } from '../../core/format';

export function stanzaNode(o: BackupsOverview): BackupNode {
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
  return { item, stack: o.stack, stanza: s, children: () => stanzaChildren(o) };
}

/** What disagrees in the pgBackRest environment (warnings), then the environment itself (collapsed). */
function environmentNodes(o: BackupsOverview): BackupNode[] {
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

function stanzaChildren(o: BackupsOverview): BackupNode[] {
  const out: BackupNode[] = environmentNodes(o);
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
    item.contextValue = ITEM.stanzaError(e instanceof PgBackRestError ? e.remedy : undefined);
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
    for (const r of o.repositories) out.push(repositoryNode(o, s, r));
  } else {
    out.push(...setNodes(o, s, s.backups, s.status.code !== 1));
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
  if (!several && s.pitr) out.push(pitrNode(o, s, s.pitr));
  return out;
}

/** Full sets with their diff/incr children, newest first (or "No backups yet"). */
function setNodes(
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
    const node = setNode(o, s, g.full, g.children.length > 0, repo);
    out.push({ ...node, children: () => [...g.children].reverse().map((c) => setNode(o, s, c, false, repo)) });
  }
  return out;
}

/** One repository (several only): its sets, WAL and window; a problem node when pgBackRest cannot read it. */
function repositoryNode(o: BackupsOverview, s: StanzaInfo, r: Repository): BackupNode {
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
    const nodes = setNodes(o, s, r.backups, true, r.key);
    if (r.walMin || r.walMax) {
      const wal = new vscode.TreeItem('Archived WAL');
      wal.description = `${r.walMin ?? '?'} … ${r.walMax ?? '?'}`;
      wal.iconPath = new vscode.ThemeIcon('list-ordered');
      wal.tooltip = `The oldest and newest WAL segments in ${r.name} (there may be gaps between them).`;
      wal.contextValue = ITEM.walRange;
      nodes.push({ ...leaf(wal), stack: o.stack, stanza: s, repo: r.key });
    }
    if (r.pitr) nodes.push(pitrNode(o, s, r.pitr, r.key));
    return nodes;
  };
  return { item, stack: o.stack, stanza: s, repo: r.key, children };
}

function pitrNode(o: BackupsOverview, s: StanzaInfo, pitr: { from: Date; to: Date }, repo?: number): BackupNode {
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

function setNode(o: BackupsOverview, s: StanzaInfo, b: BackupSet, hasChildren: boolean, repo?: number): BackupNode {
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
