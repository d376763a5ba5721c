/**
 * UI test of the scheduler warning (issue 30; imported by run-e2e.ts, which passes its helpers): the stack
 * workspace runs with ONLY_DATABASE=TRUE (Ofelia not created), so the Backups view's Schedules node warns
 * "Ofelia never started on this stack — no scheduled backups" and the jobs read "would run …". Its inline
 * Start Scheduler… action asks first, naming what starts; Cancel starts nothing. Screenshots:
 * stack-schedules-not-running (for docs/backups.md), stack-schedules-start-confirmation.
 */
import type { Locator, Page } from 'playwright-core';
import type { Stack } from '../support/stack';
import type { Server } from '../support/vscode/workbench.js';

export interface SchedulesE2eHelpers {
  openStackWorkbench(page: Page, server: Server, stack: Stack): Promise<void>;
  pane(page: Page, title: string): Locator;
  expandPane(page: Page, title: string): Promise<Locator>;
  waitForRows(p: Locator, what: string, test: (labels: string[]) => boolean, timeoutMs?: number): Promise<string[]>;
  widenSidebar(page: Page, width: number): Promise<void>;
  shot(page: Page, name: string): Promise<string>;
}

interface Ctx {
  server: Server;
  stack: Stack;
  stackPage: Page;
  log: (line: string) => void;
}

const WARNING = 'Schedules — Ofelia never started on this stack — no scheduled backups';

export function schedulesE2eTests(h: SchedulesE2eHelpers): Array<{ name: string; fn: (ctx: Ctx) => Promise<void> }> {
  return [
    {
      name:
        'stack workspace: Ofelia not created, the Schedules node warns "never started on this stack" and the jobs ' +
        'read "would run …"; its inline Start Scheduler… asks first, naming what starts; Cancel starts nothing',
      fn: async ({ server, stack, stackPage: page, log }) => {
        await h.openStackWorkbench(page, server, stack);
        const p = await h.expandPane(page, 'Backups');
        for (const other of ['Containers', 'Migrations']) {
          const header = h.pane(page, other).locator('.pane-header').first();
          if ((await header.getAttribute('aria-expanded')) === 'true') await header.click();
        }
        await h.widenSidebar(page, 980);
        const rows = await h.waitForRows(
          p,
          'the Schedules warning and the jobs',
          (l) =>
            l.includes(WARNING) &&
            l.some((x) => x === 'pgbackrest-full-backup — would run daily at 00:00 UTC · no recorded run'),
          60_000,
        );
        log(`rows: ${rows.filter((x) => /^(Schedules|pgbackrest-)/.test(x)).join(' | ')}`);
        const row = p.locator('.monaco-list-row', { hasText: 'Ofelia never started on this stack' }).first();
        await row.scrollIntoViewIfNeeded();
        await row.hover();
        log(`screenshot ${await h.shot(page, 'stack-schedules-not-running')}`);
        await row.locator('.action-label[aria-label^="Start Scheduler"]').click();
        const dialog = page.locator('.monaco-dialog-box').first();
        await dialog.waitFor({ timeout: 60_000 });
        const text = (await dialog.innerText()).trim();
        log(`dialog: ${text.replace(/\s*\n\s*/g, ' / ').slice(0, 400)}`);
        for (const must of [/Start the scheduler \(ofelia\)/, /--profile full up -d/, /Starts: ofelia/])
          if (!must.test(text)) throw new Error(`the confirmation does not say ${must}: ${text}`);
        log(`screenshot ${await h.shot(page, 'stack-schedules-start-confirmation')}`);
        await dialog
          .locator('.monaco-button', { hasText: /^Cancel$/ })
          .first()
          .click();
        await dialog.waitFor({ state: 'hidden', timeout: 10_000 });
        await new Promise((r) => setTimeout(r, 2000));
        const after = await h.waitForRows(p, 'still the warning after Cancel', (l) => l.includes(WARNING));
        if (!after.includes(WARNING)) throw new Error('the warning went after Cancel');
      },
    },
  ];
}
