/**
 * In-host suite on a multi-root workspace (folders dev/ and staging/ in a .code-workspace, made by the
 * launcher): each folder gets its own stack through folder settings, `dev` on the bench's local private
 * engine (unix://) and `staging` on the same bench engine reached over ssh:// through a real sshd on
 * loopback (its key file and known_hosts as folder settings). Checked: every view has one root per stack
 * naming the engine it lives on; each stack's containers come from its own engine; the status bar items
 * follow the active editor's folder, and a pinned stack stays until unpinned.
 */
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { startStack, type Stack } from '../../support/stack';
import { sharedSshd, stopSharedSshd, type Sshd } from '../../support/sshd';
import { activate, waitFor } from '../extension.js';

interface StatusBar {
  text: string;
  tooltip: string;
  stack?: string;
  pinned?: boolean;
}
interface Api {
  containers: { statusBar(): StatusBar };
  viewRoots(view: 'containers' | 'migrations' | 'backups'): Promise<Array<{ label: string; description?: string }>>;
}
interface RefreshResult {
  docker: Array<{
    folder: string;
    project: string;
    host: string;
    state: string;
    error?: string;
    services?: Array<{ service: string; state: string }>;
  }>;
}

describe('Several stacks in a multi-root workspace: dev on the local engine, staging over ssh://', function () {
  this.timeout(240_000);
  let api: Api;
  let dev: Stack;
  let staging: Stack;
  let sshd: Sshd;
  let devFolder: vscode.WorkspaceFolder;
  let stagingFolder: vscode.WorkspaceFolder;
  const cfg = (f: vscode.WorkspaceFolder) => vscode.workspace.getConfiguration('tsdbOps', f.uri);
  const FOLDER = vscode.ConfigurationTarget.WorkspaceFolder;
  const SETTINGS = ['infraPath', 'docker.host', 'docker.sshKeyFile', 'docker.knownHostsFile'];

  const openIn = async (f: vscode.WorkspaceFolder): Promise<void> => {
    const file = join(f.uri.fsPath, 'notes.sql');
    writeFileSync(file, `-- ${f.name}\n`);
    await vscode.window.showTextDocument(vscode.Uri.file(file));
  };
  const statusShows = (project: string, re: RegExp) =>
    waitFor(
      () => {
        const sb = api.containers.statusBar();
        return sb.stack === project && re.test(sb.text) ? sb : undefined;
      },
      60_000,
      `status bar shows ${project} ~ ${re} (now: ${api.containers.statusBar().text})`,
    );

  before(async function () {
    this.timeout(400_000);
    const folders = vscode.workspace.workspaceFolders ?? [];
    assert.deepEqual(
      folders.map((f) => f.name),
      ['dev', 'staging'],
      'the launcher opens the multi-root workspace',
    );
    [devFolder, stagingFolder] = folders as [vscode.WorkspaceFolder, vscode.WorkspaceFolder];
    api = (await activate()).api as unknown as Api;
    dev = await startStack();
    staging = await startStack();
    sshd = await sharedSshd(dev.docker.host);
    await cfg(devFolder).update('infraPath', dev.infraDir, FOLDER);
    await cfg(devFolder).update('docker.host', dev.docker.host, FOLDER);
    await cfg(stagingFolder).update('infraPath', staging.infraDir, FOLDER);
    await cfg(stagingFolder).update('docker.host', sshd.url, FOLDER);
    await cfg(stagingFolder).update('docker.sshKeyFile', sshd.userKey, FOLDER);
    await cfg(stagingFolder).update('docker.knownHostsFile', sshd.knownHosts, FOLDER);
    await vscode.commands.executeCommand('tsdbOps.refresh');
  });

  after(async () => {
    await vscode.commands.executeCommand('tsdbOps.stack.unpinStatusBar').then(undefined, () => undefined);
    for (const f of [devFolder, stagingFolder])
      if (f)
        for (const k of SETTINGS)
          await cfg(f)
            .update(k, undefined, FOLDER)
            .then(undefined, () => undefined);
    await stopSharedSshd();
    await dev?.stop();
    await staging?.stop();
  });

  it('every view has one root per stack, naming its project and the engine it lives on', async () => {
    for (const view of ['containers', 'migrations', 'backups'] as const) {
      const roots = await waitFor(
        async () => {
          const r = await api.viewRoots(view);
          return r.length === 2 && r.every((x) => x.description?.includes(' · ')) ? r : undefined;
        },
        60_000,
        `two roots in ${view}`,
      );
      assert.deepEqual(
        roots.map((r) => [r.label, r.description]),
        [
          ['dev', `${dev.projectName} · ${dev.docker.host}`],
          ['staging', `${staging.projectName} · ${sshd.url}`],
        ],
        view,
      );
    }
  });

  it("each stack's containers are read from its own engine (staging through the SSH connection)", async () => {
    let last: RefreshResult | undefined;
    const r = await waitFor(
      async () => {
        last = await vscode.commands.executeCommand<RefreshResult>('tsdbOps.refresh');
        return last.docker.length === 2 && last.docker.every((d) => d.state === 'ready') ? last : undefined;
      },
      90_000,
      'both stacks read from their engines',
    ).catch((e: Error) => {
      throw new Error(
        `${e.message}: ${JSON.stringify(last?.docker.map((d) => [d.project, d.host, d.state, d.error]))}`,
      );
    });
    const byProject = new Map(r.docker.map((d) => [d.project, d]));
    assert.equal(byProject.get(dev.projectName)?.host, `${dev.docker.host} (tsdbOps.docker.host)`);
    assert.equal(byProject.get(staging.projectName)?.host, `${sshd.url} (tsdbOps.docker.host)`);
    for (const s of [dev, staging])
      assert.equal(
        byProject.get(s.projectName)?.services?.find((x) => x.service === 'timescaledb')?.state,
        'running',
        s.projectName,
      );
  });

  it("the status bar follows the active editor's folder", async () => {
    await openIn(stagingFolder);
    let sb = await statusShows(staging.projectName, /TimescaleDB staging: (healthy|running)/);
    assert.equal(sb.pinned, false);
    assert.match(sb.tooltip, new RegExp(`\\$\\(arrow-right\\) \`${staging.projectName}\`.* on ssh://`));
    await openIn(devFolder);
    sb = await statusShows(dev.projectName, /TimescaleDB dev: (healthy|running)/);
    assert.match(sb.tooltip, /Follows the active editor/);
  });

  it('a pinned stack stays while the editor moves to another folder; unpinning follows the editor again', async () => {
    await assert.rejects(
      Promise.resolve(vscode.commands.executeCommand('tsdbOps.stack.pinStatusBar', { stack: 'nope' })),
      /No stack "nope" is open: pass \{ stack \} as one of/,
    );
    const pinned = await vscode.commands.executeCommand<{ pinned?: string }>('tsdbOps.stack.pinStatusBar', {
      stack: 'staging',
    });
    assert.equal(pinned.pinned, staging.projectName);
    let sb = await statusShows(staging.projectName, /TimescaleDB staging \$\(pinned\): /);
    assert.equal(sb.pinned, true);
    // The editor is in dev; the item stays on staging. Opening another dev file changes nothing either.
    await openIn(devFolder);
    assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, join(devFolder.uri.fsPath, 'notes.sql'));
    sb = api.containers.statusBar();
    assert.equal(sb.stack, staging.projectName);
    const r = await vscode.commands.executeCommand<{ pinned?: string; following?: string }>(
      'tsdbOps.stack.unpinStatusBar',
    );
    assert.equal(r.pinned, undefined);
    assert.equal(r.following, dev.projectName);
    sb = await statusShows(dev.projectName, /TimescaleDB dev: /);
    assert.equal(sb.pinned, false);
  });
});
