/**
 * The infra guide's first start (`scripts/clean_start.sh`): when the infra has the script, it runs
 * (bash, argv, in the infra folder, with the engine and project name in its environment); otherwise
 * the same steps run here: create the folders mounted into the containers and hand them to the
 * container's postgres user, `up -d`, wait for PostgreSQL, pgBackRest stanza-create and check.
 * Every step is idempotent, so running it twice is safe.
 */
import type Dockerode from 'dockerode';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import type { StackConfig } from '../infra';
import { composeEnv, runCompose, runStreamed, type ComposeCli } from '../docker/compose-cli';
import { execInContainer } from '../docker/exec';
import { composeFailed } from '../errors/docker';
import { toolCancelled } from '../errors/process';
import { runningServiceContainer } from '../docker/find';
import type { StackContext } from './context';
import { CONTAINER_BACKUPS_DIR, MANUAL_BACKUP_DIR, REPO_DIR } from './site';
import { OpsError } from '../errors/error';

export type StackProfile = 'database' | 'full';

/** The guide's default: ONLY_DATABASE=TRUE starts only the database, anything else every service. */
export function defaultProfile(stack: Pick<StackConfig, 'env'>): StackProfile {
  return stack.env.onlyDatabase === true ? 'database' : 'full';
}

/** Compose's arguments for a profile: `--profile full` or nothing. */
export function profileArgs(profile: StackProfile): string[] {
  return profile === 'full' ? ['--profile', 'full'] : [];
}

export function cleanStartScript(stack: Pick<StackConfig, 'infraDir'>): string | undefined {
  const p = join(stack.infraDir, 'scripts', 'clean_start.sh');
  return existsSync(p) ? p : undefined;
}

export interface CleanStartOptions {
  readonly docker: Dockerode;
  readonly dockerHost?: string;
  /** The engine's variables for the CLIs (cliDockerEnv); DOCKER_HOST here wins over dockerHost. */
  readonly dockerEnv?: Readonly<Record<string, string>>;
  readonly profile?: StackProfile;
  readonly signal?: AbortSignal;
  readonly step?: (title: string) => void;
  readonly onLine?: (line: string) => void;
  readonly cli?: ComposeCli;
  /** Ignore scripts/clean_start.sh and run the built-in steps (default false). */
  readonly builtin?: boolean;
  /** Max wait for PostgreSQL to accept connections (default 120 s). */
  readonly readyTimeoutMs?: number;
  /**
   * The stack context (with the container runtime: the setup runs in the database container): the stanza
   * and the config option come from its site(), read again once PostgreSQL accepts connections.
   */
  readonly context: Pick<StackContext, 'site' | 'refresh'>;
}

export interface CleanStartResult {
  readonly mode: 'script' | 'builtin';
  readonly script?: string;
  readonly profile: StackProfile;
  readonly createdFolders: string[];
  readonly stanza?: string;
}

