/**
 * Where a stack's things are, answered once: PGDATA, the pgBackRest config file and stanza, the
 * manual backups folder (on this machine and where the tools run), the OS user the tools run as and
 * the runtime. Backups, restores, clean start, the recover command and the Backups view all ask here.
 *
 * Two halves: `resolveSite()` is pure (inputs → answers, with every source it looked at), and
 * `readSite()` gathers those inputs (the database container's environment, the config file in effect,
 * the Ofelia job commands of the compose file).
 *
 * Precedence (issue 13):
 *  - stanza: the `tsdbOps.backups.stanza` setting; else the stanza the Ofelia job commands name with
 *    `--stanza=` (when they agree); else the only stanza section of the config in effect; else the
 *    tools' `PGBACKREST_STANZA`, only when the config has that section; else `db`;
 *  - PGDATA: `pg1-path` of that stanza; else the tools' `PGDATA`; else /home/postgres/pgdata/data;
 *  - config: the `tsdbOps.backups.pgbackrestConfig` setting; else the tools' `PGBACKREST_CONFIG`;
 *    else pgBackRest's default (/etc/pgbackrest/pgbackrest.conf, or the older /etc/pgbackrest.conf);
 *  - OS user: `postgres` in the container (the owner of PGDATA in timescaledb-ha and after the guide's
 *    chown); on this machine `postgres` when VS Code runs as root (PostgreSQL refuses root, and files
 *    pgBackRest writes as root would break the cluster's own archive-push), else VS Code's own user.
 * "The tools' environment" is the database container's `Config.Env` (or, when the container cannot be
 * inspected, the compose service's `environment`); for the host runtime it is this machine's.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, posix, relative, sep } from 'node:path';
import { userInfo } from 'node:os';
import type { StackConfig, VolumeMount } from '../infra';
import { envRecord, type ToolRuntime } from '../runtime';
import { ofeliaJobs } from '../schedule/ofelia';
import { confOption, stanzaOfCommand, stanzasInConf } from './pgbackrest-conf';
import { readIncludes, withIncludes } from './pgbackrest-includes';
import { OpsError } from '../errors/error';

/** PGDATA of timescaledb-ha and the guide's stack. */
export const DEFAULT_PGDATA = '/home/postgres/pgdata/data';
/** The stanza of the guide's stack. */
export const DEFAULT_STANZA = 'db';
/** Where pgBackRest looks without --config or PGBACKREST_CONFIG (the second one is its older location). */
export const PGBACKREST_DEFAULT_CONFIGS = ['/etc/pgbackrest/pgbackrest.conf', '/etc/pgbackrest.conf'] as const;
/** Where the guide's stack mounts the backups folder in the database container. */
export const CONTAINER_BACKUPS_DIR = '/var/lib/pgbackrest';
/** Folders inside the backups folder: the pgBackRest repository and the manual backups. */
export const REPO_DIR = 'backup';
export const MANUAL_BACKUP_DIR = 'manual_backup';
/** The folder inside the backups folder where restore drill reports go (the extension's and the command line's). */
export const DRILLS_DIR = 'drills';
/** The OS user of the cluster in the container (timescaledb-ha, the guide's chown). */
export const CONTAINER_TOOL_USER = 'postgres';

export type RuntimeKind = 'container' | 'host';
export type SiteField = 'runtime' | 'stanza' | 'pgdata' | 'pgbackrestConfig' | 'manualBackupDir' | 'toolUser';

/** One value a rule looked at, where it came from, and whether it is the answer. */
export interface SiteSource {
  readonly field: SiteField;
  readonly value: string;
  readonly from: string;
  readonly used: boolean;
}

export interface SiteSettings {
  /** `tsdbOps.backups.stanza`. */
  readonly stanza?: string;
  /** `tsdbOps.backups.pgbackrestConfig`. */
  readonly pgbackrestConfig?: string;
  /** `tsdbOps.backups.runtime` (default container). */
  readonly runtime?: RuntimeKind;
}

