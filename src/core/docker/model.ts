/**
 * The stack as the Docker Engine sees it: one ServiceStatus per service of the compose file (profile
 * services and services whose container does not exist yet included), built from the project's
 * containers (found by Compose's labels) and their inspect data. Pure functions: no Engine calls here.
 */
import type Dockerode from 'dockerode';
import type { ComposeService } from '../infra';
import { ONEOFF_LABEL, SERVICE_LABEL } from './find';
import { formatDuration } from '../format';

export type ContainerState =
  'running' | 'restarting' | 'paused' | 'exited' | 'created' | 'dead' | 'removing' | 'notCreated';
export type Health = 'healthy' | 'unhealthy' | 'starting';

export interface PublishedPort {
  readonly hostIp?: string;
  /** Undefined when the port is exposed but not published. */
  readonly hostPort?: number;
  readonly containerPort: number;
  readonly protocol: string;
}

/** One container of the project, normalised from the Engine's list and inspect answers. */
export interface ContainerSnapshot {
  readonly id: string;
  readonly name: string;
  readonly service: string;
  readonly state: Exclude<ContainerState, 'notCreated'>;
  readonly exitCode?: number;
  readonly health?: Health;
  readonly image: string;
  readonly ports: readonly PublishedPort[];
  readonly createdAt?: Date;
  readonly startedAt?: Date;
  readonly finishedAt?: Date;
  readonly restartCount?: number;
  /** The Engine's own summary ("Up 3 minutes (healthy)"). */
  readonly status?: string;
  readonly tty?: boolean;
}

export interface ServiceStatus {
  readonly service: string;
  readonly isDatabase: boolean;
  /** False for a container of the project whose service is no longer in the compose file (an orphan). */
  readonly inComposeFile: boolean;
  readonly profiles: readonly string[];
  readonly state: ContainerState;
  /** For exited (and dead) containers. */
  readonly exitCode?: number;
  readonly health?: Health;
  /** The container's image, else the compose file's. */
  readonly image?: string;
  readonly containerId?: string;
  readonly containerName?: string;
  /** The container's published ports, else the compose file's. */
  readonly ports: readonly PublishedPort[];
  readonly createdAt?: Date;
  readonly startedAt?: Date;
  readonly finishedAt?: Date;
  readonly restartCount?: number;
  /** How many containers the service has (more than one after a scale, or a leftover). */
  readonly containers: number;
  /** 1-based line of the service in the compose file. */
  readonly line?: number;
}

export interface StackModel {
  readonly project: string;
  readonly services: readonly ServiceStatus[];
  /** The database service's status, when the stack has one. */
  readonly database?: ServiceStatus;
  readonly readAt: Date;
}

const STATES = new Set(['running', 'restarting', 'paused', 'exited', 'created', 'dead', 'removing']);

