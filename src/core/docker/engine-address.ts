/**
 * The Docker Engine the stack runs on: `tsdbOps.docker.host` when set, else `DOCKER_HOST`, else the
 * local socket. unix://, npipe://, tcp://, http(s):// and ssh:// hosts are understood, as dockerode
 * (docker-modem) supports them. dockerode is loaded on first use, never at activation.
 */
import type Dockerode from 'dockerode';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { currentContextName, readContext, type DockerContext } from './contexts';
import { parseSshHost, sshEngineFor, type SshAddress } from './ssh-engine';
import { EngineConfigError } from '../errors/docker';
import { OpsError } from '../errors/error';
export { EngineConfigError };

export interface EngineTarget {
  /** What the user configured (or the default), for messages: "unix:///var/run/docker.sock". */
  readonly host: string;
  /** Where it came from: "tsdbOps.docker.host", "DOCKER_HOST", "default". */
  readonly source: string;
  readonly options: Dockerode.DockerOptions;
  /** The Docker context the address came from, if any. */
  readonly context?: string;
  /** For ssh:// hosts: the address and the SSH settings (core/docker/ssh-engine connects). */
  readonly ssh?: SshAddress & SshSettings;
  /** For tcp:// with TLS: the folder of ca.pem, cert.pem, key.pem (handed to the CLIs as DOCKER_CERT_PATH). */
  readonly tls?: { readonly certPath: string };
}

/** SSH settings: `tsdbOps.docker.sshKeyFile`, `tsdbOps.docker.knownHostsFile` (undefined: OpenSSH's defaults). */
export interface SshSettings {
  readonly identityFiles?: readonly string[];
  readonly knownHostsFiles?: readonly string[];
  readonly agent?: string;
}

const DEFAULT_SOCKET = process.platform === 'win32' ? 'npipe:////./pipe/docker_engine' : 'unix:///var/run/docker.sock';

/** Settings besides `tsdbOps.docker.host`: the SSH ones and `tsdbOps.docker.context`. */
export interface EngineSettings extends SshSettings {
  /** A Docker context chosen in the extension (Switch Docker Context…); wins over DOCKER_HOST and the CLI's current one. */
  readonly context?: string;
  /**
   * `tsdbOps.docker.tlsCertPath`: a folder holding ca.pem, cert.pem and key.pem for a tcp:// engine with
   * TLS; the server is verified against ca.pem (as DOCKER_CERT_PATH with DOCKER_TLS_VERIFY=1 does).
   */
  readonly tlsCertPath?: string;
}

/**
 * Resolves the engine address, like the docker CLI plus the extension's settings: `tsdbOps.docker.host`,
 * else `tsdbOps.docker.context`, else DOCKER_HOST, else the CLI's current context (DOCKER_CONTEXT, then
 * config.json's currentContext), else the local socket.
 */
export function resolveEngine(
  setting: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  settings: EngineSettings = {},
): EngineTarget {
  const fromSetting = setting?.trim();
  const fromEnv = env['DOCKER_HOST']?.trim();
  let host: string;
  let source: string;
  let context: DockerContext | undefined;
  if (fromSetting) [host, source] = [fromSetting, 'tsdbOps.docker.host'];
  else if (settings.context?.trim()) {
    context = readContext(settings.context.trim(), env);
    [host, source] = [context.host ?? fromEnv ?? DEFAULT_SOCKET, `context ${context.name} (tsdbOps.docker.context)`];
  } else if (fromEnv) [host, source] = [fromEnv, 'DOCKER_HOST'];
  else {
    const current = currentContextName(env);
    context = current.name === 'default' ? undefined : readContext(current.name, env);
    [host, source] = context?.host
      ? [context.host, `context ${context.name} (${current.source})`]
      : [DEFAULT_SOCKET, 'default'];
  }
  const certPath = settings.tlsCertPath?.trim();
  const optionEnv: NodeJS.ProcessEnv = certPath
    ? { ...env, DOCKER_CERT_PATH: certPath, DOCKER_TLS_VERIFY: '1' }
    : context?.tlsDir
      ? { ...env, DOCKER_CERT_PATH: context.tlsDir }
      : env;
  const options = engineOptions(host, source, optionEnv, certPath ? 'tsdbOps.docker.tlsCertPath' : undefined);
  const tlsDir = options.protocol === 'https' ? (certPath ?? context?.tlsDir) : undefined;
  const base = { host, source, options, context: context?.name, ...(tlsDir ? { tls: { certPath: tlsDir } } : {}) };
  if (options.protocol !== 'ssh') return base;
  const ssh = {
    ...parseSshHost(host, env),
    agent: settings.agent ?? env['SSH_AUTH_SOCK'],
    identityFiles: settings.identityFiles,
    knownHostsFiles: settings.knownHostsFiles,
  };
  return { ...base, ssh };
}