export interface SiteInputs {
  readonly stack: Pick<StackConfig, 'backupsDir' | 'dbService'>;
  readonly runtime: RuntimeKind;
  readonly settings?: SiteSettings;
  /** The tools' environment (see the header) and what it is, for the sources ("container x", …). */
  readonly toolEnv?: Readonly<Record<string, string | undefined>>;
  readonly toolEnvFrom?: string;
  /** The pgBackRest config in effect as read: the file, its text, and how it was read. */
  readonly conf?: { readonly file: string; readonly text: string; readonly from: string };
  /** The Ofelia job commands of the compose file, with the job names. */
  readonly jobCommands?: readonly { readonly job: string; readonly command: string }[];
  /** Who runs VS Code (host runtime only). */
  readonly processUser?: { readonly uid: number; readonly name: string };
  /** The database container's name and Config.User (container runtime). */
  readonly container?: { readonly name: string; readonly user?: string };
}

export interface Site {
  readonly runtime: RuntimeKind;
  readonly stanza: string;
  /** PGDATA where the tools run. */
  readonly dataDir: string;
  /** The pgBackRest config file in effect (where the tools run). */
  readonly configFile: string;
  /** `--config` for pgBackRest: only the setting (otherwise pgBackRest finds the same file itself). */
  readonly configOption?: string;
  /** The config text, when it could be read. */
  readonly conf?: string;
  /** manual_backup on this machine and where the tools run. */
  readonly manualHostDir: string;
  readonly manualRuntimeDir: string;
  /** The OS user the tools run as; `runAs` is what HostRuntime needs for it (undefined: VS Code's own user). */
  readonly toolUser: string;
  readonly runAs?: string;
  /** Every value each rule looked at, in order of precedence. */
  readonly sources: readonly SiteSource[];
}

/** The stanzas Ofelia's pgbackrest commands name with `--stanza=` (or `--stanza x`), each with its jobs. */
export function stanzasOfJobs(jobs: readonly { job: string; command: string }[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const j of jobs) {
    const name = stanzaOfCommand(j.command);
    if (name) out.set(name, [...(out.get(name) ?? []), j.job]);
  }
  return out;
}

/** The config file pgBackRest reads: the setting, else PGBACKREST_CONFIG, else its defaults (in the order it tries them). */
export function configCandidates(settings: SiteSettings | undefined, env: SiteInputs['toolEnv']): string[] {
  const set = settings?.pgbackrestConfig?.trim();
  if (set) return [set];
  const fromEnv = env?.['PGBACKREST_CONFIG']?.trim();
  if (fromEnv) return [fromEnv];
  return [...PGBACKREST_DEFAULT_CONFIGS];
}

/**
 * The folder whose `*.conf` files pgBackRest adds to its config: PGBACKREST_CONFIG_INCLUDE_PATH, else its default
 * /etc/pgbackrest/conf.d, which pgBackRest skips when the config file is named explicitly (PGBACKREST_CONFIG, or
 * the `tsdbOps.pgbackrestConfig` setting, which the extension passes as `--config`).
 */
export function configIncludePath(settings: SiteSettings | undefined, env: SiteInputs['toolEnv']): string | undefined {
  const inc = env?.['PGBACKREST_CONFIG_INCLUDE_PATH']?.trim();
  if (inc) return inc;
  if (settings?.pgbackrestConfig?.trim() || env?.['PGBACKREST_CONFIG']?.trim()) return undefined;
  return '/etc/pgbackrest/conf.d';
}

/** The OS user of the tools (see the header). */
export function toolUserOf(
  runtime: RuntimeKind,
  processUser: SiteInputs['processUser'],
  container?: { readonly name: string; readonly user?: string },
): { user: string; runAs?: string; from: string } {
  if (runtime === 'container') {
    const u = container?.user?.trim();
    if (u && u !== 'root' && u !== '0' && !u.startsWith('0:') && !u.startsWith('root:'))
      return { user: u, from: `Config.User of container ${container!.name} (the image's user)` };
    return { user: CONTAINER_TOOL_USER, from: 'default (postgres: the owner of PGDATA in timescaledb-ha)' };
  }
  if (!processUser || processUser.uid === 0)
    return { user: 'postgres', runAs: 'postgres', from: 'VS Code runs as root: PostgreSQL tools refuse root' };
  return { user: processUser.name, from: "VS Code's own user" };
}

