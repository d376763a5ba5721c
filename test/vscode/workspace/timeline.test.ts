/**
 * In-host suite: the Recovery Timeline panel (tsdbOps.backup.timeline) on the real fixture stack with two
 * pgBackRest sets, archived WAL, a pg_dump and three migrations applied in one Run Pending (the last one
 * `-- no-transaction`). Checks the model the panel posted, the marks the webview drew, the restore plans of
 * the migration ticks (B: its own transaction, excluded; C: approximate), and that a new backup reaches the
 * open panel without reopening it.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { startStack, type Stack } from '../../support/stack';
import { activate, waitFor } from '../extension.js';

interface Model {
  project: string;
  sets: Array<{ label: string; type: string }>;
  wal: { covered: Array<{ from: number; to: number }>; gaps: unknown[] };
  newestRecoverable?: number;
  manual: Array<{ name: string; kind: string }>;
  migrations: Array<{ version: string; description: string; noTransaction: boolean; durationMs?: number }>;
  drills: unknown[];
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

const A = '20261124100000';
const B = '20261124100001';
const C = '20261124100002';

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
    await cfg().update('infraPath', stack.infraDir, vscode.ConfigurationTarget.Global);
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
    for (const k of ['migrations.path', 'infraPath', 'docker.host'])
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
});
