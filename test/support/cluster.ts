/**
 * A throwaway PostgreSQL 15 cluster with pgBackRest, on the host (no Docker).
 *
 * Everything lives in one temp dir (owned by the `postgres` OS user when the tests run as root;
 * PostgreSQL refuses to run as root, so every server/pgBackRest command goes through
 * `runuser -u postgres --`). The server listens on a free port on 127.0.0.1 and on a unix socket
 * in that dir; authentication is `trust` (throwaway). `archive_command` pushes WAL to pgBackRest
 * with the cluster's own pgbackrest.conf. `stop()` stops the server and removes the dir.
 */
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { registerCleanup } from './cleanup';
import { cacheDir } from './docker';
import { asPostgres, freePort, isRoot, run, type RunOptions, type RunResult } from './proc';
import { which } from './requirements';

export const PG_BIN = '/usr/lib/postgresql/15/bin';

export function postgresAvailable(): boolean {
  return existsSync(join(PG_BIN, 'initdb')) && existsSync(join(PG_BIN, 'pg_ctl'));
}
export const postgresInstallHint = 'apt-get install -y postgresql-15';

export function pgbackrestAvailable(): boolean {
  return which('pgbackrest') !== undefined;
}
export const pgbackrestInstallHint = 'apt-get install -y pgbackrest';

export interface ClusterOptions {
  /** Run `stanza-create` after start (default false). */
  stanza?: boolean;
  /** Stanza name (default `db`, like the infra guide). */
  stanzaName?: string;
  /** Extra postgresql.conf lines. */
  conf?: string[];
  /**
   * Run a fresh `initdb` (own system identifier). Default false: copy a cached initdb template
   * (`${cacheDir}/pg-template/…`), which is faster but gives every cluster the same system-id.
   */
  fresh?: boolean;
}

