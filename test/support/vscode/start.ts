/**
 * npm start — builds the extension, brings up the demo stack and opens the extension on its workspace.
 *
 * The demo stack (test/support/demo-stack.ts): a copy of test/fixtures/workspace in a temp dir, its
 * database on the real timescale/timescaledb-ha:pg15-ts2.10 when the engine already has it (no pull: works offline)
 * or Docker can pull it (else the bench's stand-in image), the sample migrations pending and one pgBackRest full backup, so the Containers,
 * Migrations and Backups views show live data. The copy's .vscode/settings.json names the Docker engine.
 * Ctrl+C (or closing the desktop window) stops it: `docker compose down -v`, the copy removed.
 * `--no-stack`: the old behaviour (test/fixtures/workspace as it is, nothing started).
 *
 *  - with the desktop `code` on PATH: `code --extensionDevelopmentPath=<repo> <workspace>`;
 *  - otherwise: the browser-hosted VS Code server (code-server@4.100.3's, cached) with the extension
 *    loaded from this repository through the `payload` URL parameter; prints the URL to open and
 *    stays up until Ctrl+C.
 *
 * Options: --no-stack, --workspace <dir> (implies --no-stack), --port <n> (default: a free one), --host <addr> (default 127.0.0.1),
 *          --browser (use the browser-hosted server even when `code` is on PATH),
 *          --check (open the URL in headless Chromium, check the TimescaleDB Ops container is there
 *          and, with the demo stack, that the three views show it live; save
 *          test-results/screenshots/start.png, stop everything and exit).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { which } from '../requirements.js';
import { REPO_ROOT } from './bundle.js';
import { checkParts, ensureCodeServer } from './code-server.js';
import { cleanupAll, onCleanup, runProcess } from './processes.js';
import { startDemoStack } from '../demo-stack.js';
import { launchChromium, makeDirs, remoteUri, startVSCodeServer, workbenchUrl } from './workbench.js';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      workspace: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      browser: { type: 'boolean' },
      check: { type: 'boolean' },
      'no-stack': { type: 'boolean' },
    },
  });
  let workspace = resolve(values.workspace ?? join(REPO_ROOT, 'test', 'fixtures', 'workspace'));
  const withStack = !values['no-stack'] && !values.workspace;

  console.log('building the extension (npm run build)…');
  const b = await runProcess(['npm', 'run', '--silent', 'build'], { cwd: REPO_ROOT, timeoutMs: 180_000 });
  if (b.code !== 0) throw new Error(`npm run build failed (exit ${b.code}):\n${b.output}`);

  let liveRows: [string, string | RegExp][] | undefined;
  if (withStack) {
    const demo = await startDemoStack({ log: (l) => console.log(l) });
    liveRows = [
      ['Containers', /running/],
      ['Migrations', /Pending/],
      ['Backups', demo.backupLabel],
    ];
    onCleanup(async () => {
      console.log(`stopping the demo stack ${demo.stack.projectName} (docker compose down -v)…`);
      await demo.stack.stop();
    });
    workspace = demo.stack.dir;
    mkdirSync(join(workspace, '.vscode'), { recursive: true });
    writeFileSync(
      join(workspace, '.vscode', 'settings.json'),
      `${JSON.stringify({ 'tsdbOps.docker.host': demo.stack.docker.host }, null, 2)}\n`,
    );
    console.log(
      `demo stack ${demo.stack.projectName} is up in ${workspace}:\n` +
        `  database image ${demo.imageNote}\n` +
        `  PostgreSQL on 127.0.0.1:${demo.stack.port}, the sample migrations pending, pgBackRest full backup ${demo.backupLabel}\n` +
        `  Docker engine ${demo.stack.docker.host}`,
    );
  }

  const code = which('code');
  if (code && !values.browser && !values.check) {
    console.log(`opening ${workspace} in VS Code (${code}) with the extension from ${REPO_ROOT}`);
    // With the demo stack, wait for the window to close and then stop the stack.
    const r = await runProcess(
      [code, ...(withStack ? ['--wait', '--new-window'] : []), `--extensionDevelopmentPath=${REPO_ROOT}`, workspace],
      { echo: true },
    );
    return typeof r.code === 'number' ? r.code : 1;
  }

  if (!checkParts('npm start')) return 1;
  const cs = await ensureCodeServer();
  const dirs = makeDirs('tsdb-ops-start-');
  const host = values.host ?? '127.0.0.1';
  const server = await startVSCodeServer(cs, {
    dirs,
    host,
    port: values.port ? Number(values.port) : undefined,
  });
  const url = workbenchUrl(server.origin, workspace, [['extensionDevelopmentPath', remoteUri(server, REPO_ROOT)]]);

  if (values.check) {
    const browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
    await page.locator('.activitybar a[aria-label^="TimescaleDB Ops"]').first().click({ timeout: 60_000 });
    await page.locator('.part.sidebar .pane-header', { hasText: 'Containers' }).first().waitFor({ timeout: 30_000 });
    await page
      .locator('.part.sidebar .monaco-list-row', { hasText: 'timescaledb' })
      .first()
      .waitFor({ timeout: 30_000 });
    if (liveRows) {
      // With the demo stack: each view shows live data (the container running, pending migrations, the backup).
      for (const [title, text] of liveRows) {
        const pane = page
          .locator('.part.sidebar .pane')
          .filter({ has: page.locator('.pane-header .title', { hasText: new RegExp(`^${title}$`, 'i') }) })
          .first();
        const header = pane.locator('.pane-header').first();
        if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
        await pane.locator('.monaco-list-row', { hasText: text }).first().waitFor({ timeout: 60_000 });
        console.log(`check: ${title} shows ${String(text)}`);
      }
    }
    const shots = join(REPO_ROOT, 'test-results', 'screenshots');
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, 'start.png') });
    console.log(
      `check: the extension loaded from ${REPO_ROOT} shows its views (screenshot test-results/screenshots/start.png)`,
    );
    await browser.close();
    await server.proc.stop();
    return 0;
  }

  console.log(`\nVS Code ${server.origin} is up with TimescaleDB Ops loaded from ${REPO_ROOT}.`);
  console.log(`Open this URL in a browser (the extension is loaded through the payload parameter):\n\n  ${url}\n`);
  console.log(
    'Rebuild with `npm run build` (or `npm run watch`) and reload the window to see changes. ' +
      `Ctrl+C stops the server${withStack ? ' and the demo stack' : ''}.`,
  );
  const exit = await server.proc.exited;
  console.log(`the VS Code server exited (${exit})`);
  return 1;
}

main()
  .then(async (code) => {
    await cleanupAll();
    process.exit(code);
  })
  .catch(async (err: unknown) => {
    console.error(`npm start: ${(err as Error).stack ?? String(err)}`);
    await cleanupAll();
    process.exit(1);
  });
