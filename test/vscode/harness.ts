/**
 * What the launcher and the in-host runner share: the run config (a JSON file named by the
 * environment variable TSDB_OPS_VSCODE_TEST_CONFIG) and the results format. No `vscode` import here:
 * the launcher (plain Node) imports these types too.
 */
import { readFileSync } from 'node:fs';

export const CONFIG_ENV = 'TSDB_OPS_VSCODE_TEST_CONFIG';

export interface RunConfig {
  /** Absolute paths of the bundled suite files (CommonJS) to run. */
  suites: string[];
  /** Where run() writes RunResults. */
  resultsFile: string;
  /** Folders whose *.log files hold the extension host's logs (the server's and user data dirs). */
  logsRoots: string[];
  /** The folder opened in the window ('' for none). */
  workspace: string;
  /** 'fixture' | 'empty' | 'custom': which workspace the suites are run on. */
  workspaceKind: string;
  /** The repository root (extensionDevelopmentPath). */
  repoRoot: string;
  timeoutMs?: number;
  grep?: string;
}

export interface TestResult {
  title: string;
  fullTitle: string;
  file?: string;
  state: 'passed' | 'failed' | 'pending';
  error?: string;
  durationMs: number;
  /** What the test printed. */
  output?: string[];
}

export interface RunResults {
  passed: number;
  failed: number;
  skipped: number;
  durationMs: number;
  vscodeVersion?: string;
  appName?: string;
  tests: TestResult[];
  /** What the suites printed (console.log etc.) inside the extension host. */
  output: string[];
}

export function readRunConfig(): RunConfig {
  const file = process.env[CONFIG_ENV];
  if (!file) throw new Error(`${CONFIG_ENV} is not set: start the tests through npm run test:vscode`);
  return JSON.parse(readFileSync(file, 'utf8')) as RunConfig;
}
