/**
 * In-host suite: the restore drill command with args on the real fixture stack, its report files, the
 * Drills row in the Backups view and "verified … ago" in the backup status item; bad args of the drill
 * and of tsdbOps.restore.pgbackrest are refused naming the field.
 */
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as vscode from 'vscode';
import { startStack, type Stack } from '../../support/stack';
import { activate, waitFor } from '../extension.js';

interface Row {
  depth: number;
  label: string;
  description?: string;
  contextValue?: string;
}
interface BackupsApi {
  rows(): Promise<Row[]>;
  statusBar(at?: string): { text: string; level: string; tooltip: string } | undefined;
}
interface DrillResult {
  report: {
    passed: boolean;
    source: string;
    rtoMs: number;
    recoveryPoint?: string;
    checks: { name: string; status: string }[];
  };
  files: { json: string; markdown: string };
}

describe('Restore drills: the command with args, the Drills row and the status item', function () {
  this.timeout(300_000);
  let stack: Stack;
  let backups: BackupsApi;
  const cfg = () => vscode.workspace.getConfiguration('tsdbOps');

  before(async function () {
    this.timeout(300_000);
    const { api } = await activate();
    backups = (api as unknown as { backups: BackupsApi }).backups;
    stack = await startStack();
    await cfg().update('docker.host', stack.docker.host, vscode.ConfigurationTarget.Global);
    await cfg().update('infraPath', stack.infraDir, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('tsdbOps.refresh');
    await stack.sql('CREATE TABLE t (v int)');
    await stack.sql('INSERT INTO t VALUES (1)');
    await stack.exec('timescaledb', ['pgbackrest', '--stanza=db', '--type=full', 'backup']);
  });

  after(async () => {
    await cfg().update('infraPath', undefined, vscode.ConfigurationTarget.Global);
    await cfg().update('docker.host', undefined, vscode.ConfigurationTarget.Global);
    await stack?.stop();
  });

  it('tsdbOps.backup.drill with args drills the newest set and writes the reports; the view and status item show it', async () => {
    const r = await vscode.commands.executeCommand<DrillResult>('tsdbOps.backup.drill', {});
    assert.equal(r.report.passed, true, JSON.stringify(r.report.checks));
    assert.match(r.report.source, /^pgbackrest \d{8}-\d{6}F \(latest state\)$/);
    assert.ok(existsSync(r.files.json) && existsSync(r.files.markdown));
    assert.match(readFileSync(r.files.markdown, 'utf8'), /^# Restore drill passed/);
    const rows = await waitFor(
      async () => {
        const all = await backups.rows();
        return all.some((x) => x.contextValue === 'drill.passed') ? all : undefined;
      },
      60_000,
      'a passed drill row',
    );
    const group = rows.find((x) => x.label === 'Drills')!;
    assert.match(group.description ?? '', /^verified \d+m ago$/);
    const row = rows.find((x) => x.contextValue === 'drill.passed')!;
    assert.match(row.description ?? '', /^passed · .* · RTO \d+ s · recovery point /);
    const status = backups.statusBar();
    assert.match(status?.text ?? '', / · verified \d+m ago$/);
  });

  it('bad args are refused naming the field and the value', async () => {
    await assert.rejects(
      Promise.resolve(vscode.commands.executeCommand('tsdbOps.backup.drill', { target: 'newest' })),
      /target must be 'latest' or 'set', not "newest"/,
    );
    await assert.rejects(
      Promise.resolve(
        vscode.commands.executeCommand('tsdbOps.restore.pgbackrest', { target: 'newest', confirm: true }),
      ),
      /target must be one of 'latest', 'set', 'time', 'xid', not "newest"/,
    );
    await assert.rejects(
      Promise.resolve(vscode.commands.executeCommand('tsdbOps.restore.pgbackrest', { set: 'latest', confirm: true })),
      /set "latest" is not a pgBackRest backup label/,
    );
  });
});
