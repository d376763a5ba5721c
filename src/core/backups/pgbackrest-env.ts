/**
 * The pgBackRest environment of the database container, as pgBackRest itself sees it: every
 * `PGBACKREST_*` variable is an option (timescaledb-ha sets PGBACKREST_CONFIG and PGBACKREST_STANZA=poddb),
 * a config path given that way must exist, and `/etc/pgbackrest.conf` may be a link. Compared with the
 * stanza the Ofelia jobs name and the user they run as, it yields warnings a user can act on.
 */
import { isMap, isPair, isScalar, isSeq, parseDocument, visit, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import type { ToolRuntime } from '../runtime';
import { ofeliaJobs, type OfeliaJob } from '../schedule/ofelia';
import type { ComposeModel } from '../infra';

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
const PGBACKREST_COMMAND = /(^|[\s/])pgbackrest(\s|$)/;

/** Reads the environment with three fixed commands (argv arrays: the path travels as an argument). */
export async function readPgbackrestEnvironment(rt: ToolRuntime, signal?: AbortSignal): Promise<PgbackrestEnvironment> {
  const env = await rt.run(['env'], { signal });
  const variables: Record<string, string> = {};
  for (const l of env.stdoutLines) {
    const m = /^(PGBACKREST_[A-Z0-9_]+)=(.*)$/.exec(l);
    if (m) variables[m[1]!] = SECRET_NAME.test(m[1]!) ? '***' : m[2]!;
  }
  const versionRun = rt.run(['pgbackrest', 'version'], { signal }).catch(() => undefined);
  // pgBackRest's default is /etc/pgbackrest/pgbackrest.conf, with /etc/pgbackrest.conf read when only that exists.
  const configRun = rt.run(
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
  const [v, r] = await Promise.all([versionRun, configRun]);
  const version = v && v.exitCode === 0 ? /pgBackRest (\S+)/.exec(v.stdoutLines.join(' '))?.[1] : undefined;
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

export { stanzaOfCommand } from '../stack/pgbackrest-conf';
import { stanzaOfCommand } from '../stack/pgbackrest-conf';
import { OpsError } from '../errors/error';

function versionAtLeast(v: string | undefined, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(v ?? '');
  return Boolean(m && (Number(m[1]) > major || (Number(m[1]) === major && Number(m[2]) >= minor)));
}

/** One row of the environment as the Backups view shows it (label, value, and what it means). */
export interface PgbackrestEnvironmentRow {
  readonly label: string;
  readonly value: string;
  readonly tooltip: string;
}

/** The rows of the pgBackRest environment: PGBACKREST_* variables, the config in effect, the version, the jobs' stanza. */
export function describePgbackrestEnvironment(
  env: PgbackrestEnvironment,
  jobs: readonly OfeliaJob[],
): PgbackrestEnvironmentRow[] {
  const rows: PgbackrestEnvironmentRow[] = Object.entries(env.variables)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => ({
      label: k,
      value: v,
      tooltip: `pgBackRest reads ${k} as the option --${k.slice('PGBACKREST_'.length).toLowerCase().replace(/_/g, '-')}.`,
    }));
  const resolved = env.configResolved && env.configResolved !== env.configPath ? ` → ${env.configResolved}` : '';
  rows.push({
    label: 'Config in effect',
    value: env.configExists ? `${env.configPath}${resolved}` : `${env.configPath} (missing)`,
    tooltip: env.variables['PGBACKREST_CONFIG']
      ? 'PGBACKREST_CONFIG names it (a config path given that way must exist).'
      : "pgBackRest's default path (no PGBACKREST_CONFIG).",
  });
  rows.push({
    label: 'pgbackrest version',
    value: env.version ?? 'not found',
    tooltip: env.version
      ? '`pgbackrest version` in the container.'
      : '`pgbackrest version` failed: is pgBackRest installed?',
  });
  const named = jobs
    .filter((j) => j.type === 'job-exec' && PGBACKREST_COMMAND.test(j.command ?? ''))
    .map((j) => ({ job: j.name, stanza: stanzaOfCommand(j.command) }));
  if (named.length) {
    const stanzas = [...new Set(named.map((n) => n.stanza ?? `${env.stanza ?? '?'} (no --stanza)`))];
    rows.push({
      label: 'Ofelia jobs’ stanza',
      value: stanzas.join(', '),
      tooltip: named.map((n) => `${n.job}: ${n.stanza ? `--stanza=${n.stanza}` : 'no --stanza'}`).join('\n\n'),
    });
  }
  return rows;
}

export interface PgbackrestEnvironmentWarning {
  readonly code: 'config-missing' | 'stanza-mismatch' | 'job-runs-as-root';
  /** One line for a list (the view's row). */
  readonly title: string;
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
      title: `pgBackRest config missing: ${env.configPath}`,
      message:
        `pgBackRest reads ${env.configPath}${env.variables['PGBACKREST_CONFIG'] ? ' (PGBACKREST_CONFIG)' : ''}, which does not ` +
        `exist in the container: every pgBackRest command fails. Mount your pgbackrest.conf there, or set PGBACKREST_CONFIG ` +
        `in the compose file to where it is mounted.`,
    });
  }
  const pgbr = jobs.filter((j) => j.type === 'job-exec' && PGBACKREST_COMMAND.test(j.command ?? ''));
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
        title: `Ofelia job${names.length > 1 ? 's' : ''} on stanza "${stanza}", expected "${expected}"`,
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
  if (extensionStanza && env.stanza && env.stanza !== extensionStanza) {
    out.push({
      code: 'stanza-mismatch',
      title: `PGBACKREST_STANZA is "${env.stanza}", this stack's stanza is "${extensionStanza}"`,
      message:
        `The container's PGBACKREST_STANZA is "${env.stanza}", but this stack's stanza is "${extensionStanza}": ` +
        `pgBackRest commands without --stanza (a shell in the container, the image's own scripts) use "${env.stanza}". ` +
        `Set PGBACKREST_STANZA: ${extensionStanza} in the environment of the database service in the compose file.`,
    });
  }
  for (const j of pgbr) {
    if (j.user && j.user !== 'root') continue;
    out.push({
      code: 'job-runs-as-root',
      job: { service: j.service, name: j.name },
      title: `Ofelia job ${j.name} runs pgBackRest as root`,
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

/** The Ofelia job-exec jobs of a compose file that run pgBackRest as root (no `user`, or `user: root`). */
export function jobsRunningPgbackrestAsRoot(compose: ComposeModel | undefined): OfeliaJob[] {
  return ofeliaJobs(compose).filter(
    (j) => j.type === 'job-exec' && PGBACKREST_COMMAND.test(j.command ?? '') && (!j.user || j.user === 'root'),
  );
}

/**
 * The quick fix for `job-runs-as-root`: the compose file's text with `ofelia.job-exec.<job>.user: "postgres"`
 * added right after the job's last label (map or list style labels), or the user label changed from root.
 * The labels are found with the `yaml` library (in `services.<service>.labels` when the file has it, else
 * anywhere); the text is then changed at that spot only, so comments and formatting stay as they were
 * (a flow-style `labels: { … }` is rewritten by the library). Throws when the job's labels are not found.
 */
export function addOfeliaUserLabel(composeText: string, job: string, service?: string): string {
  const doc = parseDocument(composeText);
  const prefix = `ofelia.job-exec.${job}.`.toLowerCase();
  const collections: (YAMLMap | YAMLSeq)[] = [];
  const scoped = service ? doc.getIn(['services', service, 'labels'], true) : undefined;
  if (isMap(scoped) || isSeq(scoped)) collections.push(scoped);
  else
    visit(doc, {
      Map: (_k, m) => void collections.push(m),
      Seq: (_k, q) => void collections.push(q),
    });
  const keyOf = (item: unknown): string | undefined => {
    if (isPair(item) && isScalar(item.key)) return String(item.key.value).toLowerCase();
    if (isScalar(item) && typeof item.value === 'string') return item.value.split('=')[0]!.trim().toLowerCase();
    return undefined;
  };
  for (const c of collections) {
    const items = c.items as unknown[];
    const mine = items.filter((it) => keyOf(it)?.startsWith(prefix));
    if (!mine.length) continue;
    const userItem = mine.find((it) => keyOf(it) === `${prefix}user`);
    const splice = (from: number, to: number, text: string) =>
      composeText.slice(0, from) + text + composeText.slice(to);
    if (c.flow) {
      if (isMap(c)) c.set(`ofelia.job-exec.${job}.user`, 'postgres');
      else if (userItem) (userItem as Scalar).value = `ofelia.job-exec.${job}.user=postgres`;
      else c.add(`ofelia.job-exec.${job}.user=postgres`);
      return doc.toString();
    }
    if (userItem) {
      // Only the value changes (root → postgres), in the quotes it had.
      const node = isPair(userItem) ? (userItem.value as Scalar) : (userItem as Scalar);
      const [from, to] = node.range!;
      return splice(from, to, composeText.slice(from, to).replace(/root/, 'postgres'));
    }
    const last = mine[mine.length - 1]!;
    const keyNode = (isPair(last) ? last.key : last) as Scalar;
    const endNode = (isPair(last) ? (last.value ?? last.key) : last) as Scalar;
    const lineStart = composeText.lastIndexOf('\n', keyNode.range![0] - 1) + 1;
    const lead = composeText.slice(lineStart, keyNode.range![0]);
    const indent = /^\s*/.exec(lead)![0];
    const quote = keyNode.type === 'QUOTE_DOUBLE' ? '"' : keyNode.type === 'QUOTE_SINGLE' ? "'" : '';
    const added = isSeq(c)
      ? `${lead}${quote}ofelia.job-exec.${job}.user=postgres${quote}`
      : `${indent}${quote}ofelia.job-exec.${job}.user${quote}: "postgres"`;
    const eol = composeText.indexOf('\n', endNode.range![1] - 1);
    const at = eol < 0 ? composeText.length : eol;
    return splice(at, at, `\n${added}`);
  }
  throw new OpsError(
    'config',
    `No ofelia.job-exec.${job}.* label found${service ? ` on service ${service}` : ''} in the compose file: add the user label by hand.`,
  );
}
