/** What a command sees of the process: its output streams, environment and folder (tests pass their own). */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/** Exit codes, as documented in docs/cli.md. */
export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;

export { UsageError } from '../core/errors/misc';

/** The command line's version: set by the bundle (cli/build.mjs), else read from cli/package.json (tests under tsx). */
declare const TSDB_OPS_CLI_VERSION: string | undefined;
export function cliVersion(): string {
  if (typeof TSDB_OPS_CLI_VERSION === 'string') return TSDB_OPS_CLI_VERSION;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../../cli/package.json') as { version: string }).version;
}
