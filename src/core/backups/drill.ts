/**
 * Restore drills: proof that a backup restores, without touching the live system.
 *
 * A pgBackRest set (default: the newest, latest state) or a pg_basebackup folder is restored into a
 * **scratch container** of the database service's own image (same image ID): no published ports, no
 * network, its data in an engine volume of its own, the backup repository mounted read-only, WAL
 * archiving off, and labels naming its owner (host, process) so it can always be found and swept.
 * From an object-store or sftp repository (s3, gcs, azure, sftp) the scratch container is instead on a
 * bridge network of its own, made for the drill (labelled like the container, no other container on it,
 * no published ports) and removed with it: it reaches the repository's endpoint, but also whatever the
 * engine host routes to (the engine does not restrict a bridge network to one address; the report says so).
 * Then PostgreSQL is started and checked (leaves recovery, every database connects, pg_amcheck,
 * TimescaleDB, the sqlx history, the user's SQL checks), the RTO of each phase and the recovery
 * point are measured, and the scratch container and volume are removed (also on failure and cancel).
 *
 * `runDrill()` is the function a benchmark times.
 */
import { hostname } from 'node:os';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import { ContainerRuntime, ToolCancelledError, type ToolRuntime } from '../runtime';
import { confOption } from './pgbackrest';
import { repositoriesInConf } from './repositories';
import { parseDfAvailable, restorableSets } from './restore/physical';
import { restoreTypeOptions, type RestoreTarget } from './restore/target';
import { errorText } from '../format';
import {
  connEnv,
  displayArgv,
  psqlArgv,
  psqlQuery,
  runLogged,
  type RestoreContext,
  type ServerConnection,
} from './restore/run';

export const DRILL_LABEL = 'tsdb-ops.drill';
export const DRILL_PROJECT_LABEL = 'tsdb-ops.drill.project';
export const DRILL_HOST_LABEL = 'tsdb-ops.drill.owner-host';
export const DRILL_PID_LABEL = 'tsdb-ops.drill.owner-pid';
export const DRILL_STARTED_LABEL = 'tsdb-ops.drill.started';
const HEARTBEAT_FILE = '/tmp/.tsdbops-drill-heartbeat';
/** A drill whose heartbeat is older than this is abandoned (another machine's window died). */
export const HEARTBEAT_STALE_SEC = 120;
const HEARTBEAT_EVERY_MS = 15_000;

export class DrillRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DrillRefusedError';
  }
}

export type DrillSource =
  | {
      readonly kind: 'pgbackrest';
      /** Backup set label (default: the newest). */
      readonly set?: string;
      /** 'latest' (default): the set plus every archived WAL; 'set': exactly the set. */
      readonly target?: 'latest' | 'set';
      /** The pgBackRest repository (`--repo=N`); default: the set's. Object stores: a network of the drill's own. */
      readonly repo?: number;
    }
  | {
      readonly kind: 'baseBackup';
      /** A `pg_basebackup -F t` folder as the live database container sees it (inside a mounted folder). */
      readonly dir: string;
    }
  | {
      /** A pg_dump file (custom or tar format) or a pg_dumpall .sql script, as the live container sees it. */
      readonly kind: 'dump' | 'dumpAll';
      readonly file: string;
      /** pg_dump: the database to restore into (default: from the file name `<db>_pg_dump_…`, else POSTGRES_DB). */
      readonly database?: string;
    };

export interface DrillTarget {
  readonly docker: Dockerode;
  /** The live database service container (read only: inspected, queried, never changed). */
  readonly containerId: string;
  /** Compose project: one drill per project at a time. */
  readonly project: string;
  readonly stanza: string;
  /** pgBackRest config path in the live container: the file in effect (core/stack/context). */
  readonly configPath?: string;
  /** Its text, read once by the stack context (drillTargetOf); when absent the drill reads configPath. */
  readonly conf?: string;
  /** The OS user the tools run as (the stack context's answer); default the container's Config.User, else postgres. */
  readonly toolUser?: string;
  /** PGDATA (pg1-path) as the live container sees it; the scratch copy uses the same path. */
  readonly dataDir: string;
  /** The live server's credentials (user, password, database = POSTGRES_DB). */
  readonly conn: ServerConnection;
  /** User checks: SQL texts (each query must return at least one row and no false). */
  readonly checks?: readonly { readonly name: string; readonly sql: string }[];
  /** Free space to keep on the engine beyond the restored data (default 64 MiB). */
  readonly reserveBytes?: number;
  readonly startTimeoutSec?: number;
}

export type DrillCheckStatus = 'passed' | 'failed' | 'skipped';
export interface DrillCheck {
  readonly name: string;
  readonly status: DrillCheckStatus;
  readonly message: string;
}

export interface DrillPhase {
  readonly name: 'prepare' | 'restore' | 'replay and start' | 'checks';
  readonly ms: number;
}

export interface DrillReport {
  readonly version: 1;
  readonly project: string;
  /** What was drilled, e.g. "pgbackrest 20261124-000001F (latest)" or "pg_basebackup pg_basebackup_20261124_201530". */
  readonly source: string;
  /** Stable key of the source for "last result per source": "pgbackrest:<stanza>" or "baseBackup:<dir>". */
  readonly sourceKey: string;
  readonly set?: string;
  readonly target?: string;
  readonly started: string;
  readonly finished: string;
  readonly passed: boolean;
  /** Why the drill stopped early (restore or start failed, cancelled); checks keep their own messages. */
  readonly error?: string;
  readonly checks: readonly DrillCheck[];
  readonly phases: readonly DrillPhase[];
  /** Restore + replay/start + checks. */
  readonly rtoMs: number;
  /** Last replayed commit of the restored copy, else the backup's stop time. */
  readonly recoveryPoint?: string;
  readonly recoveryPointFrom?: 'last replayed commit' | 'backup stop time';
  readonly image: string;
  readonly owner: { readonly host: string; readonly pid: number };
  /** The scratch container's network: "none", or what the drill's own network reaches (object-store repositories). */
  readonly network?: string;
}

