/**
 * In-host suite: migration lint on a temp copy of the sample migrations against a real PostgreSQL 15 started here.
 * The lint command with args returns the findings; diagnostics and quick fixes reach the editor; Run Pending refuses
 * an error-level migration without `force` and applies it with `force: true`.
 */
import * as assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { startCluster, type Cluster } from '../../support/cluster';
import { activate, waitFor } from '../extension.js';

interface LintResult {
  sizesKnown: boolean;
  note?: string;
  files: string[];
  errors: number;
  findings: Array<{
    rule: string;
    severity: string;
    message: string;
    file: string;
    line: number;
    table?: string;
    tableFacts?: { bytes: number; rows: number; hypertable: boolean };
  }>;
}

describe('Migration lint: command, diagnostics, quick fixes and the Run Pending gate', function () {
  this.timeout(120_000);
  let cluster: Cluster;
  let dir: string;
  const savedUrl = process.env.DATABASE_URL;
  const cfg = () => vscode.workspace.getConfiguration('tsdbOps');
  const lint = (args: Record<string, unknown> = {}) =>
    vscode.commands.executeCommand<LintResult>('tsdbOps.migrations.lint', args);

  before(async () => {
    await activate();
    cluster = await startCluster();
    dir = mkdtempSync(join(tmpdir(), 'tsdb-ops-host-lint-'));
    const samples = join(vscode.workspace.workspaceFolders![0]!.uri.fsPath, 'database', 'migrations');
    cpSync(samples, dir, { recursive: true, dereference: true });
    process.env.DATABASE_URL = `postgres://${cluster.user}@127.0.0.1:${cluster.port}/postgres`;
    await cfg().update('migrations.path', dir, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('tsdbOps.refresh');
  });

  after(async () => {
    if (savedUrl === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = savedUrl;
    await cfg().update('migrations.path', undefined, vscode.ConfigurationTarget.Global);
    await cfg().update('lint.largeTableBytes', undefined, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the sample migrations lint clean (tables created earlier in the pending set are new and empty)', async () => {
    const r = await lint();
    assert.equal(r.files.length, 5);
    assert.deepEqual(
      r.findings.map((f) => `${f.rule} ${f.message}`),
      [],
    );
    assert.equal(r.sizesKnown, true);
    await vscode.commands.executeCommand('tsdbOps.migrations.runPending', { confirm: true });
  });

  const bad = () => join(dir, '20240106000000_widen_location.sql');

  it('returns the findings of a new pending migration with the table size from the database', async () => {
    writeFileSync(bad(), "SET lock_timeout = '2s';\nALTER TABLE sensors ALTER COLUMN location TYPE varchar(200);\n");
    const r = await waitFor(
      async () => {
        const x = await lint();
        return x.files.includes(bad()) ? x : undefined;
      },
      20_000,
      'the new migration linted',
    );
    const f = r.findings.find((x) => x.rule === 'column-type-change');
    assert.ok(f, JSON.stringify(r.findings));
    assert.equal(f.file, bad());
    assert.equal(f.line, 2);
    assert.equal(f.severity, 'warning');
    assert.equal(f.table, 'sensors');
    assert.ok(f.tableFacts!.bytes > 0);
    assert.match(f.message, /sensors: \d+(\.\d)? KB, /);
  });

  it('shows the finding as a diagnostic with quick fixes in the open file', async () => {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(bad()));
    await vscode.window.showTextDocument(doc);
    const diag = await waitFor(
      () => vscode.languages.getDiagnostics(doc.uri).find((d) => d.code === 'column-type-change'),
      15_000,
      'the lint diagnostic',
    );
    assert.equal(diag.source, 'tsdb-ops-lint');
    assert.equal(diag.range.start.line, 1);
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>(
      'vscode.executeCodeActionProvider',
      doc.uri,
      diag.range,
    );
    assert.ok(
      actions.some((a) => a.title === 'Ignore column-type-change here (with a reason)'),
      actions.map((a) => a.title).join(', '),
    );
  });

  it('Run Pending refuses an error-level finding without force, and applies it with force: true', async () => {
    await cfg().update('lint.largeTableBytes', 1, vscode.ConfigurationTarget.Global); // every table is "large"
    const r = await lint();
    assert.equal(r.findings.find((x) => x.rule === 'column-type-change')?.severity, 'error');
    await assert.rejects(
      Promise.resolve(vscode.commands.executeCommand('tsdbOps.migrations.runPending', { confirm: true })),
      /Run Pending stopped: 1 error-level lint finding.*pass \{ force: true \}/s,
    );
    assert.equal(await cluster.psql('SELECT count(*) FROM _sqlx_migrations WHERE version = 20240106000000'), '0');
    const applied = await vscode.commands.executeCommand<{ applied: Array<{ version: string }> }>(
      'tsdbOps.migrations.runPending',
      { confirm: true, force: true },
    );
    assert.deepEqual(
      applied.applied.map((a) => a.version),
      ['20240106000000'],
    );
    assert.equal(
      await cluster.psql(
        "SELECT data_type || character_maximum_length FROM information_schema.columns WHERE table_name = 'sensors' AND column_name = 'location'",
      ),
      'character varying200',
    );
  });
});
