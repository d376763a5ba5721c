/**
 * Where a command runs: the workspace folder, its `.vscode/settings.json` `tsdbOps.*` values (the keys the
 * extension reads, as a plain object; flags override them), and the stack found the way the extension finds it.
 */
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parse, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { discoverInfra, type StackConfig } from '../core/infra';
import { lineIndex } from '../core/lint/parser';
import { type CliIo, UsageError } from './io';

export interface CliWorkspace {
  readonly folder: string;
  /** The settings file read, when there is one. */
  readonly settingsFile?: string;
  /** `tsdbOps.*` values by their full key, e.g. `tsdbOps.lint.rules`. */
  readonly settings: Readonly<Record<string, unknown>>;
}

/** Reads the workspace's settings file (JSON with comments, as VS Code writes it); a broken one is exit 2. */
export async function loadWorkspace(io: CliIo, workspaceFlag: string | undefined): Promise<CliWorkspace> {
  const folder = resolve(io.cwd, workspaceFlag ?? '.');
  if (workspaceFlag !== undefined && !(await isDir(folder)))
    throw new UsageError(
      `--workspace ${workspaceFlag}: ${folder} is not a folder; point it at the folder that holds .vscode/settings.json.`,
    );
  const file = join(folder, '.vscode', 'settings.json');
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return { folder, settings: {} };
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length) {
    const at = lineIndex(text)(errors[0]!.offset);
    throw new UsageError(
      `${file}:${at.line}:${at.column}: ${printParseErrorCode(errors[0]!.error)}; correct the JSON (or pass --workspace another folder).`,
    );
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new UsageError(`${file}: expected a JSON object of settings; correct the file.`);
  const settings = Object.fromEntries(Object.entries(value).filter(([k]) => k.startsWith('tsdbOps.')));
  return { folder, settingsFile: file, settings };
}

/** A setting of the expected type, or a UsageError naming the key and the file. */
export function setting<T>(
  ws: CliWorkspace,
  key: string,
  check: (v: unknown) => v is T,
  expected: string,
): T | undefined {
  const v = ws.settings[key];
  if (v === undefined) return undefined;
  if (!check(v))
    throw new UsageError(`${ws.settingsFile}: ${key} must be ${expected}, got ${JSON.stringify(v)}; correct it.`);
  return v;
}

export const isString = (v: unknown): v is string => typeof v === 'string';
export const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
export const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * The stack: `--infra` (relative to the current folder), else `tsdbOps.infraPath` (relative to the workspace),
 * else the workspace search. A wrong folder is exit 2; none found is undefined.
 */
export async function findStack(
  io: CliIo,
  ws: CliWorkspace,
  infraFlag: string | undefined,
): Promise<StackConfig | undefined> {
  const infraPath =
    infraFlag !== undefined ? resolve(io.cwd, infraFlag) : setting(ws, 'tsdbOps.infraPath', isString, 'a string');
  const found = await discoverInfra({
    workspaceFolder: ws.folder,
    infraPath,
    migrationsPath: setting(ws, 'tsdbOps.migrations.path', isString, 'a string'),
    environment: io.env,
  });
  if (found.kind === 'invalid') {
    const p = found.problems[0]!;
    const what = infraFlag !== undefined ? `--infra ${infraFlag}` : `tsdbOps.infraPath in ${ws.settingsFile}`;
    const why = p.message.replace(/^tsdbOps\.infraPath is "[^"]*", but /, '');
    throw new UsageError(
      `${what}: ${why.replace(/\.$/, '')}; point it at the folder with docker-compose.yaml and .env.`,
    );
  }
  return found.kind === 'found' ? found.stack : undefined;
}

export async function isDir(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}
