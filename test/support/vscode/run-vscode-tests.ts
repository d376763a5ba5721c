/**
 * npm run test:vscode — the extension's in-host suites inside a real VS Code.
 *
 * Here (no VS Code download possible) VS Code is the server inside the npm package
 * code-server@4.100.3, installed on demand into ~/.cache/tsdb-ops/; a headless Chromium opens its
 * workbench with the `payload` URL parameter (extensionDevelopmentPath = this repo,
 * extensionTestsPath = the bundled runner, test/vscode/index.ts), and the runner writes its results
 * to a JSON file that this launcher prints.
 * Where a VS Code build can be had (VSCODE_EXECUTABLE_PATH, or a download that works), the same
 * suites also run through @vscode/test-electron's runTests.
 *
 * Options:
 *   --tests <file|glob|dir>   run these suite files (anywhere on disk) instead of the repo's; repeatable
 *   --workspace <dir>         the folder to open (default: test/fixtures/workspace; for the repo's
 *                             empty-workspace suites a fresh empty temp folder; for test/vscode/multiroot
 *                             a fresh multi-root workspace: folders dev/ and staging/ in a .code-workspace)
 *   --timeout <seconds>       per-run limit (default 900: the in-host suites start compose stacks)
 *   --grep <text>             only tests whose full title matches
 *   --no-electron             do not try @vscode/test-electron
 *   --keep                    keep the temp folders (server logs) for inspection
 *   --verbose                 echo the browser console
 * Exit code: 0 when every test passed, 1 on any failure, timeout or harness error.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CONFIG_ENV, type RunConfig, type RunResults } from '../../vscode/harness.js';
import { bundleRunner, bundleSuites, expandTests, REPO_ROOT, repoSuites } from './bundle.js';
import { checkParts, ensureCodeServer } from './code-server.js';
import { onCleanup, runMain, runProcess, sleep } from './processes.js';
import {
  launchChromium,
  makeDirs,
  remoteUri,
  startVSCodeServer,
  workbenchUrl,
  type BrowserHandle,
} from './workbench.js';
import { runWithTestElectron } from './electron.js';
import { indent, printResults } from './print.js';

const FIXTURE_WORKSPACE = join(REPO_ROOT, 'test', 'fixtures', 'workspace');
const MULTIROOT_SUITES = join(REPO_ROOT, 'test', 'vscode', 'multiroot');

/** A fresh multi-root workspace: empty folders dev/ and staging/ (the suites point each at a stack) in a .code-workspace. */
function multiRootWorkspace(keep: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsdb-ops-multiroot-ws-'));
  if (!keep) onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  for (const name of ['dev', 'staging']) mkdirSync(join(dir, name));
  const file = join(dir, 'stacks.code-workspace');
  writeFileSync(file, JSON.stringify({ folders: [{ path: 'dev' }, { path: 'staging' }], settings: {} }, null, 2));
  return file;
}

interface Run {
  name: string;
  workspace: string;
  workspaceKind: string;
  sources: string[];
  bundles: string[];
  /** False: the server runs with workspace trust on, so the folder opens untrusted (restricted mode). */
  trust?: boolean;
}

