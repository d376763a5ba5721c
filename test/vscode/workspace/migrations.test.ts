/**
 * In-host suite: the migration commands, the view's data and the guard, against a real PostgreSQL 15
 * started by the suite itself (the extension host is a Node process with the same machine). The
 * migrations are a temp copy of the repo's samples (tsdbOps.migrations.path, user level), so nothing
 * in the repository changes.
 */
import * as assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { startCluster, type Cluster } from '../../support/cluster';
import { activate, waitFor } from '../extension.js';

interface StatusResult {
  tableExists: boolean;
  summary: { applied: number; pending: number; modified: number };
  migrations: Array<{ version: string; state: string; file?: string; installedOn?: string }>;
}

describe('Migrations: commands, view data and guard on a real PostgreSQL', function () {
  this.timeout(120_000);
  let cluster: Cluster;
  let dir: string;
  const savedUrl = process.env.DATABASE_URL;

  before(async function () {
    await activate();
    cluster = await startCluster();
    dir = mkdtempSync(join(tmpdir(), 'tsdb-ops-host-mig-'));
    // The fixture workspace's database/migrations links to the repo's sample migrations.
    const samples = join(vscode.workspace.workspaceFolders![0]!.uri.fsPath, 'database', 'migrations');
    cpSync(samples, dir, { recursive: true, dereference: true });
    process.env.DATABASE_URL = `postgres://${cluster.user}@127.0.0.1:${cluster.port}/postgres`;
    await vscode.workspace
      .getConfiguration('tsdbOps')
      .update('migrations.path', dir, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('tsdbOps.refresh');
  });

  after(async () => {
    if (savedUrl === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = savedUrl;
    await vscode.workspace
      .getConfiguration('tsdbOps')
      .update('migrations.path', undefined, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const status = () => vscode.commands.executeCommand<StatusResult>('tsdbOps.migrations.status', {});

  it('status lists every sample migration as pending before anything ran', async () => {
    const ups = readdirSync(dir).filter((n) => !n.endsWith('.down.sql'));
    const s = await waitFor(
      async () => {
        const r = await status();
        return r.migrations.length === ups.length ? r : undefined;
      },
      20_000,
      'status of the temp migrations folder',
    );
    assert.equal(s.tableExists, false);
    assert.equal(s.summary.pending, ups.length);
    console.log(`      ${s.summary.pending} pending`);
  });

  it('runPending with args but no confirm refuses, and changes nothing', async () => {
    await assert.rejects(
      Promise.resolve(vscode.commands.executeCommand('tsdbOps.migrations.runPending', {})),
      /pass \{ confirm: true \}/,
    );
    assert.equal((await status()).tableExists, false);
  });

  it('runPending { confirm: true } applies them all; sqlx rows are in the database', async () => {
    const r = await vscode.commands.executeCommand<{ applied: Array<{ version: string }> }>(
      'tsdbOps.migrations.runPending',
      { confirm: true },
    );
    const ups = readdirSync(dir).filter((n) => !n.endsWith('.down.sql')).length;
    assert.equal(r.applied.length, ups);
    assert.equal(await cluster.psql('SELECT count(*) FROM _sqlx_migrations WHERE success'), String(ups));
    const s = await status();
    assert.equal(s.summary.applied, ups);
    assert.equal(s.summary.pending, 0);
  });

  it('an applied migration open in the editor carries the guard diagnostic', async () => {
    const s = await status();
    const file = s.migrations.find((m) => m.state === 'applied')!.file!;
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
    await vscode.window.showTextDocument(doc);
    const diags = await waitFor(
      () => {
        const d = vscode.languages.getDiagnostics(doc.uri).filter((x) => x.source === 'TimescaleDB Ops');
        return d.length ? d : undefined;
      },
      10_000,
      'the guard diagnostic',
    );
    assert.match(
      diags[0]!.message,
      /^Applied on .+: applied migrations are immutable; create a new migration for any change\.$/,
    );
  });

  it('a modified applied migration shows as modified, with the sqlx message in the diagnostic', async () => {
    const s = await status();
    const applied = s.migrations.find((m) => m.state === 'applied')!;
    appendFileSync(applied.file!, '-- an edit after it was applied\n');
    const after = await waitFor(
      async () => {
        const r = await status();
        return r.summary.modified === 1 ? r : undefined;
      },
      10_000,
      'the modified state',
    );
    assert.equal(after.migrations.find((m) => m.version === applied.version)!.state, 'modified');
    const diags = await waitFor(
      () => {
        const d = vscode.languages
          .getDiagnostics(vscode.Uri.file(applied.file!))
          .filter((x) => x.severity === vscode.DiagnosticSeverity.Error);
        return d.length ? d : undefined;
      },
      10_000,
      'the error diagnostic',
    );
    assert.match(diags[0]!.message, /migration \d+ was previously applied but has been modified/);
    await assert.rejects(
      Promise.resolve(vscode.commands.executeCommand('tsdbOps.migrations.runPending', { confirm: true })),
      /^Error: migration \d+ was previously applied but has been modified$|migration \d+ was previously applied but has been modified/,
    );
  });

  it('create { name } writes a sqlx-named file with sqlx’s template, and it shows as pending', async () => {
    const r = await vscode.commands.executeCommand<{ files: string[]; versioning: string }>(
      'tsdbOps.migrations.create',
      { name: 'add sensor notes', open: false },
    );
    assert.equal(r.versioning, 'timestamp');
    assert.match(r.files[0]!, /\/\d{14}_add_sensor_notes\.sql$/);
    writeFileSync(r.files[0]!, 'ALTER TABLE sensors ADD COLUMN IF NOT EXISTS notes TEXT;\n');
    const s = await waitFor(
      async () => {
        const x = await status();
        return x.summary.pending === 1 ? x : undefined;
      },
      10_000,
      'one pending migration',
    );
    assert.ok(s.migrations.some((m) => m.state === 'pending' && m.file === r.files[0]));
  });

  it('copyCliCommand gives the sqlx command line without the password', async () => {
    const r = await vscode.commands.executeCommand<{ command: string }>('tsdbOps.migrations.copyCliCommand', {
      action: 'info',
    });
    assert.match(
      r.command,
      /^sqlx migrate info --source .+ --database-url 'postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres'$/,
    );
    assert.equal(await vscode.env.clipboard.readText(), r.command);
  });

  it('command runner mode: runs the configured command (a stand-in for cargo) with DATABASE_URL, and reports its exit code', async () => {
    const cfg = () => vscode.workspace.getConfiguration('tsdbOps');
    const marker = join(dir, '..', `${dir.split('/').pop()}-url.txt`);
    // The stand-in writes the DATABASE_URL it was given, as `cargo run --bin tables_migration` would use it.
    const script = `require('fs').writeFileSync(${JSON.stringify(marker)}, process.env.DATABASE_URL || '')`;
    await cfg().update('migrations.runner', 'command', vscode.ConfigurationTarget.Global);
    await cfg().update(
      'migrations.command',
      `"${process.execPath}" -e "${script.replace(/"/g, '\\"')}"`,
      vscode.ConfigurationTarget.Global,
    );
    try {
      const r = await vscode.commands.executeCommand<{ mode: string; exitCode: number }>(
        'tsdbOps.migrations.runPending',
        { confirm: true },
      );
      assert.deepEqual([r.mode, r.exitCode], ['command', 0]);
      const { readFileSync } = await import('node:fs');
      assert.equal(readFileSync(marker, 'utf8'), `postgres://${cluster.user}@127.0.0.1:${cluster.port}/postgres`);
      await cfg().update(
        'migrations.command',
        `"${process.execPath}" -e "process.exit(3)"`,
        vscode.ConfigurationTarget.Global,
      );
      await assert.rejects(
        Promise.resolve(vscode.commands.executeCommand('tsdbOps.migrations.runPending', { confirm: true })),
        /exited with code 3/,
      );
    } finally {
      await cfg().update('migrations.runner', undefined, vscode.ConfigurationTarget.Global);
      await cfg().update('migrations.command', undefined, vscode.ConfigurationTarget.Global);
      rmSync(marker, { force: true });
    }
  });

  it('a database that refuses connections is reported, not thrown at the view', async () => {
    process.env.DATABASE_URL = 'postgres://postgres@127.0.0.1:1/postgres';
    try {
      await assert.rejects(
        Promise.resolve(vscode.commands.executeCommand('tsdbOps.migrations.status', {})),
        /Connection refused at 127\.0\.0\.1:1 \(from DATABASE_URL \(environment\)\)/,
      );
    } finally {
      process.env.DATABASE_URL = `postgres://${cluster.user}@127.0.0.1:${cluster.port}/postgres`;
    }
  });
});
