/**
 * Finds a workspace folder's infra: the folder with the compose file of the TimescaleDB stack,
 * its `.env`, and the folders the extension works with (migrations, backups, logs).
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { parseCompose, composeProjectName, type ComposeModel, type ComposeService } from './compose';
import { parseInfraEnv, type InfraEnv } from './env-file';
import type { InfraProblem } from './problems';

export const COMPOSE_FILE_NAMES = ['docker-compose.yaml', 'docker-compose.yml', 'compose.yaml', 'compose.yml'] as const;

/** Folders never searched for a compose file. */
const SKIP_DIRS = new Set([
  'node_modules',
  '.git',
  'target',
  'dist',
  'out',
  '.venv',
  'venv',
  'vendor',
  '.cache',
  'build',
  '.vscode-test',
]);

const DB_IMAGE = /timescale|postgres|postgis/i;

export interface DiscoverOptions {
  readonly workspaceFolder: string;
  /** `tsdbOps.infraPath`: absolute or relative to the workspace folder; empty to search. */
  readonly infraPath?: string;
  /** `tsdbOps.migrations.path`: absolute or relative to the workspace folder; empty for the default places. */
  readonly migrationsPath?: string;
  /** The environment Compose would see (overrides `.env`, as in Compose). Default: none. */
  readonly environment?: Readonly<Record<string, string | undefined>>;
  /** How deep below the workspace folder to search (default 4). */
  readonly maxDepth?: number;
}

export interface StackConfig {
  readonly workspaceFolder: string;
  readonly infraDir: string;
  readonly composeFile: string;
  readonly envFile: string;
  readonly envFileExists: boolean;
  readonly env: InfraEnv;
  /** Undefined when the compose file could not be read (see problems). */
  readonly compose?: ComposeModel;
  readonly projectName: string;
  /** The service running TimescaleDB/PostgreSQL. */
  readonly dbService?: ComposeService;
  readonly migrationsDir?: string;
  /** Host folder mounted at /var/lib/pgbackrest: the pgBackRest repository (`backup/`) and `manual_backup/`. */
  readonly backupsDir: string;
  readonly pgbackrestLogDir: string;
  readonly ofeliaLogDir: string;
  readonly problems: readonly InfraProblem[];
}

export type Discovery =
  | { readonly kind: 'found'; readonly stack: StackConfig }
  | { readonly kind: 'none'; readonly workspaceFolder: string; readonly searched: number }
  /** The setting points somewhere wrong: there is nothing to show but the problem. */
  | { readonly kind: 'invalid'; readonly workspaceFolder: string; readonly problems: readonly InfraProblem[] };

export async function discoverInfra(opts: DiscoverOptions): Promise<Discovery> {
  const env = opts.environment ?? {};
  if (opts.infraPath?.trim()) {
    const dir = resolve(opts.workspaceFolder, opts.infraPath.trim());
    const composeFile = await firstComposeFile(dir);
    if (!composeFile) {
      const exists = await isDir(dir);
      return {
        kind: 'invalid',
        workspaceFolder: opts.workspaceFolder,
        problems: [
          {
            file: dir,
            severity: 'error',
            message: exists
              ? `tsdbOps.infraPath is "${opts.infraPath}", but ${dir} holds no ${COMPOSE_FILE_NAMES.join(', ')}.`
              : `tsdbOps.infraPath is "${opts.infraPath}", but ${dir} does not exist.`,
            fix: 'Point tsdbOps.infraPath at the folder with docker-compose.yaml and .env (e.g. connect/infra), or clear it to search the workspace.',
          },
        ],
      };
    }
    return { kind: 'found', stack: await readStack(opts, dir, composeFile, env) };
  }

  const { candidates, searched } = await findComposeFiles(opts.workspaceFolder, opts.maxDepth ?? 4);
  for (const file of candidates) {
    if (await usesDatabaseImage(file, env)) {
      return { kind: 'found', stack: await readStack(opts, dirname(file), file, env) };
    }
  }
  return { kind: 'none', workspaceFolder: opts.workspaceFolder, searched };
}

