/**
 * npm run test:e2e — UI tests of the built extension in code-server (VS Code 1.100.3 in the
 * browser), driven by Playwright through headless Debian Chromium.
 *
 * The extension is installed the way users get it: its files (package.json, dist/, media/, README,
 * LICENSE) copied into code-server's extensions dir as tsdb-ops-team.tsdb-ops-<version>.
 * Screenshots go to test-results/screenshots/. Prints `N passed, N failed`; exit 1 on any failure.
 *
 * Options: --grep <text> (only tests whose name matches), --keep (keep temp folders), --verbose.
 */
import { startCluster } from '../support/cluster';
import { startStack, type Stack } from '../support/stack';
import { Migrator } from '../../src/core/migrations/migrator';
import { connect } from '../../src/core/postgres/connection';
import { migrationTransaction } from '../../src/core/migrations/xid';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Locator, Page } from 'playwright-core';
import { REPO_ROOT } from '../support/vscode/bundle.js';
import { checkParts, ensureCodeServer } from '../support/vscode/code-server.js';
import { onCleanup, runMain, runProcess } from '../support/vscode/processes.js';
import { launchChromium, makeDirs, startCodeServer, workbenchUrl, type Server } from '../support/vscode/workbench.js';
import { drillsE2eTests } from './drills.e2e';
import { schedulesE2eTests } from './schedules.e2e';
import { walkthroughE2eTests } from './walkthrough.e2e';

const SCREENSHOTS = join(REPO_ROOT, 'test-results', 'screenshots');
const FIXTURE_WORKSPACE = join(REPO_ROOT, 'test', 'fixtures', 'workspace');
const CONTAINER_TITLE = 'TimescaleDB Ops';
const VIEW_TITLES = ['Containers', 'Migrations', 'Backups'] as const;

interface Manifest {
  publisher: string;
  name: string;
  version: string;
}

/** Copies the built extension into the extensions dir the way an installed .vsix would lay it out. */
function installExtension(extensionsDir: string): string {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as Manifest;
  const dest = join(extensionsDir, `${pkg.publisher}.${pkg.name}-${pkg.version}`);
  mkdirSync(dest, { recursive: true });
  for (const entry of [
    'package.json',
    'dist',
    'media',
    'README.md',
    'LICENSE',
    'LICENSE.md',
    'CHANGELOG.md',
    'package.nls.json',
  ]) {
    const src = join(REPO_ROOT, entry);
    if (existsSync(src)) cpSync(src, join(dest, entry), { recursive: true, dereference: true });
  }
  return dest;
}

// ---- workbench helpers ---------------------------------------------------------------------

async function openWorkbench(page: Page, server: Server, folder: string): Promise<void> {
  await page.goto(workbenchUrl(server.origin, folder), { waitUntil: 'domcontentloaded', timeout: 60_000 });
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  await page.locator('.activitybar').waitFor({ timeout: 60_000 });
  // The workbench restores editors and starts the extension host; let it settle.
  await page.locator('.statusbar').waitFor({ timeout: 60_000 });
}

async function openContainer(page: Page): Promise<void> {
  const icon = page.locator(`.activitybar a[aria-label^="${CONTAINER_TITLE}"]`).first();
  await icon.waitFor({ timeout: 30_000 });
  const sidebar = page.locator('.part.sidebar');
  const header = sidebar.locator('.pane-header', { hasText: VIEW_TITLES[0] }).first();
  // Clicking an active container's icon closes the side bar, and the workbench may still be restoring the
  // previous window's layout of this folder (which can open or close the side bar after a check): click only
  // while the container's views are not shown, and look again after each click.
  for (let attempt = 0; ; attempt++) {
    if (await header.isVisible()) break;
    const title = sidebar.locator('.composite.title');
    const shown =
      (await sidebar.isVisible()) &&
      ((await title.textContent().catch(() => '')) ?? '').toUpperCase().includes(CONTAINER_TITLE.toUpperCase());
    // force: an animated activity badge (a view's progress) never counts as "stable" for a normal click.
    if (!shown) await icon.click({ timeout: 10_000, force: true }).catch(() => undefined);
    const visible = await header.waitFor({ timeout: 5_000 }).then(
      () => true,
      () => false,
    );
    if (visible || attempt >= 5) break;
  }
  await page.mouse.move(900, 300); // no hover over the activity bar in the screenshots
  await header.waitFor({ timeout: 30_000 });
}

/** The pane (header + body) of a view in the side bar, by its title. */
function pane(page: Page, title: string): Locator {
  return page
    .locator('.part.sidebar .pane')
    .filter({ has: page.locator('.pane-header .title', { hasText: new RegExp(`^${title}$`, 'i') }) })
    .first();
}

async function expandPane(page: Page, title: string): Promise<Locator> {
  const p = pane(page, title);
  await p.waitFor({ timeout: 30_000 });
  const header = p.locator('.pane-header').first();
  if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
  return p;
}

