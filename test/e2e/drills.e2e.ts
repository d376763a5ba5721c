/**
 * UI test of restore drills (imported by run-e2e.ts, which passes its helpers): on the stack workspace
 * the Drills node says "no restore drill yet" and the backup status item warns "not verified"; then a
 * real drill runs through `tsdbOps.backup.drill` with args (a user keybinding carrying them, the way a
 * user binds a command with args), and the Drills node shows the passed drill (RTO, recovery point) and
 * the status item "verified …m ago". Screenshots: stack-drills-not-verified, stack-drills-verified.
 * Then a stanza left stopped (`pgbackrest stop`, as a killed restore leaves it) shows "Stanza stopped —
 * backups refused" with its inline Start action, which runs `pgbackrest start`. Screenshot: stack-stanza-stopped.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import type { Stack } from '../support/stack';
import type { Server } from '../support/vscode/workbench.js';

export interface DrillsE2eHelpers {
  openStackWorkbench(page: Page, server: Server, stack: Stack): Promise<void>;
  pane(page: Page, title: string): Locator;
  expandPane(page: Page, title: string): Promise<Locator>;
  waitForRows(p: Locator, what: string, test: (labels: string[]) => boolean, timeoutMs?: number): Promise<string[]>;
  widenSidebar(page: Page, width: number): Promise<void>;
  shot(page: Page, name: string): Promise<string>;
  runFromPalette(page: Page, title: string): Promise<void>;
}

interface Ctx {
  server: Server;
  stack: Stack;
  stackPage: Page;
  log: (line: string) => void;
}

const KEY = 'ctrl+alt+shift+d';

async function statusItems(page: Page): Promise<string[]> {
  return (await page.locator('.statusbar-item').allInnerTexts()).map((t) => t.trim());
}

async function waitForStatus(page: Page, what: string, re: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let items: string[] = [];
  while (Date.now() < deadline) {
    items = await statusItems(page);
    const hit = items.find((t) => re.test(t));
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what}: the status bar shows ${JSON.stringify(items)}`);
}

/** The Backups pane alone (Containers and Migrations collapsed) in a wide side bar: whole rows. */
async function backupsOnly(h: DrillsE2eHelpers, page: Page): Promise<Locator> {
  const p = await h.expandPane(page, 'Backups');
  for (const other of ['Containers', 'Migrations']) {
    const header = h.pane(page, other).locator('.pane-header').first();
    if ((await header.getAttribute('aria-expanded')) === 'true') await header.click();
  }
  await h.widenSidebar(page, 980); // whole rows: the drill with its RTO and recovery point
  return p;
}

type E2eTest = { name: string; fn: (ctx: Ctx) => Promise<void> };

