/**
 * Docker contexts, read the way the docker CLI reads them: the config folder is `DOCKER_CONFIG` or
 * `~/.docker`; the current context is `DOCKER_CONTEXT`, else `currentContext` of `config.json`, else
 * `default` (the local engine, or `DOCKER_HOST`); each named context is
 * `contexts/meta/<sha256 of the name>/meta.json` with its Docker endpoint (`Endpoints.docker.Host`)
 * and its TLS files in `contexts/tls/<sha256>/docker/`. Only read here, never written.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { dockerContextError } from '../errors/docker';

export interface DockerContext {
  readonly name: string;
  readonly description?: string;
  /** The engine address (`unix://…`, `tcp://…`, `ssh://…`); undefined for `default`. */
  readonly host?: string;
  readonly skipTlsVerify?: boolean;
  /** Folder with ca.pem / cert.pem / key.pem when the context has TLS material. */
  readonly tlsDir?: string;
  /** The meta.json it was read from. */
  readonly file?: string;
}

export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['DOCKER_CONFIG'] || join(env['HOME'] || homedir(), '.docker');
}

/** The current context's name and where it came from (`DOCKER_CONTEXT`, `config.json`, or `default`). */
export function currentContextName(env: NodeJS.ProcessEnv = process.env): { name: string; source: string } {
  const fromEnv = env['DOCKER_CONTEXT']?.trim();
  if (fromEnv) return { name: fromEnv, source: 'DOCKER_CONTEXT' };
  const file = join(dockerConfigDir(env), 'config.json');
  if (existsSync(file)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw dockerContextError(`${file} is not valid JSON (${(e as Error).message}); fix it or remove it.`);
    }
    const name = (parsed as { currentContext?: unknown } | null)?.currentContext;
    if (typeof name === 'string' && name.trim()) return { name: name.trim(), source: file };
  }
  return { name: 'default', source: 'default' };
}

const hashOf = (name: string): string => createHash('sha256').update(name).digest('hex');

function readMeta(file: string, tlsRoot: string): DockerContext | undefined {
  let meta: {
    Name?: unknown;
    Metadata?: { Description?: unknown };
    Endpoints?: { docker?: { Host?: unknown; SkipTLSVerify?: unknown } };
  };
  try {
    meta = JSON.parse(readFileSync(file, 'utf8')) as typeof meta;
  } catch (e) {
    throw dockerContextError(`${file} is not valid JSON (${(e as Error).message}): recreate the context.`);
  }
  if (typeof meta.Name !== 'string') return undefined;
  const docker = meta.Endpoints?.docker;
  const tlsDir = join(tlsRoot, hashOf(meta.Name), 'docker');
  return {
    name: meta.Name,
    description: typeof meta.Metadata?.Description === 'string' ? meta.Metadata.Description : undefined,
    host: typeof docker?.Host === 'string' && docker.Host ? docker.Host : undefined,
    skipTlsVerify: docker?.SkipTLSVerify === true,
    tlsDir: existsSync(tlsDir) ? tlsDir : undefined,
    file,
  };
}

/** Every context: `default` first, then the named ones by name. */
export function listContexts(env: NodeJS.ProcessEnv = process.env): DockerContext[] {
  const root = join(dockerConfigDir(env), 'contexts');
  const metaRoot = join(root, 'meta');
  const named: DockerContext[] = [];
  if (existsSync(metaRoot)) {
    for (const dir of readdirSync(metaRoot)) {
      const file = join(metaRoot, dir, 'meta.json');
      if (!existsSync(file)) continue;
      const c = readMeta(file, join(root, 'tls'));
      if (c && c.name !== 'default') named.push(c);
    }
  }
  named.sort((a, b) => a.name.localeCompare(b.name));
  return [{ name: 'default', description: 'the local engine (or DOCKER_HOST)' }, ...named];
}

/** One context by name; a clear error naming the folder when there is no such context. */
export function readContext(name: string, env: NodeJS.ProcessEnv = process.env): DockerContext {
  if (name === 'default') return { name: 'default' };
  const root = join(dockerConfigDir(env), 'contexts');
  const file = join(root, 'meta', hashOf(name), 'meta.json');
  const c = existsSync(file) ? readMeta(file, join(root, 'tls')) : undefined;
  if (!c) {
    const known = listContexts(env).map((x) => x.name);
    throw dockerContextError(
      `Docker context "${name}" does not exist (no ${file}); known contexts: ${known.join(', ')}. ` +
        `Create it with "docker context create ${name} --docker host=ssh://user@host", or pick another one.`,
    );
  }
  if (!c.host) throw dockerContextError(`Docker context "${name}" (${file}) has no Docker endpoint host.`);
  return c;
}
