/**
 * In-host suite on the fixture workspace (test/fixtures/workspace: infra/ with a compose stack,
 * database/migrations). Runs inside the extension host with the full vscode API.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { activate, contributes, errorLines, extensionLogFiles, VIEWS, VIEW_CONTAINER, waitFor } from '../extension.js';

describe('TimescaleDB Ops on the fixture workspace', function () {
  this.timeout(60_000);

  it('activates and reports its activation time', async function () {
    const { api, ms, wasActive } = await activate();
    assert.ok(api, 'activate() returned no API');
    assert.equal(typeof api.activationTimeMs, 'number', 'api.activationTimeMs is not a number');
    console.log(
      `      activation: activate() resolved in ${ms.toFixed(1)} ms${wasActive ? ' (already active: workspaceContains)' : ''}; ` +
        `api.activationTimeMs = ${api.activationTimeMs.toFixed(1)} ms`,
    );
  });

  it('registers every command contributed in package.json', async function () {
    await activate();
    const contributed = (contributes().commands ?? []).map((c) => c.command);
    assert.ok(contributed.length > 0, 'package.json contributes no commands');
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = contributed.filter((c) => !registered.has(c));
    assert.deepEqual(missing, [], `contributed but not registered: ${missing.join(', ')}`);
  });

  it('shows the TimescaleDB Ops container and its three views', async function () {
    await activate();
    const views = (contributes().views?.[VIEW_CONTAINER] ?? []).map((v) => v.id);
    assert.deepEqual([...views].sort(), [...VIEWS].sort());
    await vscode.commands.executeCommand(`workbench.view.extension.${VIEW_CONTAINER}`);
    for (const id of VIEWS) await vscode.commands.executeCommand(`${id}.focus`);
  });

  it('API: stacks() finds the fixture stack with its services', async function () {
    const { api } = await activate();
    const stacks = await waitFor(() => (api.stacks().length > 0 ? api.stacks() : undefined), 15_000, 'a stack');
    const stack = stacks[0]!;
    for (const key of ['folder', 'infraDir', 'projectName'] as const) assert.equal(typeof stack[key], 'string', key);
    assert.ok(Array.isArray(stack.services) && Array.isArray(stack.problems), 'services/problems are arrays');
    assert.ok(stack.infraDir.endsWith('infra'), `infraDir ${stack.infraDir}`);
    assert.ok(stack.services.includes('timescaledb'), `services: ${stack.services.join(', ')}`);
    const migrationsDir = (stack as { migrationsDir?: string }).migrationsDir;
    if (migrationsDir !== undefined) assert.ok(migrationsDir.endsWith('migrations'), `migrationsDir ${migrationsDir}`);
    console.log(`      stack ${stack.projectName}: ${stack.services.join(', ')}; problems: ${stack.problems.length}`);
  });

  it('API: refresh() resolves, and so does the Refresh command', async function () {
    const { api } = await activate();
    await api.refresh();
    await vscode.commands.executeCommand('tsdbOps.refresh');
  });

  it('logged nothing at error level', async function () {
    await activate();
    await vscode.commands.executeCommand('tsdbOps.showOutput');
    // The log file is written asynchronously.
    const files = await waitFor(
      () => (extensionLogFiles().length > 0 ? extensionLogFiles() : undefined),
      10_000,
      'the extension log file',
    );
    console.log(`      log files: ${files.map((f) => f.split('/').slice(-2).join('/')).join(', ')}`);
    assert.deepEqual(errorLines(files), []);
  });
});