async function rowLabels(p: Locator): Promise<string[]> {
  // "label — description" per row (this tsconfig has no DOM types, hence the structural casts).
  type El = { querySelectorAll(sel: string): ArrayLike<{ textContent: string | null }> };
  return p.locator('.monaco-list-row').evaluateAll((rows: unknown[]) =>
    rows.map((r) =>
      Array.from((r as El).querySelectorAll('.label-name, .label-description'))
        .map((e) => (e.textContent ?? '').trim())
        .filter(Boolean)
        .join(' — '),
    ),
  );
}

async function waitForRows(
  p: Locator,
  what: string,
  test: (labels: string[]) => boolean,
  timeoutMs = 30_000,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let labels: string[] = [];
  while (Date.now() < deadline) {
    labels = await rowLabels(p);
    if (test(labels)) return labels;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${what}: rows were [${labels.join(' | ')}]`);
}

/** Drags the side bar's sash to make it `width` pixels wide. */
async function widenSidebar(page: Page, width: number): Promise<void> {
  const box = await page.locator('.part.sidebar').boundingBox();
  if (!box || box.width >= width) return;
  const x = box.x + box.width;
  const y = box.y + box.height / 2;
  await page.mouse.move(x - 1, y);
  await new Promise((r) => setTimeout(r, 300));
  await page.mouse.down();
  await page.mouse.move(box.x + width, y, { steps: 8 });
  await page.mouse.up();
  await page.mouse.move(box.x + width + 200, y);
}

/** Waits until the rows stay the same for `quietMs` (a tree that just reloaded re-creates its rows; a menu on a replaced row acts on nothing). */
async function waitForSettledRows(p: Locator, quietMs = 1500, timeoutMs = 20_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let last = JSON.stringify(await rowLabels(p));
  let since = Date.now();
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    const now = JSON.stringify(await rowLabels(p));
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) break;
  }
  return JSON.parse(last) as string[];
}

async function runFromPalette(page: Page, title: string): Promise<void> {
  await page
    .locator('.monaco-workbench')
    .click({ position: { x: 700, y: 450 } })
    .catch(() => undefined);
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ timeout: 10_000 });
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 });
}

/** Opens the stack workspace in its page unless an earlier test already did (tests can run alone with --grep). */
async function openStackWorkbench(page: Page, server: Server, stack: Stack): Promise<void> {
  if (!page.url().includes(encodeURIComponent(stack.dir)) && !page.url().includes(stack.dir))
    await openWorkbench(page, server, stack.dir);
  await openContainer(page);
}

/** Preferences: Color Theme, then the theme by name (clicked: Enter could pick the marketplace entry). */
async function pickColorTheme(page: Page, theme: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill('>Preferences: Color Theme');
  await page
    .locator('.quick-input-widget .monaco-list-row', { hasText: 'Preferences: Color Theme', hasNotText: 'Marketplace' })
    .first()
    .click();
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: theme }).first();
  await row.waitFor({ timeout: 10_000 });
  await row.click();
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 });
}

async function shot(page: Page, name: string): Promise<string> {
  const file = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

// ---- the tests -------------------------------------------------------------------------------

interface Ctx {
  server: Server;
  emptyPage: Page;
  fixturePage: Page;
  emptyFolder: string;
  /** The fixture workspace copied to a temp dir, its compose stack running on the test engine (two pgBackRest sets made the guide's way). */
  stack: Stack;
  stackPage: Page;
  /** The database of DATABASE_URL (the Migrations view's): 3 of the sample migrations applied. */
  migrationsDb: Parameters<typeof connect>[0];
  log: (line: string) => void;
}

const tests: Array<{ name: string; fn: (ctx: Ctx) => Promise<void> }> = [
  {
    name: 'empty folder: the three views show their welcome content',
    fn: async ({ server, emptyPage: page, emptyFolder, log }) => {
      await openWorkbench(page, server, emptyFolder);
      await openContainer(page);
      for (const title of VIEW_TITLES) {
        const p = await expandPane(page, title);
        const welcome = p.locator('.welcome-view-content');
        await welcome.waitFor({ timeout: 30_000 });
        const text = (await welcome.innerText()).trim();
        if (!text.startsWith('No infra folder found'))
          throw new Error(`${title} welcome text: ${JSON.stringify(text)}`);
        const buttons = (await welcome.locator('.monaco-button').allInnerTexts()).map((b) => b.trim());
        for (const b of ['Pick Infra Folder', 'Open Settings'])
          if (!buttons.some((x) => x.startsWith(b)))
            throw new Error(`${title}: no "${b}" button (buttons: ${buttons.join(', ')})`);
        log(`${title}: "${text.split('\n')[0]?.slice(0, 60)}…" buttons [${buttons.join(', ')}]`);
      }
      log(`screenshot ${await shot(page, 'empty-workspace-welcome')}`);
    },
  },
  {
    name: 'fixture workspace: the views list services, migrations and backups',
    fn: async ({ server, fixturePage: page, log }) => {
      await openWorkbench(page, server, FIXTURE_WORKSPACE);
      await openContainer(page);
      const containers = await waitForRows(await expandPane(page, 'Containers'), 'Containers lists timescaledb', (l) =>
        l.some((x) => x.startsWith('timescaledb')),
      );
      log(`Containers: ${containers.join(' | ')}`);
      const migrations = await waitForRows(
        await expandPane(page, 'Migrations'),
        'Migrations lists "create sensors"',
        (l) => l.some((x) => x.includes('create sensors')),
      );
      log(`Migrations: ${migrations.join(' | ')}`);
      const backups = await waitForRows(
        await expandPane(page, 'Backups'),
        'Backups lists its groups',
        (l) => l.some((x) => x.includes('pgBackRest')) && l.some((x) => x.includes('Manual backups')),
      );
      log(`Backups: ${backups.join(' | ')}`);
      log(`screenshot ${await shot(page, 'fixture-workspace-views')}`);
    },
  },
  {
    name: 'fixture workspace: the Migrations view shows applied and pending migrations of a real database, with the badge',
    fn: async ({ server, fixturePage: page, log }) => {
      await openWorkbench(page, server, FIXTURE_WORKSPACE);
      await openContainer(page);
      const p = await expandPane(page, 'Migrations');
      const rows = await waitForRows(
        p,
        'Migrations shows Pending and Applied groups',
        (l) =>
          l.some((x) => x.startsWith('Pending')) &&
          l.some((x) => x.startsWith('Applied')) &&
          l.some((x) => x.includes('daily rollup')),
      );
      log(`Migrations: ${rows.join(' | ')}`);
      const pending = rows.find((x) => x.startsWith('Pending'));
      if (!pending?.includes('2')) throw new Error(`expected 2 pending, got "${pending}"`);
      if (!rows.some((x) => x.includes('create sensors')))
        throw new Error('the applied "create sensors" is not listed');
      // The badge follows the same model change as the rows, in its own render: wait for it (hang bound 15 s).
      let badge: string[] = [];
      for (const until = Date.now() + 15_000; Date.now() < until; await new Promise((r) => setTimeout(r, 250))) {
        badge = (await page.locator('.activitybar .badge-content').allInnerTexts()).map((b) => b.trim());
        if (badge.includes('2')) break;
      }
      if (!badge.includes('2')) throw new Error(`activity bar badge: ${JSON.stringify(badge)} (expected 2 pending)`);
      const status = (await page.locator('.statusbar-item').allInnerTexts())
        .map((t) => t.trim())
        .find((t) => /pending migration/.test(t));
      if (!status?.includes('2 pending migrations')) throw new Error(`status bar: ${JSON.stringify(status)}`);
      log(`badge ${badge.join(',')}; status bar "${status}"`);
      log(`screenshot ${await shot(page, 'fixture-migrations-view')}`);
    },
  },
  {
    name: 'fixture workspace: the status bar shows the database state (not created) with the stack in its tooltip',
    fn: async ({ fixturePage: page, log }) => {
      const item = page.locator('.statusbar-item').filter({ hasText: 'TimescaleDB' }).first();
      await item.waitFor({ timeout: 30_000 });
      const text = (await item.innerText()).trim();
      const label =
        (await item
          .locator('[aria-label]')
          .first()
          .getAttribute('aria-label')
          .catch(() => null)) ?? (await item.getAttribute('aria-label'));
      log(`status bar item: text "${text}", accessible name "${label ?? ''}"`);
      // The fixture workspace's compose project has no container on the test engine.
      if (!label?.startsWith('TimescaleDB') || !/not created/.test(text))
        throw new Error(`status bar: text "${text}", accessible name "${label}" (expected the database "not created")`);
      // Away from the activity bar first (its own hover also says "TimescaleDB Ops").
      await page.mouse.move(900, 300);
      await page
        .locator('.workbench-hover, .monaco-hover')
        .first()
        .waitFor({ state: 'hidden', timeout: 5_000 })
        .catch(() => undefined);
      await item.hover();
      const hover = page
        .locator('.workbench-hover, .monaco-hover')
        .filter({ hasText: /TimescaleDB Ops[\s\S]*infra/ })
        .first();
      await hover.waitFor({ timeout: 10_000 });
      log(
        `status bar tooltip: ${(await hover.innerText())
          .trim()
          .replace(/\s*\n\s*/g, ' / ')
          .slice(0, 160)}`,
      );
      log(`screenshot ${await shot(page, 'fixture-status-bar-hover')}`);
      await page.mouse.move(700, 300);
    },
  },
  {
    name: 'fixture workspace: "TimescaleDB Ops: Show Output" from the palette opens the output channel',
    fn: async ({ fixturePage: page, log }) => {
      await runFromPalette(page, 'TimescaleDB Ops: Show Output');
      const panel = page.locator('.part.panel');
      await panel.waitFor({ state: 'visible', timeout: 15_000 });
      // The Output view's channel picker shows the extension's channel.
      const picker = panel.locator('select.monaco-select-box, .monaco-select-box');
      const deadline = Date.now() + 15_000;
      let selected = '';
      while (Date.now() < deadline) {
        selected = await picker
          .first()
          .evaluate((el) => {
            const sel = el as unknown as {
              options?: ArrayLike<{ text: string }>;
              selectedIndex?: number;
              textContent: string | null;
            };
            return sel.options && sel.selectedIndex !== undefined
              ? (sel.options[sel.selectedIndex]?.text ?? '')
              : (sel.textContent ?? '');
          })
          .catch(() => '');
        if (selected.includes('TimescaleDB Ops')) break;
        await new Promise((r) => setTimeout(r, 300));
      }
      if (!selected.includes('TimescaleDB Ops')) throw new Error(`the output panel shows "${selected}"`);
      const text = (
        await panel
          .locator('.view-lines')
          .first()
          .innerText()
          .catch(() => '')
      ).trim();
      log(
        `output channel "${selected}": ${text.split('\n').length} line(s), first: ${text.split('\n')[0]?.slice(0, 100) ?? ''}`,
      );
      log(`screenshot ${await shot(page, 'fixture-output-channel')}`);
    },
  },
  {
    name: 'fixture workspace: "TimescaleDB Ops: Refresh" from the palette keeps the views filled',
    fn: async ({ fixturePage: page, log }) => {
      await runFromPalette(page, 'TimescaleDB Ops: Refresh');
      const containers = await waitForRows(pane(page, 'Containers'), 'Containers after Refresh', (l) =>
        l.some((x) => x.startsWith('timescaledb')),
      );
      const errors = await page
        .locator('.notifications-toasts .notification-toast')
        .filter({ hasText: /error|failed/i })
        .count();
      if (errors) throw new Error(`${errors} error notification(s) after Refresh`);
      log(`after Refresh: Containers ${containers.join(' | ')}`);
      log(`screenshot ${await shot(page, 'fixture-after-refresh')}`);
    },
  },
  {
    name: 'stack workspace: the Containers view shows the running database live from Docker, and the status bar its state',
    fn: async ({ server, stack, stackPage: page, log }) => {
      await openStackWorkbench(page, server, stack);
      const rows = await waitForRows(
        await expandPane(page, 'Containers'),
        'Containers shows timescaledb running and ofelia not created',
        (l) => l.some((x) => /^timescaledb — running/.test(x)) && l.some((x) => /^ofelia — not created/.test(x)),
        60_000,
      );
      log(`Containers: ${rows.join(' | ')}`);
      const status = (await page.locator('.statusbar-item').allInnerTexts())
        .map((t) => t.trim())
        .find((t) => /^TimescaleDB/.test(t) && !/pending/.test(t));
      if (!status || !/healthy|running/.test(status)) throw new Error(`status bar: ${JSON.stringify(status)}`);
      log(`status bar "${status}"`);
      log(`screenshot ${await shot(page, 'stack-containers-view')}`);
    },
  },
  {
    name: 'stack workspace: "Backup One Database (pg_dump)…" from the palette asks for the database, then the file appears under Manual backups',
    fn: async ({ server, stack, stackPage: page, log }) => {
      await openStackWorkbench(page, server, stack);
      await page
        .locator('.monaco-workbench')
        .click({ position: { x: 1000, y: 450 } })
        .catch(() => undefined);
      await page.keyboard.press('F1');
      const input = page.locator('.quick-input-widget input.input');
      await input.waitFor({ state: 'visible', timeout: 10_000 });
      await input.fill('>TimescaleDB Ops: Backup One Database (pg_dump)');
      await page
        .locator('.quick-input-widget .monaco-list-row', { hasText: 'Backup One Database (pg_dump)' })
        .first()
        .waitFor({ timeout: 10_000 });
      await page.keyboard.press('Enter');
      // The second quick pick: the server's databases.
      await page
        .locator('.quick-input-widget .quick-input-title', { hasText: 'pg_dump: which database?' })
        .waitFor({ timeout: 30_000 });
      const db = stack.env.POSTGRES_DB!;
      const choices = (await page.locator('.quick-input-widget .monaco-list-row .label-name').allInnerTexts()).map(
        (t) => t.trim(),
      );
      if (!choices.includes(db)) throw new Error(`the database pick lists ${JSON.stringify(choices)}, not ${db}`);
      await input.fill(db);
      await page.keyboard.press('Enter');
      const p = await expandPane(page, 'Backups');
      const rows = await waitForRows(
        p,
        'Manual backups lists the new pg_dump file',
        (l) => l.some((x) => new RegExp(`^${db}_pg_dump_\\d{8}_\\d{6}\\.tar — pg_dump`).test(x)),
        60_000,
      );
      const row = rows.find((x) => x.includes('_pg_dump_'))!;
      const name = row.split(' — ')[0]!;
      const file = join(stack.infraDir, 'backups', 'manual_backup', name);
      if (!existsSync(file) || !existsSync(`${file}.meta.json`)) throw new Error(`${file} or its sidecar is missing`);
      const meta = JSON.parse(readFileSync(`${file}.meta.json`, 'utf8')) as { database?: string; command?: string[] };
      if (meta.database !== db) throw new Error(`sidecar database ${meta.database}`);
      if (JSON.stringify(meta.command).includes(stack.env.POSTGRES_PASSWORD!))
        throw new Error('the password is in the sidecar command');
      log(`manual backup row: ${row}; sidecar command: ${meta.command?.join(' ')}`);
    },
  },
  {
    name: "stack workspace: the Backups view lists the pgBackRest full and differential sets made the guide's way",
    fn: async ({ server, stack, stackPage: page, log }) => {
      await openStackWorkbench(page, server, stack);
      const p = await expandPane(page, 'Backups');
      // Containers and Migrations collapsed and a wider side bar, so the Backups pane shows whole rows.
      for (const other of ['Containers', 'Migrations']) {
        const h = pane(page, other).locator('.pane-header').first();
        if ((await h.getAttribute('aria-expanded')) === 'true') await h.click();
      }
      await widenSidebar(page, 720);
      let rows = await waitForRows(
        p,
        'Backups lists a full set',
        (l) => l.some((x) => /^\d{8}-\d{6}F\b/.test(x)),
        60_000,
      );
      if (!rows.some((x) => /_\d{8}-\d{6}D\b/.test(x))) {
        await p
          .locator('.monaco-list-row', { hasText: /\d{8}-\d{6}F/ })
          .first()
          .click();
        await page.keyboard.press('ArrowRight');
        rows = await waitForRows(p, 'the full set has its differential child', (l) =>
          l.some((x) => /_\d{8}-\d{6}D\b/.test(x)),
        );
      }
      log(`Backups: ${rows.join(' | ')}`);
      const age = (await page.locator('.statusbar-item').allInnerTexts())
        .map((t) => t.trim())
        .find((t) => /^backup \d+ \w+( \d+ \w+)? ago( · .+)?$/.test(t));
      if (!age)
        throw new Error(
          `no "backup … ago" item in the status bar: ${JSON.stringify(await page.locator('.statusbar-item').allInnerTexts())}`,
        );
      log(`status bar "${age}"`);
      log(`screenshot ${await shot(page, 'stack-backups-view')}`);
    },
  },
  {
    name: 'stack workspace: a restore from a backup set asks first, naming what is replaced and what is kept; Cancel touches nothing',
    fn: async ({ server, stack, stackPage: page, log }) => {
      await openStackWorkbench(page, server, stack);
      const p = await expandPane(page, 'Backups');
      await waitForRows(p, 'Backups lists a full set', (l) => l.some((x) => /^\d{8}-\d{6}F\b/.test(x)), 60_000);
      await waitForSettledRows(p);
      const row = p.locator('.monaco-list-row', { hasText: /\d{8}-\d{6}F/ }).first();
      await row.click({ button: 'right' });
      const item = page
        .locator('.context-view .monaco-menu .action-label', { hasText: /^Restore from pgBackRest/ })
        .first();
      await item.waitFor({ timeout: 10_000 });
      // VS Code's menus act on mouse up after a hover, or on Enter: hover to focus the entry, then Enter.
      await item.hover();
      await page.keyboard.press('Enter');
      const dialog = page.locator('.monaco-dialog-box').first();
      await dialog.waitFor({ timeout: 30_000 });
      const text = (await dialog.innerText()).trim();
      log(`dialog: ${text.replace(/\s*\n\s*/g, ' / ').slice(0, 400)}`);
      for (const must of [/replace/i, /pre-restore/i, /keep|kept/i])
        if (!must.test(text)) throw new Error(`the confirmation does not say ${must}: ${text}`);
      log(`screenshot ${await shot(page, 'stack-restore-confirmation')}`);
      await dialog
        .locator('.monaco-button', { hasText: /^Cancel$/ })
        .first()
        .click();
      await dialog.waitFor({ state: 'hidden', timeout: 10_000 });
      await new Promise((r) => setTimeout(r, 1500));
      const ls = await stack.exec('timescaledb', ['ls', '/home/postgres/pgdata']);
      if (/pre-restore/.test(ls.stdout)) throw new Error(`Cancel still moved the data folder: ${ls.stdout}`);
      const ready = await stack.exec('timescaledb', ['pg_isready', '-h', '/var/run/postgresql'], { reject: false });
      if (ready.exitCode !== 0) throw new Error(`PostgreSQL is not ready after Cancel: ${ready.stdout}`);
      log(`after Cancel: ${ls.stdout.trim().split('\n').join(', ')}; ${ready.stdout.trim()}`);
    },
  },
  {
    name: 'fixture workspace: a pending migration with a lint finding shows the diagnostic and its quick fixes',
    fn: async ({ server, fixturePage: page, log }) => {
      // A pending migration next to the samples (the fixture's database/migrations links to them), removed after.
      const file = join(REPO_ROOT, 'migrations', '20240106000000_readings_time_index.sql');
      writeFileSync(file, 'CREATE INDEX readings_time_idx ON readings (time);\n');
      onCleanup(() => rmSync(file, { force: true }));
      try {
        await openWorkbench(page, server, FIXTURE_WORKSPACE);
        await page.keyboard.press('Control+P');
        await page.keyboard.type('20240106000000_readings_time_index.sql');
        const result = page
          .locator('.quick-input-list .monaco-list-row')
          .filter({ hasText: '20240106000000_readings_time_index.sql' })
          .first();
        await result.waitFor({ timeout: 15_000 });
        await result.click();
        const squiggle = page.locator('.squiggly-warning, .squiggly-error').first();
        await squiggle.waitFor({ state: 'attached', timeout: 30_000 });
        // The hover of the diagnostic, from the keyboard (Show Hover: Ctrl+K Ctrl+I) with the cursor in the statement.
        await page.locator('.view-lines .view-line').first().click();
        await page.keyboard.press('End');
        await page.keyboard.press('ArrowLeft');
        await page.keyboard.press('Control+K');
        await page.keyboard.press('Control+I');
        const hover = page.locator('.monaco-hover').filter({ hasText: 'create-index-non-concurrently' }).first();
        await hover.waitFor({ timeout: 10_000 });
        log(`hover: ${(await hover.innerText()).split('\n')[0]}`);
        log(`screenshot ${await shot(page, 'lint-diagnostic-hover')}`);
        await page.mouse.move(900, 500);
        await page.locator('.view-lines').first().click();
        await page.keyboard.press('Control+Home');
        await page.keyboard.press('Control+.');
        const menu = page.locator('.action-widget').first();
        await menu.waitFor({ timeout: 10_000 });
        const items = await menu.innerText();
        if (!items.includes('Add the -- no-transaction header'))
          throw new Error(`quick fixes: ${JSON.stringify(items)}`);
        log(`quick fixes: ${items.split('\n').join(' | ')}`);
        log(`screenshot ${await shot(page, 'lint-quick-fix')}`);
        await page.keyboard.press('Escape');
        // The Migrations view marks the pending migration with its findings.
        await openWorkbench(page, server, FIXTURE_WORKSPACE);
        await openContainer(page);
        const p = await expandPane(page, 'Migrations');
        const rows = await waitForRows(p, 'the pending migration with its lint mark', (l) =>
          l.some((x) => x.includes('readings time index') && x.includes('2 lint warnings')),
        );
        log(`Migrations: ${rows.join(' | ')}`);
        log(`screenshot ${await shot(page, 'lint-migrations-view')}`);
      } finally {
        rmSync(file, { force: true });
      }
    },
  },
  // Before the timeline test: that one ends in a theme change and a webview, and the next window of this
  // folder could come back without its side bar.
  ...drillsE2eTests({ openStackWorkbench, pane, expandPane, waitForRows, widenSidebar, shot, runFromPalette }),
  ...schedulesE2eTests({ openStackWorkbench, pane, expandPane, waitForRows, widenSidebar, shot }),
  ...walkthroughE2eTests({ openStackWorkbench, shot }),
  {
    name:
      'stack workspace: the Recovery Timeline shows the sets, the WAL band, a manual backup and the migrations; ' +
      'hover shows a card; a migration tick asks to restore to just before it',
    fn: async ({ server, stack, stackPage: page, migrationsDb, log }) => {
      await openStackWorkbench(page, server, stack);
      // A manual backup on the timeline (the pg_dump test makes one when the whole suite runs).
      const manualDir = join(stack.infraDir, 'backups', 'manual_backup');
      const hasDump = existsSync(manualDir) && readdirSync(manualDir).some((n) => /_pg_dump_.*\.tar$/.test(n));
      if (!hasDump) {
        const db = stack.env.POSTGRES_DB ?? 'postgres';
        await stack.exec('timescaledb', [
          'pg_dump',
          '-U',
          stack.env.POSTGRES_USER ?? 'postgres',
          '-F',
          't',
          '-f',
          `/var/lib/pgbackrest/manual_backup/${db}_pg_dump_20261124_120000.tar`,
          db,
        ]);
      }
      // The extension has read the stack (its palette entries need that): the Backups view lists the full set.
      await waitForRows(
        await expandPane(page, 'Backups'),
        'Backups lists a full set',
        (l) => l.some((x) => /^\d{8}-\d{6}F\b/.test(x)),
        60_000,
      );
      await runFromPalette(page, 'TimescaleDB Ops: Recovery Timeline');
      const frame = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
      await frame.locator('svg .set').first().waitFor({ timeout: 60_000 });
      const count = async (sel: string) => frame.locator(sel).count();
      const deadline = Date.now() + 30_000;
      let marks = { sets: 0, full: 0, diff: 0, wal: 0, newest: 0, manual: 0, migrations: 0 };
      const want = (m: typeof marks) =>
        m.sets === 2 &&
        m.full === 1 &&
        m.diff === 1 &&
        m.wal === 1 &&
        m.newest === 1 &&
        m.manual >= 1 &&
        m.migrations === 3;
      while (Date.now() < deadline) {
        marks = {
          sets: await count('rect.set'),
          full: await count('rect.set-full'),
          diff: await count('rect.set-diff'),
          wal: await count('rect.wal-covered'),
          newest: await count('.newest'),
          manual: await count('path.manual'),
          migrations: await count('g.migration'),
        };
        if (want(marks)) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      log(`marks in the DOM: ${JSON.stringify(marks)}`);
      if (!want(marks))
        throw new Error(
          `expected 2 sets (a full, a diff), one WAL band, the newest moment, a manual backup and 3 migrations: ${JSON.stringify(marks)}`,
        );
      await frame.locator('rect.set-full').first().hover();
      const card = frame.locator('#card');
      await card.waitFor({ state: 'visible', timeout: 10_000 });
      const cardText = (await card.innerText()).trim();
      log(`hover card: ${cardText.replace(/\s*\n\s*/g, ' / ')}`);
      if (!/full backup \d{8}-\d{6}F/.test(cardText) || !/size /.test(cardText))
        throw new Error(`the set's card says: ${cardText}`);
      // For the screenshots: the manual backup's card, right of the sets and the WAL band.
      await frame.locator('path.manual').first().hover();
      await card.filter({ hasText: 'pg_dump' }).waitFor({ timeout: 10_000 });
      const startedDark = (await page.locator('.monaco-workbench.vs-dark').count()) > 0;
      log(`screenshot ${await shot(page, `stack-recovery-timeline-${startedDark ? 'dark' : 'light'}`)}`);

      // The migration ticks: the transaction each confirmation must name, read from the database itself.
      const ticks = frame.locator('g.migration');
      const tickOf = async (i: number) => {
        const label = (await ticks.nth(i).getAttribute('aria-label')) ?? '';
        const m = /^migration (\d+) (.+?)(?:,|$)/.exec(label);
        if (!m) throw new Error(`migration tick label: ${label}`);
        const client = await connect(migrationsDb);
        try {
          return { version: m[1]!, label, xid: (await migrationTransaction(client, BigInt(m[1]!))).xid };
        } finally {
          await client.end();
        }
      };
      const dialog = page.locator('.monaco-dialog-box').first();
      const confirmation = async (t: { version: string; xid: string }) => {
        await dialog.waitFor({ timeout: 30_000 });
        const text = (await dialog.innerText()).trim();
        log(`dialog: ${text.replace(/\s*\n\s*/g, ' / ').slice(0, 400)}`);
        if (!text.includes(`just before migration ${t.version} `))
          throw new Error(`the confirmation does not name migration ${t.version}: ${text}`);
        if (!text.includes(`transaction ${t.xid}, excluded`))
          throw new Error(`the confirmation does not name the migration's transaction ${t.xid}: ${text}`);
        return text;
      };
      const cancel = async () => {
        await dialog
          .locator('.monaco-button', { hasText: /^Cancel$/ })
          .first()
          .click();
        await dialog.waitFor({ state: 'hidden', timeout: 10_000 });
      };
      // Mouse: hover shows the tick's card; a click pins it with its action; the action asks to confirm. The three
      // sample migrations were applied within milliseconds, so their ticks overlap: the last one is on top.
      const top = await tickOf(2);
      await ticks.nth(2).hover();
      await card.filter({ hasText: `migration ${top.version}` }).waitFor({ timeout: 10_000 });
      await ticks.nth(2).click();
      const action = card.locator('button', { hasText: 'Restore to just before this migration…' });
      await action.waitFor({ timeout: 10_000 });
      await action.click();
      await confirmation(top);
      log(`screenshot ${await shot(page, 'stack-recovery-timeline-confirmation')}`);
      await cancel();
      // Keyboard: focus the first tick (under the others) and press Enter.
      const first = await tickOf(0);
      await ticks.nth(0).focus();
      await page.keyboard.press('Enter');
      await confirmation(first);
      await cancel();
      // The other theme (the panel follows VS Code's theme variables), then back.
      await pickColorTheme(page, startedDark ? 'Light Modern' : 'Dark Modern');
      await new Promise((r) => setTimeout(r, 1500));
      await frame.locator('path.manual').first().hover();
      await card.waitFor({ state: 'visible', timeout: 10_000 });
      log(`screenshot ${await shot(page, `stack-recovery-timeline-${startedDark ? 'light' : 'dark'}`)}`);
      await pickColorTheme(page, startedDark ? 'Dark Modern' : 'Light Modern');
    },
  },
];

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { grep: { type: 'string' }, keep: { type: 'boolean' }, verbose: { type: 'boolean' } },
  });
  const t0 = Date.now();
  if (!checkParts('test:e2e')) return 0;

  console.log('building the extension (npm run build)…');
  const b = await runProcess(['npm', 'run', '--silent', 'build'], { cwd: REPO_ROOT, timeoutMs: 180_000 });
  if (b.code !== 0) throw new Error(`npm run build failed (exit ${b.code}):\n${b.output}`);
  const cs = await ensureCodeServer();

  const dirs = makeDirs('tsdb-ops-e2e-', !!values.keep);
  if (values.keep) console.log(`temp folder (kept): ${dirs.root}`);
  // A quiet window: no walkthrough editor, no git prompt about the repository around the fixtures.
  mkdirSync(join(dirs.userData, 'User'), { recursive: true });
  writeFileSync(
    join(dirs.userData, 'User', 'settings.json'),
    JSON.stringify(
      {
        'workbench.startupEditor': 'none',
        'workbench.welcomePage.walkthroughs.openOnInstall': false,
        'workbench.tips.enabled': false,
        'git.enabled': false,
        'git.openRepositoryInParentFolders': 'never',
        'telemetry.telemetryLevel': 'off',
      },
      null,
      2,
    ),
  );
  const installed = installExtension(dirs.extensions);
  console.log(`extension installed as ${installed}`);
  const emptyFolder = mkdtempSync(join(tmpdir(), 'tsdb-ops-e2e-empty-'));
  if (!values.keep) onCleanup(() => rmSync(emptyFolder, { recursive: true, force: true }));
  rmSync(SCREENSHOTS, { recursive: true, force: true });
  mkdirSync(SCREENSHOTS, { recursive: true });

  // A real PostgreSQL for the Migrations view: 3 of the 5 sample migrations applied, 2 pending.
  const cluster = await startCluster();
  onCleanup(() => cluster.stop());
  const databaseUrl = `postgres://${cluster.user}@127.0.0.1:${cluster.port}/postgres`;
  const migrationsDb = {
    host: '127.0.0.1',
    port: cluster.port,
    user: cluster.user,
    database: 'postgres',
    params: {},
    source: 'test',
  } as const;
  await new Migrator(join(REPO_ROOT, 'migrations'), () => connect(migrationsDb)).run({ target: 20240103000000n });
  // The compose stack for the Containers, Backups and restore tests, with the guide's own backups.
  const stack = await startStack({ workspace: true });
  onCleanup(() => stack.stop());
  for (const type of ['full', 'diff']) {
    await stack.exec('timescaledb', ['pgbackrest', '--stanza=db', `--type=${type}`, 'backup'], { timeoutMs: 180_000 });
  }
  const server = await startCodeServer(cs, {
    dirs,
    env: { DATABASE_URL: databaseUrl, DOCKER_HOST: stack.docker.host },
  });
  console.log(`code-server ${server.origin} (${((Date.now() - t0) / 1000).toFixed(1)} s after start)`);
  const browser = await launchChromium();
  const browserLog: string[] = [];
  const newPage = async (): Promise<Page> => {
    const page = await browser.newPage();
    page.on('console', (m) => {
      const line = `[browser ${m.type()}] ${m.text()}`;
      browserLog.push(line);
      if (values.verbose) console.log(line);
    });
    return page;
  };
  const ctx: Ctx = {
    server,
    emptyPage: await newPage(),
    fixturePage: await newPage(),
    emptyFolder,
    stack,
    stackPage: await newPage(),
    migrationsDb,
    log: (line) => console.log(`     ${line}`),
  };

  let passed = 0;
  let failed = 0;
  const selected = tests.filter((t) => !values.grep || t.name.includes(values.grep));
  for (const t of selected) {
    const started = Date.now();
    try {
      await t.fn(ctx);
      passed++;
      console.log(`  ✓ ${t.name} (${Date.now() - started} ms)`);
    } catch (err) {
      failed++;
      console.log(`  ✗ ${t.name} (${Date.now() - started} ms)`);
      console.log(`       ${((err as Error).stack ?? String(err)).split('\n').slice(0, 6).join('\n       ')}`);
      const safe = t.name.replace(/[^\w]+/g, '-').slice(0, 60);
      for (const [which, page] of [
        ['empty', ctx.emptyPage],
        ['fixture', ctx.fixturePage],
        ['stack', ctx.stackPage],
      ] as const) {
        const file = join(SCREENSHOTS, `FAILED-${safe}-${which}.png`);
        await page.screenshot({ path: file }).catch(() => undefined);
      }
      console.log(`       screenshots: ${SCREENSHOTS}/FAILED-${safe}-*.png`);
    }
  }
  if (failed) {
    console.log('--- browser console (last lines) ---');
    console.log(browserLog.slice(-20).join('\n'));
    console.log('--- code-server output (last lines) ---');
    console.log(server.proc.output().split('\n').slice(-20).join('\n'));
  }
  await browser.close();
  await server.proc.stop();
  console.log(`\ntest:e2e took ${((Date.now() - t0) / 1000).toFixed(1)} s; screenshots in ${SCREENSHOTS}`);
  const summaryFile = process.env.TSDB_OPS_TEST_SUMMARY;
  if (summaryFile) writeFileSync(summaryFile, JSON.stringify({ passed, failed, skipped: 0 }));
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 || passed === 0 ? 1 : 0;
}

runMain('test:e2e', main);
