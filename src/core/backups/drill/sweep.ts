/**
 * Finding and sweeping drills: the labels every scratch container, volume and network carries (owner
 * host, process, start), and the sweep that removes what a dead owner left behind.
 */
import { hostname } from 'node:os';
import { posix } from 'node:path';
import type Dockerode from 'dockerode';
import { ContainerRuntime } from '../../runtime';

export const DRILL_LABEL = 'tsdb-ops.drill';
export const DRILL_PROJECT_LABEL = 'tsdb-ops.drill.project';
export const DRILL_HOST_LABEL = 'tsdb-ops.drill.owner-host';
export const DRILL_PID_LABEL = 'tsdb-ops.drill.owner-pid';
export const DRILL_STARTED_LABEL = 'tsdb-ops.drill.started';
export const HEARTBEAT_FILE = '/tmp/.tsdbops-drill-heartbeat';
/** A drill whose heartbeat is older than this is abandoned (another machine's window died). */
export const HEARTBEAT_STALE_SEC = 120;
export const HEARTBEAT_EVERY_MS = 15_000;

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
export const ours = new Set<string>();

export interface DrillOwner {
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
