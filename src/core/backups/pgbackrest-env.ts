/**
 * The pgBackRest environment of the database container, as pgBackRest itself sees it: every
 * `PGBACKREST_*` variable is an option (timescaledb-ha sets PGBACKREST_CONFIG and PGBACKREST_STANZA=poddb),
 * a config path given that way must exist, and `/etc/pgbackrest.conf` may be a link. Compared with the
 * stanza the Ofelia jobs name and the user they run as, it yields warnings a user can act on.
 */
import type { ToolRuntime } from '../runtime';
import type { OfeliaJob } from '../schedule/ofelia';

export interface PgbackrestEnvironment {
  /** Every PGBACKREST_* variable of the container (values of *KEY*, *PASS*, *SECRET* variables masked). */
  readonly variables: Readonly<Record<string, string>>;
  /** `pgbackrest version`, e.g. "2.45"; undefined when pgBackRest is missing. */
  readonly version?: string;
  /** The config file pgBackRest reads: PGBACKREST_CONFIG, else its default path (or the legacy one). */
  readonly configPath: string;
  /** Where that path leads (links followed); undefined when it does not exist. */
  readonly configResolved?: string;
  readonly configExists: boolean;
  /** The stanza commands without --stanza use (PGBACKREST_STANZA). */
  readonly stanza?: string;
}

const SECRET_NAME = /KEY|PASS|SECRET|TOKEN/i;

/** Reads the environment with three fixed commands (argv arrays: the path travels as an argument). */
export async function readPgbackrestEnvironment(rt: ToolRuntime, signal?: AbortSignal): Promise<PgbackrestEnvironment> {
  const env = await rt.run(['env'], { signal });
  const variables: Record<string, string> = {};
  for (const l of env.stdoutLines) {
    const m = /^(PGBACKREST_[A-Z0-9_]+)=(.*)$/.exec(l);
    if (m) variables[m[1]!] = SECRET_NAME.test(m[1]!) ? '***' : m[2]!;
  }
  const v = await rt.run(['pgbackrest', 'version'], { signal }).catch(() => undefined);
  const version = v && v.exitCode === 0 ? /pgBackRest (\S+)/.exec(v.stdoutLines.join(' '))?.[1] : undefined;
  // pgBackRest's default is /etc/pgbackrest/pgbackrest.conf, with /etc/pgbackrest.conf read when only that exists.
  const r = await rt.run(
    [
      'sh',
      '-c',
      'p="$0"; if [ -z "$p" ]; then p=/etc/pgbackrest/pgbackrest.conf; ' +
        '[ -e "$p" ] || [ ! -e /etc/pgbackrest.conf ] || p=/etc/pgbackrest.conf; fi; ' +
        'echo "path=$p"; if [ -f "$p" ]; then echo "resolved=$(readlink -f "$p")"; fi',
      variables['PGBACKREST_CONFIG'] ?? '',
    ],
    { signal },
  );
  const get = (k: string) =>
    r.stdoutLines
      .find((l) => l.startsWith(`${k}=`))
      ?.slice(k.length + 1)
      .trim();
  const configPath = get('path') ?? variables['PGBACKREST_CONFIG'] ?? '/etc/pgbackrest/pgbackrest.conf';
  const configResolved = get('resolved') || undefined;
  return {
    variables,
    version,
    configPath,
    configResolved,
    configExists: configResolved !== undefined,
    stanza: variables['PGBACKREST_STANZA'],
  };
}