/** Host folders the stack mounts that do not exist yet (bind sources inside or outside the infra folder), plus the backup folders. */
export function foldersToCreate(stack: StackConfig): string[] {
  const dirs = new Set<string>();
  for (const s of stack.compose?.services ?? []) {
    for (const v of s.volumes) {
      if (v.type === 'bind' && v.source && !existsSync(v.source)) dirs.add(v.source);
    }
  }
  for (const d of [join(stack.backupsDir, REPO_DIR), join(stack.backupsDir, MANUAL_BACKUP_DIR), stack.pgbackrestLogDir])
    dirs.add(d);
  return [...dirs];
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export async function cleanStart(stack: StackConfig, opts: CleanStartOptions): Promise<CleanStartResult> {
  const profile = opts.profile ?? defaultProfile(stack);
  const script = opts.builtin ? undefined : cleanStartScript(stack);
  const line = (l: string) => opts.onLine?.(l);
  if (script) {
    opts.step?.(`Running ${relative(stack.infraDir, script)}`);
    const env = composeEnv({ dockerHost: opts.dockerHost, dockerEnv: opts.dockerEnv });
    env['COMPOSE_PROJECT_NAME'] = stack.projectName;
    env['ONLY_DATABASE'] = profile === 'database' ? 'TRUE' : 'FALSE';
    const argv = ['bash', script];
    line(
      `$ ${argv.join(' ')}   (in ${stack.infraDir}, COMPOSE_PROJECT_NAME=${stack.projectName}, ONLY_DATABASE=${env['ONLY_DATABASE']})`,
    );
    const r = await runStreamed(argv, { env, cwd: stack.infraDir, signal: opts.signal, onLine: line });
    if (r.cancelled) throw toolCancelled(argv);
    if (r.exitCode !== 0) throw composeFailed(argv, r.exitCode, r.tail);
    return { mode: 'script', script, profile, createdFolders: [] };
  }

  const db = stack.dbService;
  if (!db)
    throw new OpsError(
      'config',
      `${stack.composeFile} has no database service (a service running a timescaledb or postgres image): clean start has nothing to set up.`,
    );
  const compose = (args: string[]) => {
    return runCompose(stack, args, {
      dockerHost: opts.dockerHost,
      dockerEnv: opts.dockerEnv,
      signal: opts.signal,
      cli: opts.cli,
      onLine: line,
    });
  };

  opts.step?.('Creating the mounted folders');
  const created: string[] = [];
  for (const d of foldersToCreate(stack)) {
    if (!isDir(d)) {
      mkdirSync(d, { recursive: true });
      created.push(d);
      line(`created ${d}`);
    }
  }

  opts.step?.("Handing them to the container's postgres user");
  // The database service's writable folder mounts (PG_DATA, backups, logs), as the guide's script does.
  const targets = db.volumes
    .filter((v) => v.type === 'bind' && !v.readOnly && v.source && isDir(v.source))
    .map((v) => v.target);
  const backupsMount = db.volumes.find(
    (v) => v.type === 'bind' && v.target.replace(/\/$/, '') === CONTAINER_BACKUPS_DIR,
  );
  if (backupsMount)
    targets.push(posix.join(backupsMount.target, REPO_DIR), posix.join(backupsMount.target, MANUAL_BACKUP_DIR));
  if (targets.length) {
    await compose([
      'run',
      '--rm',
      '--no-deps',
      '--user',
      'root',
      '--entrypoint',
      'chown',
      db.name,
      'postgres:postgres',
      ...targets,
    ]);
  }

  opts.step?.(`Starting the stack (${profile === 'full' ? 'every service' : 'database only'})`);
  await compose([...profileArgs(profile), 'up', '-d']);

  opts.step?.('Waiting for PostgreSQL');
  const c = await runningServiceContainer(opts.docker, stack.projectName, db.name);
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 120_000);
  for (;;) {
    const r = await execInContainer(opts.docker, c.Id, ['pg_isready', '-q', '-h', '/var/run/postgresql'], {
      signal: opts.signal,
    });
    if (r.exitCode === 0) break;
    if (Date.now() > deadline)
      throw new OpsError(
        'timeout',
        `PostgreSQL in ${c.Names[0]?.replace(/^\//, '') ?? c.Id} ` +
          `did not accept connections within ${(opts.readyTimeoutMs ?? 120_000) / 1000} s: ` +
          `see its logs (TimescaleDB Ops: Show Logs).`,
      );
    if (opts.signal?.aborted) throw toolCancelled(['pg_isready']);
    await new Promise((r2) => setTimeout(r2, 500));
  }
  line('PostgreSQL accepts connections');

  // The container was (re)created just now: what the context knew of it is stale.
  opts.context.refresh();
  const { stanza, configOption } = await opts.context.site();
  opts.step?.(`Setting up pgBackRest (stanza ${stanza})`);
  for (const cmd of ['stanza-create', 'check']) {
    const argv = [
      'pgbackrest',
      ...(configOption ? [`--config=${configOption}`] : []),
      `--stanza=${stanza}`,
      '--log-level-console=info',
      cmd,
    ];
    line(`$ ${argv.join(' ')}`);
    const r = await execInContainer(opts.docker, c.Id, argv, {
      signal: opts.signal,
      onStdoutLine: line,
      onStderrLine: line,
    });
    if (r.exitCode !== 0)
      throw new OpsError(
        'tool-failed',
        `${argv.join(' ')} exited with code ${r.exitCode}: ${r.stderrTail.slice(-3).join(' | ')}`,
      );
  }
  return { mode: 'builtin', profile, createdFolders: created, stanza };
}
