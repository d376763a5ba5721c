/**
 * The Recovery Timeline panel (`tsdbOps.backup.timeline`): one webview per stack showing the model of
 * core/backups/timeline, rebuilt whenever the Backups or the Migrations controller changes (no polling of
 * its own). The webview posts actions; each becomes a restore command with the recoverability args schema
 * (`{ target, set, time, xid, exclusive, confirm }`), after a modal confirmation that names the target.
 * The restore commands keep every safety rule (verify first, keep the old data, roll back on failure).
 */
import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import type { StackConfig } from '../../core/infra';
import { buildTimeline, drillResultsOf, type TimelineModel } from '../../core/backups/timeline';
import { planTimelineAction, type TimelineAction } from '../../core/backups/timeline-restore';
import type { BackupsController } from '../backups/controller';
import type { MigrationsController } from '../migrations/controller';
import type { StackRegistry } from '../stacks';
import { pickStack, requireTrust } from '../commands/args';
import { CancelledByUser, register } from '../commands/register';
import { COMMAND } from '../ids';
import type { WebviewMessage } from '../../webview/timeline';
import { OpsError } from '../../core/errors/error';

export interface TimelineContext {
  readonly registry: StackRegistry;
  readonly backups: BackupsController;
  readonly migrations: MigrationsController;
  readonly log: vscode.LogOutputChannel;
  readonly extensionUri: vscode.Uri;
}

/** What an action will run: the command, its args (the recoverability schema) and the confirmation. */
export interface RestorePlan {
  readonly command: string;
  /** Without `confirm` (added when the user confirmed or automation passed `confirm: true`). */
  readonly args?: Record<string, unknown>;
  /** Manual backups open the restore command on the item, which asks its own questions and confirmation. */
  readonly node?: { stack: StackConfig; backup: { path: string; database?: string } };
  readonly message: string;
  readonly detail: string;
  readonly approximate: boolean;
}

class TimelinePanel implements vscode.Disposable {
  model: TimelineModel | undefined;
  private readonly subs: vscode.Disposable[] = [];
  private rendered?: { marks: Record<string, number>; ms: number };
  private renderWaiters: ((r: { marks: Record<string, number>; ms: number }) => void)[] = [];
  private ready = false;

  constructor(
    readonly stack: StackConfig,
    readonly panel: vscode.WebviewPanel,
    private readonly ctx: TimelineContext,
    private readonly onAction: (p: TimelinePanel, a: TimelineAction) => Promise<void>,
    onDispose: () => void,
  ) {
    panel.webview.html = html(panel.webview, ctx.extensionUri);
    this.subs.push(
      panel.webview.onDidReceiveMessage((m: WebviewMessage) => this.receive(m)),
      ctx.backups.onDidChange(() => void this.update()),
      ctx.migrations.onDidChange(() => void this.update()),
      panel.onDidDispose(() => {
        onDispose();
        this.dispose();
      }),
    );
  }

  private receive(m: WebviewMessage): void {
    if (m.type === 'ready') {
      this.ready = true;
      if (this.model) void this.panel.webview.postMessage({ type: 'model', model: this.model });
    } else if (m.type === 'rendered') {
      this.rendered = { marks: m.marks, ms: m.ms };
      for (const w of this.renderWaiters.splice(0)) w(this.rendered);
    } else if (m.type === 'action') {
      void this.onAction(this, m.action);
    }
  }

  /** Builds the model from what the controllers hold now (loading the backups overview if needed) and posts it. */
  async update(): Promise<TimelineModel> {
    const overview = this.ctx.backups.get(this.stack) ?? (await this.ctx.backups.load(this.stack));
    const mig = this.ctx.migrations.get(this.stack);
    const drills = drillResultsOf(overview.drills);
    const model = buildTimeline({
      overview,
      migrations: mig?.report?.migrations,
      migrationsError: mig?.error,
      drills,
    });
    this.model = model;
    this.rendered = undefined;
    if (this.ready) await this.panel.webview.postMessage({ type: 'model', model });
    return model;
  }

  /** The webview's report of the marks it drew for the current model (undefined after `ms`). */
  whenRendered(ms: number): Promise<{ marks: Record<string, number>; ms: number } | undefined> {
    if (this.rendered || ms <= 0) return Promise.resolve(this.rendered);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(undefined), ms);
      this.renderWaiters.push((r) => {
        clearTimeout(t);
        resolve(r);
      });
    });
  }

  dispose(): void {
    for (const s of this.subs.splice(0)) s.dispose();
  }
}

function html(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  const nonce = randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'timeline.js'));
  const css = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'timeline.css'));
  const csp = [
    "default-src 'none'",
    `style-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
    `img-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${css.toString()}">
<title>Recovery Timeline</title>
</head>
<body>
<div class="toolbar" role="toolbar" aria-label="Zoom">
  <button id="zoom-in" title="Zoom in (+)" aria-label="Zoom in">+</button>
  <button id="zoom-out" title="Zoom out (-)" aria-label="Zoom out">−</button>
  <button id="zoom-reset" title="Show everything" aria-label="Show everything">Fit</button>
  <span id="status" role="status" aria-live="polite">Loading…</span>
</div>
<div id="timeline" tabindex="0" aria-label="Recovery timeline: Tab moves between marks, Enter restores, + and - zoom, arrows pan"></div>
<div id="card" class="card" role="tooltip" hidden></div>
<p class="legend">Bars: pgBackRest full / diff / incr sets. Green band: archived WAL (click a moment to restore to it), dashed red: a gap.
Diamonds: manual backups. Ticks: migrations (dashed: -- no-transaction). Dots: restore drills; squares: pre-restore copies.</p>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
}

