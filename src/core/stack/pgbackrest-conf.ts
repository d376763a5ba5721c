/**
 * pgbackrest.conf, parsed in one place: its stanza sections, an option of a stanza (its section over
 * `[global]`), its repositories, and the text with secret values masked for anything shown. Also the one
 * parser of `--stanza` in a pgBackRest command line.
 *
 * Secrets never leave this file: options whose name is a credential (`repoN-s3-key`, `-s3-key-secret`,
 * `-s3-token`, `-azure-key`, `-gcs-key`, `-cipher-pass`, `-sftp-private-key-passphrase` …) are dropped
 * while parsing; only their names are kept (`secretOptions`), so a user sees "a key is set", never the key.
 */

/** Section names of a pgbackrest.conf that are stanzas (not `global` / `global:<command>`). */
export function stanzasInConf(conf: string): string[] {
  const out: string[] = [];
  for (const line of conf.split(/\r?\n/)) {
    const m = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (!m) continue;
    const name = m[1]!.trim();
    if (name === 'global' || name.startsWith('global:') || name.includes(':')) continue;
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

/** A conf option from the stanza's section, else `[global]` (e.g. `log-path`, `repo1-path`). */
export function confOption(conf: string, stanza: string, key: string): string | undefined {
  let section = '';
  const values = new Map<string, string>();
  for (const line of conf.split(/\r?\n/)) {
    const s = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (s) {
      section = s[1]!.trim();
      continue;
    }
    const kv = /^\s*([A-Za-z0-9-]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (kv && kv[1] === key && (section === stanza || section === 'global')) values.set(section, kv[2]!);
  }
  return values.get(stanza) ?? values.get('global');
}

export type RepositoryType = 'posix' | 'cifs' | 's3' | 'gcs' | 'azure' | 'sftp';
export const REPOSITORY_TYPES: readonly RepositoryType[] = ['posix', 'cifs', 's3', 'gcs', 'azure', 'sftp'];

/** pgBackRest's default repository path. */
export const DEFAULT_REPO_PATH = '/var/lib/pgbackrest';

/** A repository option whose value is a credential (never shown, logged or passed on). */
export function isSecretRepoOption(name: string): boolean {
  const o = name.toLowerCase().replace(/^repo\d*-/, 'repo-');
  if (/-(key-type|host-key-hash-type|host-key-check-type|key-secret-type)$/.test(o)) return false;
  return /(^repo-cipher-pass$|-key$|-key-secret$|-token$|pass$|passphrase$|sse-customer-key|kms-key-id|private-key-file$)/.test(
    o,
  );
}

export interface RepositoryConfig {
  readonly key: number;
  readonly type: RepositoryType | string;
  readonly path: string;
  /** s3 / gcs bucket, azure container. */
  readonly bucket?: string;
  /** Where an object store or sftp server is (endpoint or host, with the port when set). */
  readonly endpoint?: string;
  readonly region?: string;
  /** `repoN-cipher-type` (none, aes-256-cbc). */
  readonly cipher: string;
  /** "full 2", "full 14 days, diff 7, archive 2" … ("not set" when pgBackRest keeps everything). */
  readonly retention: string;
  /** Every non-secret `repoN-*` option as read (stanza section over `[global]`). */
  readonly options: Readonly<Record<string, string>>;
  /** Names of the secret options that are set (their values are never kept). */
  readonly secretOptions: readonly string[];
}

/**
 * The `repoN-*` options of a pgbackrest.conf for a stanza (its section over `[global]`; command sections
 * such as `[global:archive-push]` are not part of the repository's definition). Secret values are dropped here.
 */
export function repositoriesInConf(conf: string | undefined, stanza: string): RepositoryConfig[] {
  const byKey = new Map<number, { options: Map<string, string>; secrets: Set<string> }>();
  const scoped = new Map<string, Map<string, string>>();
  let section = '';
  for (const line of (conf ?? '').split(/\r?\n/)) {
    const s = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (s) {
      section = s[1]!.trim();
      continue;
    }
    if (section !== 'global' && section !== stanza) continue;
    const kv = /^\s*(repo(\d+)-[A-Za-z0-9-]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (!kv) continue;
    const m = scoped.get(section) ?? new Map<string, string>();
    m.set(kv[1]!, kv[3]!);
    scoped.set(section, m);
  }
  for (const sec of ['global', stanza]) {
    for (const [name, value] of scoped.get(sec) ?? []) {
      const key = Number(/^repo(\d+)-/.exec(name)![1]);
      const r = byKey.get(key) ?? { options: new Map<string, string>(), secrets: new Set<string>() };
      byKey.set(key, r);
      if (isSecretRepoOption(name)) r.secrets.add(name);
      else r.options.set(name, value);
    }
  }
  if (!byKey.size) byKey.set(1, { options: new Map(), secrets: new Set() });
  return [...byKey.entries()].sort(([a], [b]) => a - b).map(([key, r]) => repositoryConfig(key, r.options, r.secrets));
}

function repositoryConfig(key: number, o: Map<string, string>, secrets: Set<string>): RepositoryConfig {
  const get = (opt: string) => o.get(`repo${key}-${opt}`);
  const type = get('type') ?? 'posix';
  const bucket =
    type === 's3'
      ? get('s3-bucket')
      : type === 'gcs'
        ? get('gcs-bucket')
        : type === 'azure'
          ? get('azure-container')
          : undefined;
  const host =
    type === 's3'
      ? (get('s3-endpoint') ?? get('s3-host'))
      : type === 'gcs'
        ? (get('gcs-endpoint') ?? 'storage.googleapis.com')
        : type === 'azure'
          ? (get('azure-host') ?? (get('azure-account') ? `${get('azure-account')}.blob.core.windows.net` : undefined))
          : type === 'sftp'
            ? get('sftp-host')
            : type === 'cifs'
              ? undefined
              : undefined;
  const port = get('storage-port') ?? (type === 'sftp' ? get('sftp-host-port') : undefined);
  const retention: string[] = [];
  const full = get('retention-full');
  if (full) retention.push(`full ${full}${get('retention-full-type') === 'time' ? ' days' : ''}`);
  const diff = get('retention-diff');
  if (diff) retention.push(`diff ${diff}`);
  const archive = get('retention-archive');
  if (archive)
    retention.push(`archive ${archive}${get('retention-archive-type') ? ` (${get('retention-archive-type')})` : ''}`);
  return {
    key,
    type,
    path: get('path') ?? DEFAULT_REPO_PATH,
    ...(bucket ? { bucket } : {}),
    ...(host ? { endpoint: port ? `${host}:${port}` : host } : {}),
    ...(get('s3-region') ? { region: get('s3-region') } : {}),
    cipher: get('cipher-type') ?? 'none',
    retention: retention.length ? retention.join(', ') : 'not set (every backup is kept)',
    options: Object.fromEntries([...o.entries()].filter(([k]) => k.startsWith(`repo${key}-`))),
    secretOptions: [...secrets].filter((k) => k.startsWith(`repo${key}-`)).sort(),
  };
}

/** The conf text with the value of every secret option (any section) replaced by `****`, for anything shown. */
export function maskConf(conf: string): string {
  return conf
    .split(/\r?\n/)
    .map((line) => {
      const kv = /^(\s*)([A-Za-z0-9-]+)(\s*=\s*)(.*?)\s*$/.exec(line);
      return kv && isSecretOption(kv[2]!) && kv[4] ? `${kv[1]}${kv[2]}${kv[3]}****` : line;
    })
    .join('\n');
}

/** Any pgBackRest option whose value is a credential (repository or not). */
export function isSecretOption(name: string): boolean {
  if (/^repo\d*-/.test(name)) return isSecretRepoOption(name);
  return /(cipher-pass|-key$|-key-secret$|-token$|passphrase$|password$)/.test(name.toLowerCase());
}

/** The stanza a pgBackRest command line names (`--stanza=x` or `--stanza x`), when the command runs pgbackrest. */
export function stanzaOfCommand(command: string | undefined): string | undefined {
  if (!command || !/(^|[\s/])pgbackrest(\s|$)/.test(command)) return undefined;
  return /(?:^|\s)--stanza(?:=|\s+)(\S+)/.exec(command)?.[1]?.replace(/^["']|["']$/g, '');
}