function toDate(s: string | undefined): Date | undefined {
  if (!s || s.startsWith('0001-01-01')) return undefined;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Health from the Engine's status text: "Up 2 minutes (healthy)", "(unhealthy)", "(health: starting)". */
export function healthFromStatus(status: string | undefined): Health | undefined {
  if (!status) return undefined;
  if (/\(unhealthy\)/.test(status)) return 'unhealthy';
  if (/\(healthy\)/.test(status)) return 'healthy';
  if (/\(health: starting\)/.test(status)) return 'starting';
  return undefined;
}

/** Exit code from the Engine's status text: "Exited (137) 5 seconds ago". */
export function exitCodeFromStatus(status: string | undefined): number | undefined {
  const m = /^Exited \((-?\d+)\)/.exec(status ?? '');
  return m ? Number(m[1]) : undefined;
}

/** A container from `listContainers` (and, when given, its `inspect`), normalised. */
export function snapshotFromEngine(
  info: Dockerode.ContainerInfo,
  inspect?: Dockerode.ContainerInspectInfo,
): ContainerSnapshot {
  const st = inspect?.State;
  const rawState = (st?.Status ?? info.State ?? '').toLowerCase();
  const state = (STATES.has(rawState) ? rawState : st?.Running ? 'running' : 'exited') as ContainerSnapshot['state'];
  const healthRaw = st?.Health?.Status ?? healthFromStatus(info.Status);
  const health =
    healthRaw === 'healthy' || healthRaw === 'unhealthy' || healthRaw === 'starting' ? healthRaw : undefined;
  const exitCode =
    state === 'exited' || state === 'dead' ? (st?.ExitCode ?? exitCodeFromStatus(info.Status)) : undefined;
  const ports = new Map<string, PublishedPort>();
  // Published ports only: the ones an image merely exposes (EXPOSE) are not reachable from the host.
  for (const p of (info.Ports ?? []).filter((x) => x.PublicPort)) {
    const port: PublishedPort = {
      hostIp: p.IP || undefined,
      hostPort: p.PublicPort || undefined,
      containerPort: p.PrivatePort,
      protocol: p.Type || 'tcp',
    };
    // The Engine lists a port once per address family (0.0.0.0 and ::); keep one row per published port.
    const key = `${port.hostPort ?? ''}/${port.containerPort}/${port.protocol}`;
    if (!ports.has(key) || port.hostIp === '0.0.0.0' || port.hostIp === '127.0.0.1') ports.set(key, port);
  }
  return {
    id: info.Id,
    name: (info.Names?.[0] ?? inspect?.Name ?? info.Id.slice(0, 12)).replace(/^\//, ''),
    service: info.Labels?.[SERVICE_LABEL] ?? '',
    state,
    exitCode,
    health: state === 'running' ? health : undefined,
    image: inspect?.Config?.Image ?? info.Image,
    ports: [...ports.values()].sort((a, b) => a.containerPort - b.containerPort),
    createdAt: info.Created ? new Date(info.Created * 1000) : toDate(inspect?.Created),
    startedAt: toDate(st?.StartedAt),
    finishedAt: toDate(st?.FinishedAt),
    restartCount: inspect?.RestartCount,
    status: info.Status,
    tty: inspect?.Config?.Tty,
  };
}

/** Whether a listed container is a one-off (`compose run`), which is not the service's container. */
export function isOneOff(info: Dockerode.ContainerInfo): boolean {
  return info.Labels?.[ONEOFF_LABEL] === 'True';
}

const STATE_RANK: Record<ContainerSnapshot['state'], number> = {
  running: 0,
  restarting: 1,
  paused: 2,
  removing: 3,
  created: 4,
  exited: 5,
  dead: 6,
};

/** The container that stands for a service: a running one first, else the most recently created. */
function representative(list: readonly ContainerSnapshot[]): ContainerSnapshot | undefined {
  return [...list].sort(
    (a, b) =>
      STATE_RANK[a.state] - STATE_RANK[b.state] || (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0),
  )[0];
}

function composePorts(s: ComposeService): PublishedPort[] {
  return s.ports.map((p) => ({
    hostIp: p.hostIp,
    hostPort: p.published,
    containerPort: p.target,
    protocol: p.protocol,
  }));
}

export interface BuildModelInput {
  readonly project: string;
  readonly services: readonly ComposeService[];
  readonly dbService?: string;
  readonly containers: readonly ContainerSnapshot[];
  readonly readAt?: Date;
}

/** Every compose service with the state of its container (or `notCreated`), then orphans, in compose file order. */
export function buildStackModel(input: BuildModelInput): StackModel {
  const byService = new Map<string, ContainerSnapshot[]>();
  for (const c of input.containers) {
    const list = byService.get(c.service) ?? [];
    list.push(c);
    byService.set(c.service, list);
  }
  const fromContainer = (c: ContainerSnapshot, count: number) => ({
    state: c.state,
    exitCode: c.exitCode,
    health: c.health,
    image: c.image,
    containerId: c.id,
    containerName: c.name,
    ports: c.ports,
    createdAt: c.createdAt,
    startedAt: c.startedAt,
    finishedAt: c.finishedAt,
    restartCount: c.restartCount,
    containers: count,
  });
  const services: ServiceStatus[] = input.services.map((s) => {
    const list = byService.get(s.name) ?? [];
    byService.delete(s.name);
    const c = representative(list);
    const base = {
      service: s.name,
      isDatabase: s.name === input.dbService,
      inComposeFile: true,
      profiles: s.profiles,
      line: s.line,
    };
    if (!c) return { ...base, state: 'notCreated', image: s.image, ports: composePorts(s), containers: 0 };
    return {
      ...base,
      ...fromContainer(c, list.length),
      ports: c.ports.length || c.state === 'running' ? c.ports : composePorts(s),
    };
  });
  for (const [service, list] of [...byService.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    const c = representative(list)!;
    services.push({ service, isDatabase: false, inComposeFile: false, profiles: [], ...fromContainer(c, list.length) });
  }
  return {
    project: input.project,
    services,
    database: services.find((s) => s.isDatabase),
    readAt: input.readAt ?? new Date(),
  };
}

/** "running · healthy", "exited (1)", "not created", "restarting", "paused", "created". */
export function describeState(s: Pick<ServiceStatus, 'state' | 'exitCode' | 'health'>): string {
  switch (s.state) {
    case 'running':
      return s.health ? `running · ${s.health === 'starting' ? 'health starting' : s.health}` : 'running';
    case 'exited':
    case 'dead':
      return s.exitCode !== undefined ? `${s.state} (${s.exitCode})` : s.state;
    case 'notCreated':
      return 'not created';
    default:
      return s.state;
  }
}

/** How long the container has been up (running), or undefined. */
export function uptime(s: Pick<ServiceStatus, 'state' | 'startedAt'>, now = new Date()): string | undefined {
  if ((s.state !== 'running' && s.state !== 'paused') || !s.startedAt) return undefined;
  return formatDuration(now.getTime() - s.startedAt.getTime());
}

/** "127.0.0.1:5432→5432/tcp". */
export function formatPort(p: PublishedPort): string {
  const host = p.hostPort
    ? `${p.hostIp && p.hostIp !== '0.0.0.0' ? `${p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp}:` : ''}${p.hostPort}→`
    : '';
  return `${host}${p.containerPort}/${p.protocol}`;
}

/** A JSON-friendly copy of a service's status, as commands return it. */
export function serviceResult(s: ServiceStatus) {
  return {
    service: s.service,
    state: s.state,
    description: describeState(s),
    exitCode: s.exitCode,
    health: s.health,
    image: s.image,
    containerId: s.containerId,
    containerName: s.containerName,
    ports: s.ports.map(formatPort),
    startedAt: s.startedAt?.toISOString(),
    uptime: uptime(s),
    profiles: [...s.profiles],
    isDatabase: s.isDatabase,
    inComposeFile: s.inComposeFile,
  };
}
export type ServiceResult = ReturnType<typeof serviceResult>;
