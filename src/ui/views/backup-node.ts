/** The Backups view's node: the model object each tree item keeps, and the helpers its builders share. */
import * as vscode from 'vscode';
import type { StackConfig } from '../../core/infra';
import { type BackupSet, type StanzaInfo } from '../../core/backups/pgbackrest';
import type { ManualBackupEntry } from '../../core/backups/overview';
import type { PreRestoreCopy } from '../../core/backups/restore/pre-restore';
import type { JobFreshness } from '../../core/schedule/freshness';
import type { PgbackrestEnvironmentWarning } from '../../core/backups/pgbackrest-env';
import { type Node } from './node';

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

export const MANUAL_LABEL = {
  pg_dump: 'pg_dump',
  pg_dumpall: 'pg_dumpall',
  pg_basebackup: 'pg_basebackup',
  other: 'file',
} as const;

export function when(d: Date): string {
  return d.toLocaleString();
}

export function md(lines: string[]): vscode.MarkdownString {
  const m = new vscode.MarkdownString(lines.join('\n\n'));
  m.supportThemeIcons = true;
  return m;
}
