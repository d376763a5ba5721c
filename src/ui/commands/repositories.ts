/**
 * The one question about pgBackRest repositories, asked from the palette only when there are several:
 * which one (repo1, repo2 …), each with its type, location, encryption and retention and, for one
 * pgBackRest cannot read, its message. Commands with args never ask (they take `repo: 2`).
 */
import * as vscode from 'vscode';
import { repositorySummary, type Repository } from '../../core/backups/repositories';
import { CancelledByUser } from './register';

/** undefined when there is one repository or none known (pgBackRest's default, repo1, is used). */
export async function askRepository(repositories: readonly Repository[], title: string): Promise<number | undefined> {
  if (repositories.length < 2) return undefined;
  const picked = await vscode.window.showQuickPick(
    repositories.map((r) => ({
      label: r.name,
      description: r.problem
        ? `unreachable: ${r.problem.split('\n')[0]}`
        : r.config
          ? repositorySummary(r)
          : r.cipher !== 'none'
            ? `encrypted ${r.cipher}`
            : undefined,
      detail: r.problem
        ? undefined
        : `${r.backups.length} backup${r.backups.length === 1 ? '' : 's'}${r.backups.length ? `, newest ${r.backups[r.backups.length - 1]!.label}` : ''}`,
      key: r.key,
    })),
    { title },
  );
  if (!picked) throw new CancelledByUser();
  return picked.key;
}