/** Which live mounts a scratch container carries, read-only: everything but the data folder's (and what is under it). */
export function scratchMounts(
  mounts: readonly { Type?: string; Name?: string; Source?: string; Destination: string }[],
  dataDir: string,
): { dataMountPoint: string; carried: { type: 'bind' | 'volume'; source: string; target: string }[] } {
  const d = dataDir.replace(/\/+$/, '');
  const under = (p: string, root: string) => p === root || p.startsWith(`${root.replace(/\/+$/, '')}/`);
  const dataMount = mounts
    .filter((m) => under(d, m.Destination))
    .sort((a, b) => b.Destination.length - a.Destination.length)[0];
  // The scratch volume goes where the live data mount is (so pg1-path is the same), else at PGDATA's parent.
  const dataMountPoint = dataMount?.Destination.replace(/\/+$/, '') || posix.dirname(d);
  const carried = mounts
    .filter((m) => !under(m.Destination, dataMountPoint) && !under(dataMountPoint, m.Destination))
    .filter((m) => (m.Type === 'bind' && m.Source) || (m.Type === 'volume' && m.Name))
    .map((m) => ({
      type: m.Type as 'bind' | 'volume',
      source: (m.Type === 'volume' ? m.Name : m.Source)!,
      target: m.Destination,
    }));
  return { dataMountPoint, carried };
}

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Drills this process runs now (their containers are never swept by it). */
const ours = new Set<string>();
const activeProjects = new Set<string>();

interface DrillOwner {
  host: string;
  pid: number;
}
function ownerOf(labels: Record<string, string> | undefined): DrillOwner {
  return { host: labels?.[DRILL_HOST_LABEL] ?? '?', pid: Number(labels?.[DRILL_PID_LABEL] ?? 0) };
}

/** Is the drill of this container still owned by a live process? Same host: its pid; other host: its heartbeat. */
async function ownerAlive(docker: Dockerode, c: Dockerode.ContainerInfo): Promise<boolean> {
  if (ours.has(c.Id)) return true;
  const o = ownerOf(c.Labels);
  if (o.host === hostname()) return o.pid !== process.pid && pidAlive(o.pid);
  if (c.State !== 'running') return false;
  const rt = new ContainerRuntime(docker, c.Id, 'drill container');
  const r = await rt
    .run(['sh', '-c', 'echo $(( $(date +%s) - $(stat -c %Y "$0") ))', HEARTBEAT_FILE])
    .catch(() => undefined);
  const age = Number(r?.stdoutLines[0]);
  return r?.exitCode === 0 && Number.isFinite(age) && age < HEARTBEAT_STALE_SEC;
}

export interface SweepResult {
  readonly containers: string[];
  readonly volumes: string[];
  readonly networks: string[];
  /** Drills still owned by a live window (this or another machine): left alone. */
  readonly running: { id: string; project: string; owner: DrillOwner; started?: string }[];
}

/**
 * Removes scratch containers and volumes whose owner is gone (a dead process on this host, or no
 * heartbeat from another machine's), never a drill another window or machine is still running.
 */
export async function sweepDrills(
  docker: Dockerode,
  log: (line: string) => void = () => undefined,
): Promise<SweepResult> {
  const out: SweepResult = { containers: [], volumes: [], networks: [], running: [] };
  const list = await docker.listContainers({ all: true, filters: { label: [DRILL_LABEL] } });
  const keepVolumes = new Set<string>();
  for (const c of list) {
    if (await ownerAlive(docker, c)) {
      out.running.push({
        id: c.Id,
        project: c.Labels[DRILL_PROJECT_LABEL] ?? '?',
        owner: ownerOf(c.Labels),
        started: c.Labels[DRILL_STARTED_LABEL],
      });
      for (const m of c.Mounts ?? []) if (m.Name) keepVolumes.add(m.Name);
      continue;
    }
    log(
      `Removing abandoned drill container ${c.Id.slice(0, 12)} (owner ${JSON.stringify(ownerOf(c.Labels))} is gone).`,
    );
    await docker
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .catch(() => undefined);
    out.containers.push(c.Id);
  }
  const vols = (await docker.listVolumes({ filters: { label: [DRILL_LABEL] } })).Volumes ?? [];
  for (const v of vols) {
    if (keepVolumes.has(v.Name)) continue;
    const o = ownerOf(v.Labels);
    // A volume of a live owner on this host may be between its creation and its container's: keep it.
    if (o.host === hostname() && (o.pid === process.pid || pidAlive(o.pid))) continue;
    const users = await docker.listContainers({ all: true, filters: { volume: [v.Name] } });
    if (users.length) continue;
    log(`Removing abandoned drill volume ${v.Name}.`);
    await docker
      .getVolume(v.Name)
      .remove()
      .then(() => out.volumes.push(v.Name))
      .catch(() => undefined);
  }
  // A drill's own network (object-store repositories): removed once no container is on it.
  const nets = await docker.listNetworks({ filters: { label: [DRILL_LABEL] } });
  for (const n of nets) {
    const o = ownerOf(n.Labels);
    if (o.host === hostname() && (o.pid === process.pid || pidAlive(o.pid))) continue;
    const info = (await docker
      .getNetwork(n.Id)
      .inspect()
      .catch(() => undefined)) as { Containers?: Record<string, unknown> } | undefined;
    if (!info || Object.keys(info.Containers ?? {}).length) continue;
    log(`Removing abandoned drill network ${n.Name}.`);
    await docker
      .getNetwork(n.Id)
      .remove()
      .then(() => out.networks.push(n.Name))
      .catch(() => undefined);
  }
  return out;
}

