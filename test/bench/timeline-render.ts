/**
 * Benchmark (not a test): the Recovery Timeline webview renders 500 pgBackRest sets and 1,000 migrations.
 * Builds the model with the real core function, loads the bundled dist/timeline.js (npm run build first)
 * into headless Chromium with the panel's markup and a stand-in for acquireVsCodeApi, posts the model, and
 * prints the time the webview reports for the render (its 'rendered' message) and the marks it drew.
 *
 *   npm run build && npx tsx test/bench/timeline-render.ts        (target: ≤ 500 ms)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTimeline } from '../../src/core/backups/timeline';
import type { BackupsOverview } from '../../src/core/backups/overview';
import type { BackupSet } from '../../src/core/backups/pgbackrest';
import type { MigrationStatus } from '../../src/core/migrations/status';
import { REPO_ROOT } from '../support/vscode/bundle.js';
import { launchChromium } from '../support/vscode/workbench.js';
import { runMain } from '../support/vscode/processes.js';

const t0 = Date.UTC(2026, 0, 1);
const seg = (n: number) =>
  `000000010000${(n >> 8).toString(16).padStart(8, '0')}${(n & 0xff).toString(16).padStart(8, '0')}`.toUpperCase();

function model() {
  const backups: BackupSet[] = Array.from({ length: 500 }, (_, i) => ({
    label: `S${i}`,
    type: i % 48 === 0 ? 'full' : i % 4 === 0 ? 'diff' : 'incr',
    reference: [],
    start: new Date(t0 + i * 900_000),
    stop: new Date(t0 + i * 900_000 + 60_000),
    sizeBytes: 1e9,
    deltaBytes: 1e6,
    repoSizeBytes: 1e8,
    repoDeltaBytes: 1e5,
    walStart: seg(i * 2 + 2),
    walStop: seg(i * 2 + 3),
    error: false,
    annotations: {},
  }));
  const migrations: MigrationStatus[] = Array.from({ length: 1000 }, (_, i) => ({
    version: BigInt(20260101000000 + i),
    description: `migration ${i}`,
    state: 'applied',
    applied: {
      version: BigInt(20260101000000 + i),
      description: `migration ${i}`,
      installedOn: new Date(t0 + i * 450_000),
      success: true,
      checksum: Buffer.alloc(0),
      executionTimeNs: 5_000_000n,
    },
  }));
  return buildTimeline({
    overview: {
      stack: { projectName: 'bench', workspaceFolder: '/bench' },
      stanzaName: 'db',
      stanza: {
        name: 'db',
        status: { code: 0, message: 'ok' },
        lockHeld: false,
        backups,
        repos: [],
        walMin: seg(2),
        walMax: seg(5000),
        pitr: { from: backups[0]!.stop, to: new Date(t0 + 500 * 900_000) },
      },
      manual: [],
      preRestore: [],
      loadedAt: new Date(t0 + 500 * 900_000),
    } as unknown as BackupsOverview,
    migrations,
  });
}

runMain('bench:timeline', async () => {
  const script = readFileSync(join(REPO_ROOT, 'dist', 'timeline.js'), 'utf8');
  const css = readFileSync(join(REPO_ROOT, 'media', 'timeline.css'), 'utf8');
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.setContent(
      `<html><head><style>${css}</style></head><body><div class="toolbar"><button id="zoom-in"></button>` +
        `<button id="zoom-out"></button><button id="zoom-reset"></button><span id="status"></span></div>` +
        `<div id="timeline" tabindex="0"></div><div id="card" class="card" hidden></div></body></html>`,
    );
    // Strings, not functions: tsx's helpers (__name) do not exist in the page.
    await page.evaluate(
      'window.posted = []; window.acquireVsCodeApi = () => ({ postMessage: (m) => window.posted.push(m) });',
    );
    await page.addScriptTag({ content: script });
    const m = model();
    const runs: number[] = [];
    const withLayout: number[] = [];
    let marks: unknown;
    for (let i = 0; i < 5; i++) {
      const r = (await page.evaluate(`(async () => {
        window.posted.length = 0;
        const t = performance.now();
        window.postMessage({ type: 'model', model: ${JSON.stringify(m)} }, '*');
        for (let k = 0; k < 1000 && !window.posted.some((p) => p.type === 'rendered'); k++)
          await new Promise((res) => setTimeout(res, 10));
        const r = window.posted.find((p) => p.type === 'rendered');
        document.querySelector('svg').getBBox(); // forces layout of the drawn SVG
        return r && { ...r, withLayout: performance.now() - t };
      })()`)) as { ms: number; withLayout: number; marks: unknown } | undefined;
      if (!r) throw new Error(`the webview did not report a render: ${errors.join('; ') || 'no error'}`);
      runs.push(r.ms);
      withLayout.push(r.withLayout);
      marks = r.marks;
    }
    const sorted = [...runs].sort((a, b) => a - b);
    console.log(`Recovery Timeline render, 500 sets + 1,000 migrations: marks ${JSON.stringify(marks)}`);
    console.log(
      `  drawing (the webview's own measure): first ${runs[0]!.toFixed(1)} ms, median ${sorted[2]!.toFixed(1)} ms, max ${sorted[4]!.toFixed(1)} ms`,
    );
    console.log(
      `  message to laid-out SVG (10 ms polling): max ${Math.max(...withLayout).toFixed(1)} ms (target ≤ 500 ms)`,
    );
  } finally {
    await browser.close();
  }
  return 0;
});
