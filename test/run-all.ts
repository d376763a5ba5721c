/**
 * `npm test`: every test layer in turn (unit, integration, in-VS Code, UI), each in its own process,
 * then one summary. Exits non-zero when any layer failed, or (under CI) ran no test at all.
 *
 * `npm test -- integration vscode` runs only those layers; arguments after `--` go to each layer's command
 * (`npm test -- integration -- --ignore 'test/integration/**' my.test.ts`).
 *
 * Ctrl+C (SIGINT or SIGTERM to the run) ends the whole run: the running layer gets the signal once, its
 * teardown removes what it started (stacks, clusters, temp folders; test/support/cleanup.ts), no further
 * layer starts, and the run exits 130 (143). A layer still running after TEARDOWN_MS gets SIGTERM, then
 * SIGKILL, so the run always ends within about 30 s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const isCI = /^(1|true|yes)$/i.test(process.env.CI ?? '');
const layers = ['test:unit', 'test:integration', 'test:vscode', 'test:e2e'];
const dash = process.argv.indexOf('--', 2);
const only = process.argv.slice(2, dash < 0 ? undefined : dash);
const layerArgs = dash < 0 ? [] : process.argv.slice(dash + 1);
const selected = only.length ? layers.filter((l) => only.some((o) => l.endsWith(o))) : layers;
/** How long an interrupted layer may take to tear down before it is ended by force. */
const TEARDOWN_MS = 22_000;

interface LayerResult {
  layer: string;
  exitCode: number;
  passed: number;
  failed: number;
  skipped: number;
  seconds: number;
}

let current: ChildProcess | undefined;
let interrupted: NodeJS.Signals | undefined;

/** Signals a layer's whole process group (the layer runs detached, so a terminal's Ctrl+C reaches it only from here). */
function signalLayer(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

function onSignal(signal: NodeJS.Signals): void {
  if (interrupted) return;
  interrupted = signal;
  console.log(
    `\n[npm test] ${signal}: stopping the running layer (it removes what it started); no further layer starts`,
  );
  const child = current;
  if (!child) return;
  signalLayer(child, signal);
  const term = setTimeout(() => {
    console.log(`[npm test] the layer is still tearing down after ${TEARDOWN_MS / 1000} s: SIGTERM`);
    signalLayer(child, 'SIGTERM');
  }, TEARDOWN_MS);
  const kill = setTimeout(() => {
    console.log('[npm test] the layer did not end: SIGKILL');
    signalLayer(child, 'SIGKILL');
  }, TEARDOWN_MS + 5_000);
  term.unref();
  kill.unref();
  child.once('exit', () => {
    clearTimeout(term);
    clearTimeout(kill);
  });
}

function runLayer(layer: string, summaryFile: string): Promise<LayerResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', layer, ...(layerArgs.length ? ['--', ...layerArgs] : [])], {
      stdio: 'inherit',
      // Its own process group: one signal, from onSignal, reaches the layer and everything it started.
      detached: true,
      env: { ...process.env, TSDB_OPS_TEST_SUMMARY: summaryFile },
    });
    current = child;
    child.on('exit', (code, signal) => {
      current = undefined;
      let counts = { passed: 0, failed: 0, skipped: 0 };
      try {
        counts = { ...counts, ...JSON.parse(readFileSync(summaryFile, 'utf8')) };
      } catch {
        // the layer died before writing its summary: its exit code says it failed
      }
      resolve({ layer, exitCode: code ?? (signal ? 1 : 0), ...counts, seconds: (Date.now() - started) / 1000 });
    });
  });
}

async function main(): Promise<void> {
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const dir = mkdtempSync(join(tmpdir(), 'tsdb-ops-test-'));
  const results: LayerResult[] = [];
  try {
    for (const layer of selected) {
      if (interrupted) break;
      console.log(`\n======== ${layer} ========`);
      results.push(await runLayer(layer, join(dir, `${layer.replace(':', '-')}.json`)));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('\n======== summary ========');
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  let bad = false;
  for (const r of results) {
    const empty = r.passed + r.failed === 0;
    const status =
      r.exitCode !== 0 || r.failed > 0 ? 'FAILED' : empty ? (isCI ? 'FAILED (ran no test)' : 'no test ran') : 'ok';
    if (status.startsWith('FAILED')) bad = true;
    console.log(
      `${r.layer.padEnd(18)} ${String(r.passed).padStart(4)} passed ${String(r.failed).padStart(3)} failed ` +
        `${String(r.skipped).padStart(3)} skipped  ${r.seconds.toFixed(0).padStart(4)} s  ` +
        `${status}${r.exitCode !== 0 ? ` (exit ${r.exitCode})` : ''}`,
    );
    passed += r.passed;
    failed += r.failed;
    skipped += r.skipped;
  }
  // A layer that exited non-zero without counting a failure (it crashed) still counts as one failure.
  const crashed = results.filter((r) => r.exitCode !== 0 && r.failed === 0).length;
  console.log(`\n${passed} passed, ${failed + crashed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  if (interrupted) {
    const notRun = selected.slice(results.length);
    console.log(`interrupted by ${interrupted}${notRun.length ? `; not run: ${notRun.join(', ')}` : ''}`);
    process.exit(interrupted === 'SIGINT' ? 130 : 143);
  }
  process.exit(bad ? 1 : 0);
}

void main();