const mb = (n: number) => `${Math.ceil(n / 1024 / 1024)} MB`;
const nowIso = () => new Date().toISOString();

/** Rows of `psql -At` output: every `|`-separated field; a check fails on no row or a false value. */
export function judgeCheckOutput(lines: readonly string[]): { ok: boolean; message: string } {
  const rows = lines.filter((l) => l.length > 0);
  if (!rows.length) return { ok: false, message: 'returned no row' };
  const bad = rows.find((r) => r.split('|').some((f) => /^(f|false)$/i.test(f.trim())));
  if (bad) return { ok: false, message: `returned false: ${bad}` };
  return { ok: true, message: `${rows.length} row${rows.length === 1 ? '' : 's'}, no false` };
}

/**
 * Runs one drill. Refuses (DrillRefusedError) when another drill of the project runs or the engine
 * has not enough disk. Never throws for a failed check or a failed restore: the report says it.
 * Cancel (ctx.signal) ends it, removes everything and throws ToolCancelledError / AbortError.
 */
export async function runDrill(t: DrillTarget, src: DrillSource, ctx: RestoreContext): Promise<DrillReport> {
  if (activeProjects.has(t.project))
    throw new DrillRefusedError(
      `A restore drill of ${t.project} is already running in this window: wait for it to finish.`,
    );
  activeProjects.add(t.project);
  try {
    return await drill(t, src, ctx);
  } finally {
    activeProjects.delete(t.project);
  }
}

