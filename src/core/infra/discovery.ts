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

  // A compose file is read (and its migrations folder looked for) as soon as the search sees it, while the search
  // goes on below it: in a starting window every wait is a turn of a busy event loop. The shallowest that uses a
  // database image wins, as before.
  const reads = new Map<string, Promise<CandidateRead>>();
  const { candidates, searched } = await findComposeFiles(opts.workspaceFolder, opts.maxDepth ?? 4, (file) =>
    reads.set(file, readCandidate(opts, file, env)),
  );
  const read = await Promise.all(candidates.map((file) => reads.get(file)!));
  const i = read.findIndex((r) => r.usesDatabaseImage);
  // The winner's files were read and parsed once, here: readStack takes them as they are.
  if (i >= 0)
    return { kind: 'found', stack: await readStack(opts, dirname(candidates[i]!), candidates[i]!, env, read[i]) };
  return { kind: 'none', workspaceFolder: opts.workspaceFolder, searched };
}

/** Reads the stack in `infraDir`: `.env`, the compose file, and the derived folders. */
export async function readStack(
  opts: DiscoverOptions,
  infraDir: string,
  composeFile: string,
  environment: Readonly<Record<string, string | undefined>> = {},
  /** The compose file and `.env` (and the migrations folder) as the search already read them (not read again). */
  parsed?: StackFiles & { readonly migrationsDir?: Promise<string | undefined> },
): Promise<StackConfig> {
  const problems: InfraProblem[] = [];
  const envFile = join(infraDir, '.env');
  // The files and the migrations folder are read at once (each an I/O round trip; in a window that is starting
  // up, each await waits for a busy event loop).
  const migrationsDir = parsed?.migrationsDir ?? findMigrationsDir(opts, infraDir);
  const { envText, env, envProblems, vars, rel, model, composeProblems } =
    parsed ?? (await readStackFiles(opts, composeFile, envFile, environment, false));
  problems.push(...envProblems);

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
    migrationsDir: await migrationsDir,
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
  const candidates: string[] = [];
  for (;;) {
    for (const sub of [join('database', 'migrations'), 'migrations']) candidates.push(join(dir, sub));
    if (dir === root || !dir.startsWith(root + sep)) break;
    dir = dirname(dir);
  }
  // All looked at once; the first in this order wins.
  const found = await Promise.all(candidates.map(isDir));
  return candidates.find((_, i) => found[i]);
}

async function firstComposeFile(dir: string): Promise<string | undefined> {
  const files = COMPOSE_FILE_NAMES.map((name) => join(dir, name));
  const found = await Promise.all(files.map(isFile));
  return files.find((_, i) => found[i]);
}

/** `f` over `items` with at most `limit` running at once, results in the items' order. */
async function mapBounded<T, R>(items: readonly T[], f: (x: T) => Promise<R>, limit = 16): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Compose files below `root`, shallowest first (breadth-first), skipping dependency and build folders. */
async function findComposeFiles(
  root: string,
  maxDepth: number,
  onFound: (file: string) => void,
): Promise<{ candidates: string[]; searched: number }> {
  const candidates: string[] = [];
  let level = [root];
  let searched = 0;
  for (let depth = 0; depth <= maxDepth && level.length > 0; depth++) {
    // The folders of one level are read at once (bounded), their results taken in order as before.
    const read = await mapBounded(level, async (dir) => {
      const entries = (await readdir(dir, { withFileTypes: true }).catch(() => [])).sort((a, b) =>
        a.name.localeCompare(b.name),
      );
      for (const e of entries)
        if ((COMPOSE_FILE_NAMES as readonly string[]).includes(e.name)) onFound(join(dir, e.name));
      const subs = entries.filter((e) => !SKIP_DIRS.has(e.name) && !e.name.startsWith('.'));
      const isSub = await Promise.all(
        subs.map((e) => e.isDirectory() || (e.isSymbolicLink() && isDir(join(dir, e.name)))),
      );
      return { dir, entries, subs: subs.filter((_, i) => isSub[i]).map((e) => join(dir, e.name)) };
    });
    const next: string[] = [];
    for (const { dir, entries, subs } of read) {
      searched++;
      const names = new Set(entries.map((e) => e.name));
      for (const name of COMPOSE_FILE_NAMES) if (names.has(name)) candidates.push(join(dir, name));
      next.push(...subs);
    }
    level = next;
  }
  return { candidates, searched };
}

/** A stack's compose file and `.env`, read and parsed (with the variables Compose would use). */
export interface StackFiles {
  /** Undefined: no `.env`. */
  readonly envText: string | undefined;
  readonly env: InfraEnv;
  readonly envProblems: readonly InfraProblem[];
  readonly vars: Readonly<Record<string, string>>;
  /** `.env` relative to the workspace folder, as problems name it. */
  readonly rel: string;
  readonly composeText: string;
  readonly model: ComposeModel | undefined;
  readonly composeProblems: readonly InfraProblem[];
}

/** Reads and parses a compose file and the `.env` beside it; `lenient`: an unreadable compose file reads as empty. */
async function readStackFiles(
  opts: DiscoverOptions,
  composeFile: string,
  envFile: string,
  environment: Readonly<Record<string, string | undefined>>,
  lenient: boolean,
): Promise<StackFiles> {
  const [envText, composeText] = await Promise.all([
    readFile(envFile, 'utf8').catch(() => undefined),
    lenient ? readFile(composeFile, 'utf8').catch(() => '') : readFile(composeFile, 'utf8'),
  ]);
  const { env, problems: envProblems } = parseInfraEnv(envText ?? '', envFile);
  const vars = { ...env.raw, ...definedOnly(environment) };
  const rel = relative(opts.workspaceFolder, envFile) || '.env';
  const { model, problems: composeProblems } = parseCompose(composeText, composeFile, vars, rel);
  return { envText, env, envProblems, vars, rel, composeText, model, composeProblems };
}

/**
 * A candidate compose file, read and parsed once (the winner's reading becomes its stack), and whether it has a
 * service with a TimescaleDB/PostgreSQL image (after interpolation from its `.env`).
 */
type CandidateRead = StackFiles & { usesDatabaseImage: boolean; migrationsDir: Promise<string | undefined> };

async function readCandidate(
  opts: DiscoverOptions,
  file: string,
  environment: Readonly<Record<string, string | undefined>>,
): Promise<CandidateRead> {
  // Looked for now, with the files (findMigrationsDir never rejects): the winner's stack takes it.
  const migrationsDir = findMigrationsDir(opts, dirname(file));
  const files = await readStackFiles(opts, file, join(dirname(file), '.env'), environment, true);
  const uses =
    files.model?.services.some((s) => DB_IMAGE.test(s.image ?? '')) ||
    // Broken YAML, or an image from a variable that is not set: still the stack when the text names
    // such an image (`image: ${TIMESCALEDB_IMAGE}`), so that its problems get shown.
    /^\s*image:\s*.*(timescale|postgres|postgis)/im.test(files.composeText);
  return {
    ...files,
    usesDatabaseImage: Boolean(uses),
    migrationsDir,
  };
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
