/**
 * The user's compose stack (test/fixtures/infra) running on the test Docker engine.
 *
 * `startStack()` copies the fixture to a temp dir, gives it a free published port and a unique
 * compose project name, runs the guide's `scripts/clean_start.sh` (folders, `up -d`,
 * stanza-create) and waits until PostgreSQL answers through the published port with the .env
 * credentials. `stop()` runs `down -v --remove-orphans` and removes the temp dir (files written
 * by the container's uid 1000 included).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { registerCleanup } from './cleanup';
import { ensureDocker, type DockerHandle } from './docker';
import { ensureTestImages, TIMESCALEDB_TEST_IMAGE } from './image';
import { freePort, run, waitFor, type RunOptions, type RunResult } from './proc';
import { which } from './requirements';
import { supportDir } from './paths';

export const FIXTURE_INFRA = join(supportDir(), '..', 'fixtures', 'infra');
export const FIXTURE_WORKSPACE = join(supportDir(), '..', 'fixtures', 'workspace');

let composeCmd: [string, string[]] | undefined;

/** `docker compose` (v2 plugin) if the CLI has it, else `docker-compose` (v1). */
export function composeCommand(): [string, string[]] {
  if (composeCmd) return composeCmd;
  const v2 = spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' });
  composeCmd = v2.status === 0 ? ['docker', ['compose']] : ['docker-compose', []];
  return composeCmd;
}

export function composeAvailable(): boolean {
  if (which('docker-compose')) return true;
  return which('docker') !== undefined && spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0;
}
export const composeInstallHint = 'apt-get install -y docker-compose';

export interface StackOptions {
  /** Also start the `full` profile (the Ofelia stand-in): ONLY_DATABASE=FALSE. Default false. */
  full?: boolean;
  /** Copy the whole workspace fixture (test/fixtures/workspace, `infra` dereferenced) instead of only infra. */
  workspace?: boolean;
  /** Extra/overriding .env values (written into the copied .env). */
  env?: Record<string, string>;
  /** Max wait for PostgreSQL through the published port (default 120 s). */
  timeoutMs?: number;
  /** Edits the copied infra folder (compose file, pgbackrest.conf, scripts) before the first start. */
  prepare?: (infraDir: string) => void;
  /** The engine to run on (default: ensureDocker(), the shared test engine); its images are the caller's to load. */
  docker?: DockerHandle;
}

