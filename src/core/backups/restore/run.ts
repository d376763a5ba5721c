/**
 * Shared pieces of every restore: how a step and a command are reported (the exact argv, secrets
 * masked), psql calls against the server, and the errors restores throw.
 */
import type { ToolRunOptions, ToolRunResult, ToolRuntime } from '../../runtime';
import { ToolFailedError } from '../../runtime';
import { backupInvalid, restoreFailed } from '../../errors/backups';
import { maskSecrets } from '../../operations/queue';

/** Where a restore reports: progress steps, output lines, cancellation. */
export interface RestoreContext {
  readonly signal?: AbortSignal;
  step(title: string): void;
  line(text: string): void;
}

/** How psql reaches the server from the runtime (a unix socket by default). */
export interface ServerConnection {
  /** Socket folder or host; default: libpq's default socket. */
  readonly host?: string;
  readonly port?: number;
  readonly user: string;
  /** Maintenance database (default `postgres`). */
  readonly database?: string;
  /** Sent as PGPASSWORD only; masked in every logged line. */
  readonly password?: string;
}

/** Shell-like quoting for the logged command line (display only: every process gets an argv array). */
export function displayArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export interface LoggedRunOptions extends Omit<ToolRunOptions, 'onStdoutLine' | 'onStderrLine'> {
  /** Do not forward stdout lines to the log (listings); they are still returned. */
  quietStdout?: boolean;
  /** Every stdout line (the returned ones stop at 10,000). */
  onStdout?: (line: string) => void;
  /** Every stderr line (before masking), besides the log. */
  onStderr?: (line: string) => void;
  /** Secrets to mask in logged lines (the connection password is always masked). */
  secrets?: readonly (string | undefined)[];
}

/** Runs a tool, logging `$ argv` and its output lines (masked); returns the result whatever the exit code. */
export async function runLogged(
  rt: ToolRuntime,
  ctx: RestoreContext,
  argv: readonly string[],
  opts: LoggedRunOptions = {},
): Promise<ToolRunResult> {
  const secrets = opts.secrets ?? [];
  const mask = (t: string) => maskSecrets(t, secrets);
  ctx.line(`$ ${mask(displayArgv(argv))}`);
  const { quietStdout, onStdout, onStderr, secrets: _s, ...rest } = opts;
  return rt.run(argv, {
    signal: ctx.signal,
    ...rest,
    onStdoutLine: (l) => {
      onStdout?.(l);
      if (!quietStdout) ctx.line(mask(l));
    },
    onStderrLine: (l) => {
      onStderr?.(l);
      ctx.line(mask(l));
    },
  });
}

/** Like runLogged, but a non-zero exit throws ToolFailedError. */
export async function runLoggedChecked(
  rt: ToolRuntime,
  ctx: RestoreContext,
  argv: readonly string[],
  opts: LoggedRunOptions = {},
): Promise<ToolRunResult> {
  const r = await runLogged(rt, ctx, argv, opts);
  if (r.exitCode !== 0)
    throw new ToolFailedError(
      argv,
      r.exitCode,
      r.stderrTail.map((l) => maskSecrets(l, opts.secrets ?? [])),
      rt.description,
    );
  return r;
}

export function psqlArgv(conn: ServerConnection, database?: string): string[] {
  return [
    'psql',
    '-X',
    '-q',
    '-At',
    '-v',
    'ON_ERROR_STOP=1',
    ...(conn.host ? ['-h', conn.host] : []),
    ...(conn.port ? ['-p', String(conn.port)] : []),
    '-U',
    conn.user,
    '-d',
    database ?? conn.database ?? 'postgres',
  ];
}

export function connEnv(conn: ServerConnection): Record<string, string> {
  return conn.password ? { PGPASSWORD: conn.password } : {};
}

/**
 * One SQL command through psql (values quoted with sqlLiteral/sqlIdent: `psql -c` does not
 * interpolate variables); returns its output lines and throws on an error. `signal: null` runs it
 * without the context's signal (rollback steps must run after a cancel).
 */
export async function psqlQuery(
  rt: ToolRuntime,
  ctx: RestoreContext,
  conn: ServerConnection,
  sql: string,
  opts: { database?: string; signal?: AbortSignal | null } = {},
): Promise<string[]> {
  const argv = [...psqlArgv(conn, opts.database), '-c', sql];
  const c: RestoreContext =
    opts.signal === null ? { step: ctx.step, line: ctx.line } : opts.signal ? { ...ctx, signal: opts.signal } : ctx;
  const r = await runLoggedChecked(rt, c, argv, { env: connEnv(conn), secrets: [conn.password], quietStdout: true });
  return r.stdoutLines;
}

export { backupInvalid, restoreFailed };

/** SQL string literal (standard_conforming_strings on). */
export function sqlLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** SQL identifier. */
export function sqlIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}
