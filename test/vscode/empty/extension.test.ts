/**
 * In-host suite on an empty folder: the extension activates and finds no infra.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { activate, errorLines, extensionLogFiles, VIEW_CONTAINER } from '../extension.js';

describe('TimescaleDB Ops on an empty workspace', function () {
  this.timeout(60_000);

  it('activates on demand', async function () {
    const { api, ms } = await activate();
    assert.ok(api, 'activate() returned no API');
    console.log(`      activation: ${ms.toFixed(1)} ms; api.activationTimeMs = ${api.activationTimeMs.toFixed(1)} ms`);
  });

  it('reports no stack (so the views show their welcome content)', async function () {
    const { api } = await activate();
    await api.refresh();
    assert.deepEqual(api.stacks(), []);
  });

  it('opens its views and runs Refresh without errors', async function () {
    await activate();
    await vscode.commands.executeCommand(`workbench.view.extension.${VIEW_CONTAINER}`);
    await vscode.commands.executeCommand('tsdbOps.refresh');
    await vscode.commands.executeCommand('tsdbOps.showOutput');
    assert.deepEqual(errorLines(extensionLogFiles()), []);
  });
});
