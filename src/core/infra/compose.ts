/**
 * Reads a Compose file the way `docker compose` does for what this extension needs:
 * YAML (yaml library, with line numbers), `${VAR}` interpolation from `.env` and the environment,
 * and a zod-checked model of the services (images, profiles, labels, volumes, ports, env_file).
 */
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument, isScalar, isMap, isPair, visit, type Scalar } from 'yaml';
import { z } from 'zod';
import { interpolate } from './interpolate';
import type { InfraProblem } from './problems';

export interface PortMapping {
  readonly hostIp?: string;
  readonly published?: number;
  readonly target: number;
  readonly protocol: string;
}

export interface VolumeMount {
  readonly type: 'bind' | 'volume' | 'tmpfs' | 'other';
  /** Absolute host path for a bind mount, the volume name for a named volume. */
  readonly source?: string;
  readonly target: string;
  readonly readOnly: boolean;
}

export interface ComposeService {
  readonly name: string;
  readonly image?: string;
  readonly profiles: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly environment: Readonly<Record<string, string>>;
  readonly envFiles: readonly string[];
  readonly volumes: readonly VolumeMount[];
  readonly ports: readonly PortMapping[];
  readonly containerName?: string;
  readonly hasHealthcheck: boolean;
  readonly entrypoint?: readonly string[] | string;
  /** 1-based line of the service's key in the compose file. */
  readonly line?: number;
}

export interface ComposeModel {
  readonly file: string;
  readonly projectDir: string;
  /** Top-level `name:`, when set. */
  readonly name?: string;
  readonly services: readonly ComposeService[];
  /** Variables the file refers to, with the first line each appears on. */
  readonly variables: ReadonlyMap<string, number>;
}

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const stringOrList = z.union([z.string(), z.array(z.string())]);
const mapOrList = z.union([z.record(z.string(), scalar), z.array(z.string())]);

const serviceSchema = z.looseObject({
  image: z.string().optional(),
  profiles: z.array(z.string()).optional(),
  labels: mapOrList.optional(),
  environment: mapOrList.optional(),
  env_file: z
    .union([
      z.string(),
      z.array(z.union([z.string(), z.looseObject({ path: z.string(), required: z.boolean().optional() })])),
    ])
    .optional(),
  volumes: z
    .array(
      z.union([
        z.string(),
        z.looseObject({
          type: z.string().optional(),
          source: z.string().optional(),
          target: z.string(),
          read_only: z.boolean().optional(),
        }),
      ]),
    )
    .optional(),
  ports: z
    .array(
      z.union([
        z.string(),
        z.number(),
        z.looseObject({
          target: z.union([z.number(), z.string()]),
          published: z.union([z.number(), z.string()]).optional(),
          host_ip: z.string().optional(),
          protocol: z.string().optional(),
        }),
      ]),
    )
    .optional(),
  container_name: z.string().optional(),
  healthcheck: z.looseObject({}).optional(),
  entrypoint: stringOrList.optional(),
});

const fileSchema = z.looseObject({
  name: z.string().optional(),
  services: z.record(z.string(), z.union([serviceSchema, z.null()])),
});

export interface ComposeParseResult {
  readonly model?: ComposeModel;
  readonly problems: InfraProblem[];
}

/**
 * Parses compose text. `vars` are the interpolation variables (`.env`, overridden by the environment,
 * as Compose does). `envFileName` names the `.env` in messages.
 */