/** The stanza a pgBackRest command line names (`--stanza=x` or `--stanza x`). */
export function stanzaOfCommand(command: string | undefined): string | undefined {
  if (!command || !/(^|[\s/])pgbackrest(\s|$)/.test(command)) return undefined;
  return /--stanza(?:=|\s+)(\S+)/.exec(command)?.[1]?.replace(/^["']|["']$/g, '');
}

function versionAtLeast(v: string | undefined, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(v ?? '');
  return Boolean(m && (Number(m[1]) > major || (Number(m[1]) === major && Number(m[2]) >= minor)));
}

export interface PgbackrestEnvironmentWarning {
  readonly code: 'config-missing' | 'stanza-mismatch' | 'job-runs-as-root';
  readonly message: string;
  /** For `job-runs-as-root`: the job, so a quick fix can add its `user` label. */
  readonly job?: { readonly service: string; readonly name: string };
}

/** What disagrees between the container's pgBackRest environment, the extension's stanza and the Ofelia jobs. */
export function pgbackrestEnvironmentWarnings(
  env: PgbackrestEnvironment,
  jobs: readonly OfeliaJob[],
  extensionStanza?: string,
): PgbackrestEnvironmentWarning[] {
  const out: PgbackrestEnvironmentWarning[] = [];
  if (!env.configExists) {
    out.push({
      code: 'config-missing',
      message:
        `pgBackRest reads ${env.configPath}${env.variables['PGBACKREST_CONFIG'] ? ' (PGBACKREST_CONFIG)' : ''}, which does not ` +
        `exist in the container: every pgBackRest command fails. Mount your pgbackrest.conf there, or set PGBACKREST_CONFIG ` +
        `in the compose file to where it is mounted.`,
    });
  }
  const pgbr = jobs.filter((j) => j.type === 'job-exec' && /(^|[\s/])pgbackrest(\s|$)/.test(j.command ?? ''));
  const named = new Map<string, string[]>();
  for (const j of pgbr) {
    const s = stanzaOfCommand(j.command) ?? env.stanza;
    if (s) named.set(s, [...(named.get(s) ?? []), j.name]);
  }
  const expected = extensionStanza ?? env.stanza;
  for (const [stanza, names] of named) {
    if (expected && stanza !== expected) {
      out.push({
        code: 'stanza-mismatch',
        message:
          `Ofelia job${names.length > 1 ? 's' : ''} ${names.join(', ')} back up stanza "${stanza}", but ` +
          (extensionStanza
            ? `this stack's stanza is "${extensionStanza}"`
            : `the container's PGBACKREST_STANZA is "${expected}"`) +
          `${env.stanza && env.stanza !== stanza ? ` (pgBackRest commands without --stanza use "${env.stanza}")` : ''}: ` +
          `backups and restores may go to different stanzas. Use one stanza name in the jobs, PGBACKREST_STANZA and pgbackrest.conf.`,
      });
    }
  }
  for (const j of pgbr) {
    if (j.user && j.user !== 'root') continue;
    out.push({
      code: 'job-runs-as-root',
      job: { service: j.service, name: j.name },
      message:
        `Ofelia job ${j.name} runs pgBackRest as root (job-exec runs as root unless its label sets user): ` +
        (versionAtLeast(env.version, 2, 59)
          ? `pgBackRest ${env.version} refuses to run as root, so the job fails.`
          : `pgBackRest${env.version ? ` ${env.version}` : ''} then leaves root-owned files in the repository and lock ` +
            `folders that later fail the postgres user ([050] … Permission denied); pgBackRest 2.59 and later refuse root.`) +
        ` Add ofelia.job-exec.${j.name}.user: "postgres" to service ${j.service}.`,
    });
  }
  return out;
}

/**
 * The quick fix for `job-runs-as-root`: the compose file's text with `ofelia.job-exec.<job>.user: "postgres"`
 * added right after the job's last label (map or list style labels), or the user label changed from root.
 * Throws when the job's labels are not found in the text.
 */
export function addOfeliaUserLabel(composeText: string, job: string): string {
  const lines = composeText.split('\n');
  const prefix = `ofelia.job-exec.${job}.`.toLowerCase();
  const keyOf = (l: string) => l.trim().replace(/^-\s*/, '').replace(/^["']/, '').toLowerCase();
  let last = -1;
  for (let i = 0; i < lines.length; i++) {
    const k = keyOf(lines[i]!);
    if (!k.startsWith(prefix)) continue;
    if (k.startsWith(`${prefix}user`)) {
      lines[i] = lines[i]!.replace(/root/, 'postgres');
      return lines.join('\n');
    }
    last = i;
  }
  if (last < 0)
    throw new Error(`No ofelia.job-exec.${job}.* label found in the compose file: add the user label by hand.`);
  const line = lines[last]!;
  const indent = /^\s*/.exec(line)![0];
  const listStyle = /^\s*-\s/.test(line);
  const quote = /^\s*-?\s*"/.test(line) ? '"' : '';
  const added = listStyle
    ? `${indent}- ${quote}ofelia.job-exec.${job}.user=postgres${quote}`
    : `${indent}ofelia.job-exec.${job}.user: "postgres"`;
  lines.splice(last + 1, 0, added);
  return lines.join('\n');
}
