/**
 * In-host suite: the Recovery Timeline panel (tsdbOps.backup.timeline) on the real fixture stack with two
 * pgBackRest sets, archived WAL, a pg_dump and three migrations applied in one Run Pending (the last one
 * `-- no-transaction`). Checks the model the panel posted, the marks the webview drew, the restore plans of
 * the migration ticks, and that a new backup, migration and drill reach the open panel without reopening it.
 *
 * The acceptance restores run the way a click does: `tsdbOps.backup.timeline { action, confirm: true }` goes
 * through the same function as the panel's message handler (plan the action in core, confirm, then run
 * tsdbOps.restore.pgbackrest with the plan's args), on the stack's real WAL archive:
 * (1) A and B in one Run Pending, B drops a column: restore to just before B (its own transaction, excluded)
 *     brings the column and its rows back and keeps A;
 * (2) D and a `-- no-transaction` E in one Run Pending, E drops the column: the confirmation says the target
 *     is approximate (right after D's bookkeeping, included); the column is back and D is kept.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { startStack, type Stack } from '../../support/stack';
import { activate, waitFor, useInfra } from '../extension.js';

interface Model {
  project: string;
  sets: Array<{ label: string; type: string }>;
  wal: { covered: Array<{ from: number; to: number }>; gaps: unknown[] };
  newestRecoverable?: number;
  manual: Array<{ name: string; kind: string }>;
  migrations: Array<{ version: string; description: string; noTransaction: boolean; durationMs?: number }>;
  drills: Array<{ ok: boolean; source?: string }>;
  problems: string[];
}
interface Opened {
  model: Model;
  rendered?: { marks: Record<string, number>; ms: number };
}
interface Plan {
  model: Model;
  plan: { command: string; args: Record<string, unknown>; message: string; detail: string; approximate: boolean };
}
interface Done extends Plan {
  result: { restoreTarget: string; preRestoreCopy?: string; databases: string[] };
}

const A = '20261124100000';
const B = '20261124100001';
const C = '20261124100002';
const D = '20261124100003';
const E = '20261124100004';

describe('Recovery Timeline: the panel on a real stack', function () {
  this.timeout(300_000);
  let stack: Stack;
  let dir: string;
  const cfg = () => vscode.workspace.getConfiguration('tsdbOps');
  const open = (args: Record<string, unknown> = {}) =>
    vscode.commands.executeCommand<Opened>('tsdbOps.backup.timeline', args);

  before(async function () {
    this.timeout(300_000);
    await activate();
    stack = await startStack();
    dir = mkdtempSync(join(tmpdir(), 'tsdb-ops-timeline-mig-'));
    writeFileSync(join(dir, `${A}_create_sites.sql`), 'CREATE TABLE sites (id int); INSERT INTO sites VALUES (7);\n');
    writeFileSync(
      join(dir, `${B}_drop_note.sql`),
      'ALTER TABLE readings DROP COLUMN note;\nCREATE TABLE b_xid AS SELECT pg_current_xact_id()::text AS xid;\n',
    );
    writeFileSync(
      join(dir, `${C}_index_sites.sql`),
      '-- no-transaction\nCREATE INDEX CONCURRENTLY sites_id ON sites (id);\n',
    );
    await cfg().update('docker.host', stack.docker.host, vscode.ConfigurationTarget.Global);
    await useInfra(stack.infraDir);
    await cfg().update('migrations.path', dir, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('tsdbOps.refresh');
    await stack.sql("CREATE TABLE readings (id int, note text); INSERT INTO readings VALUES (1, 'a'), (2, 'b')");
    await vscode.commands.executeCommand('tsdbOps.backup.pgbackrest', { type: 'full' });
    await vscode.commands.executeCommand('tsdbOps.backup.pgbackrest', { type: 'diff' });
    await vscode.commands.executeCommand('tsdbOps.backup.dump', {});
    const run = await vscode.commands.executeCommand<{ applied: unknown[] }>('tsdbOps.migrations.runPending', {
      confirm: true,
    });
    assert.equal(run.applied.length, 3, 'A, B and C in one Run Pending');
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await useInfra(undefined);
    for (const k of ['migrations.path', 'docker.host'])
      await cfg().update(k, undefined, vscode.ConfigurationTarget.Global);
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('opens with args and posts the model: two sets, the WAL band, the pg_dump and three migration ticks; the webview draws them', async () => {
    const r = await waitFor(
      async () => {
        const o = await open({ waitRenderedMs: 30_000 });
        return o.model.sets.length === 2 && o.model.migrations.length === 3 && o.model.manual.length === 1
          ? o
          : undefined;
      },
      60_000,
      'the model with every mark',
    );
    const m = r.model;
    assert.equal(m.project, stack.projectName);
    assert.deepEqual(
      m.sets.map((s) => s.type),
      ['full', 'diff'],
    );
    assert.equal(m.wal.covered.length, 1);
    assert.ok(m.newestRecoverable, 'the newest recoverable moment is marked');
    assert.equal(m.manual[0]!.kind, 'pg_dump');
    assert.deepEqual(
      m.migrations.map((x) => [x.version, x.description, x.noTransaction]),
      [
        [A, 'create sites', false],
        [B, 'drop note', false],
        [C, 'index sites', true],
      ],
    );
    assert.ok(m.migrations.every((x) => typeof x.durationMs === 'number'));
    assert.deepEqual(m.problems, []);
    assert.ok(r.rendered, 'the webview reported what it drew');
    assert.equal(r.rendered.marks.sets, 2);
    assert.equal(r.rendered.marks.migrations, 3);
    assert.equal(r.rendered.marks.manual, 1);
    assert.equal(r.rendered.marks.walCovered, 1);
  });

  it("a migration tick's restore targets its own transaction, excluded; a -- no-transaction one says it is approximate", async () => {
    const bXid = (await stack.sql<{ xid: string }>('SELECT xid FROM b_xid'))[0]!.xid;
    const b = await vscode.commands.executeCommand<Plan>('tsdbOps.backup.timeline', {
      action: { kind: 'restoreBeforeMigration', version: B },
      dryRun: true,
    });
    assert.equal(b.plan.command, 'tsdbOps.restore.pgbackrest');
    assert.deepEqual(b.plan.args, { target: 'xid', xid: bXid, exclusive: true, folder: b.plan.args.folder });
    assert.equal(b.plan.approximate, false);
    assert.match(b.plan.message, new RegExp(`just before migration ${B} drop note`));
    assert.match(b.plan.detail, new RegExp(`transaction ${bXid}, excluded`));

    const c = await vscode.commands.executeCommand<Plan>('tsdbOps.backup.timeline', {
      action: { kind: 'restoreBeforeMigration', version: C },
      dryRun: true,
    });
    assert.equal(c.plan.approximate, true);
    assert.match(c.plan.message, /approximate/);
    assert.equal(c.plan.args.target, 'xid', 'right after B, which ran just before it in the same run');
    assert.equal(c.plan.args.exclusive, false);

    const set = await vscode.commands.executeCommand<Plan>('tsdbOps.backup.timeline', {
      action: { kind: 'restoreSet', label: b.model.sets[0]!.label },
      dryRun: true,
    });
    assert.deepEqual(set.plan.args, { target: 'set', set: b.model.sets[0]!.label, folder: set.plan.args.folder });
    await assert.rejects(
      Promise.resolve(
        vscode.commands.executeCommand('tsdbOps.backup.timeline', {
          action: { kind: 'restoreBeforeMigration', version: B },
        }),
      ),
      /pass \{ confirm: true \}/,
    );
    await assert.rejects(
      Promise.resolve(
        vscode.commands.executeCommand('tsdbOps.backup.timeline', {
          action: { kind: 'restoreBeforeMigration', version: '42' },
          dryRun: true,
        }),
      ),
      /Migration 42 is not on the timeline/,
    );
  });

  it('a new backup reaches the open panel without reopening it', async () => {
    await vscode.commands.executeCommand('tsdbOps.backup.dump', {});
    const r = await waitFor(
      async () => {
        const o = await open({ reload: false });
        return o.model.manual.length === 2 ? o : undefined;
      },
      60_000,
      'the second pg_dump on the open panel',
    );
    assert.equal(r.model.manual.length, 2);
  });
  const notes = async () =>
    (await stack.sql<{ n: string }>("SELECT string_agg(note, ',' ORDER BY id) AS n FROM readings"))[0]!.n;
  const sites = async () => (await stack.sql<{ id: number }>('SELECT id FROM sites ORDER BY id')).map((r) => r.id);
  const applied = async () =>
    (await stack.sql<{ v: string }>('SELECT version::text AS v FROM _sqlx_migrations ORDER BY version')).map(
      (r) => r.v,
    );
  /** What a click on the tick and "Restore" in its confirmation run (the panel's own path, see the header). */
  const restoreBefore = (version: string) =>
    vscode.commands.executeCommand<Done>('tsdbOps.backup.timeline', {
      action: { kind: 'restoreBeforeMigration', version },
      confirm: true,
    });

  it('(1) restore to just before B (tsdbOps.restore.pgbackrest, its xid excluded): the dropped column and its rows are back, A kept', async () => {
    const bXid = (await stack.sql<{ xid: string }>('SELECT xid FROM b_xid'))[0]!.xid;
    await assert.rejects(notes(), /column "note" does not exist/, 'B dropped the column');
    const r = await restoreBefore(B);
    assert.equal(r.plan.command, 'tsdbOps.restore.pgbackrest');
    assert.deepEqual(r.plan.args, { target: 'xid', xid: bXid, exclusive: true, folder: r.plan.args.folder });
    assert.equal(r.plan.approximate, false);
    assert.equal(r.result.restoreTarget, 'xid');
    assert.ok(r.result.preRestoreCopy, 'the replaced data stays as a pre-restore copy (the way back)');
    assert.equal(await notes(), 'a,b', 'the column and its rows are back');
    assert.deepEqual(await sites(), [7], "A's effects are kept");
    assert.deepEqual(await applied(), [A], 'B and the later C are undone');
  });

  it('(2) a -- no-transaction E after D in one run: the confirmation says approximate; column back, D kept; both shown live', async () => {
    for (const v of [B, C])
      rmSync(
        join(
          dir,
          readdirSync(dir).find((n) => n.startsWith(v))!,
        ),
      );
    writeFileSync(join(dir, `${D}_add_site.sql`), 'INSERT INTO sites VALUES (8);\n');
    writeFileSync(join(dir, `${E}_drop_note_notx.sql`), '-- no-transaction\nALTER TABLE readings DROP COLUMN note;\n');
    const run = await vscode.commands.executeCommand<{ applied: unknown[] }>('tsdbOps.migrations.runPending', {
      confirm: true,
    });
    assert.equal(run.applied.length, 2, 'D and E in one Run Pending');
    await assert.rejects(notes(), /column "note" does not exist/, 'E dropped the column');
    // Live: the open panel follows the Migrations view's model (no reopening, no polling of its own).
    const live = await waitFor(
      async () => {
        const o = await open({ reload: false });
        return o.model.migrations.map((m) => m.version).join() === [A, D, E].join() ? o : undefined;
      },
      60_000,
      'D and E on the open panel',
    );
    assert.deepEqual(
      live.model.migrations.map((m) => [m.version, m.noTransaction]),
      [
        [A, false],
        [D, false],
        [E, true],
      ],
    );
    const dXmin = (
      await stack.sql<{ x: string }>(`SELECT xmin::text AS x FROM _sqlx_migrations WHERE version = ${D}`)
    )[0]!.x;

    const r = await restoreBefore(E);
    assert.equal(r.plan.command, 'tsdbOps.restore.pgbackrest');
    assert.deepEqual(r.plan.args, { target: 'xid', xid: dXmin, exclusive: false, folder: r.plan.args.folder });
    assert.equal(r.plan.approximate, true);
    // The confirmation the user reads (the modal's message and detail).
    assert.equal(
      r.plan.message,
      `Restore ${stack.projectName} to just before migration ${E} drop note notx? (approximate)`,
    );
    assert.match(
      r.plan.detail,
      new RegExp(
        `^${E} drop note notx is a -- no-transaction migration: no single transaction marks it, so the target is ` +
          `approximate: just after the previous migration ${D} add site finished in the same run \\(transaction ${dXmin}, included\\)`,
      ),
    );
    assert.equal(r.result.restoreTarget, 'xid');
    assert.equal(await notes(), 'a,b', 'the column and its rows are back');
    assert.deepEqual(await sites(), [7, 8], "A's and D's effects are kept");
    assert.deepEqual(await applied(), [A, D]);
  });

  it('a restore drill reaches the open panel without reopening it', async () => {
    const before = (await open({ reload: false })).model.drills.length;
    const d = await vscode.commands.executeCommand<{ report: { passed: boolean } }>('tsdbOps.backup.drill', {});
    const r = await waitFor(
      async () => {
        const o = await open({ reload: false });
        return o.model.drills.length === before + 1 ? o : undefined;
      },
      60_000,
      'the drill on the open panel',
    );
    assert.equal(r.model.drills.at(-1)!.ok, d.report.passed);
  });
});
