/** The Backups view's other parts: manual backups, pre-restore copies, restore drills, interrupted restores. */
import * as vscode from 'vscode';
import { COMMAND, ITEM } from '../ids';
import type { StackConfig } from '../../core/infra';
import { previousDataWhere, type RestoreJournal } from '../../core/backups/restore/physical';
import { describeLogical, type InterruptedLogicalRestore } from '../../core/backups/restore/logical';
import type { BackupsOverview } from '../../core/backups/overview';
import { drillFreshness, drillReportBase, latestPerSource, type DrillReport } from '../../core/backups/drill';
import { drillsHostDir } from '../../core/stack/site';
import { leaf } from './node';
import { md, when, MANUAL_LABEL, type BackupNode } from './backup-node';
import { formatBytes } from '../../core/format';

export function manualNode(o: BackupsOverview): BackupNode {
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

export function preRestoreNode(o: BackupsOverview): BackupNode {
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
export function drillsNode(o: BackupsOverview): BackupNode {
  const latest = latestPerSource(o.drills);
  const maxAgeDays = vscode.workspace
    .getConfiguration('tsdbOps', vscode.Uri.file(o.stack.workspaceFolder))
    .get<number>('drill.maxAgeDays', 7);
  const f = drillFreshness(o.drills, maxAgeDays);
  // The newest drill failed (a nightly `tsdb-ops drill`, a cron job, this window): a problem, as in the stack status.
  const failed = o.drills[0] && !o.drills[0].passed ? o.drills[0] : undefined;
  const item = new vscode.TreeItem('Drills', vscode.TreeItemCollapsibleState.Expanded);
  item.id = `${o.stack.infraDir}#drills`;
  item.contextValue = ITEM.drills;
  item.description = latest.length
    ? failed
      ? `newest drill FAILED · ${f.lastPassed ? f.text : 'never passed'}`
      : f.text
    : 'no restore drill yet';
  item.iconPath = failed
    ? new vscode.ThemeIcon('error', new vscode.ThemeColor('problemsErrorIcon.foreground'))
    : new vscode.ThemeIcon(
        f.stale ? 'warning' : 'beaker',
        f.stale ? new vscode.ThemeColor('problemsWarningIcon.foreground') : undefined,
      );
  item.tooltip = failed
    ? `The newest restore drill failed (${failed.source}, ${failed.finished}): see its report.`
    : f.stale
      ? `No restore drill passed within ${maxAgeDays} days: run "Verify Backup by Restoring…".`
      : 'Restore drills restore a backup into a scratch container and check it (reports in backups/drills).';
  const secs = (ms: number) => `${Math.round(ms / 1000)} s`;
  return {
    item,
    stack: o.stack,
    children: () => [
      ...(failed ? [drillFailedNode(o, failed)] : []),
      ...latest.map((r): BackupNode => {
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
    ],
  };
}

/** The problem row: the newest drill failed; its error and failed checks, and a click opens its Markdown report. */
function drillFailedNode(o: BackupsOverview, r: DrillReport): BackupNode {
  const i = new vscode.TreeItem('The newest restore drill failed');
  i.id = `${o.stack.infraDir}#drillFailed`;
  i.description = `${r.source} · ${when(new Date(r.finished))}`;
  i.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('problemsErrorIcon.foreground'));
  i.contextValue = ITEM.drillFailed;
  const report = vscode.Uri.file(`${drillsHostDir(o.stack)}/${drillReportBase(r)}.md`);
  const host = (r.owner as DrillReport['owner'] | undefined)?.host; // who ran it: this window, a timer on the host …
  i.tooltip = md([
    `**${r.source}** failed (${r.finished}${host ? `, on ${host}` : ''})`,
    ...(r.error ? [r.error] : []),
    ...r.checks.filter((c) => c.status === 'failed').map((c) => `$(error) ${c.name}: ${c.message}`),
    `Report: ${report.fsPath}`,
  ]);
  i.command = { command: 'vscode.open', title: 'Open the Drill Report', arguments: [report] };
  return { ...leaf(i), stack: o.stack };
}

/**
 * The problem row of a physical restore that never finished (its journal beside PGDATA; another window's restore in
 * progress is not one): a click or its menu runs Recover Interrupted Restore (Finish, Roll back, Show what happened).
 */
export function interruptedRestoreNode(stack: StackConfig, file: string, j: RestoreJournal): BackupNode {
  const i = new vscode.TreeItem('Interrupted restore: finish or roll back');
  i.id = `${stack.infraDir}#interrupted#${file}`;
  i.description = `${j.source} · started ${when(new Date(j.started))}`;
  i.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('problemsErrorIcon.foreground'));
  i.contextValue = ITEM.interruptedRestore;
  i.tooltip = md([
    `A restore started ${j.started} (${j.source}) did not finish: its window or machine went away.`,
    j.restored
      ? `Its restore tool completed (${j.restored}): **Finish** starts and checks the restored data.`
      : 'Its restore tool did not complete: only **Roll back** applies.',
    `**Roll back** removes what the restore wrote and keeps the previous data, now in ${previousDataWhere(j)}. Journal: ${file}`,
  ]);
  const node: BackupNode = { ...leaf(i), stack };
  i.command = { command: COMMAND.restoreRecover, title: 'Recover Interrupted Restore', arguments: [node] };
  return node;
}

/**
 * The problem row of a logical restore whose window died (its mark in the server: a half-restored new database, or a
 * database a pg_dumpall restore kept aside): a click or its menu runs Recover Interrupted Restore (Roll back, Show what
 * happened).
 */
export function interruptedLogicalNode(stack: StackConfig, r: InterruptedLogicalRestore): BackupNode {
  const i = new vscode.TreeItem('Interrupted restore: roll back');
  i.id = `${stack.infraDir}#interrupted-logical#${r.database}#${r.mark.started}`;
  const what = r.kind === 'half-restored' ? `pg_dump into ${r.database}` : `pg_dumpall, kept aside as ${r.database}`;
  i.description = `${what} · started ${when(new Date(r.mark.started))}`;
  i.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('problemsErrorIcon.foreground'));
  i.contextValue = ITEM.interruptedRestore;
  i.tooltip = md([describeLogical(r), `**Roll back**: ${r.rollBack}.`]);
  const node: BackupNode = { ...leaf(i), stack };
  i.command = { command: COMMAND.restoreRecover, title: 'Recover Interrupted Restore', arguments: [node] };
  return node;
}