export interface Cluster {
  /** Temp dir holding everything below. */
  baseDir: string;
  /** Unix socket directory (also usable as libpq `host`). */
  socketDir: string;
  /** TCP host (the server listens on 127.0.0.1 too). */
  host: string;
  port: number;
  /** Superuser (trust auth, no password). */
  user: string;
  database: string;
  dataDir: string;
  pgbackrestConf: string;
  repoPath: string;
  logPath: string;
  stanza: string;
  /** libpq env for clients (PGHOST=socketDir, PGPORT, PGUSER, PGDATABASE). */
  env: Record<string, string>;
  /** `pg.Client` config. */
  connection: { host: string; port: number; user: string; database: string };
  /** pgBackRest with this cluster's --config and --stanza prepended, as the postgres user. */
  pgbackrest(args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** psql -X -At -v ON_ERROR_STOP=1 -c SQL; returns trimmed stdout. */
  psql(sql: string, database?: string): Promise<string>;
  /** Any PostgreSQL binary (pg_ctl, pg_dump, …) as the postgres user, with the libpq env set. */
  pgBin(name: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Stops the server (fast) if running; keeps files. */
  stopServer(): Promise<void>;
  /** Starts the server again (after stopServer or a restore). */
  startServer(): Promise<void>;
  /** Stops the server and removes every file. Idempotent. */
  stop(): Promise<void>;
}

function postgresIds(): { uid: number; gid: number } | undefined {
  if (!isRoot) return undefined;
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0)
    throw new Error('the postgres OS user is missing (apt-get install -y postgresql-15)');
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

const INITDB_ARGS = ['-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync', '--no-instructions'];

/** An initdb'ed data dir for `user`, cached; created once (as the postgres OS user when root). */
async function initdbTemplate(user: string, ids: { uid: number; gid: number } | undefined): Promise<string> {
  const dir = join(cacheDir(), 'pg-template', `15-${user}-${INITDB_ARGS.join('').replace(/[^A-Za-z0-9]/g, '')}`);
  const data = join(dir, 'data');
  if (existsSync(join(data, 'PG_VERSION'))) return data;
  mkdirSync(dir, { recursive: true });
  // initdb runs in /tmp: the postgres OS user cannot enter root's home where the cache lives.
  const tmp = mkdtempSync('/tmp/tsdbops-pginit-');
  const staging = `${data}.tmp-${process.pid}`;
  try {
    if (ids) chownSync(tmp, ids.uid, ids.gid);
    const [file, argv] = asPostgres(join(PG_BIN, 'initdb'), ['-D', join(tmp, 'data'), '-U', user, ...INITDB_ARGS]);
    await run(file, argv, { cwd: tmp });
    rmSync(staging, { recursive: true, force: true });
    await run('cp', ['-a', join(tmp, 'data'), staging]);
    if (!existsSync(join(data, 'PG_VERSION'))) {
      rmSync(data, { recursive: true, force: true });
      renameSync(staging, data);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(staging, { recursive: true, force: true });
  }
  return data;
}

/**
 * One-time preparation (the cached initdb template), so the first startCluster() of a run is as
 * fast as the others. Optional: startCluster() does it on demand.
 */
export async function prepareCluster(): Promise<void> {
  await initdbTemplate(isRoot ? 'postgres' : userInfo().username, postgresIds());
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const ids = postgresIds();
  const stanza = opts.stanzaName ?? 'db';
  // Short path: the socket file name is appended (unix socket paths must stay < 108 bytes).
  const baseDir = mkdtempSync('/tmp/tsdbops-pg-');
  const dataDir = join(baseDir, 'data');
  const repoPath = join(baseDir, 'repo');
  const logPath = join(baseDir, 'log');
  const lockPath = join(baseDir, 'lock');
  const spoolPath = join(baseDir, 'spool');
  const pgbackrestConf = join(baseDir, 'pgbackrest.conf');
  for (const d of [repoPath, logPath, lockPath, spoolPath]) mkdirSync(d);
  const port = await freePort();
  const user = isRoot ? 'postgres' : userInfo().username;
  writeFileSync(
    pgbackrestConf,
    [
      '[global]',
      `repo1-path=${repoPath}`,
      'repo1-retention-full=2',
      `log-path=${logPath}`,
      `lock-path=${lockPath}`,
      `spool-path=${spoolPath}`,
      'start-fast=y',
      'log-level-console=info',
      'log-level-stderr=off',
      '',
      `[${stanza}]`,
      `pg1-path=${dataDir}`,
      `pg1-port=${port}`,
      `pg1-socket-path=${baseDir}`,
      `pg1-user=${user}`,
      '',
    ].join('\n'),
  );
  if (ids) {
    for (const p of [baseDir, repoPath, logPath, lockPath, spoolPath, pgbackrestConf]) chownSync(p, ids.uid, ids.gid);
  }

  const env: Record<string, string> = { PGHOST: baseDir, PGPORT: String(port), PGUSER: user, PGDATABASE: 'postgres' };
  const pgBin = (name: string, args: readonly string[], o: RunOptions = {}): Promise<RunResult> => {
    const [file, argv] = asPostgres(join(PG_BIN, name), args);
    return run(file, argv, { ...o, env: { ...env, ...o.env }, cwd: o.cwd ?? baseDir });
  };
  const pgbackrest = (args: readonly string[], o: RunOptions = {}): Promise<RunResult> => {
    const [file, argv] = asPostgres(which('pgbackrest') ?? 'pgbackrest', [
      `--config=${pgbackrestConf}`,
      `--stanza=${stanza}`,
      ...args,
    ]);
    return run(file, argv, { ...o, cwd: o.cwd ?? baseDir, timeoutMs: o.timeoutMs ?? 300_000 });
  };
  const psql = async (sql: string, database = 'postgres'): Promise<string> =>
    (await pgBin('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', database, '-c', sql])).stdout.trim();
  const startServer = async (): Promise<void> => {
    await pgBin('pg_ctl', ['-D', dataDir, '-l', join(baseDir, 'postgresql.log'), '-w', '-t', '30', 'start']);
  };
  const stopServer = async (): Promise<void> => {
    if (existsSync(join(dataDir, 'postmaster.pid'))) {
      await pgBin('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '30', 'stop'], { reject: false });
    }
  };

  let stopped = false;
  const removeAll = (): void => {
    rmSync(baseDir, { recursive: true, force: true });
  };
  const unregister = registerCleanup({
    name: `cluster ${baseDir}`,
    run: async () => {
      await stopServer();
      removeAll();
    },
    runSync: () => {
      if (existsSync(join(dataDir, 'postmaster.pid'))) {
        const [file, argv] = asPostgres(join(PG_BIN, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
        spawnSync(file, argv, { stdio: 'ignore', cwd: '/' });
      }
      removeAll();
    },
  });
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    try {
      await stopServer();
    } finally {
      removeAll();
      unregister();
    }
  };

  try {
    if (opts.fresh) {
      await pgBin('initdb', ['-D', dataDir, '-U', user, ...INITDB_ARGS]);
    } else {
      // cp -a keeps the postgres ownership and the 0700 mode.
      await run('cp', ['-a', await initdbTemplate(user, ids), dataDir]);
    }
    appendFileSync(
      join(dataDir, 'postgresql.conf'),
      [
        '',
        '# tsdb-ops test cluster',
        `port = ${port}`,
        `unix_socket_directories = '${baseDir}'`,
        "listen_addresses = '127.0.0.1'",
        'fsync = off',
        'synchronous_commit = off',
        'archive_mode = on',
        `archive_command = 'pgbackrest --config=${pgbackrestConf} --stanza=${stanza} archive-push %p'`,
        'max_wal_size = 256MB',
        ...(opts.conf ?? []),
        '',
      ].join('\n'),
    );
    await startServer();
    if (opts.stanza) await pgbackrest(['stanza-create']);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    baseDir,
    socketDir: baseDir,
    host: '127.0.0.1',
    port,
    user,
    database: 'postgres',
    dataDir,
    pgbackrestConf,
    repoPath,
    logPath,
    stanza,
    env,
    connection: { host: '127.0.0.1', port, user, database: 'postgres' },
    pgbackrest,
    psql,
    pgBin,
    stopServer,
    startServer,
    stop,
  };
}
