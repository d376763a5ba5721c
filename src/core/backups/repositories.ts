/**
 * pgBackRest repositories (repo1, repo2 …; several at once since 2.33): what the config in effect says
 * about each (type, path, bucket or container, endpoint, encryption, retention), joined with what
 * `pgbackrest info --output=json` says (per-repository status, the sets each holds, its archived WAL,
 * its point-in-time window).
 *
 * Secrets never leave this file: options whose name is a credential (`repoN-s3-key`, `-s3-key-secret`,
 * `-s3-token`, `-azure-key`, `-gcs-key`, `-cipher-pass`, `-sftp-private-key-passphrase` …) are dropped
 * while parsing; only their names are kept (`secretOptions`), so a user sees "a key is set", never the key.
 */
import type { BackupSet, StanzaInfo } from './pgbackrest';
import { repositoriesInConf, type RepositoryConfig } from '../stack/pgbackrest-conf';
import { OpsError } from '../errors/error';

export {
  DEFAULT_REPO_PATH,
  REPOSITORY_TYPES,
  isSecretRepoOption,
  repositoriesInConf,
  type RepositoryConfig,
  type RepositoryType,
} from '../stack/pgbackrest-conf';

/** "posix /var/lib/pgbackrest", "azure container pgbr at 127.0.0.1:10000, path /repo" … */
export function describeLocation(c: RepositoryConfig): string {
  if (c.type === 'posix' || c.type === 'cifs') return `${c.type} ${c.path}`;
  const where = [
    c.bucket ? `${c.type === 'azure' ? 'container' : 'bucket'} ${c.bucket}` : '',
    c.endpoint ? `at ${c.endpoint}` : '',
    c.region ? `(${c.region})` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return `${c.type}${where ? ` ${where}` : ''}, path ${c.path}`;
}

/** One repository as the Backups view and the commands see it. */
export interface Repository {
  readonly key: number;
  /** `repo1`, `repo2` … */
  readonly name: string;
  /** From the config in effect (undefined: pgBackRest reports a repository the config read here does not name). */
  readonly config?: RepositoryConfig;
  /** "azure container pgbr at 127.0.0.1:10000, path /repo". */
  readonly location: string;
  /** From info when it says, else the config's `cipher-type`. */
  readonly cipher: string;
  readonly retention: string;
  /** pgBackRest's status of this repository (undefined when info did not run). */
  readonly status?: { readonly code: number; readonly message: string };
  /** Unreachable or broken (code other than ok and "no valid backups"): a problem item, with pgBackRest's message. */
  readonly problem?: string;
  /** Oldest to newest. */
  readonly backups: BackupSet[];
  readonly walMin?: string;
  readonly walMax?: string;
  readonly pitr?: { readonly from: Date; readonly to: Date };
}

/**
 * Every repository: those the config names and those info reports, with their sets, WAL and window.
 * `lastArchived` is the live server's newest archived WAL time (pg_stat_archiver), the end of every window
 * whose repository has WAL after its newest backup (archive-push writes every repository).
 */
export function repositoriesOf(input: {
  conf?: string;
  stanza: string;
  info?: StanzaInfo;
  now?: Date;
  lastArchived?: Date;
}): Repository[] {
  const configs = repositoriesInConf(input.conf, input.stanza);
  const keys = new Set<number>(configs.map((c) => c.key));
  for (const r of input.info?.repos ?? []) keys.add(r.key);
  const info = input.info;
  const multi = keys.size > 1;
  return [...keys]
    .sort((a, b) => a - b)
    .map((key): Repository => {
      const config = configs.find((c) => c.key === key);
      const st = info?.repos.find((r) => r.key === key);
      // Before 2.33 (or without repo-key) every set is in the one repository.
      const backups = (info?.backups ?? []).filter(
        (b) => (b.repoKey ?? 1) === key || (!multi && b.repoKey === undefined),
      );
      const archives = (info?.archives ?? []).filter((a) => (a.repoKey ?? 1) === key);
      const walMin = archives.map((a) => a.min).find((m): m is string => Boolean(m));
      const walMax = archives.length ? archives[archives.length - 1]!.max : undefined;
      const oldest = backups[0];
      const newest = backups[backups.length - 1];
      let pitr: Repository['pitr'];
      if (oldest && newest) {
        const walAfter = walMax !== undefined && newest.walStop !== undefined && walMax > newest.walStop;
        const end = input.lastArchived ?? input.now ?? new Date();
        pitr = { from: oldest.stop, to: walAfter && end > newest.stop ? end : newest.stop };
      }
      const status = st ? { code: st.code, message: st.message } : undefined;
      const problem = status && status.code !== 0 && status.code !== 2 ? status.message : undefined;
      return {
        key,
        name: `repo${key}`,
        config,
        location: config ? describeLocation(config) : 'not in the config read here',
        cipher: st?.cipher ?? config?.cipher ?? 'none',
        retention: config?.retention ?? '?',
        status,
        ...(problem ? { problem } : {}),
        backups,
        walMin,
        walMax,
        pitr,
      };
    });
}

/** One line for a description: "azure container pgbr at 127.0.0.1:10000, path /repo · aes-256-cbc · retention full 2". */
export function repositorySummary(r: Repository): string {
  return [r.location, r.cipher !== 'none' ? `encrypted ${r.cipher}` : 'not encrypted', `retention ${r.retention}`].join(
    ' · ',
  );
}

/**
 * The repository number of an args object (`repo: 2`, `'2'` or `'repo2'`), checked against the repositories
 * when they are known. Errors name the command, the value and the repositories there are.
 */
export function parseRepoArg(value: unknown, command: string, known?: readonly number[]): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^(repo)?\d+$/i.test(value.trim())
        ? Number(value.trim().replace(/^repo/i, ''))
        : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 256)
    throw new OpsError(
      'config',
      `${command}: repo must be a repository number such as 2 (for repo2), not ${JSON.stringify(value)}.`,
    );
  if (known && known.length && !known.includes(n))
    throw new OpsError(
      'config',
      `${command}: there is no repo${n} in the pgBackRest config (repositories: ${known.map((k) => `repo${k}`).join(', ')}).`,
    );
  return n;
}

/** The stanza as one repository sees it: its sets and its point-in-time window (for the restore's questions). */
export function stanzaInRepository(info: StanzaInfo, repo: number | undefined, now?: Date): StanzaInfo {
  if (repo === undefined) return info;
  const r = repositoriesOf({ stanza: info.name, info, now }).find((x) => x.key === repo);
  return { ...info, backups: r?.backups ?? [], pitr: r?.pitr, walMin: r?.walMin, walMax: r?.walMax };
}