/** Who runs VS Code (this process). */
export function currentProcessUser(): { uid: number; name: string } {
  const u = userInfo();
  return { uid: u.uid, name: u.username };
}

/** `runAs` for a HostRuntime of this process (the OS-user rule of toolUserOf). */
export function hostRunAs(processUser = currentProcessUser()): string | undefined {
  return toolUserOf('host', processUser).runAs;
}

export function resolveSite(input: SiteInputs): Site {
  const sources: SiteSource[] = [];
  const add = (field: SiteField, value: string | undefined, from: string, used = false) => {
    if (value !== undefined && value !== '') sources.push({ field, value, from, used });
  };
  const env = input.toolEnv ?? {};
  const envFrom = input.toolEnvFrom ?? (input.runtime === 'host' ? "this machine's environment" : 'the container');
  const settings = input.settings ?? {};
  const confText = input.conf?.text;
  add('runtime', input.runtime, settings.runtime ? 'setting tsdbOps.backups.runtime' : 'default', true);

  // Config file.
  const candidates = configCandidates(settings, env);
  const configFile = input.conf?.file ?? candidates[0]!;
  add('pgbackrestConfig', settings.pgbackrestConfig?.trim(), 'setting tsdbOps.backups.pgbackrestConfig');
  add('pgbackrestConfig', env['PGBACKREST_CONFIG']?.trim(), `PGBACKREST_CONFIG of ${envFrom}`);
  if (candidates.length > 1) add('pgbackrestConfig', configFile, "pgBackRest's default");
  markFirst(sources, 'pgbackrestConfig');
  if (input.conf) add('pgbackrestConfig', input.conf.file, `read ${input.conf.from}`);

  // Stanza.
  const sections = confText !== undefined ? stanzasInConf(confText) : [];
  const jobStanzas = stanzasOfJobs(input.jobCommands ?? []);
  const envStanza = env['PGBACKREST_STANZA']?.trim();
  let stanza: string | undefined;
  const pick = (value: string | undefined, from: string, usable = true) => {
    if (value === undefined || value === '') return;
    const use = usable && stanza === undefined;
    if (use) stanza = value;
    add('stanza', value, from, use);
  };
  pick(settings.stanza?.trim(), 'setting tsdbOps.backups.stanza');
  for (const [name, jobs] of jobStanzas)
    pick(
      name,
      `--stanza= of Ofelia job${jobs.length > 1 ? 's' : ''} ${jobs.join(', ')}` +
        (jobStanzas.size > 1 ? ' (the jobs disagree: not used)' : ''),
      jobStanzas.size === 1,
    );
  for (const name of sections)
    pick(
      name,
      `section [${name}] of ${configFile}` + (sections.length > 1 ? ' (one of several: not used)' : ''),
      sections.length === 1,
    );
  if (envStanza)
    pick(
      envStanza,
      `PGBACKREST_STANZA of ${envFrom}` + (sections.includes(envStanza) ? '' : ` (no [${envStanza}] in the config)`),
      sections.includes(envStanza),
    );
  pick(DEFAULT_STANZA, 'default');
  const finalStanza = stanza!;

  // PGDATA.
  let dataDir: string | undefined;
  const data = (value: string | undefined, from: string) => {
    if (!value) return;
    const use = dataDir === undefined;
    if (use) dataDir = value;
    add('pgdata', value, from, use);
  };
  data(
    confText !== undefined ? confOption(confText, finalStanza, 'pg1-path') : undefined,
    `pg1-path of [${finalStanza}] in ${configFile}`,
  );
  data(env['PGDATA']?.trim(), `PGDATA of ${envFrom}`);
  data(DEFAULT_PGDATA, 'default');

  // Folders.
  const manualHostDir = join(input.stack.backupsDir, MANUAL_BACKUP_DIR);
  const manualRuntimeDir =
    input.runtime === 'container' ? posix.join(containerBackupsDir(input.stack), MANUAL_BACKUP_DIR) : manualHostDir;
  add('manualBackupDir', manualHostDir, 'on this machine (the backups folder of the infra)', true);
  if (input.runtime === 'container')
    add('manualBackupDir', manualRuntimeDir, 'in the container (where the backups folder is mounted)', true);

  const user = toolUserOf(input.runtime, input.processUser, input.container);
  add('toolUser', user.user, user.from, true);

  return {
    runtime: input.runtime,
    stanza: finalStanza,
    dataDir: dataDir!,
    configFile,
    configOption: settings.pgbackrestConfig?.trim() || undefined,
    conf: confText,
    manualHostDir,
    manualRuntimeDir,
    toolUser: user.user,
    runAs: user.runAs,
    sources,
  };
}