async function drill(t: DrillTarget, src: DrillSource, ctx: RestoreContext): Promise<DrillReport> {
  const started = nowIso();
  const t0 = Date.now();
  const phases: DrillPhase[] = [];
  const checks: DrillCheck[] = [];
  const check = (name: string, status: DrillCheckStatus, message: string) => {
    checks.push({ name, status, message });
    ctx.line(`${status === 'passed' ? '✔' : status === 'failed' ? '✖' : '–'} ${name}: ${message}`);
  };
  const docker = t.docker;
  const dataDir = t.dataDir.replace(/\/+$/, '');
  ctx.step('Looking for other drills');
  const sweep = await sweepDrills(docker, ctx.line);
  const busy = sweep.running.find((r) => r.project === t.project);
  if (busy)
    throw new DrillRefusedError(
      `A restore drill of ${t.project} is already running (container ${busy.id.slice(0, 12)}, started ${busy.started ?? '?'} ` +
        `by process ${busy.owner.pid} on ${busy.owner.host}): wait for it to finish.`,
    );

  const liveInfo = await docker.getContainer(t.containerId).inspect();
  const live = new ContainerRuntime(docker, t.containerId, `container ${liveInfo.Name.replace(/^\//, '')}`);
  const liveEnv = liveInfo.Config.Env ?? [];
  const user = t.toolUser ?? (liveInfo.Config.User || 'postgres');

  // What to restore, checked on the live side before anything is created.
  let sourceText: string;
  let sourceKey: string;
  let setLabel: string | undefined;
  let setStop: Date | undefined;
  let sizeBytes: number | undefined;
  let conf: string | undefined;
  let target: RestoreTarget | undefined;
  let repoArgs: string[] = [];
  /** Set when the set is read from an object store or sftp: the scratch container gets a network of its own. */
  let storeEndpoint: string | undefined;
  if (src.kind === 'pgbackrest') {
    const confFile = t.configPath ?? '/etc/pgbackrest.conf';
    if (t.conf !== undefined) conf = t.conf;
    else {
      const c = await runLogged(live, ctx, ['cat', confFile], { quietStdout: true });
      conf = c.exitCode === 0 ? c.stdoutLines.join('\n') : undefined;
    }
    // A repository on a mounted file system is read with no network; an object store through a network of the drill's own.
    const repoConfs = repositoriesInConf(conf, t.stanza);
    const objectStore = (key: number | undefined) => {
      const rc = repoConfs.find((x) => x.key === (key ?? 1));
      return rc && rc.type !== 'posix' && rc.type !== 'cifs' ? rc : undefined;
    };
    ctx.step('Checking the backup set in pgBackRest info');
    const info = await restorableSets(live, ctx, t.stanza, t.configPath, src.repo);
    if (info.status.code !== 0)
      throw new DrillRefusedError(`pgBackRest stanza "${t.stanza}" is not restorable: ${info.status.message}.`);
    // Without a repository named, the newest set, preferring a repository on disk (no network needed).
    const onDisk = info.sets.filter((x) => !objectStore(x.repoKey));
    const sets = src.repo === undefined && !src.set && onDisk.length ? onDisk : info.sets;
    const set = src.set ? sets.find((s) => s.label === src.set) : sets[sets.length - 1];
    if (!set)
      throw new DrillRefusedError(
        src.set
          ? `Backup set ${src.set} is not in stanza "${t.stanza}" (sets: ${info.sets.map((s) => s.label).join(', ') || 'none'}).`
          : `Stanza "${t.stanza}" has no backup set: take a full backup first.`,
      );
    const inStore = objectStore(src.repo ?? set.repoKey);
    if (inStore) {
      if (!inStore.endpoint) {
        const option = inStore.type === 's3' ? 's3-endpoint' : `${inStore.type}-host`;
        throw new DrillRefusedError(
          `repo${inStore.key} (${inStore.type}) has no endpoint or host in ${confFile}: ` +
            `set repo${inStore.key}-${option} so the drill knows where the repository is.`,
        );
      }
      storeEndpoint = `${inStore.type} endpoint ${inStore.endpoint}`;
    }
    setLabel = set.label;
    setStop = set.stop;
    sizeBytes = set.sizeBytes;
    target = { target: src.target ?? 'latest', set: set.label };
    const repo = src.repo ?? (info.multiRepo ? set.repoKey : undefined);
    repoArgs = repo !== undefined ? [`--repo=${repo}`] : [];
    const fromRepo = repo !== undefined && info.multiRepo ? ` from repo${repo}` : '';
    sourceText = `pgbackrest ${set.label}${fromRepo} (${target.target === 'latest' ? 'latest state' : 'exactly the set'})`;
    sourceKey = `pgbackrest:${t.stanza}${src.repo !== undefined ? `:repo${src.repo}` : ''}`;
  } else if (src.kind === 'dump' || src.kind === 'dumpAll') {
    sourceText = `${src.kind === 'dump' ? 'pg_dump' : 'pg_dumpall'} ${posix.basename(src.file)}`;
    sourceKey = `${src.kind}:${src.file}`;
    const r = await runLogged(live, ctx, ['stat', '-c', '%s %Y', '--', src.file], { quietStdout: true });
    if (r.exitCode !== 0)
      throw new DrillRefusedError(`Cannot read the backup file ${src.file}: ${r.stderrTail.join(' ')}`);
    const [size, mtime] = (r.stdoutLines[0] ?? '').split(' ').map(Number);
    sizeBytes = (size ?? 0) * 5; // indexes are rebuilt: several times the dump
    setStop = mtime ? new Date(mtime * 1000) : undefined;
  } else {
    const dir = (src as Extract<DrillSource, { kind: 'baseBackup' }>).dir;
    sourceText = `pg_basebackup ${posix.basename(dir)}`;
    sourceKey = `baseBackup:${dir}`;
    const r = await runLogged(live, ctx, ['du', '-s', '-k', '--', dir], { quietStdout: true });
    if (r.exitCode !== 0)
      throw new DrillRefusedError(`Cannot read the base backup folder ${dir}: ${r.stderrTail.join(' ')}`);
    sizeBytes = Number(r.stdoutLines[0]?.split(/\s+/)[0]) * 1024 * 4; // compressed archives: about 4× once extracted
  }

  const { dataMountPoint, carried } = scratchMounts(liveInfo.Mounts ?? [], dataDir);
  const stamp = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const name = `tsdbops-drill-${t.project}-${stamp}`.replace(/[^a-zA-Z0-9_.-]/g, '-');
  const labels = {
    [DRILL_LABEL]: '1',
    [DRILL_PROJECT_LABEL]: t.project,
    [DRILL_HOST_LABEL]: hostname(),
    [DRILL_PID_LABEL]: String(process.pid),
    [DRILL_STARTED_LABEL]: started,
  };
  const drillConf = posix.join(dataMountPoint, '.tsdbops-drill', 'pgbackrest.conf');
  const drillLog = posix.join(dataMountPoint, '.tsdbops-drill', 'log');
  const pgLog = posix.join(dataMountPoint, '.tsdbops-drill', 'postgresql.log');
  const sock = '/tmp';
  const scratchConn: ServerConnection = { ...t.conn, host: sock, port: 5432 };
  let container: Dockerode.Container | undefined;
  let volume: string | undefined;
  let network: string | undefined;
  const networkText = storeEndpoint
    ? `a bridge network of the drill's own (${name}), to reach the repository's ${storeEndpoint}; no other container ` +
      `is on it and no port is published, but it can reach whatever the Docker engine's host routes to, not only the endpoint`
    : 'none';
  let heartbeat: NodeJS.Timeout | undefined;
  let error: string | undefined;
  let recoveryPoint: string | undefined;
  let recoveryPointFrom: DrillReport['recoveryPointFrom'];

  const phase = async <T>(n: DrillPhase['name'], f: () => Promise<T>): Promise<T> => {
    const p0 = Date.now();
    try {
      return await f();
    } finally {
      phases.push({ name: n, ms: Date.now() - p0 });
    }
  };

  try {
    const rt: ToolRuntime = await phase('prepare', async () => {
      ctx.step('Creating the scratch container');
      if (storeEndpoint) {
        ctx.line(`$ docker network create --driver bridge ${name}`);
        await docker.createNetwork({ Name: name, Driver: 'bridge', Labels: labels, CheckDuplicate: true });
        network = name;
        ctx.line(`Scratch container network: ${networkText}.`);
      }
      ctx.line(
        `$ docker run -d --name ${name} --network ${network ?? 'none'} --mount type=volume,dst=${dataMountPoint} ` +
          `${carried.map((m) => `--mount type=${m.type},src=${m.source},dst=${m.target},readonly`).join(' ')} ` +
          `--entrypoint sleep ${liveInfo.Image.slice(0, 19)} infinity`,
      );
      ctx.line(`$ docker volume create ${name}`);
      await docker.createVolume({ Name: name, Labels: labels });
      volume = name;
      const created = (await docker.createContainer({
        name,
        Image: liveInfo.Image, // the same image ID as the live service
        Entrypoint: ['sleep', 'infinity'],
        Cmd: [],
        User: user,
        Env: [
          ...liveEnv.filter((e) => !/^PGBACKREST_(CONFIG|LOG_PATH|LOCK_PATH|SPOOL_PATH|ARCHIVE_ASYNC)=/.test(e)),
          `PGBACKREST_CONFIG=${drillConf}`,
          `PGBACKREST_LOG_PATH=${drillLog}`,
          'PGBACKREST_LOCK_PATH=/tmp/pgbackrest',
          'PGBACKREST_SPOOL_PATH=/tmp/pgbackrest-spool',
          'PGBACKREST_ARCHIVE_ASYNC=n',
        ],
        Labels: labels,
        NetworkDisabled: !network,
        HostConfig: {
          NetworkMode: network ?? 'none',
          PortBindings: {},
          PublishAllPorts: false,
          Mounts: [
            { Type: 'volume', Source: name, Target: dataMountPoint },
            ...carried.map((m) => ({ Type: m.type, Source: m.source, Target: m.target, ReadOnly: true })),
          ],
        },
      })) as Dockerode.Container;
      container = created;
      ours.add(created.id);
      await created.start();
      const scratch = new ContainerRuntime(docker, created.id, `drill container ${name}`);
      const beat = () => void scratch.run(['touch', HEARTBEAT_FILE]).catch(() => undefined);
      beat();
      heartbeat = setInterval(beat, HEARTBEAT_EVERY_MS);
      heartbeat.unref();
      const prep = await scratch.run(['sh', '-c', 'chown "$0" "$1" && chmod 0755 "$1"', `${user}:`, dataMountPoint], {
        user: 'root',
      });
      if (prep.exitCode !== 0) throw new Error(`Cannot prepare ${dataMountPoint}: ${prep.stderrTail.join(' ')}`);
      const mk = await scratch.run(['mkdir', '-p', '-m', '0700', '--', dataDir, drillLog]);
      if (mk.exitCode !== 0) throw new Error(`Cannot create ${dataDir}: ${mk.stderrTail.join(' ')}`);
      if (conf !== undefined) {
        // Through stdin: the config may hold repository keys, which never go into an argv.
        const w = await scratch.run(['sh', '-c', 'umask 077 && cat > "$0"', drillConf], {
          stdin: Readable.from([`${conf}\n`]),
        });
        if (w.exitCode !== 0) throw new Error(`Cannot write ${drillConf}: ${w.stderrTail.join(' ')}`);
      }
      // Disk: measured on the engine, where the scratch volume lives; refused before restoring.
      const df = await runLogged(scratch, ctx, ['df', '-P', '-k', dataMountPoint], { quietStdout: true });
      const free = df.exitCode === 0 ? parseDfAvailable(df.stdoutLines) : undefined;
      if (free !== undefined && sizeBytes) {
        const need = Math.ceil(sizeBytes * 1.1) + (t.reserveBytes ?? 64 * 1024 * 1024);
        ctx.line(`Free space on the engine for the scratch copy: ${mb(free)}; needed about ${mb(need)}.`);
        if (free < need)
          throw new DrillRefusedError(
            `Not enough disk on the Docker engine for the scratch copy: the drill needs about ${mb(need)} ` +
              `(the backup's ${mb(sizeBytes)} restored, plus ${mb(t.reserveBytes ?? 64 * 1024 * 1024)} to spare), ` +
              `${mb(free)} are free. Free some space on the engine; nothing was restored.`,
          );
      }
      return scratch;
    });
    ctx.signal?.throwIfAborted();

    const startArgv = [
      'pg_ctl',
      '-D',
      dataDir,
      '-l',
      pgLog,
      '-w',
      '-t',
      String(t.startTimeoutSec ?? 600),
      '-o',
      `-c archive_mode=off -c listen_addresses='' -c unix_socket_directories=${sock} -c port=5432`,
      'start',
    ];
    const logical = src.kind === 'dump' || src.kind === 'dumpAll';
    const restored = await phase('restore', async () => {
      ctx.step(`Restoring ${sourceText} into the scratch container`);
      if (src.kind === 'dump' || src.kind === 'dumpAll') {
        const ok = await loadLogical(t, rt, src, dataDir, startArgv, scratchConn, ctx);
        if (ok !== true) {
          error = ok;
          check('restore', 'failed', ok);
          return false;
        }
        check('PostgreSQL starts', 'passed', 'a new cluster (initdb) started');
        check('restore', 'passed', `${sourceText} loaded`);
        return true;
      }
      const argv =
        src.kind === 'pgbackrest'
          ? [
              'pgbackrest',
              `--stanza=${t.stanza}`,
              '--log-level-console=info',
              '--log-level-stderr=off',
              ...repoArgs,
              `--set=${setLabel}`,
              ...restoreTypeOptions(target!),
              'restore',
            ]
          : [
              'sh',
              '-c',
              'tar -xf "$0"/base.tar* -C "$1" && { [ ! -e "$0"/pg_wal.tar* ] || tar -xf "$0"/pg_wal.tar* -C "$1/pg_wal"; }',
              (src as Extract<DrillSource, { kind: 'baseBackup' }>).dir,
              dataDir,
            ];
      ctx.line(`$ ${displayArgv(argv)}`);
      const errors: string[] = [];
      const r = await rt.run(argv, {
        signal: ctx.signal,
        onStdoutLine: (l) => {
          ctx.line(l);
          if (/ERROR:|WARN:/.test(l)) errors.push(l.trim());
        },
        onStderrLine: (l) => {
          ctx.line(l);
          errors.push(l.trim());
        },
      });
      if (r.exitCode !== 0) {
        error = `The restore failed (exit ${r.exitCode}): ${(errors.length ? errors : r.stderrTail).join(' ') || 'no message'}`;
        if (src.kind === 'pgbackrest' && !storeEndpoint) {
          // pgBackRest names the error, not always the file: find damaged compressed files of the stanza's sets.
          const repoPath = (conf && confOption(conf, t.stanza, 'repo1-path')) || '/var/lib/pgbackrest';
          const damaged = await damagedRepoFiles(rt, posix.join(repoPath, 'backup', t.stanza), ctx);
          if (damaged.length)
            error += ` Damaged repository file${damaged.length > 1 ? 's' : ''}: ${damaged.join(', ')}.`;
        }
        check('restore', 'failed', error);
        return false;
      }
      check('restore', 'passed', `${sourceText} restored`);
      return true;
    });

    if (restored) {
      const up =
        logical ||
        (await phase('replay and start', async () => {
          ctx.step('Starting PostgreSQL in the scratch container (WAL replay)');
          const argv = startArgv;
          const r = await runLogged(rt, ctx, argv);
          const logTail = async () =>
            (await rt.run(['tail', '-n', '15', pgLog]).catch(() => undefined))?.stdoutLines.join('\n') ?? '';
          if (r.exitCode !== 0) {
            error = `PostgreSQL did not start on the restored data: ${await logTail()}`;
            check('PostgreSQL starts and leaves recovery', 'failed', error);
            return false;
          }
          const deadline = Date.now() + (t.startTimeoutSec ?? 600) * 1000;
          for (;;) {
            ctx.signal?.throwIfAborted();
            const [v] = await psqlQuery(
              rt,
              { ...ctx, line: () => undefined },
              scratchConn,
              'SELECT pg_is_in_recovery()',
            ).catch(() => ['']);
            if (v === 'f') break;
            if (Date.now() > deadline) {
              error = `PostgreSQL did not leave recovery in ${t.startTimeoutSec ?? 600} s: ${await logTail()}`;
              check('PostgreSQL starts and leaves recovery', 'failed', error);
              return false;
            }
            await new Promise((res) => setTimeout(res, 250));
          }
          check('PostgreSQL starts and leaves recovery', 'passed', 'started, recovery finished, promoted');
          return true;
        }));

      if (up) {
        await phase('checks', async () => {
          ctx.step('Checking the restored copy');
          const [rp] = await psqlQuery(
            rt,
            ctx,
            scratchConn,
            "SELECT coalesce(to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), '')",
          );
          if (rp) {
            recoveryPoint = rp;
            recoveryPointFrom = 'last replayed commit';
          } else if (setStop) {
            recoveryPoint = setStop.toISOString();
            recoveryPointFrom = 'backup stop time';
          }
          await runChecks(t, live, rt, scratchConn, ctx, check);
        });
      }
    }
  } catch (e) {
    if (e instanceof DrillRefusedError || e instanceof ToolCancelledError || ctx.signal?.aborted) throw e;
    error = errorText(e);
    check('drill', 'failed', error);
  } finally {
    if (heartbeat) clearInterval(heartbeat);
    if (container || volume || network)
      ctx.step(`Removing the scratch container and its volume${network ? ' and network' : ''}`);
    if (container) {
      ctx.line(`$ docker rm -f ${name}`);
      await container.remove({ force: true, v: true }).catch((e: unknown) => ctx.line(`docker rm: ${errorText(e)}`));
      ours.delete(container.id);
    }
    if (volume) {
      ctx.line(`$ docker volume rm ${volume}`);
      await docker
        .getVolume(volume)
        .remove()
        .catch((e: unknown) => ctx.line(`docker volume rm: ${errorText(e)}`));
    }
    if (network) {
      ctx.line(`$ docker network rm ${network}`);
      await docker
        .getNetwork(network)
        .remove()
        .catch((e: unknown) => ctx.line(`docker network rm: ${errorText(e)}`));
    }
  }
  const sum = (names: DrillPhase['name'][]) =>
    phases.filter((p) => names.includes(p.name)).reduce((a, p) => a + p.ms, 0);
  const report: DrillReport = {
    version: 1,
    project: t.project,
    source: sourceText,
    sourceKey,
    set: setLabel,
    target: target?.target,
    started,
    finished: nowIso(),
    passed: !error && checks.every((c) => c.status !== 'failed'),
    ...(error ? { error } : {}),
    checks,
    phases,
    rtoMs: sum(['restore', 'replay and start', 'checks']),
    recoveryPoint,
    recoveryPointFrom,
    image: liveInfo.Image,
    owner: { host: hostname(), pid: process.pid },
    network: networkText,
  };
  ctx.line(
    `Drill ${report.passed ? 'PASSED' : 'FAILED'} in ${Math.round((Date.now() - t0) / 1000)} s: RTO ${Math.round(report.rtoMs / 1000)} s` +
      `${recoveryPoint ? `, recovery point ${recoveryPoint} (${recoveryPointFrom})` : ''}.`,
  );
  return report;
}