function engineOptions(
  host: string,
  source: string,
  env: NodeJS.ProcessEnv,
  certSetting?: string,
): Dockerode.DockerOptions {
  if (host.startsWith('/')) return { socketPath: host };
  let url: URL;
  try {
    if (!host.includes('://')) throw new OpsError('config', 'no scheme');
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
      const tls = url.protocol === 'https:' || Boolean(env['DOCKER_TLS_VERIFY']) || Boolean(env['DOCKER_CERT_PATH']);
      return {
        host: url.hostname,
        port: url.port ? Number(url.port) : tls ? 2376 : 2375,
        protocol: tls ? 'https' : 'http',
        ...(tls ? tlsFiles(env, certSetting) : {}),
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

/**
 * The client certificate files the docker CLI uses: DOCKER_CERT_PATH, else ~/.docker (ca.pem, cert.pem, key.pem).
 * From `tsdbOps.docker.tlsCertPath` (`certSetting`) all three must exist: a missing one is an error naming it.
 */
function tlsFiles(env: NodeJS.ProcessEnv, certSetting?: string): Pick<Dockerode.DockerOptions, 'ca' | 'cert' | 'key'> {
  const dir = env['DOCKER_CERT_PATH'] || join(env['HOME'] || homedir(), '.docker');
  const out: Record<string, Buffer> = {};
  for (const k of ['ca', 'cert', 'key'] as const) {
    const file = join(dir, `${k}.pem`);
    if (existsSync(file)) out[k] = readFileSync(file);
    else if (certSetting)
      throw new EngineConfigError(
        `${certSetting} "${dir}" has no ${k}.pem: the folder must hold ca.pem, cert.pem and key.pem ` +
          '(the files `dockerd --tlsverify` clients use), or clear the setting.',
      );
  }
  return out;
}

/** A dockerode client for the target (the module is imported lazily). */
export async function connectEngine(target: EngineTarget): Promise<Dockerode> {
  const mod = await import('dockerode');
  const Docker = (mod.default ?? mod) as unknown as typeof Dockerode;
  // ssh:// goes through one shared, host-key-checked SSH connection (docker-modem's own ssh opens one per request).
  // The host name is never looked up (the agent makes every connection a channel), but it must be `localhost`:
  // VS Code's proxy support (http.proxySupport `override`, the default) replaces a request's agent with its own
  // unless the host is localhost, and would then resolve the name and fail (seen in the in-host multi-root test).
  if (target.ssh)
    return new Docker({
      protocol: 'http',
      host: 'localhost',
      port: 2375,
      agent: sshEngineFor(target.ssh).httpAgent(),
    } as Dockerode.DockerOptions);
  return new Docker(target.options);
}

/**
 * DOCKER_HOST for a CLI child (compose, docker): undefined for the local default, the address for unix/tcp,
 * and for ssh:// a private local socket forwarding over the verified connection (connects first, so a
 * refused host key is thrown here).
 */
export async function cliDockerHost(target: EngineTarget): Promise<string | undefined> {
  if (target.ssh) return sshEngineFor(target.ssh).cliHost();
  return target.source === 'default' ? undefined : target.host;
}

/**
 * The engine for a docker/compose CLI child, as environment variables: DOCKER_HOST (see cliDockerHost) and,
 * for a TLS engine, DOCKER_CERT_PATH and DOCKER_TLS_VERIFY=1. Only paths: the key's contents never leave its file.
 */
export async function cliDockerEnv(target: EngineTarget): Promise<Record<string, string>> {
  const host = await cliDockerHost(target);
  return {
    ...(host ? { DOCKER_HOST: host } : {}),
    ...(target.tls ? { DOCKER_CERT_PATH: target.tls.certPath, DOCKER_TLS_VERIFY: '1' } : {}),
  };
}

/** A short name of where the engine is, for view roots: "local", "ssh://root@host:2222", "context prod". */
export function engineLabel(target: EngineTarget): string {
  if (target.source === 'default') return 'local engine';
  if (target.context) return `context ${target.context}`;
  return target.host;
}

export { isUnreachable } from './unreachable';
