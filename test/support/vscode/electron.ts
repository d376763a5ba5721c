/**
 * The same in-host suites through @vscode/test-electron (desktop VS Code), wherever a VS Code build
 * can be had: VSCODE_EXECUTABLE_PATH, or a download (cached in .vscode-test/) that works within a
 * short time. Otherwise a one-line reason is printed and nothing fails.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downloadAndUnzipVSCode, runTests } from '@vscode/test-electron';
import { CONFIG_ENV, type RunConfig, type RunResults } from '../../vscode/harness.js';
import { REPO_ROOT } from './bundle.js';
import { onCleanup, withTimeout } from './processes.js';
import { printResults } from './print.js';

interface RunLike {
  name: string;
  workspace: string;
  workspaceKind: string;
  bundles: string[];
  trust?: boolean;
}

let executable: string | undefined | null = null; // null: not looked up yet

async function findExecutable(): Promise<string | undefined> {
  if (executable !== null) return executable;
  const fromEnv = process.env.VSCODE_EXECUTABLE_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) {
      console.log(`\n@vscode/test-electron: skipped: VSCODE_EXECUTABLE_PATH=${fromEnv} does not exist`);
      return (executable = undefined);
    }
    return (executable = fromEnv);
  }
  try {
    // A download (or the copy cached in .vscode-test/ by an earlier one); give up quickly.
    executable = await withTimeout(
      downloadAndUnzipVSCode({
        version: 'stable',
        timeout: 15_000,
        cachePath: join(REPO_ROOT, '.vscode-test'),
        reporter: { report: () => undefined, error: () => undefined },
      }),
      30_000,
      'VS Code download',
    );
    return executable;
  } catch (err) {
    const reason = (err as Error).message.split('\n')[0];
    console.log(
      '\n@vscode/test-electron: not run as a second host (the suites above ran in browser-hosted VS Code); ' +
        `no desktop VS Code build here: set VSCODE_EXECUTABLE_PATH to one (download failed: ${reason})`,
    );
    return (executable = undefined);
  }
}

/** Runs the bundled suites in desktop VS Code; undefined when no VS Code build is available. */
export async function runWithTestElectron(
  run: RunLike,
  runner: string,
  opts: { timeoutMs: number; grep?: string },
): Promise<{ passed: number; failed: number; skipped: number } | undefined> {
  const exe = await findExecutable();
  if (!exe) return undefined;
  const root = mkdtempSync(join(tmpdir(), `tsdb-ops-electron-${run.name}-`));
  onCleanup(() => rmSync(root, { recursive: true, force: true }));
  const resultsFile = join(root, 'results.json');
  const userData = join(root, 'user-data');
  const config: RunConfig = {
    suites: run.bundles,
    resultsFile,
    logsRoots: [userData],
    workspace: run.workspace,
    workspaceKind: run.workspaceKind,
    repoRoot: REPO_ROOT,
    timeoutMs: 60_000,
    grep: opts.grep,
  };
  const configFile = join(root, 'run-config.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  console.log(`\n== ${run.name}: @vscode/test-electron with ${exe}`);
  let code: number | string;
  try {
    code = await withTimeout(
      runTests({
        vscodeExecutablePath: exe,
        extensionDevelopmentPath: REPO_ROOT,
        extensionTestsPath: runner,
        extensionTestsEnv: { [CONFIG_ENV]: configFile },
        launchArgs: [
          run.workspace,
          ...(run.trust === false ? [] : ['--disable-workspace-trust']),
          '--disable-extensions',
          '--skip-welcome',
          '--skip-release-notes',
          '--user-data-dir',
          userData,
          '--extensions-dir',
          join(root, 'extensions'),
        ],
      }),
      opts.timeoutMs,
      'runTests',
    );
  } catch (err) {
    code = (err as Error).message;
  }
  if (!existsSync(resultsFile)) {
    console.log(`   FAIL: VS Code ended (${code}) without results`);
    return { passed: 0, failed: 1, skipped: 0 };
  }
  const r = JSON.parse(readFileSync(resultsFile, 'utf8')) as RunResults;
  return printResults(r);
}
