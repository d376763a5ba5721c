/**
 * `npm test`: every test layer in turn (unit, integration, in-VS Code, UI), each in its own process,
 * then one summary. Exits non-zero when any layer failed, or (under CI) ran no test at all.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const isCI = /^(1|true|yes)$/i.test(process.env.CI ?? '');
const layers = ['test:unit', 'test:integration', 'test:vscode', 'test:e2e'];
const only = process.argv.slice(2);
const selected = only.length ? layers.filter((l) => only.some((o) => l.endsWith(o))) : layers;

interface LayerResult {
  layer: string;
  exitCode: number;
  passed: number;
  failed: number;
  skipped: number;
  seconds: number;
}

function runLayer(layer: string, summaryFile: string): Promise<LayerResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', layer], {
      stdio: 'inherit',
      env: { ...process.env, TSDB_OPS_TEST_SUMMARY: summaryFile },
    });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.once('SIGINT', forward);
    process.once('SIGTERM', forward);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
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
  const dir = mkdtempSync(join(tmpdir(), 'tsdb-ops-test-'));
  const results: LayerResult[] = [];
  try {
    for (const layer of selected) {
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
  process.exit(bad ? 1 : 0);
}

void main();