/**
 * pg_dump / pg_dumpall into a new cluster: initdb (the live superuser's name, trust on the scratch
 * socket only: the container has no network), start, then pg_restore (TimescaleDB-aware: pre/post_restore
 * when the dump has the extension; never -j) or psql. Returns true, or the error text.
 */
async function loadLogical(
  t: DrillTarget,
  rt: ToolRuntime,
  src: Extract<DrillSource, { kind: 'dump' | 'dumpAll' }>,
  dataDir: string,
  startArgv: string[],
  conn: ServerConnection,
  ctx: RestoreContext,
): Promise<true | string> {
  const tail = (r: { stdoutLines: string[]; stderrTail: string[] }) => [...r.stderrTail].slice(-5).join(' ');
  const init = await runLogged(rt, ctx, ['initdb', '-D', dataDir, '-U', conn.user, '--auth=trust'], {
    quietStdout: true,
  });
  if (init.exitCode !== 0) return `initdb failed: ${tail(init)}`;
  const start = await runLogged(rt, ctx, startArgv);
  if (start.exitCode !== 0) return `PostgreSQL did not start: ${tail(start)}`;
  const env = connEnv(conn);
  const base = ['-h', conn.host!, '-p', String(conn.port ?? 5432), '-U', conn.user];
  if (src.kind === 'dumpAll') {
    // The dump recreates the roles too: "already exists" for the superuser initdb made is expected.
    const r = await runLogged(rt, ctx, ['psql', '-X', '-q', ...base, '-d', 'postgres', '-f', src.file], {
      env,
      quietStdout: true,
    });
    const errors = [...r.stdoutLines, ...r.stderrTail].filter(
      (l) => /ERROR:/.test(l) && !/role ".*" already exists/.test(l),
    );
    if (r.exitCode !== 0 || errors.length)
      return `psql -f ${src.file} failed: ${errors.slice(0, 3).join(' ') || tail(r)}`;
    return true;
  }
  const db = src.database ?? /^(.+)_pg_dump_/.exec(posix.basename(src.file))?.[1] ?? t.conn.database ?? 'postgres';
  if (db !== 'postgres') {
    const c = await runLogged(rt, ctx, ['createdb', ...base, '--', db], { env });
    if (c.exitCode !== 0) return `createdb ${db} failed: ${tail(c)}`;
  }
  const list = await runLogged(rt, ctx, ['pg_restore', '-l', src.file], { quietStdout: true });
  if (list.exitCode !== 0) return `pg_restore cannot read ${src.file}: ${tail(list)}`;
  const tsdb = list.stdoutLines.some((l) => / EXTENSION - timescaledb$/.test(l));
  const sql = (q: string) => runLogged(rt, ctx, [...psqlArgv(conn, db), '-c', q], { env });
  if (tsdb) {
    const pre = await sql('CREATE EXTENSION IF NOT EXISTS timescaledb; SELECT timescaledb_pre_restore();');
    if (pre.exitCode !== 0) return `timescaledb_pre_restore failed: ${tail(pre)}`;
  }
  const r = await runLogged(rt, ctx, ['pg_restore', ...base, '-d', db, '--exit-on-error', '--no-owner', src.file], {
    env,
    signal: ctx.signal,
  });
  if (r.exitCode !== 0) return `pg_restore of ${src.file} into ${db} failed (exit ${r.exitCode}): ${tail(r)}`;
  if (tsdb) {
    const post = await sql('SELECT timescaledb_post_restore();');
    if (post.exitCode !== 0) return `timescaledb_post_restore failed: ${tail(post)}`;
  }
  return true;
}

