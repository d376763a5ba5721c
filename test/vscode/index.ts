/**
 * In-host test runner: VS Code (the browser-hosted server through the `payload` URL parameter, or
 * @vscode/test-electron) loads this module as `extensionTestsPath` and calls run() inside the Node
 * extension host. It runs the suite files named in the run config with mocha's programmatic API and
 * writes {passed, failed, tests:[…]} to the results file named there.
 *
 * The run config is a JSON file whose path comes in the environment variable
 * TSDB_OPS_VSCODE_TEST_CONFIG (the extension host inherits the server's environment), see
 * RunConfig in ./harness.ts. The launcher bundles this file to out/test/vscode/index.js.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { format } from 'node:util';
import Mocha from 'mocha';
import * as vscode from 'vscode';
import { readRunConfig, type TestResult, type RunResults } from './harness.js';

export async function run(): Promise<void> {
  const config = readRunConfig();
  // Stack traces at the TypeScript sources where the host lets Node apply the bundles' inline source
  // maps (the VS Code extension host installs its own Error.prepareStackTrace, which wins).
  process.setSourceMapsEnabled(true);
  const started = Date.now();
  const tests: TestResult[] = [];
  const output: string[] = [];
  // Lines printed since the last test ended go with the next finished test.
  let pending: string[] = [];

  // Keep what the suites print: the launcher shows it. The extension host pins console.* with
  // non-writable getters (its console forwarder), so the suite bundles get their own `console`
  // instead: the launcher bundles them with a banner `var console = globalThis.__tsdbOpsConsole ?? console`.
  const original = console;
  const capture = Object.create(original) as Console;
  for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    Object.defineProperty(capture, level, {
      value: (...args: unknown[]): void => {
        pending.push(`${level === 'log' || level === 'info' ? '' : `[${level}] `}${format(...args)}`);
        original[level](...args);
      },
    });
  }
  (globalThis as { __tsdbOpsConsole?: Console }).__tsdbOpsConsole = capture;

  const take = (): string[] => {
    const lines = pending;
    pending = [];
    return lines;
  };
  const writeResults = (extra: Partial<RunResults> = {}): RunResults => {
    output.push(...take());
    const passed = tests.filter((t) => t.state === 'passed').length;
    const failed = tests.filter((t) => t.state === 'failed').length;
    const skipped = tests.filter((t) => t.state === 'pending').length;
    const results: RunResults = {
      passed,
      failed,
      skipped,
      durationMs: Date.now() - started,
      vscodeVersion: vscode.version,
      appName: vscode.env.appName,
      tests,
      output,
      ...extra,
    };
    const tmp = `${config.resultsFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(results, null, 2));
    renameSync(tmp, config.resultsFile);
    return results;
  };

  let results: RunResults;
  try {
    const mocha = new Mocha({
      ui: 'bdd',
      color: false,
      timeout: config.timeoutMs ?? 60_000,
      reporter: Mocha.reporters.Base,
      grep: config.grep,
    });
    for (const file of config.suites) mocha.addFile(file);
    const { EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_TEST_PENDING } = Mocha.Runner.constants;
    await new Promise<void>((resolve) => {
      let runner: Mocha.Runner;
      try {
        runner = mocha.run(() => resolve());
      } catch (err) {
        // A suite file that throws while loading.
        tests.push({
          title: 'load suites',
          fullTitle: 'load suites',
          file: config.suites.join(', '),
          state: 'failed',
          error: errorText(err),
          durationMs: 0,
        });
        resolve();
        return;
      }
      runner.on(EVENT_TEST_PASS, (t: Mocha.Test) => tests.push(toResult(t, 'passed', undefined, take())));
      runner.on(EVENT_TEST_PENDING, (t: Mocha.Test) => tests.push(toResult(t, 'pending', undefined, take())));
      runner.on(EVENT_TEST_FAIL, (t: Mocha.Test | Mocha.Hook, err: unknown) =>
        tests.push(toResult(t, 'failed', err, take())),
      );
    });
    results = writeResults();
  } catch (err) {
    tests.push({ title: 'runner', fullTitle: 'runner', state: 'failed', error: errorText(err), durationMs: 0 });
    results = writeResults();
  } finally {
    delete (globalThis as { __tsdbOpsConsole?: Console }).__tsdbOpsConsole;
  }
  // Rejecting tells @vscode/test-electron (and VS Code's exit code) that the run failed.
  if (results.failed > 0) throw new Error(`${results.failed} test(s) failed`);
}

function toResult(t: Mocha.Runnable, state: TestResult['state'], err: unknown, output: string[]): TestResult {
  return {
    title: t.title,
    fullTitle: t.fullTitle(),
    file: t.file,
    state,
    error: err === undefined ? undefined : errorText(err),
    durationMs: t.duration ?? 0,
    output,
  };
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}