export function drillsE2eTests(h: DrillsE2eHelpers): E2eTest[] {
  return [
    {
      name:
        'stack workspace: before a drill the Drills node and the status item warn "not verified"; a real drill through ' +
        'tsdbOps.backup.drill with args shows "passed" with RTO and recovery point, and "verified …m ago"',
      fn: async ({ server, stack, stackPage: page, log }) => {
        rmSync(join(stack.infraDir, 'backups', 'drills'), { recursive: true, force: true });
        // A user keybinding with args: the command runs as with executeCommand(id, args) (asks nothing).
        // Written before the window (re)loads, so the workbench reads it.
        const userDir = join(server.dirs.userData, 'User');
        mkdirSync(userDir, { recursive: true });
        const bindings = join(userDir, 'keybindings.json');
        writeFileSync(
          bindings,
          JSON.stringify([
            { key: KEY, command: 'tsdbOps.backup.drill', args: { source: 'pgbackrest', target: 'latest' } },
          ]),
        );
        if (page.url().startsWith('http')) {
          await page.reload({ waitUntil: 'domcontentloaded' });
          await page.locator('.statusbar').waitFor({ timeout: 60_000 });
        }
        await h.openStackWorkbench(page, server, stack);
        const p = await backupsOnly(h, page);
        const before = await h.waitForRows(
          p,
          'the Drills node says no drill yet',
          (l) => l.some((x) => x === 'Drills — no restore drill yet'),
          60_000,
        );
        const warn = await waitForStatus(
          page,
          'the backup item warns',
          /^backup .* ago · no scheduled backups · not verified$/,
          30_000,
        );
        const warnKind = await page
          .locator('.statusbar-item', { hasText: 'not verified' })
          .first()
          .evaluate((e: unknown) => (e as { className: string }).className);
        if (!/warning-kind/.test(warnKind)) throw new Error(`the "not verified" item is not a warning: ${warnKind}`);
        log(`before: ${before.filter((x) => x.startsWith('Drills')).join(' | ')}; status bar "${warn}"`);
        log(`screenshot ${await h.shot(page, 'stack-drills-not-verified')}`);

        await page
          .locator('.monaco-workbench')
          .click({ position: { x: 1000, y: 450 } })
          .catch(() => undefined);
        await page.keyboard.press('Control+Alt+Shift+KeyD');
        await page
          .locator('.notifications-toasts', { hasText: /Restore drill of/ })
          .first()
          .waitFor({ timeout: 30_000 });
        const rows = await h.waitForRows(
          p,
          'the Drills node shows the passed drill',
          (l) =>
            l.some((x) =>
              /^pgbackrest \d{8}-\d{6}F\S* \(latest state\) — passed · .* · RTO \d+ s · recovery point /.test(x),
            ),
          300_000,
        );
        const verified = await waitForStatus(
          page,
          'the backup item says verified',
          /^backup .* ago · no scheduled backups · verified \d+m ago$/,
          60_000,
        );
        log(`after: ${rows.filter((x) => /^(Drills|pgbackrest )/.test(x)).join(' | ')}; status bar "${verified}"`);
        await page.mouse.move(1100, 300);
        await new Promise((r) => setTimeout(r, 1000)); // the progress notification fades
        log(`screenshot ${await h.shot(page, 'stack-drills-verified')}`);
        writeFileSync(bindings, '[]');
      },
    },
    {
      name:
        'stack workspace: a stanza left stopped shows "Stanza stopped — backups refused"; its inline Start action runs ' +
        'pgbackrest start',
      fn: async ({ server, stack, stackPage: page, log }) => {
        await h.openStackWorkbench(page, server, stack);
        const p = await backupsOnly(h, page);
        await h.waitForRows(
          p,
          'the stanza row',
          (l) => l.some((x) => /^pgBackRest \(stanza db\) — ok/.test(x)),
          60_000,
        );
        await stack.exec('timescaledb', ['pgbackrest', '--stanza=db', 'stop']);
        try {
          await h.runFromPalette(page, 'TimescaleDB Ops: Refresh Backups');
          const rows = await h.waitForRows(
            p,
            'the stopped stanza row',
            (l) =>
              l.some((x) => /^pgBackRest \(stanza db\) — stopped — backups refused · /.test(x)) &&
              l.some((x) => x === 'Stanza stopped — backups refused — pgbackrest stop is in effect'),
            60_000,
          );
          log(`stopped: ${rows.filter((x) => /stop/.test(x)).join(' | ')}`);
          const row = p.locator('.monaco-list-row', { hasText: 'Stanza stopped — backups refused' }).first();
          await row.hover();
          log(`screenshot ${await h.shot(page, 'stack-stanza-stopped')}`);
          await row.locator('.action-label[aria-label^="Start pgBackRest Stanza"]').click();
          await h.waitForRows(
            p,
            'the stopped row goes after Start',
            (l) => !l.some((x) => /stopped/.test(x)) && l.some((x) => /^pgBackRest \(stanza db\) — ok/.test(x)),
            60_000,
          );
          const probe = await stack.exec('timescaledb', ['test', '-e', '/tmp/pgbackrest/db.stop'], { reject: false });
          if (probe.exitCode === 0) throw new Error('the stop file is still there after Start');
          log('Start ran pgbackrest start: the stop file is gone');
        } finally {
          await stack.exec('timescaledb', ['pgbackrest', '--stanza=db', 'start']); // never leave it stopped
        }
      },
    },
  ];
}
