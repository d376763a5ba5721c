/**
 * The Compose CLI: `docker compose` (v2 plugin) when the docker CLI has it, else `docker-compose`
 * (v1). Always an argv array with the stack's files spelled out (`-f`, `--project-directory`,
 * `--env-file`, `-p`), output streamed line by line, cancellable through an AbortSignal.
 */
import { existsSync } from 'node:fs';
import { lineSplitter } from './exec';
import { composeFailed, composeNotFound } from '../errors/docker';
import { toolCancelled } from '../errors/process';
import { OpsError } from '../errors/error';

export interface ComposeCli {
  /** The program: `docker` or `docker-compose`. */
  readonly file: string;
  /** Arguments before Compose's own: `['compose']` for the v2 plugin. */
  readonly prefix: readonly string[];
  /** "docker compose 2.27.0" / "docker-compose 1.29.2". */
  readonly version: string;
}

/** What Compose needs to know about a stack (a StackConfig has all of it). */
export interface ComposeProject {
  readonly composeFile: string;
  readonly infraDir: string;
  readonly envFile: string;
  readonly envFileExists: boolean;
  readonly projectName: string;
}

const cache = new Map<string, Promise<ComposeCli>>();

/** Finds the Compose CLI once per PATH: `docker compose version`, else `docker-compose version`. */
export function findComposeCli(env: NodeJS.ProcessEnv = process.env): Promise<ComposeCli> {
  const key = env['PATH'] ?? '';
  let found = cache.get(key);
  if (!found) {
    found = detect(env);
    cache.set(key, found);
    found.catch(() => cache.delete(key));
  }
  return found;
}

async function detect(env: NodeJS.ProcessEnv): Promise<ComposeCli> {
  const { execa } = await import('execa');
  const tried: string[] = [];
  for (const [file, prefix] of [
    ['docker', ['compose']],
    ['docker-compose', []],
  ] as const) {
    const r = await execa(file, [...prefix, 'version', '--short'], {
      env,
      extendEnv: false,
      reject: false,
      timeout: 15_000,
      stdin: 'ignore',
    });
    if (r.exitCode === 0 && typeof r.stdout === 'string' && r.stdout.trim()) {
      return { file, prefix, version: `${[file, ...prefix].join(' ')} ${r.stdout.trim().split('\n')[0]}` };
    }
    tried.push(
      `${[file, ...prefix].join(' ')}: ${r.code === 'ENOENT' ? 'not installed' : `exit ${r.exitCode ?? r.code}`}`,
    );
  }
  throw composeNotFound(tried.join('; '));
}

/** The global options that pin Compose to the stack: compose file, project folder, .env, project name. */
export function projectArgs(p: ComposeProject): string[] {
  return [
    '--ansi',
    'never',
    '-f',
    p.composeFile,
    '--project-directory',
    p.infraDir,
    ...(p.envFileExists || existsSync(p.envFile) ? ['--env-file', p.envFile] : []),
    '-p',
    p.projectName,
  ];
}

export interface RunComposeOptions {
  /** The Docker Engine for the CLI (`DOCKER_HOST`); undefined leaves the environment's. */
  readonly dockerHost?: string;
  /** The engine's variables (DOCKER_HOST, DOCKER_CERT_PATH, DOCKER_TLS_VERIFY: core/docker/engine-address cliDockerEnv). */
  readonly dockerEnv?: Readonly<Record<string, string>>;
  readonly env?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
  /** Each line of stdout and stderr (Compose writes its progress to stderr). */
  readonly onLine?: (line: string) => void;
  readonly cli?: ComposeCli;
}

export interface ComposeRunResult {
  readonly argv: readonly string[];
  readonly exitCode: number;
  readonly tail: readonly string[];
}

/** The full argv (program first) of a compose command for a stack. */
export function composeArgv(cli: ComposeCli, p: ComposeProject, args: readonly string[]): string[] {
  return [cli.file, ...cli.prefix, ...projectArgs(p), ...args];
}

/** The environment of a compose child: the given one, with DOCKER_HOST when one is set. */
export function composeEnv(opts: Pick<RunComposeOptions, 'dockerHost' | 'dockerEnv' | 'env'>): NodeJS.ProcessEnv {
  const env = { ...(opts.env ?? process.env), ...opts.dockerEnv };
  if (opts.dockerHost) env['DOCKER_HOST'] = opts.dockerHost;
  return env;
}

/** Runs `compose <project args> <args>`; throws composeFailed on a non-zero exit, a CancelledError on abort. */
export async function runCompose(
  p: ComposeProject,
  args: readonly string[],
  opts: RunComposeOptions = {},
): Promise<ComposeRunResult> {
  const env = composeEnv(opts);
  const cli = opts.cli ?? (await findComposeCli(env));
  const argv = composeArgv(cli, p, args);
  const r = await runStreamed(argv, { env, cwd: p.infraDir, signal: opts.signal, onLine: opts.onLine });
  if (r.cancelled) throw toolCancelled(argv);
  if (r.exitCode !== 0) throw composeFailed(argv, r.exitCode, r.tail);
  return { argv, exitCode: r.exitCode, tail: r.tail };
}

export interface StreamedRun {
  readonly exitCode: number;
  readonly cancelled: boolean;
  /** The last lines of output (at most 200). */
  readonly tail: string[];
}

/** Runs an argv (never a shell string), delivering stdout and stderr line by line; the signal kills it. */
export async function runStreamed(
  argv: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; signal?: AbortSignal; onLine?: (line: string) => void },
): Promise<StreamedRun> {
  const { execa } = await import('execa');
  const [file, ...args] = argv;
  if (!file) throw new OpsError('internal', 'empty command');
  const tail: string[] = [];
  const onLine = (l: string) => {
    tail.push(l);
    if (tail.length > 200) tail.shift();
    opts.onLine?.(l);
  };
  const child = execa(file, args, {
    env: opts.env,
    extendEnv: false,
    cwd: opts.cwd,
    stdin: 'ignore',
    buffer: false,
    reject: false,
    cancelSignal: opts.signal,
    forceKillAfterDelay: 10_000,
  });
  const out = lineSplitter(onLine);
  const err = lineSplitter(onLine);
  child.stdout?.on('data', (c: Buffer) => out.write(c));
  child.stderr?.on('data', (c: Buffer) => err.write(c));
  const r = await child;
  out.flush();
  err.flush();
  if (r.code === 'ENOENT' || (r.failed && r.exitCode === undefined && !r.isCanceled)) {
    throw new OpsError('tool-failed', `${file} could not be started: ${r.shortMessage ?? r.message}`);
  }
  return { exitCode: r.exitCode ?? -1, cancelled: Boolean(r.isCanceled), tail };
}