/** Compressed files under `dir` whose compression check fails (gzip/bzip2/lz4/zstd -t, when the tool is there). */
async function damagedRepoFiles(rt: ToolRuntime, dir: string, ctx: RestoreContext): Promise<string[]> {
  const script =
    'find "$0" -type f \\( -name "*.gz" -o -name "*.bz2" -o -name "*.lz4" -o -name "*.zst" \\) | while read -r f; do ' +
    'case "$f" in *.gz) t=gzip;; *.bz2) t=bzip2;; *.lz4) t=lz4;; *.zst) t=zstd;; esac; ' +
    'command -v "$t" >/dev/null 2>&1 || continue; "$t" -t "$f" >/dev/null 2>&1 || echo "$f"; done';
  ctx.step('Looking for the damaged repository file');
  const r = await rt.run(['sh', '-c', script, dir], { signal: ctx.signal }).catch(() => undefined);
  return (r?.stdoutLines ?? []).filter(Boolean).slice(0, 20);
}

async function runChecks(
  t: DrillTarget,
  live: ToolRuntime,
  rt: ToolRuntime,
  conn: ServerConnection,
  ctx: RestoreContext,
  check: (name: string, status: DrillCheckStatus, message: string) => void,
): Promise<void> {
  const q = (sql: string, database?: string) =>
    psqlQuery(rt, { ...ctx, line: () => undefined }, conn, sql, { database });
  const liveQ = (sql: string, database?: string) =>
    psqlQuery(live, { ...ctx, line: () => undefined }, { ...t.conn, host: undefined, port: undefined }, sql, {
      database,
    });
  const dbs = await q("SELECT datname FROM pg_database WHERE datallowconn AND datname <> 'template1' ORDER BY 1");
  const failedConnect: string[] = [];
  for (const db of dbs) {
    try {
      await q('SELECT 1', db);
    } catch (e) {
      failedConnect.push(`${db}: ${errorText(e)}`);
    }
  }
  check(
    'every database accepts a connection',
    failedConnect.length ? 'failed' : 'passed',
    failedConnect.length ? failedConnect.join('; ') : dbs.join(', '),
  );

  // pg_amcheck: heap and B-tree of every database; amcheck is created in the scratch copy only.
  const am = await runLogged(
    rt,
    ctx,
    ['pg_amcheck', '-h', conn.host!, '-p', String(conn.port), '-U', conn.user, '--all', '--install-missing'],
    {
      env: connEnv(conn),
      secrets: [conn.password],
    },
  );
  check(
    'pg_amcheck (heap and B-tree, every database)',
    am.exitCode === 0 ? 'passed' : 'failed',
    am.exitCode === 0
      ? 'no corruption found'
      : `exit ${am.exitCode}: ${[...am.stdoutLines, ...am.stderrTail].slice(-5).join(' ')}`,
  );

  // TimescaleDB, where installed.
  for (const db of dbs) {
    const [ver] = await q(
      "SELECT coalesce((SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'), '')",
      db,
    );
    if (!ver) continue;
    const problems: string[] = [];
    const [liveVer] = await liveQ(
      "SELECT coalesce((SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'), '')",
      db,
    ).catch(() => ['']);
    if (liveVer && liveVer !== ver) problems.push(`extension ${ver} in the backup, ${liveVer} live`);
    const hts = await q(
      "SELECT format('%I.%I', hypertable_schema, hypertable_name) || '|' || num_chunks FROM timescaledb_information.hypertables ORDER BY 1",
      db,
    );
    for (const h of hts) {
      const ht = h.split('|')[0]!;
      await q(`SELECT count(*) FROM ${ht}`, db).catch((e: unknown) =>
        problems.push(`${ht} unreadable: ${errorText(e)}`),
      );
    }
    const caggs = await q(
      "SELECT format('%I.%I', view_schema, view_name) FROM timescaledb_information.continuous_aggregates",
      db,
    );
    for (const c of caggs)
      await q(`SELECT 1 FROM ${c} LIMIT 1`, db).catch((e: unknown) =>
        problems.push(`${c} not queryable: ${errorText(e)}`),
      );
    const [jobs] = await q('SELECT count(*) FROM timescaledb_information.jobs', db);
    check(
      `TimescaleDB in ${db}`,
      problems.length ? 'failed' : 'passed',
      problems.length
        ? problems.join('; ')
        : `version ${ver}; ${hts.length} hypertables (${hts.map((h) => h.replace('|', ': ') + ' chunks').join(', ') || 'none'}); ` +
            `${caggs.length} continuous aggregates; ${jobs} jobs`,
    );
  }

  // The sqlx history: newest applied migration in the backup vs live.
  const db = t.conn.database ?? 'postgres';
  const newestSql =
    "SELECT coalesce((SELECT max(version)::text FROM _sqlx_migrations WHERE success), '') WHERE to_regclass('_sqlx_migrations') IS NOT NULL";
  const [mine] = await q(newestSql, db).catch(() => [] as string[]);
  if (mine === undefined) check('sqlx history', 'skipped', `no _sqlx_migrations table in ${db}`);
  else {
    const newer = await liveQ(
      `SELECT version || ' ' || description FROM _sqlx_migrations WHERE success AND version > ${mine ? Number(mine) : 0} ORDER BY version`,
      db,
    ).catch(() => [] as string[]);
    check(
      'sqlx history',
      'passed',
      `newest applied migration in the backup: ${mine || 'none'}` +
        (newer.length ? `; it predates ${newer.length} applied live: ${newer.join(', ')}` : '; the same as live'),
    );
  }

  // User checks: each query must return at least one row and no false.
  for (const c of t.checks ?? []) {
    const r = await runLogged(rt, ctx, [...psqlArgv(conn, db), '-f', '-'], {
      env: connEnv(conn),
      secrets: [conn.password],
      quietStdout: true,
      stdin: Readable.from([c.sql]),
    });
    if (r.exitCode !== 0)
      check(`check ${c.name}`, 'failed', `psql exited ${r.exitCode}: ${r.stderrTail.slice(-3).join(' ')}`);
    else {
      const j = judgeCheckOutput(r.stdoutLines);
      check(`check ${c.name}`, j.ok ? 'passed' : 'failed', j.message);
    }
  }
}

