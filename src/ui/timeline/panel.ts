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
import { buildTimeline, drillResultsOf, previousInSameRun, type TimelineModel } from '../../core/backups/timeline';
import { formatTimeTarget } from '../../core/backups/restore/pitr';
import { migrationTransaction, MigrationXidError, rowXmin } from '../../core/migrations/xid';
import { connect } from '../../core/postgres/connection';
import type { BackupsController } from '../backups/controller';
import type { MigrationsController } from '../migrations/controller';
import type { StackRegistry } from '../stacks';
import { pickStack, requireTrust } from '../commands/args';
import { CancelledByUser, register } from '../commands/register';
import { COMMAND } from '../ids';
import type { TimelineAction, WebviewMessage } from '../../webview/timeline';

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

const SAFETY =
  'The restore command checks the backup first, moves the current data folder aside as a pre-restore copy ' +
  '(the way back) and rolls back by itself if anything fails or you cancel.';

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

  /** Turns a webview action into the restore it runs. */
  async function plan(p: TimelinePanel, a: TimelineAction): Promise<RestorePlan> {
    // Every action is a restore, and finding a migration's transaction touches the database: trust first.
    requireTrust('Restoring a backup');
    const stack = p.stack;
    const folder = stack.workspaceFolder;
    const project = stack.projectName;
    if (a.kind === 'restoreSet') {
      return {
        command: COMMAND.restorePgbackrest,
        args: { target: 'set', set: a.label, folder },
        message: `Restore ${project} to exactly backup set ${a.label}?`,
        detail: `The data as it was when ${a.label} ended (no WAL replayed after it). ${SAFETY}`,
        approximate: false,
      };
    }
    if (a.kind === 'restoreTime') {
      const at = formatTimeTarget(new Date(a.time));
      return {
        command: COMMAND.restorePgbackrest,
        args: { target: 'time', time: new Date(a.time).toISOString(), folder },
        message: `Restore ${project} to the moment ${at}?`,
        detail: `pgBackRest point-in-time recovery: the newest set that ended before it, plus the archived WAL up to ${at}. ${SAFETY}`,
        approximate: false,
      };
    }
    if (a.kind === 'restoreManual') {
      const command =
        a.backupKind === 'pg_dump'
          ? COMMAND.restoreDump
          : a.backupKind === 'pg_dumpall'
            ? COMMAND.restoreDumpAll
            : COMMAND.restoreBaseBackup;
      const m = p.model?.manual.find((x) => x.path === a.path);
      return {
        command,
        node: { stack, backup: { path: a.path, database: m?.database } },
        message: `Restore ${project} from ${basename(a.path)}?`,
        detail: 'The restore command asks its options and confirms what it replaces.',
        approximate: false,
      };
    }
    const m = p.model?.migrations.find((x) => x.version === a.version);
    if (!m) throw new Error(`Migration ${a.version} is not on the timeline of ${project} (applied migrations only).`);
    const name = `${m.version} ${m.description}`;
    if (m.restore.kind === 'xid') {
      const target = await ctx.migrations.target(stack);
      const client = await connect(target);
      try {
        const tx = await migrationTransaction(client, BigInt(m.version));
        return {
          command: COMMAND.restorePgbackrest,
          args: { target: 'xid', xid: tx.xid, exclusive: true, folder },
          message: `Restore ${project} to just before migration ${name}?`,
          detail:
            `Target: the migration's transaction ${tx.xid}, excluded (--type=xid --target-exclusive). Everything committed ` +
            `before it stays, also migrations applied earlier in the same run. ${SAFETY}`,
          approximate: false,
        };
      } catch (e) {
        if (!(e instanceof MigrationXidError)) throw e;
        const time = m.installedOn - 1;
        return {
          command: COMMAND.restorePgbackrest,
          args: { target: 'time', time: new Date(time).toISOString(), folder },
          message: `Restore ${project} to just before migration ${name}? (approximate)`,
          detail:
            `${e.message} The target is therefore the time the migration's transaction began (${formatTimeTarget(new Date(time))}): ` +
            `approximate, since commits made by other sessions while it ran are not kept. ${SAFETY}`,
          approximate: true,
        };
      } finally {
        await client.end().catch(() => undefined);
      }
    }
    // -- no-transaction: right after the previous migration's bookkeeping when it ran just before in the
    // same Run Pending (its row's xmin, included), else a time before it began.
    const prev = previousInSameRun(p.model?.migrations ?? [], m);
    if (prev) {
      const client = await connect(await ctx.migrations.target(stack));
      try {
        const xid = await rowXmin(client, BigInt(prev.version));
        return {
          command: COMMAND.restorePgbackrest,
          args: { target: 'xid', xid, exclusive: false, folder },
          message: `Restore ${project} to just before migration ${name}? (approximate)`,
          detail:
            `${name} is a -- no-transaction migration: no single transaction marks it, so the target is approximate: just after ` +
            `the previous migration ${prev.version} ${prev.description} finished in the same run (transaction ${xid}, included). ${SAFETY}`,
          approximate: true,
        };
      } catch (e) {
        if (!(e instanceof MigrationXidError)) throw e;
      } finally {
        await client.end().catch(() => undefined);
      }
    }
    return {
      command: COMMAND.restorePgbackrest,
      args: { target: 'time', time: new Date(m.restore.time).toISOString(), folder },
      message: `Restore ${project} to just before migration ${name}? (approximate)`,
      detail: `The target is approximate: ${m.restore.why}. ${SAFETY}`,
      approximate: true,
    };
  }

  async function run(p: RestorePlan): Promise<unknown> {
    if (p.node)
      return vscode.commands.executeCommand(p.command, {
        item: new vscode.TreeItem(basename(p.node.backup.path)),
        ...p.node,
      });
    return vscode.commands.executeCommand(p.command, { ...p.args, confirm: true });
  }

  /** From the webview: confirm with a modal, then run; errors are shown with the restore channel. */
  async function onAction(panel: TimelinePanel, a: TimelineAction): Promise<void> {
    try {
      const p = await plan(panel, a);
      if (!p.node) {
        const choice = await vscode.window.showWarningMessage(p.message, { modal: true, detail: p.detail }, 'Restore');
        if (choice !== 'Restore') throw new CancelledByUser();
      }
      await run(p);
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
        const p = await plan(tp, action);
        if (args?.dryRun === true) return { model, plan: p.node ? { ...p, node: { backup: p.node.backup } } : p };
        if (args?.confirm !== true)
          throw new Error(
            'tsdbOps.backup.timeline with { action } restores: pass { confirm: true } to run it, or { dryRun: true } for its plan.',
          );
        if (p.node)
          throw new Error(`${p.command} from the timeline asks its options: call ${p.command} with its args instead.`);
        return { model, plan: p, result: await run(p) };
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