/** Reads the stack in `infraDir`: `.env`, the compose file, and the derived folders. */
export async function readStack(
  opts: DiscoverOptions,
  infraDir: string,
  composeFile: string,
  environment: Readonly<Record<string, string | undefined>> = {},
): Promise<StackConfig> {
  const problems: InfraProblem[] = [];
  const envFile = join(infraDir, '.env');
  const envText = await readFile(envFile, 'utf8').catch(() => undefined);
  const { env, problems: envProblems } = parseInfraEnv(envText ?? '', envFile);
  problems.push(...envProblems);

  const vars = { ...env.raw, ...definedOnly(environment) };
  const composeText = await readFile(composeFile, 'utf8');
  const rel = relative(opts.workspaceFolder, envFile) || '.env';
  const { model, problems: composeProblems } = parseCompose(composeText, composeFile, vars, rel);

  if (envText === undefined && model && model.variables.size > 0) {
    // One clear problem instead of one per variable.
    const names = [...model.variables.keys()].filter((n) => environment[n] === undefined);
    const line = Math.min(...[...model.variables.values()]);
    problems.push({
      file: composeFile,
      line,
      severity: 'error',
      message: `${rel} not found: ${basename(composeFile)} uses ${names.map((n) => `\${${n}}`).join(', ')}, which Compose reads from it.`,
      fix: `Create ${rel} with ${names.map((n) => `${n}=…`).join(', ')} (the infra guide, step 1, lists them).`,
    });
    problems.push(...composeProblems.filter((p) => !/is not set/.test(p.message)));
  } else {
    problems.push(...composeProblems);
  }

  const dbService = model ? findDbService(model) : undefined;
  const bindFor = (target: string): string | undefined =>
    dbService?.volumes.find((v) => v.type === 'bind' && v.target.replace(/\/$/, '') === target)?.source;
  const ofelia = model?.services.find((s) => /ofelia/i.test(s.image ?? '') || /ofelia/i.test(s.name));
  const ofeliaLogDir =
    ofelia?.volumes.find((v) => v.type === 'bind' && /log/i.test(v.target))?.source ?? join(infraDir, 'ofelia_logs');

  return {
    workspaceFolder: opts.workspaceFolder,
    infraDir,
    composeFile,
    envFile,
    envFileExists: envText !== undefined,
    env,
    compose: model,
    projectName: model ? composeProjectName(model, vars) : basename(infraDir).toLowerCase(),
    dbService,
    migrationsDir: await findMigrationsDir(opts, infraDir),
    backupsDir: bindFor('/var/lib/pgbackrest') ?? join(infraDir, 'backups'),
    pgbackrestLogDir: bindFor('/var/log/pgbackrest') ?? join(infraDir, 'logs', 'pgbackrest'),
    ofeliaLogDir,
    problems,
  };
}

export function findDbService(model: ComposeModel): ComposeService | undefined {
  return (
    model.services.find((s) => /timescale/i.test(s.image ?? '')) ??
    model.services.find((s) => DB_IMAGE.test(s.image ?? '')) ??
    model.services.find((s) => /^(timescaledb|timescale|postgres|postgresql|db|database)$/i.test(s.name))
  );
}

/** The migrations folder: the setting, else `database/migrations` or `migrations` in the infra folder or a parent up to the workspace folder. */
async function findMigrationsDir(opts: DiscoverOptions, infraDir: string): Promise<string | undefined> {
  if (opts.migrationsPath?.trim()) return resolve(opts.workspaceFolder, opts.migrationsPath.trim());
  const root = resolve(opts.workspaceFolder);
  let dir = resolve(infraDir);
  for (;;) {
    for (const sub of [join('database', 'migrations'), 'migrations']) {
      if (await isDir(join(dir, sub))) return join(dir, sub);
    }
    if (dir === root || !dir.startsWith(root + sep)) break;
    dir = dirname(dir);
  }
  return undefined;
}

async function firstComposeFile(dir: string): Promise<string | undefined> {
  for (const name of COMPOSE_FILE_NAMES) {
    const file = join(dir, name);
    if (await isFile(file)) return file;
  }
  return undefined;
}

/** Compose files below `root`, shallowest first (breadth-first), skipping dependency and build folders. */
async function findComposeFiles(root: string, maxDepth: number): Promise<{ candidates: string[]; searched: number }> {
  const candidates: string[] = [];
  let level = [root];
  let searched = 0;
  for (let depth = 0; depth <= maxDepth && level.length > 0; depth++) {
    const next: string[] = [];
    for (const dir of level) {
      searched++;
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      const names = new Set(entries.map((e) => e.name));
      for (const name of COMPOSE_FILE_NAMES) if (names.has(name)) candidates.push(join(dir, name));
      for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
        if (SKIP_DIRS.has(e.name) || e.name.startsWith('.')) continue;
        if (e.isDirectory() || (e.isSymbolicLink() && (await isDir(join(dir, e.name))))) next.push(join(dir, e.name));
      }
    }
    level = next;
  }
  return { candidates, searched };
}

/** Whether a compose file has a service with a TimescaleDB/PostgreSQL image (after interpolation from its `.env`). */
async function usesDatabaseImage(
  file: string,
  environment: Readonly<Record<string, string | undefined>>,
): Promise<boolean> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const envText = await readFile(join(dirname(file), '.env'), 'utf8').catch(() => '');
  const vars = { ...parseInfraEnv(envText, '.env').env.raw, ...definedOnly(environment) };
  const { model } = parseCompose(text, file, vars);
  if (model?.services.some((s) => DB_IMAGE.test(s.image ?? ''))) return true;
  // Broken YAML, or an image from a variable that is not set: still the stack when the text names
  // such an image (`image: ${TIMESCALEDB_IMAGE}`), so that its problems get shown.
  return /^\s*image:\s*.*(timescale|postgres|postgis)/im.test(text);
}

function definedOnly(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

async function isDir(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}
async function isFile(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}