/** The Markdown a user reads. */
export function drillMarkdown(r: DrillReport): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return [
    `# Restore drill ${r.passed ? 'passed' : 'FAILED'}: ${r.source}`,
    '',
    `- Project: ${r.project}`,
    `- Started: ${r.started}, finished: ${r.finished}`,
    `- RTO: ${s(r.rtoMs)} (${r.phases.map((p) => `${p.name} ${s(p.ms)}`).join(', ')})`,
    `- Recovery point: ${r.recoveryPoint ? `${r.recoveryPoint} (${r.recoveryPointFrom})` : 'unknown'}`,
    `- Image: ${r.image}`,
    ...(r.network && r.network !== 'none' ? [`- Scratch container network: ${r.network}`] : []),
    ...(r.error ? [`- Error: ${r.error}`] : []),
    '',
    '| Check | Result | Details |',
    '|---|---|---|',
    ...r.checks.map((c) => `| ${c.name} | ${c.status} | ${c.message.replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`),
    '',
  ].join('\n');
}

/** Writes `<stamp>-<source>.json` (for tools) and `.md` (for the user) into the drills folder; returns both paths. */
export async function writeDrillReport(dir: string, r: DrillReport): Promise<{ json: string; markdown: string }> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  await mkdir(dir, { recursive: true });
  const stamp = r.started.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const base = join(dir, `drill-${stamp}-${r.sourceKey.replace(/[^a-zA-Z0-9_.-]+/g, '_').slice(0, 80)}`);
  await writeFile(`${base}.json`, `${JSON.stringify(r, null, 2)}\n`);
  await writeFile(`${base}.md`, drillMarkdown(r));
  return { json: `${base}.json`, markdown: `${base}.md` };
}

