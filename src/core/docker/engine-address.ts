/**
 * The Docker Engine the stack runs on: `tsdbOps.docker.host` when set, else `DOCKER_HOST`, else the
 * local socket. unix://, npipe://, tcp://, http(s):// and ssh:// hosts are understood, as dockerode
 * (docker-modem) supports them. dockerode is loaded on first use, never at activation.
 */
import type Dockerode from 'dockerode';

export interface EngineTarget {
  /** What the user configured (or the default), for messages: "unix:///var/run/docker.sock". */
  readonly host: string;
  /** Where it came from: "tsdbOps.docker.host", "DOCKER_HOST", "default". */
  readonly source: string;
  readonly options: Dockerode.DockerOptions;
}

export class EngineConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineConfigError';
  }
}

const DEFAULT_SOCKET = process.platform === 'win32' ? 'npipe:////./pipe/docker_engine' : 'unix:///var/run/docker.sock';

/** Resolves the engine address: the setting wins over DOCKER_HOST, which wins over the local socket. */
export function resolveEngine(setting: string | undefined, env: NodeJS.ProcessEnv = process.env): EngineTarget {
  const fromSetting = setting?.trim();
  const fromEnv = env['DOCKER_HOST']?.trim();
  const [host, source] = fromSetting
    ? [fromSetting, 'tsdbOps.docker.host']
    : fromEnv
      ? [fromEnv, 'DOCKER_HOST']
      : [DEFAULT_SOCKET, 'default'];
  return { host, source, options: engineOptions(host, source, env) };
}

function engineOptions(host: string, source: string, env: NodeJS.ProcessEnv): Dockerode.DockerOptions {
  if (host.startsWith('/')) return { socketPath: host };
  let url: URL;
  try {
    if (!host.includes('://')) throw new Error('no scheme');
    url = new URL(host);
  } catch {
    throw new EngineConfigError(
      `${source} "${host}" is not a Docker host: write unix:///var/run/docker.sock, tcp://host:2375 or ssh://user@host.`,
    );
  }
  switch (url.protocol) {
    case 'unix:':
      return { socketPath: url.pathname };
    case 'npipe:':
      return { socketPath: host.slice('npipe://'.length).replace(/\//g, '\\') };
    case 'tcp:':
    case 'http:':
    case 'https:': {
      const tls = url.protocol === 'https:' || env['DOCKER_TLS_VERIFY'] === '1';
      return {
        host: url.hostname,
        port: url.port ? Number(url.port) : tls ? 2376 : 2375,
        protocol: tls ? 'https' : 'http',
      };
    }
    case 'ssh:':
      return {
        host: url.hostname,
        port: url.port ? Number(url.port) : 22,
        username: url.username ? decodeURIComponent(url.username) : undefined,
        protocol: 'ssh',
        // docker-modem's ssh agent: key from SSH_AUTH_SOCK, as the docker CLI does.
        sshOptions: { agent: env['SSH_AUTH_SOCK'] },
      } as Dockerode.DockerOptions;
    default:
      throw new EngineConfigError(
        `${source} "${host}" uses ${url.protocol} which Docker does not speak: use unix://, tcp:// or ssh://.`,
      );
  }
}

/** A dockerode client for the target (the module is imported lazily). */
export async function connectEngine(target: EngineTarget): Promise<Dockerode> {
  const mod = await import('dockerode');
  const Docker = (mod.default ?? mod) as unknown as typeof Dockerode;
  return new Docker(target.options);
}

/** True when an error means "the engine is not there" (socket missing, refused, timed out), not a bad request. */
export function isUnreachable(e: unknown): boolean {
  const code = (e as { code?: string } | undefined)?.code;
  return ['ECONNREFUSED', 'ENOENT', 'EACCES', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET', 'EPIPE', 'ENOTFOUND'].includes(
    code ?? '',
  );
}
