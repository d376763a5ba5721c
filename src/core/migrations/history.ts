/**
 * Applied migrations must never change: sqlx refuses to run when a recorded migration's checksum differs
 * ("migration … was previously applied but has been modified"). `changedSince` finds, with git and no database,
 * every migration file that existed at a ref and was edited, renamed or deleted since (working tree included,
 * so a pre-commit hook sees uncommitted edits too).
 */
import { basename, join } from 'node:path';
import { parseMigrationFileName } from './files';
import type { Finding } from '../lint/lint';

export { CHANGED_SINCE_RULE } from '../lint/model';
import { CHANGED_SINCE_RULE } from '../lint/model';

export type ChangeKind = 'edited' | 'renamed' | 'deleted';

export interface MigrationChange {
  readonly kind: ChangeKind;
  /** The file as it was at the ref (absolute). */
  readonly oldPath: string;
  /** Where it is now (renamed: the new path; edited: the same; deleted: undefined). */
  readonly newPath?: string;
}

export { HistoryError } from '../errors/misc';
import { HistoryError } from '../errors/misc';

async function git(cwd: string, args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const { execa } = await import('execa');
  const r = await execa('git', args, {
    cwd,
    reject: false,
    stripFinalNewline: false,
    env: { GIT_TERMINAL_PROMPT: '0' },
  });
  return { ok: r.exitCode === 0, stdout: String(r.stdout), stderr: String(r.stderr).trim() };
}

export interface History {
  /** Migrations that existed at the ref and differ now. */
  readonly changes: MigrationChange[];
  /** Migration files added since the ref (absolute): what a pull request brings, to lint. */
  readonly added: string[];
}

/** The migration files of `dir` that existed at `ref` and differ now, and those added since. */
export async function changedSince(dir: string, ref: string): Promise<History> {
  const top = await git(dir, ['rev-parse', '--show-toplevel']);
  if (!top.ok)
    throw new HistoryError('notRepository', `${dir} is not in a git repository (git: ${top.stderr.split('\n')[0]})`);
  const root = top.stdout.trim();
  const exists = await git(dir, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]);
  if (!exists.ok) {
    const shallow = await git(dir, ['rev-parse', '--is-shallow-repository']);
    if (shallow.stdout.trim() === 'true')
      throw new HistoryError(
        'shallow',
        `"${ref}" is not in this shallow clone: fetch the history (actions/checkout with fetch-depth: 0, GIT_DEPTH: 0 in GitLab CI, or git fetch --unshallow)`,
      );
    throw new HistoryError('unknownRef', `git does not know "${ref}" here: name a branch, tag or commit of ${root}`);
  }
  // Tracked files only: -M pairs a deleted file with its new name; -z keeps odd names intact; --relative gives
  // paths under `dir` as the caller wrote it (no symlink resolved, unlike the toplevel git prints).
  const diff = await git(dir, ['diff', '--name-status', '-M', '-z', '--no-ext-diff', '--relative', ref, '--', '.']);
  if (!diff.ok) throw new HistoryError('git', `git diff ${ref} failed: ${diff.stderr.split('\n')[0]}`);
  const fields = diff.stdout.split('\0');
  const changes: MigrationChange[] = [];
  const added: string[] = [];
  for (let i = 0; i < fields.length - 1;) {
    const status = fields[i++]!;
    const path = join(dir, fields[i++]!);
    const isMigration = recordedBySqlx(basename(path));
    if (status.startsWith('R')) {
      const to = join(dir, fields[i++]!);
      if (isMigration) changes.push({ kind: 'renamed', oldPath: path, newPath: to });
    } else if (status.startsWith('C')) {
      i++; // a copy leaves the original as it was
    } else if (!isMigration) {
      continue;
    } else if (status === 'M' || status === 'T') {
      changes.push({ kind: 'edited', oldPath: path, newPath: path });
    } else if (status === 'D') {
      changes.push({ kind: 'deleted', oldPath: path });
    } else if (status === 'A') {
      added.push(path);
    }
  }
  return { changes, added };
}

/** An up or simple migration (sqlx records its checksum); a down file may change freely. */
function recordedBySqlx(name: string): boolean {
  try {
    const m = parseMigrationFileName(name);
    return m !== undefined && m.type !== 'down';
  } catch {
    return name.endsWith('.sql'); // an invalid version prefix: sqlx refuses the folder anyway
  }
}

/** One error finding per change, shaped like the lint's findings (line 1 of the file as it is now, or was). */
export function changeFinding(c: MigrationChange, ref: string, rel: (p: string) => string): Finding {
  const what =
    c.kind === 'edited'
      ? `${rel(c.oldPath)} was edited since ${ref}`
      : c.kind === 'renamed'
        ? `${rel(c.oldPath)} was renamed to ${rel(c.newPath!)} since ${ref}`
        : `${rel(c.oldPath)} was deleted since ${ref}`;
  return {
    rule: CHANGED_SINCE_RULE,
    category: 'sqlx',
    severity: 'error',
    message: `${what}.`,
    why:
      'A migration that existed before may already be applied somewhere: sqlx refuses to run when its file changed ' +
      '("previously applied but has been modified") or went missing.',
    fix: 'Restore the file as it was and put the change in a new migration.',
    file: c.newPath ?? c.oldPath,
    line: 1,
    column: 1,
    endLine: 1,
    endColumn: 1,
    start: 0,
    end: 0,
  };
}