/** Every report in the drills folder, newest first (unreadable files are skipped). */
export async function readDrillReports(dir: string): Promise<DrillReport[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => /^drill-.*\.json$/.test(n));
  const out: DrillReport[] = [];
  for (const n of names) {
    try {
      const r = JSON.parse(await readFile(join(dir, n), 'utf8')) as DrillReport;
      if (r.version === 1 && r.sourceKey && r.started) out.push(r);
    } catch {
      // being written, or not ours
    }
  }
  return out.sort((a, b) => b.started.localeCompare(a.started));
}

/** The newest report per source. */
export function latestPerSource(reports: readonly DrillReport[]): DrillReport[] {
  const seen = new Map<string, DrillReport>();
  for (const r of reports) if (!seen.has(r.sourceKey)) seen.set(r.sourceKey, r);
  return [...seen.values()];
}

/** "verified 2h ago" / a warning when no drill passed within maxAgeDays. */
export function drillFreshness(
  reports: readonly DrillReport[],
  maxAgeDays = 7,
  now = new Date(),
): { lastPassed?: DrillReport; ageMs?: number; stale: boolean; text: string } {
  const lastPassed = reports.find((r) => r.passed);
  if (!lastPassed) return { stale: true, text: 'never verified by a restore drill' };
  const ageMs = now.getTime() - new Date(lastPassed.finished).getTime();
  const h = ageMs / 3_600_000;
  const ago = h < 1 ? `${Math.max(1, Math.round(h * 60))}m` : h < 48 ? `${Math.round(h)}h` : `${Math.round(h / 24)}d`;
  return { lastPassed, ageMs, stale: ageMs > maxAgeDays * 86_400_000, text: `verified ${ago} ago` };
}