function markFirst(sources: SiteSource[], field: SiteField): void {
  const i = sources.findIndex((s) => s.field === field);
  if (i >= 0) sources[i] = { ...sources[i]!, used: true };
}

/** manual_backup on this machine. */
export function manualBackupHostDir(stack: Pick<StackConfig, 'backupsDir'>): string {
  return join(stack.backupsDir, MANUAL_BACKUP_DIR);
}

/** Restore drill reports on this machine: `<backups folder>/drills` (the stack context's `drillsDir`). */
export function drillsHostDir(stack: Pick<StackConfig, 'backupsDir'>): string {
  return join(stack.backupsDir, DRILLS_DIR);
}

/** Where the database service mounts the host's backups folder (the guide: /var/lib/pgbackrest). */
export function containerBackupsDir(stack: Pick<StackConfig, 'backupsDir' | 'dbService'>): string {
  const v = stack.dbService?.volumes.find((m) => m.type === 'bind' && m.source === stack.backupsDir);
  return v?.target ?? CONTAINER_BACKUPS_DIR;
}

/** The infra's pgbackrest.conf on this machine: the file mounted into the database service, else `<infra>/pgbackrest.conf`. */
export function pgbackrestConfOnHost(stack: Pick<StackConfig, 'dbService' | 'infraDir'>): string {
  const mounted = stack.dbService?.volumes.find(
    (v) => v.type === 'bind' && v.source && /pgbackrest\.conf$/.test(v.target),
  );
  return mounted?.source ?? join(stack.infraDir, 'pgbackrest.conf');
}

/**
 * A path as the database container sees it: a host path under a bind mount of the service becomes
 * the mount's target (`<infra>/backups/manual_backup/x.tar` → `/var/lib/pgbackrest/manual_backup/x.tar`);
 * a path already under a mount target is kept. Anything else is refused with the mounts named.
 */
export function containerPath(volumes: readonly VolumeMount[], path: string): string {
  const binds = volumes.filter((v) => v.type === 'bind' && v.source);
  let best: { v: VolumeMount; rel: string } | undefined;
  for (const v of binds) {
    const rel = relative(v.source!, path);
    if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
      if (!best || v.source!.length > best.v.source!.length) best = { v, rel };
    }
  }
  if (best) return best.rel ? posix.join(best.v.target, best.rel.split(sep).join('/')) : best.v.target;
  if (volumes.some((v) => path === v.target || path.startsWith(`${v.target.replace(/\/+$/, '')}/`))) return path;
  throw new OpsError(
    'config',
    `${path} is not inside a folder the database container mounts ` +
      `(${binds.map((v) => `${v.source} → ${v.target}`).join(', ') || 'none'})` +
      `: copy the backup into the backups folder first.`,
  );
}

