import { OpsError } from '../errors/error';
/**
 * The `command` runner mode: the user's own migration binary (default `cargo run --bin tables_migration`),
 * run without a shell, in the workspace, with DATABASE_URL in its environment only.
 */

/** Splits a command line into argv the way a user reads it (quotes, backslash escapes), without any shell features. */
export function splitCommandLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inArg = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inArg = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inArg = true;
    } else if (/\s/.test(c)) {
      if (inArg) out.push(cur);
      cur = '';
      inArg = false;
    } else {
      cur += c;
      inArg = true;
    }
  }
  if (quote) throw new OpsError('config', `Unclosed ${quote} in the command "${line}".`);
  if (inArg) out.push(cur);
  return out;
}

export interface CommandRunOptions {
  readonly argv: readonly string[];
  readonly cwd: string;
  /** Passed in the child's environment only, never on its command line. */
  readonly databaseUrl: string;
  readonly signal?: AbortSignal;
  readonly onLine?: (line: string) => void;
}

/** Runs the command, streaming stdout and stderr line by line; resolves with the exit code. */
export async function runMigrationCommand(opts: CommandRunOptions): Promise<{ exitCode: number; cancelled: boolean }> {
  const [file, ...args] = opts.argv;
  if (!file)
    throw new OpsError(
      'config',
      'tsdbOps.migrations.command is empty: set it to the command that applies your migrations, e.g. cargo run --bin tables_migration.',
    );
  const { execa } = await import('execa');
  const child = execa(file, args, {
    cwd: opts.cwd,
    env: { DATABASE_URL: opts.databaseUrl },
    extendEnv: true,
    cancelSignal: opts.signal,
    forceKillAfterDelay: 3000,
    reject: false,
    stdin: 'ignore',
    all: true,
    buffer: false,
  });
  if (child.all) {
    const { createInterface } = await import('node:readline');
    const rl = createInterface({ input: child.all, crlfDelay: Infinity });
    rl.on('line', (line) => opts.onLine?.(line));
  }
  const result = await child;
  if (result.failed && !result.isCanceled && result.exitCode === undefined) {
    throw new OpsError('tool-failed', `Cannot run "${file}": ${result.shortMessage ?? result.message}`);
  }
  return { exitCode: result.exitCode ?? 1, cancelled: Boolean(result.isCanceled) };
}