export function registerTimeline(ctx: TimelineContext): vscode.Disposable[] {
  const panels = new Map<string, TimelinePanel>();

  /** Turns a webview action into the restore it runs (core/backups/timeline-restore builds the plan and its text). */
  async function plan(p: TimelinePanel, a: TimelineAction): Promise<RestorePlan> {
    // Every action is a restore, and finding a migration's transaction touches the database: trust first.
    requireTrust('Restoring a backup');
    const stack = p.stack;
    const model = p.model ?? (await p.update());
    // The context's connection, with the password the Migrations view keeps in SecretStorage.
    const tp = await planTimelineAction(model, a, { connection: () => ctx.migrations.target(stack) });
    const text = { message: tp.message, detail: tp.detail, approximate: tp.approximate };
    if (tp.restore === 'pgbackrest')
      return { command: COMMAND.restorePgbackrest, args: { ...tp.args, folder: stack.workspaceFolder }, ...text };
    const command =
      tp.restore === 'dump'
        ? COMMAND.restoreDump
        : tp.restore === 'dumpAll'
          ? COMMAND.restoreDumpAll
          : COMMAND.restoreBaseBackup;
    return { command, node: { stack, backup: tp.backup }, ...text };
  }

  async function run(p: RestorePlan): Promise<unknown> {
    if (p.node)
      return vscode.commands.executeCommand(p.command, {
        item: new vscode.TreeItem(basename(p.node.backup.path)),
        ...p.node,
      });
    return vscode.commands.executeCommand(p.command, { ...p.args, confirm: true });
  }

  /**
   * One action, the same way from the webview and from `tsdbOps.backup.timeline { action, confirm: true }`:
   * plan it (core), let `confirm` accept or refuse the plan (it throws to refuse), run the restore command.
   */
  async function perform(
    panel: TimelinePanel,
    a: TimelineAction,
    confirm: (p: RestorePlan) => Promise<void>,
  ): Promise<{ plan: RestorePlan; result: unknown }> {
    const p = await plan(panel, a);
    await confirm(p);
    return { plan: p, result: await run(p) };
  }

  /** From the webview: confirm with a modal, then run; errors are shown with the restore channel. */
  async function onAction(panel: TimelinePanel, a: TimelineAction): Promise<void> {
    try {
      await perform(panel, a, async (p) => {
        if (p.node) return; // the restore command on the file asks its own questions and confirmation
        const choice = await vscode.window.showWarningMessage(p.message, { modal: true, detail: p.detail }, 'Restore');
        if (choice !== 'Restore') throw new CancelledByUser();
      });
    } catch (e) {
      if (e instanceof CancelledByUser) return;
      const msg = e instanceof Error ? e.message : String(e);
      ctx.log.error(`Recovery Timeline: ${msg}`);
      void vscode.window.showErrorMessage(msg);
    }
  }

  async function open(stack: StackConfig): Promise<TimelinePanel> {
    const existing = panels.get(stack.infraDir);
    if (existing) {
      existing.panel.reveal(undefined, true);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(
      'tsdbOps.timeline',
      `Recovery Timeline: ${stack.projectName}`,
      { viewColumn: vscode.ViewColumn.Active, preserveFocus: false },
      {
        enableScripts: true,
        retainContextWhenHidden: false,
        localResourceRoots: [
          vscode.Uri.joinPath(ctx.extensionUri, 'dist'),
          vscode.Uri.joinPath(ctx.extensionUri, 'media'),
        ],
      },
    );
    const tp = new TimelinePanel(stack, panel, ctx, onAction, () => panels.delete(stack.infraDir));
    panels.set(stack.infraDir, tp);
    return tp;
  }

  return [
    register(ctx, COMMAND.backupTimeline, async (args, node) => {
      const stack = (node as { stack?: StackConfig } | undefined)?.stack ?? (await pickStack(ctx.registry, args));
      if (!stack) throw new CancelledByUser();
      const tp = await open(stack);
      // { reload: false }: the model the panel shows now (it follows the controllers' events by itself).
      if (args?.reload === false && tp.model) return { model: tp.model, rendered: await tp.whenRendered(0) };
      if (ctx.migrations.get(stack) === undefined) await ctx.migrations.refresh();
      const model = await tp.update();
      const action = args?.action as TimelineAction | undefined;
      if (action) {
        if (args?.dryRun === true) {
          const p = await plan(tp, action);
          return { model, plan: p.node ? { ...p, node: { backup: p.node.backup } } : p };
        }
        if (args?.confirm !== true)
          throw new OpsError(
            'refused',
            'tsdbOps.backup.timeline with { action } restores: pass { confirm: true } to run it, or { dryRun: true } for its plan.',
          );
        // The plan (with its confirmation text) comes back with the restore command's result.
        const done = await perform(tp, action, async (p) => {
          if (p.node)
            throw new OpsError(
              'config',
              `${p.command} from the timeline asks its options: call ${p.command} with its args instead.`,
            );
        });
        return { model, ...done };
      }
      const waitMs = typeof args?.waitRenderedMs === 'number' ? args.waitRenderedMs : 0;
      const rendered = waitMs > 0 ? await tp.whenRendered(waitMs) : undefined;
      return { model, rendered };
    }),
    new vscode.Disposable(() => {
      for (const p of panels.values()) p.panel.dispose();
    }),
  ];
}
