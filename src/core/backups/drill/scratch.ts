/**
 * The scratch container of a drill: the live service's image (same image ID), no published port, no
 * network (or one of the drill's own for an object store), its data in an engine volume of its own,
 * the live mounts but the data folder's carried read-only, labels naming its owner. Its undo, next to
 * it: remove the container, the volume and the network (also the drill's teardown).
 */
import { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import { ContainerRuntime } from '../../runtime';
import { errorText } from '../../format';
import { parseDfAvailable } from '../restore/physical';
import { runLogged } from '../restore/run';
import type { DrillState, ScratchLayout } from './state';
import { HEARTBEAT_EVERY_MS, HEARTBEAT_FILE, ours } from './sweep';
import { DrillRefusedError } from './types';
import { OpsError } from '../../errors/error';

const mb = (n: number) => `${Math.ceil(n / 1024 / 1024)} MB`;

/** Creates and starts the scratch container (and its volume and network); the runtime into it goes to `s.rt`. */
export async function createScratch(s: DrillState): Promise<void> {
  const { ctx, t } = s;
  const docker = t.docker;
  const L = s.layout!;
  const liveInfo = s.liveInfo!;
  ctx.step('Creating the scratch container');
  if (s.plan?.storeEndpoint) {
    ctx.line(`$ docker network create --driver bridge ${L.name}`);
    await docker.createNetwork({ Name: L.name, Driver: 'bridge', Labels: L.labels, CheckDuplicate: true });
    s.network = L.name;
    ctx.line(`Scratch container network: ${L.networkText}.`);
  }
  ctx.line(
    `$ docker run -d --name ${L.name} --network ${s.network ?? 'none'} --mount type=volume,dst=${L.dataMountPoint} ` +
      `${L.carried.map((m) => `--mount type=${m.type},src=${m.source},dst=${m.target},readonly`).join(' ')} ` +
      `--entrypoint sleep ${liveInfo.Image.slice(0, 19)} infinity`,
  );
  ctx.line(`$ docker volume create ${L.name}`);
  await docker.createVolume({ Name: L.name, Labels: L.labels });
  s.volume = L.name;
  const created = (await docker.createContainer(containerSpec(s, L))) as Dockerode.Container;
  s.container = created;
  ours.add(created.id);
  await created.start();
  const scratch = new ContainerRuntime(docker, created.id, `drill container ${L.name}`);
  const beat = () => void scratch.run(['touch', HEARTBEAT_FILE]).catch(() => undefined);
  beat();
  s.heartbeat = setInterval(beat, HEARTBEAT_EVERY_MS);
  s.heartbeat.unref();
  s.rt = scratch;
}

function containerSpec(s: DrillState, L: ScratchLayout): Dockerode.ContainerCreateOptions {
  const liveInfo = s.liveInfo!;
  const liveEnv = liveInfo.Config.Env ?? [];
  return {
    name: L.name,
    Image: liveInfo.Image, // the same image ID as the live service
    Entrypoint: ['sleep', 'infinity'],
    Cmd: [],
    User: s.user,
    Env: [
      ...liveEnv.filter((e) => !/^PGBACKREST_(CONFIG|LOG_PATH|LOCK_PATH|SPOOL_PATH|ARCHIVE_ASYNC)=/.test(e)),
      `PGBACKREST_CONFIG=${L.drillConf}`,
      `PGBACKREST_LOG_PATH=${L.drillLog}`,
      'PGBACKREST_LOCK_PATH=/tmp/pgbackrest',
      'PGBACKREST_SPOOL_PATH=/tmp/pgbackrest-spool',
      'PGBACKREST_ARCHIVE_ASYNC=n',
    ],
    Labels: L.labels,
    NetworkDisabled: !s.network,
    HostConfig: {
      NetworkMode: s.network ?? 'none',
      PortBindings: {},
      PublishAllPorts: false,
      Mounts: [
        { Type: 'volume', Source: L.name, Target: L.dataMountPoint },
        ...L.carried.map((m) => ({ Type: m.type, Source: m.source, Target: m.target, ReadOnly: true })),
      ],
    },
  };
}

/** The data folder, the log folder and the pgBackRest config inside the scratch container. */
export async function prepareScratchFolders(s: DrillState): Promise<void> {
  const L = s.layout!;
  const scratch = s.rt!;
  const prep = await scratch.run(['sh', '-c', 'chown "$0" "$1" && chmod 0755 "$1"', `${s.user}:`, L.dataMountPoint], {
    user: 'root',
  });
  if (prep.exitCode !== 0)
    throw new OpsError('tool-failed', `Cannot prepare ${L.dataMountPoint}: ${prep.stderrTail.join(' ')}`);
  const mk = await scratch.run(['mkdir', '-p', '-m', '0700', '--', s.dataDir, L.drillLog]);
  if (mk.exitCode !== 0) throw new OpsError('tool-failed', `Cannot create ${s.dataDir}: ${mk.stderrTail.join(' ')}`);
  const conf = s.plan?.conf;
  if (conf !== undefined) {
    // Through stdin: the config may hold repository keys, which never go into an argv.
    const w = await scratch.run(['sh', '-c', 'umask 077 && cat > "$0"', L.drillConf], {
      stdin: Readable.from([`${conf}\n`]),
    });
    if (w.exitCode !== 0) throw new OpsError('tool-failed', `Cannot write ${L.drillConf}: ${w.stderrTail.join(' ')}`);
  }
}

/** Disk: measured on the engine, where the scratch volume lives; refused before restoring. */
export async function checkScratchDisk(s: DrillState): Promise<void> {
  const { ctx, t } = s;
  const L = s.layout!;
  const sizeBytes = s.plan?.sizeBytes;
  const df = await runLogged(s.rt!, ctx, ['df', '-P', '-k', L.dataMountPoint], { quietStdout: true });
  const free = df.exitCode === 0 ? parseDfAvailable(df.stdoutLines) : undefined;
  if (free === undefined || !sizeBytes) return;
  const need = Math.ceil(sizeBytes * 1.1) + (t.reserveBytes ?? 64 * 1024 * 1024);
  ctx.line(`Free space on the engine for the scratch copy: ${mb(free)}; needed about ${mb(need)}.`);
  if (free < need)
    throw new DrillRefusedError(
      `Not enough disk on the Docker engine for the scratch copy: the drill needs about ${mb(need)} ` +
        `(the backup's ${mb(sizeBytes)} restored, plus ${mb(t.reserveBytes ?? 64 * 1024 * 1024)} to spare), ` +
        `${mb(free)} are free. Free some space on the engine; nothing was restored.`,
    );
}

/** How long a removal is retried while the engine does not answer (an engine restart takes seconds). */
const REMOVE_RETRY_MS = 90_000;

/**
 * A removal that outlives a restarting engine: retried (1, 2, 4, 8 s …) for up to REMOVE_RETRY_MS; "no
 * such" (404) means it is gone already. What cannot be removed is said (the next drill's sweep takes it).
 */
async function removeRetrying(what: string, remove: () => Promise<unknown>, ctx: DrillState['ctx']): Promise<void> {
  const deadline = Date.now() + REMOVE_RETRY_MS;
  for (let wait = 1000; ; wait = Math.min(wait * 2, 8000)) {
    try {
      await remove();
      return;
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return;
      if (Date.now() + wait > deadline) {
        ctx.line(`${what}: ${errorText(e)} (left behind; the next drill's sweep removes it)`);
        return;
      }
      ctx.line(`${what}: ${errorText(e)}; trying again in ${wait / 1000} s`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/** Removes the scratch container, its volume and network (what exists of them); never throws. */
export async function removeScratch(s: DrillState): Promise<void> {
  const { ctx } = s;
  const docker = s.t.docker;
  const name = s.layout?.name;
  if (s.heartbeat) clearInterval(s.heartbeat);
  s.heartbeat = undefined;
  if (s.container || s.volume || s.network)
    ctx.step(`Removing the scratch container and its volume${s.network ? ' and network' : ''}`);
  const { container, volume, network } = s;
  s.container = s.volume = s.network = undefined;
  if (container) {
    ctx.line(`$ docker rm -f ${name}`);
    await removeRetrying('docker rm', () => container.remove({ force: true, v: true }), ctx);
    ours.delete(container.id);
  }
  if (volume) {
    ctx.line(`$ docker volume rm ${volume}`);
    await removeRetrying('docker volume rm', () => docker.getVolume(volume).remove(), ctx);
  }
  if (network) {
    ctx.line(`$ docker network rm ${network}`);
    await removeRetrying('docker network rm', () => docker.getNetwork(network).remove(), ctx);
  }
}