export interface StackConnection {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

export interface Stack {
  /** The temp dir (workspace root when `workspace: true`, else same as infraDir). */
  dir: string;
  /** The copied infra folder (docker-compose.yaml, .env, scripts/, backups/, logs/ …). */
  infraDir: string;
  projectName: string;
  /** Published PostgreSQL port on 127.0.0.1. */
  port: number;
  /** The stack's .env values (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, …). */
  env: Record<string, string>;
  /** Environment for docker / compose children: DOCKER_HOST and COMPOSE_PROJECT_NAME. */
  dockerEnv: Record<string, string>;
  /** Credentials for the published port (pg.Client config). */
  connection: StackConnection;
  docker: DockerHandle;
  /** Container id of a compose service (by compose labels, works for v1 and v2). */
  containerId(service: string): Promise<string>;
  /** `docker exec [-u user] [-i] <container> ...argv` (runs as the image's user, postgres, by default). */
  exec(service: string, argv: readonly string[], opts?: RunOptions & { user?: string }): Promise<RunResult>;
  /** The compose CLI in the stack's folder with its project name. */
  compose(args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Waits until PostgreSQL answers through the published port. */
  waitForPostgres(timeoutMs?: number): Promise<void>;
  /** One query through the published port with the .env credentials (a fresh connection each time). */
  sql<T = Record<string, unknown>>(q: string, opts?: { params?: unknown[]; database?: string }): Promise<T[]>;
  /** down -v --remove-orphans, removes the temp dir, releases the engine. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Removes a stack dir. As root this is a plain rm; otherwise files written by the container's
 * uid 1000 (0700 pgdata, backups) are first removed through a one-off root container.
 */
async function removeStackDir(dir: string, env: Record<string, string>): Promise<void> {
  try {
    rmSync(dir, { recursive: true, force: true });
    return;
  } catch {
    // fall through
  }
  await run(
    'docker',
    [
      'run',
      '--rm',
      '--user',
      'root',
      '--entrypoint',
      'find',
      '-v',
      `${dir}:/stack`,
      TIMESCALEDB_TEST_IMAGE,
      '/stack',
      '-mindepth',
      '1',
      '-delete',
    ],
    { env, reject: false },
  );
  rmSync(dir, { recursive: true, force: true });
}

function rewriteEnv(file: string, overrides: Record<string, string>): Record<string, string> {
  let text = readFileSync(file, 'utf8');
  for (const [k, v] of Object.entries(overrides)) {
    const re = new RegExp(`^${k}=.*$`, 'm');
    text = re.test(text) ? text.replace(re, `${k}=${v}`) : `${text.replace(/\n?$/, '\n')}${k}=${v}\n`;
  }
  writeFileSync(file, text);
  return parseDotenv(text);
}

/** Containers, networks and volumes that still carry the project's compose label. */
export async function projectLeftovers(projectName: string, env: Record<string, string>): Promise<string[]> {
  const filter = `label=com.docker.compose.project=${projectName}`;
  const out: string[] = [];
  for (const [kind, args] of [
    ['container', ['ps', '-a', '-q', '--filter', filter]],
    ['network', ['network', 'ls', '-q', '--filter', filter]],
    ['volume', ['volume', 'ls', '-q', '--filter', filter]],
  ] as const) {
    const r = await run('docker', args, { env });
    for (const id of r.stdout.split('\n').filter(Boolean)) out.push(`${kind} ${id}`);
  }
  return out;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const docker = opts.docker ?? (await ensureDocker());
  let dir: string | undefined;
  try {
    if (!opts.docker) await ensureTestImages();
    dir = mkdtempSync(join(tmpdir(), 'tsdbops-stack-'));
    const infraDir = opts.workspace ? join(dir, 'infra') : dir;
    if (opts.workspace) cpSync(FIXTURE_WORKSPACE, dir, { recursive: true, dereference: true });
    else cpSync(FIXTURE_INFRA, dir, { recursive: true });
    const port = await freePort();
    const projectName = `tsdbops${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const env = rewriteEnv(join(infraDir, '.env'), {
      POSTGRES_PORT: String(port),
      // In .env too, so the extension (which reads the infra's .env as Compose does) finds the same project.
      COMPOSE_PROJECT_NAME: projectName,
      ONLY_DATABASE: opts.full ? 'FALSE' : 'TRUE',
      ...opts.env,
    });
    opts.prepare?.(infraDir);
    const dockerEnv = { ...docker.env, COMPOSE_PROJECT_NAME: projectName };
    const [composeFile, composePrefix] = composeCommand();
    const compose = (args: readonly string[], o: RunOptions = {}): Promise<RunResult> =>
      run(composeFile, [...composePrefix, ...args], {
        timeoutMs: 300_000,
        ...o,
        cwd: infraDir,
        env: { ...dockerEnv, ...o.env },
      });
    const containerId = async (service: string): Promise<string> => {
      const r = await run(
        'docker',
        [
          'ps',
          '-q',
          '--filter',
          `label=com.docker.compose.project=${projectName}`,
          '--filter',
          `label=com.docker.compose.service=${service}`,
        ],
        { env: dockerEnv },
      );
      const id = r.stdout.split('\n').find(Boolean);
      if (!id) throw new Error(`no running container for service ${service} in project ${projectName}`);
      return id;
    };
    const exec = async (
      service: string,
      argv: readonly string[],
      o: RunOptions & { user?: string } = {},
    ): Promise<RunResult> => {
      const id = await containerId(service);
      const flags = [...(o.user ? ['-u', o.user] : []), ...(o.input !== undefined ? ['-i'] : [])];
      return run('docker', ['exec', ...flags, id, ...argv], {
        timeoutMs: 300_000,
        ...o,
        env: { ...dockerEnv, ...o.env },
      });
    };
    const connection: StackConnection = {
      host: '127.0.0.1',
      port,
      user: env.POSTGRES_USER ?? 'postgres',
      password: env.POSTGRES_PASSWORD ?? '',
      database: env.POSTGRES_DB ?? 'postgres',
    };
    const waitForPostgres = async (timeoutMs = 120_000): Promise<void> => {
      const { Client } = await import('pg');
      await waitFor(
        `PostgreSQL on 127.0.0.1:${port}`,
        async () => {
          const c = new Client({ ...connection, connectionTimeoutMillis: 2000 });
          try {
            await c.connect();
            await c.query('select 1');
            return true;
          } finally {
            await c.end().catch(() => undefined);
          }
        },
        timeoutMs,
        250,
      );
    };

    const sql = async <T = Record<string, unknown>>(
      q: string,
      o: { params?: unknown[]; database?: string } = {},
    ): Promise<T[]> => {
      const { Client } = await import('pg');
      const c = new Client({
        ...connection,
        ...(o.database ? { database: o.database } : {}),
        connectionTimeoutMillis: 5000,
      });
      await c.connect();
      try {
        return (await c.query(q, o.params)).rows as T[];
      } finally {
        await c.end();
      }
    };

    const stackDir = dir;
    let stopped = false;
    const downArgs = ['--profile', 'full', 'down', '-v', '--remove-orphans', '--timeout', '10'];
    const unregister = registerCleanup({
      name: `stack ${projectName}`,
      run: async () => {
        await compose(downArgs, { reject: false });
        await removeStackDir(stackDir, dockerEnv);
      },
      runSync: () => {
        const [f, pre] = composeCommand();
        spawnSync(f, [...pre, ...downArgs], { cwd: infraDir, env: { ...process.env, ...dockerEnv }, stdio: 'ignore' });
        spawnSync('rm', ['-rf', stackDir]);
      },
    });
    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      try {
        await compose(downArgs, { reject: false });
        await removeStackDir(stackDir, dockerEnv);
      } finally {
        unregister();
        await docker.stop();
      }
    };

    const stack: Stack = {
      dir,
      infraDir,
      projectName,
      port,
      env,
      dockerEnv,
      connection,
      docker,
      containerId,
      exec,
      compose,
      waitForPostgres,
      sql,
      stop,
    };
    try {
      await run('bash', [join(infraDir, 'scripts', 'clean_start.sh')], {
        cwd: infraDir,
        env: dockerEnv,
        timeoutMs: opts.timeoutMs ?? 300_000,
      });
      await waitForPostgres(opts.timeoutMs);
    } catch (err) {
      const logs = await compose(['logs', '--no-color', '--tail', '60'], { reject: false });
      await stop();
      throw new Error(`${String(err)}\n--- compose logs ---\n${logs.stdout}${logs.stderr}`);
    }
    return stack;
  } catch (err) {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await docker.stop();
    throw err;
  }
}