/** The reverse of containerPath: where a container path of a bind mount is on this machine (undefined if not bind-mounted). */
export function hostPath(volumes: readonly VolumeMount[], path: string): string | undefined {
  let best: VolumeMount | undefined;
  for (const v of volumes) {
    if (v.type !== 'bind' || !v.source) continue;
    const t = v.target.replace(/\/+$/, '');
    if ((path === t || path.startsWith(`${t}/`)) && (!best || t.length > best.target.length)) best = v;
  }
  if (!best) return undefined;
  const rest = path.slice(best.target.replace(/\/+$/, '').length).replace(/^\//, '');
  return rest ? join(best.source!, ...rest.split('/')) : best.source;
}

const SITE_ENV = ['PGDATA', 'PGBACKREST_CONFIG', 'PGBACKREST_CONFIG_INCLUDE_PATH', 'PGBACKREST_STANZA'] as const;

export interface ReadSiteOptions {
  readonly settings?: SiteSettings;
  /** Where the tools run: reads the config file when it is not bind-mounted from this machine, and (container) its environment. */
  readonly runtime?: ToolRuntime;
  /** The database container's inspect data, when the caller has it (running or stopped). */
  readonly container?: { readonly name: string; readonly env: readonly string[] | undefined; readonly user?: string };
  /** This machine's environment and user (tests); default process.env and the process's user. */
  readonly processEnv?: Readonly<Record<string, string | undefined>>;
  readonly processUser?: { readonly uid: number; readonly name: string };
}

/** Gathers the inputs of resolveSite for a stack (see the header) and resolves them. */
export async function readSite(stack: StackConfig, opts: ReadSiteOptions = {}): Promise<Site> {
  const kind: RuntimeKind = opts.runtime?.kind ?? opts.settings?.runtime ?? 'container';
  let toolEnv: Record<string, string | undefined>;
  let toolEnvFrom: string;
  if (kind === 'host') {
    const pe = opts.processEnv ?? process.env;
    toolEnv = Object.fromEntries(SITE_ENV.map((k) => [k, pe[k]]));
    toolEnvFrom = "this machine's environment";
  } else if (opts.container) {
    toolEnv = envRecord(opts.container.env);
    toolEnvFrom = `container ${opts.container.name}`;
  } else {
    const fromRuntime = await opts.runtime?.environment?.().catch(() => undefined);
    if (fromRuntime) {
      toolEnv = fromRuntime;
      toolEnvFrom = opts.runtime!.description;
    } else {
      toolEnv = { ...stack.dbService?.environment };
      toolEnvFrom = `service ${stack.dbService?.name ?? '?'} in ${stack.composeFile}`;
    }
  }
  const include = configIncludePath(opts.settings, toolEnv);
  const conf = withIncludes(
    await readConf(stack, kind, configCandidates(opts.settings, toolEnv), opts.runtime),
    await readIncludes(kind, include, include && hostPath(stack.dbService?.volumes ?? [], include), opts.runtime),
    PGBACKREST_DEFAULT_CONFIGS[0],
  );
  const jobCommands = ofeliaJobs(stack.compose)
    .filter((j) => j.command)
    .map((j) => ({ job: j.name, command: j.command! }));
  const processUser = opts.processUser ?? (kind === 'host' ? currentProcessUser() : undefined);
  return resolveSite({
    stack,
    runtime: kind,
    settings: opts.settings,
    toolEnv,
    toolEnvFrom,
    conf,
    jobCommands,
    processUser,
    container: opts.container ? { name: opts.container.name, user: opts.container.user } : undefined,
  });
}

async function readConf(
  stack: StackConfig,
  kind: RuntimeKind,
  candidates: readonly string[],
  runtime: ToolRuntime | undefined,
): Promise<SiteInputs['conf']> {
  for (const file of candidates) {
    if (kind === 'host') {
      const text = await readFile(file, 'utf8').catch(() => undefined);
      if (text !== undefined) return { file, text, from: 'on this machine' };
      continue;
    }
    const onHost = hostPath(stack.dbService?.volumes ?? [], file);
    if (onHost) {
      const text = await readFile(onHost, 'utf8').catch(() => undefined);
      if (text !== undefined) return { file, text, from: `from ${onHost} (mounted at ${file})` };
    }
    if (runtime) {
      const r = await runtime.run(['cat', file]).catch(() => undefined);
      if (r?.exitCode === 0) return { file, text: r.stdoutLines.join('\n'), from: `in ${runtime.description}` };
    }
  }
  if (kind === 'container' && !runtime) {
    // Nothing running to ask and the file in effect is not mounted: the infra's own conf is the best guess.
    const file = pgbackrestConfOnHost(stack);
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined)
      return { file: candidates[0]!, text, from: `from ${file} (the infra's; not verified in the container)` };
  }
  return undefined;
}