export function parseCompose(
  text: string,
  file: string,
  vars: Readonly<Record<string, string | undefined>>,
  envFileName = '.env',
): ComposeParseResult {
  const problems: InfraProblem[] = [];
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // The first error is the cause; the parser's later errors follow from it.
    for (const err of doc.errors.slice(0, 1)) {
      const pos = lineCounter.linePos(err.pos[0]);
      problems.push({
        file,
        line: pos?.line,
        column: pos?.col,
        severity: 'error',
        message: `Invalid YAML: ${err.message.split('\n')[0]}`,
        fix: 'Fix the YAML at this line (indentation with spaces, a `key: value` per line, matching quotes).',
      });
    }
    return { problems };
  }

  const lineAt = (node: { range?: [number, number, number] | null }): number | undefined =>
    node.range ? lineCounter.linePos(node.range[0]).line : undefined;

  // Interpolate every scalar value (not keys), as Compose does before reading the model.
  const variables = new Map<string, number>();
  visit(doc, {
    Scalar(key, node: Scalar) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('$')) return;
      const line = lineAt(node);
      const result = interpolate(node.value, vars);
      for (const name of result.variables) if (!variables.has(name)) variables.set(name, line ?? 1);
      for (const issue of result.issues) {
        problems.push({
          file,
          line,
          severity: 'error',
          message:
            issue.kind === 'unset'
              ? `\${${issue.variable}} is not set: ${envFileName} has no ${issue.variable} and the environment does not define it.`
              : issue.message,
          fix:
            issue.kind === 'syntax'
              ? 'Write variables as ${NAME}, ${NAME:-default} or $NAME; write $$ for a literal $.'
              : `Add ${issue.variable}=<value> to ${envFileName}, or give a default in the compose file: \${${issue.variable}:-<value>}.`,
        });
      }
      node.value = result.value;
    },
  });

  const js: unknown = doc.toJS();
  const parsed = fileSchema.safeParse(js ?? {});
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.map(String);
      const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
      problems.push({
        file,
        line: node && typeof node === 'object' ? lineAt(node) : undefined,
        severity: 'error',
        message: `Invalid compose file at ${path.join('.') || '(top level)'}: ${issue.message}.`,
        fix:
          path.length === 0 || (path[0] === 'services' && path.length === 1)
            ? 'A compose file needs a `services:` map with one entry per service.'
            : 'See the Compose specification for this key.',
      });
    }
    return { problems };
  }

  const projectDir = dirname(file);
  const servicesNode = doc.get('services', true);
  const serviceLines = new Map<string, number>();
  if (isMap(servicesNode)) {
    for (const item of servicesNode.items) {
      if (isPair(item) && isScalar(item.key)) {
        const line = lineAt(item.key as Scalar);
        if (line) serviceLines.set(String(item.key.value), line);
      }
    }
  }

  const services: ComposeService[] = Object.entries(parsed.data.services).map(([name, raw]) => {
    const s = raw ?? {};
    return {
      name,
      image: s.image,
      profiles: s.profiles ?? [],
      labels: toStringMap(s.labels),
      environment: toStringMap(s.environment),
      envFiles: toEnvFiles(s.env_file, projectDir),
      volumes: (s.volumes ?? []).map((v) => toVolume(v, projectDir)),
      ports: (s.ports ?? []).flatMap(toPorts),
      containerName: s.container_name,
      hasHealthcheck: s.healthcheck !== undefined && s.healthcheck['disable'] !== true,
      entrypoint: s.entrypoint,
      line: serviceLines.get(name),
    };
  });

  return { model: { file, projectDir, name: parsed.data.name, services, variables }, problems };
}

function toStringMap(v: z.infer<typeof mapOrList> | undefined): Record<string, string> {
  if (!v) return {};
  if (Array.isArray(v)) {
    return Object.fromEntries(
      v.map((entry) => {
        const eq = entry.indexOf('=');
        return eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(v).map(([k, val]) => [k, val === null ? '' : String(val)]));
}

function toEnvFiles(v: z.infer<typeof serviceSchema>['env_file'], projectDir: string): string[] {
  if (!v) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((e) => resolve(projectDir, typeof e === 'string' ? e : e.path));
}

function toVolume(
  v: string | { type?: string; source?: string; target: string; read_only?: boolean },
  projectDir: string,
): VolumeMount {
  if (typeof v !== 'string') {
    const type = v.type === 'bind' || v.type === 'volume' || v.type === 'tmpfs' ? v.type : 'other';
    const source = v.source && type === 'bind' ? resolve(projectDir, v.source) : v.source;
    return { type, source, target: v.target, readOnly: v.read_only === true };
  }
  const parts = v.split(':');
  if (parts.length === 1) return { type: 'volume', target: parts[0] ?? v, readOnly: false };
  const [src = '', target = '', mode = ''] = parts;
  const isPath = src.startsWith('.') || src.startsWith('/') || src.startsWith('~') || isAbsolute(src);
  const home = process.env.HOME ?? '';
  const source = isPath ? resolve(projectDir, src.startsWith('~') ? home + src.slice(1) : src) : src;
  return { type: isPath ? 'bind' : 'volume', source, target, readOnly: mode.split(',').includes('ro') };
}

function toPorts(
  p: string | number | { target: number | string; published?: number | string; host_ip?: string; protocol?: string },
): PortMapping[] {
  if (typeof p === 'number') return [{ target: p, protocol: 'tcp' }];
  if (typeof p !== 'string') {
    const published = p.published === undefined ? undefined : Number(String(p.published).split('-')[0]);
    return [{ target: Number(p.target), published, hostIp: p.host_ip, protocol: p.protocol ?? 'tcp' }];
  }
  const [spec = '', protocol = 'tcp'] = p.split('/');
  // [host_ip:][published:]target, host_ip may be [ipv6]
  const m = /^(?:(\[[^\]]+\]|[\d.]+):)?(?:(\d+(?:-\d+)?)?:)?(\d+(?:-\d+)?)$/.exec(spec);
  if (!m) return [];
  const published = m[2] ? Number(m[2].split('-')[0]) : undefined;
  return [{ hostIp: m[1]?.replace(/^\[|\]$/g, ''), published, target: Number((m[3] ?? '').split('-')[0]), protocol }];
}

/** Compose's project name normalisation (lower case; only a-z, 0-9, `_` and `-`; no leading `_`/`-`). */
export function normalizeProjectName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^-_a-z0-9]+/g, '')
    .replace(/^[-_]+/, '');
}

/**
 * The project name as Compose derives it: COMPOSE_PROJECT_NAME (environment, then `.env`),
 * then the top-level `name:`, then the project folder's name.
 */
export function composeProjectName(model: ComposeModel, vars: Readonly<Record<string, string | undefined>>): string {
  const fromEnv = vars['COMPOSE_PROJECT_NAME'];
  return normalizeProjectName(fromEnv || model.name || basename(model.projectDir));
}
