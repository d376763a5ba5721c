/**
 * The production guard. `tsdbOps.stacks.production` lists globs; a stack is production when one
 * matches its workspace folder (path or name), its infra folder, or the Docker context its engine
 * comes from. A destructive command on a production stack needs a typed name instead of a click:
 * the database's name for a single-database operation, the stack's compose project name for a
 * cluster-wide one. With args, `confirm` must be that string; `confirm: true` is refused there with a
 * message saying what to pass. Other stacks keep `confirm: true`.
 */
import { confirmationError } from '../errors/misc';

export interface ProductionMatch {
  /** The glob that matched. */
  readonly glob: string;
  /** What it matched: "folder /srv/prod", "context prod-ssh". */
  readonly matched: string;
}

export interface StackIdentity {
  readonly workspaceFolder: string;
  readonly infraDir: string;
  /** The Docker context the stack's engine comes from, if any. */
  readonly context?: string;
}

/** A glob as a RegExp: `**` any path, `*` any run within a path segment, `?` one character. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'i');
}

/** The first glob naming the stack (folder path, folder name, infra folder, or Docker context), if any. */
export function productionMatch(
  globs: readonly string[] | undefined,
  stack: StackIdentity,
): ProductionMatch | undefined {
  const folderName = stack.workspaceFolder.split(/[\\/]/).filter(Boolean).pop() ?? stack.workspaceFolder;
  const candidates: Array<[string, string]> = [
    [stack.workspaceFolder, `folder ${stack.workspaceFolder}`],
    [folderName, `folder ${stack.workspaceFolder}`],
    [stack.infraDir, `folder ${stack.infraDir}`],
    ...(stack.context ? ([[stack.context, `Docker context ${stack.context}`]] as Array<[string, string]>) : []),
  ];
  for (const glob of globs ?? []) {
    const g = glob.trim();
    if (!g) continue;
    const re = globToRegExp(g);
    const hit = candidates.find(([value]) => re.test(value));
    if (hit) return { glob: g, matched: hit[1] };
  }
  return undefined;
}

export type GuardScope = 'database' | 'cluster';

export interface DestructiveGuard {
  /** The command id, for messages. */
  readonly command: string;
  readonly scope: GuardScope;
  /** The string to type: the database name (scope database) or the compose project name (scope cluster). */
  readonly name: string;
  /** Set when the stack is production. */
  readonly production?: ProductionMatch;
}

export { confirmationError };

function what(g: DestructiveGuard): string {
  return g.scope === 'database' ? `the database name "${g.name}"` : `the stack (compose project) name "${g.name}"`;
}

/** Checks `confirm` of an args call: `true` for other stacks, the exact name for a production stack. */
export function checkConfirmArg(confirm: unknown, g: DestructiveGuard): void {
  if (!g.production) {
    if (confirm !== true) throw confirmationError(`${g.command} changes data: pass { confirm: true }.`);
    return;
  }
  if (confirm === g.name) return;
  const why = `${g.command} on a production stack (tsdbOps.stacks.production "${g.production.glob}" matched ${g.production.matched})`;
  if (confirm === true)
    throw confirmationError(
      `${why} is not confirmed by confirm: true: pass { confirm: ${JSON.stringify(g.name)} } (${what(g)}).`,
    );
  throw confirmationError(
    `${why} needs { confirm: ${JSON.stringify(g.name)} } (${what(g)}); got ${JSON.stringify(confirm ?? null)}.`,
  );
}

/** The prompt of the typed confirmation, and its validator (undefined when the text is right). */
export function typedConfirmation(g: DestructiveGuard): {
  prompt: string;
  validate: (text: string) => string | undefined;
} {
  return {
    prompt: `Production stack (${g.production?.matched ?? ''}): type ${what(g)} to confirm.`,
    validate: (text) => (text === g.name ? undefined : `Type ${g.name} exactly to go on.`),
  };
}