interface Totals {
  passed: number;
  failed: number;
  skipped: number;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      tests: { type: 'string', multiple: true },
      workspace: { type: 'string' },
      timeout: { type: 'string' },
      grep: { type: 'string' },
      'no-electron': { type: 'boolean' },
      keep: { type: 'boolean' },
      verbose: { type: 'boolean' },
    },
    allowPositionals: false,
  });
  const timeoutMs = Number(values.timeout ?? 900) * 1000;
  const t0 = Date.now();

  if (!checkParts('test:vscode')) return 0;

  // 1. The extension bundle (dist/extension.js), as users get it.
  console.log('building the extension (npm run build)…');
  const b = await runProcess(['npm', 'run', '--silent', 'build'], { cwd: REPO_ROOT, timeoutMs: 180_000 });
  if (b.code !== 0) throw new Error(`npm run build failed (exit ${b.code}):\n${b.output}`);

  // 2. The runner and the suites, bundled for the extension host.
  const runner = await bundleRunner();
  const runs: Run[] = [];
  if (values.tests?.length) {
    const sources = values.tests.flatMap((t) => expandTests(t));
    if (!sources.length) throw new Error(`--tests ${values.tests.join(' ')} matched no file`);
    const multiroot = sources.every((s) => s.startsWith(MULTIROOT_SUITES));
    const ws = values.workspace
      ? resolve(values.workspace)
      : multiroot
        ? multiRootWorkspace(!!values.keep)
        : FIXTURE_WORKSPACE;
    runs.push({
      name: 'custom',
      workspace: ws,
      workspaceKind: values.workspace ? 'custom' : multiroot ? 'multiroot' : 'fixture',
      sources,
      bundles: [],
    });
  } else {
    const suites = repoSuites();
    const emptyWs = mkdtempSync(join(tmpdir(), 'tsdb-ops-empty-ws-'));
    if (!values.keep) onCleanup(() => rmSync(emptyWs, { recursive: true, force: true }));
    if (values.workspace) {
      runs.push({
        name: 'workspace',
        workspace: resolve(values.workspace),
        workspaceKind: 'custom',
        sources: suites.fixture,
        bundles: [],
      });
    } else {
      runs.push({
        name: 'fixture',
        workspace: FIXTURE_WORKSPACE,
        workspaceKind: 'fixture',
        sources: suites.fixture,
        bundles: [],
      });
      runs.push({ name: 'empty', workspace: emptyWs, workspaceKind: 'empty', sources: suites.empty, bundles: [] });
      runs.push({
        name: 'multiroot',
        workspace: suites.multiroot.length ? multiRootWorkspace(!!values.keep) : '',
        workspaceKind: 'multiroot',
        sources: suites.multiroot,
        bundles: [],
      });
      runs.push({
        name: 'untrusted',
        workspace: FIXTURE_WORKSPACE,
        workspaceKind: 'fixture',
        sources: suites.untrusted,
        bundles: [],
        trust: false,
      });
    }
  }
  for (const run of runs) run.bundles = await bundleSuites(run.sources, run.name);

  // 3. code-server (cached), Chromium.
  const tInstall = Date.now();
  await ensureCodeServer();
  const installMs = Date.now() - tInstall;
  if (installMs > 5000) console.log(`code-server ready after ${(installMs / 1000).toFixed(0)} s`);
  const browser = await launchChromium();

  const totals: Totals = { passed: 0, failed: 0, skipped: 0 };
  for (const run of runs) {
    if (!run.bundles.length) continue;
    const tRun = Date.now();
    console.log(
      `\n== ${run.name}: ${run.sources.length} suite file(s) on ${run.workspace} (browser-hosted VS Code server)`,
    );
    for (const s of run.sources) console.log(`   suite: ${s}`);
    const res = await runInBrowser(run, runner, browser, {
      timeoutMs,
      grep: values.grep,
      keep: !!values.keep,
      verbose: !!values.verbose,
    });
    add(totals, res);
    console.log(`   (${run.name}: ${((Date.now() - tRun) / 1000).toFixed(1)} s)`);
  }
  await browser.close();

  // 4. @vscode/test-electron, where VS Code can be had.
  if (!values['no-electron']) {
    for (const run of runs) {
      if (!run.bundles.length) continue;
      const res = await runWithTestElectron(run, runner, { timeoutMs, grep: values.grep });
      if (!res) break; // no desktop build: reason printed
      add(totals, res);
    }
  }

  console.log(`\ntest:vscode took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const summaryFile = process.env.TSDB_OPS_TEST_SUMMARY;
  if (summaryFile) writeFileSync(summaryFile, JSON.stringify(totals));
  console.log(`${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
  return totals.failed > 0 || totals.passed === 0 ? 1 : 0;
}

function add(totals: Totals, r: Totals): void {
  totals.passed += r.passed;
  totals.failed += r.failed;
  totals.skipped += r.skipped;
}

async function runInBrowser(
  run: Run,
  runner: string,
  browser: BrowserHandle,
  opts: { timeoutMs: number; grep?: string; keep: boolean; verbose: boolean },
): Promise<Totals> {
  const dirs = makeDirs(`tsdb-ops-vscode-${run.name}-`, opts.keep);
  const resultsFile = join(dirs.root, 'results.json');
  const config: RunConfig = {
    suites: run.bundles,
    resultsFile,
    logsRoots: [dirs.serverData, dirs.userData],
    workspace: run.workspace,
    workspaceKind: run.workspaceKind,
    repoRoot: REPO_ROOT,
    timeoutMs: 60_000,
    grep: opts.grep,
  };
  const configFile = join(dirs.root, 'run-config.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  if (opts.keep) console.log(`   temp folder (kept): ${dirs.root}`);

  const cs = await ensureCodeServer();
  const server = await startVSCodeServer(cs, { dirs, env: { [CONFIG_ENV]: configFile }, trust: run.trust });
  const page = await browser.newPage();
  const consoleLines: string[] = [];
  page.on('console', (m) => {
    const line = `[browser ${m.type()}] ${m.text()}`;
    consoleLines.push(line);
    if (opts.verbose) console.log(line);
  });
  page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.message}`));
  const url = workbenchUrl(server.origin, run.workspace, [
    ['extensionDevelopmentPath', remoteUri(server, REPO_ROOT)],
    ['extensionTestsPath', remoteUri(server, runner)],
  ]);
  try {
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
    let serverGone = false;
    void server.proc.exited.then(() => (serverGone = true));
    const results = await waitForResults(resultsFile, server.proc.output, opts.timeoutMs, () => serverGone);
    return printResults(results);
  } catch (err) {
    console.log(`   FAIL ${run.name}: ${(err as Error).message}`);
    console.log('   --- server output (last lines) ---');
    console.log(indent(server.proc.output().split('\n').slice(-40).join('\n'), '   '));
    console.log('   --- browser console (last lines) ---');
    console.log(indent(consoleLines.slice(-30).join('\n'), '   '));
    return { passed: 0, failed: 1, skipped: 0 };
  } finally {
    await page
      .context()
      .close()
      .catch(() => undefined);
    await server.proc.stop();
  }
}

/**
 * Waits for the runner's results file; fails early when the extension host exits without one, or when the VS Code
 * server process itself is gone (a full run once waited its whole per-run limit on a server that had died).
 */
async function waitForResults(
  file: string,
  serverOutput: () => string,
  timeoutMs: number,
  serverGone: () => boolean,
): Promise<RunResults> {
  const deadline = Date.now() + timeoutMs;
  let exitedAt: number | undefined;
  let goneAt: number | undefined;
  while (Date.now() < deadline) {
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as RunResults;
    if (goneAt === undefined && serverGone()) goneAt = Date.now();
    if (goneAt !== undefined && Date.now() - goneAt > 2000)
      throw new Error('the VS Code server process exited without results (its last output is below)');
    if (exitedAt === undefined && /Extension Host Process exited with code/.test(serverOutput())) exitedAt = Date.now();
    if (exitedAt !== undefined && Date.now() - exitedAt > 5000)
      throw new Error('the extension host exited without writing results (did the runner load?)');
    await sleep(250);
  }
  throw new Error(`no results after ${timeoutMs / 1000} s (timeout)`);
}

runMain('test:vscode', main);
