/**
 * In-host suite: the Containers commands with args change the real compose stack (the fixture infra
 * started by the suite on the test engine, Compose v1 here), and the Containers view's rows and the
 * database status bar item follow. The extension is pointed at the stack with user-level settings
 * (tsdbOps.infraPath, tsdbOps.docker.host), reset afterwards.
 */
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { startStack, type Stack } from '../../support/stack';
import { activate, waitFor, useInfra } from '../extension.js';

interface Row {
  label: string;
  description?: string;
  contextValue?: string;
}
interface ContainersApi {
  items(): Promise<Row[]>;
  statusBar(): { text: string; tooltip: string; background?: string; visible: boolean };
  reachability(): string;
}
interface ServiceResult {
  service: string;
  state: string;
  description: string;
  exitCode?: number;
  health?: string;
  containerId?: string;
}

describe('Containers: commands on a real compose stack, the view and the status bar follow', function () {
  this.timeout(180_000);
  let stack: Stack;
  let containers: ContainersApi;
  const cfg = () => vscode.workspace.getConfiguration('tsdbOps');

  const row = async (label: string): Promise<Row | undefined> =>
    (await containers.items()).find((r) => r.label === label);
  /** Waits until the view's row for `label` has a description matching `re`. */
  const rowMatches = (label: string, re: RegExp, ms = 30_000) =>
    waitFor(
      async () => {
        const r = await row(label);
        return r?.description && re.test(r.description) ? r : undefined;
      },
      ms,
      `row ${label} ~ ${re}`,
    );
  const statusMatches = (re: RegExp, ms = 30_000) =>
    waitFor(
      () => (re.test(containers.statusBar().text) ? containers.statusBar() : undefined),
      ms,
      `status bar ~ ${re}`,
    );

  before(async function () {
    this.timeout(300_000);
    const { api } = await activate();
    containers = (api as unknown as { containers: ContainersApi }).containers;
    assert.ok(containers, 'the API has containers');
    stack = await startStack();
    await cfg().update('docker.host', stack.docker.host, vscode.ConfigurationTarget.Global);
    await useInfra(stack.infraDir);
    await vscode.commands.executeCommand('tsdbOps.refresh');
  });

  after(async () => {
    for (const t of vscode.window.terminals) if (t.name.startsWith('timescaledb')) t.dispose();
    await useInfra(undefined);
    await cfg().update('docker.host', undefined, vscode.ConfigurationTarget.Global);
    await stack?.stop();
  });

  it('refresh reads the stack from the engine: the project from .env, every service with its state', async () => {
    const r = await vscode.commands.executeCommand<{
      docker: Array<{ project: string; state: string; services: ServiceResult[] }>;
    }>('tsdbOps.refresh');
    const d = r.docker.find((x) => x.project === stack.projectName);
    assert.ok(d, `the stack's project ${stack.projectName} in ${JSON.stringify(r.docker.map((x) => x.project))}`);
    assert.equal(d.state, 'ready');
    assert.deepEqual(
      d.services.map((s) => s.service),
      ['timescaledb', 'ofelia'],
    );
    assert.equal(d.services[1]!.state, 'notCreated');
  });

  it('the view shows one row per service (label = service, description = state) and the status bar the database', async () => {
    const db = await rowMatches('timescaledb', /^running · healthy$/, 90_000);
    assert.equal(db.contextValue, 'container.running.database');
    const ofelia = await row('ofelia');
    assert.equal(ofelia?.description, 'not created · profile full');
    assert.equal(ofelia?.contextValue, 'container.notCreated');
    const sb = await statusMatches(/TimescaleDB: healthy/);
    assert.equal(sb.background, undefined);
    assert.match(sb.tooltip, /container: `[^`]+timescaledb[^`]*`/);
    assert.match(sb.tooltip, new RegExp(`port: \`127\\.0\\.0\\.1:${stack.port}→5432/tcp\``));
    assert.match(sb.tooltip, /up: \d+/);
    assert.equal(containers.reachability(), 'reachable');
    console.log(`      status bar: ${sb.text}`);
  });

  it('container.stop / start / restart { service } change the real container; row and status bar follow', async () => {
    const stopped = await vscode.commands.executeCommand<{ changed: boolean; status: ServiceResult }>(
      'tsdbOps.container.stop',
      { service: 'timescaledb', confirm: true },
    );
    assert.equal(stopped.changed, true);
    assert.equal(stopped.status.state, 'exited');
    await rowMatches('timescaledb', /^exited \(0\)$/);
    const sb = await statusMatches(/TimescaleDB: stopped/);
    assert.equal(sb.background, 'statusBarItem.warningBackground');

    const started = await vscode.commands.executeCommand<{ status: ServiceResult }>('tsdbOps.container.start', {
      service: 'timescaledb',
    });
    assert.equal(started.status.state, 'running');
    await rowMatches('timescaledb', /^running/);

    const restarted = await vscode.commands.executeCommand<{ action: string; status: ServiceResult }>(
      'tsdbOps.container.restart',
      { service: 'timescaledb', confirm: true },
    );
    assert.equal(restarted.action, 'restart');
    assert.equal(restarted.status.state, 'running');
    await rowMatches('timescaledb', /^running · healthy$/, 90_000);
    await statusMatches(/TimescaleDB: healthy/, 90_000);
  });

  it('container.logs { service, tail } returns the lines it streamed into the service’s channel', async () => {
    const r = await vscode.commands.executeCommand<{ lines: number; channel: string; following: boolean }>(
      'tsdbOps.container.logs',
      { service: 'timescaledb', tail: 5 },
    );
    assert.equal(r.following, false);
    assert.ok(r.lines > 0 && r.lines <= 5, `${r.lines} lines`);
    assert.equal(r.channel, 'TimescaleDB Ops: timescaledb logs');
    const f = await vscode.commands.executeCommand<{ following: boolean }>('tsdbOps.container.logs', {
      service: 'timescaledb',
      tail: 1,
      follow: true,
    });
    assert.equal(f.following, true);
    const s = await vscode.commands.executeCommand<{ stopped: string[] }>('tsdbOps.container.stopLogs', {
      service: 'timescaledb',
    });
    assert.deepEqual(s.stopped, ['timescaledb']);
  });

  it('container.shell { service } opens a terminal running docker exec -it with bash', async () => {
    const r = await vscode.commands.executeCommand<{ shell: string; terminal: string; containerId: string }>(
      'tsdbOps.container.shell',
      { service: 'timescaledb', preserveFocus: true },
    );
    assert.equal(r.shell, 'bash');
    const t = vscode.window.terminals.find((x) => x.name === r.terminal);
    assert.ok(t, `terminal ${r.terminal}`);
    const opts = t.creationOptions as vscode.TerminalOptions;
    // The docker CLI found on PATH, by its absolute path.
    assert.match(String(opts.shellPath), /^\/.*\/docker$/);
    assert.deepEqual(opts.shellArgs, ['exec', '-it', r.containerId, 'bash']);
    t.dispose();
  });

  it('stack.up { profile: "full" } starts the profile service; the row follows', async () => {
    const r = await vscode.commands.executeCommand<{ profile: string; services: ServiceResult[] }>('tsdbOps.stack.up', {
      profile: 'full',
    });
    assert.equal(r.profile, 'full');
    assert.equal(r.services.find((s) => s.service === 'ofelia')?.state, 'running');
    const ofelia = await rowMatches('ofelia', /^running$/);
    assert.equal(ofelia.contextValue, 'container.running');
  });

  it('stack.down { confirm: true } removes every container: rows "not created", status bar warns', async () => {
    const r = await vscode.commands.executeCommand<{ services: ServiceResult[] }>('tsdbOps.stack.down', {
      confirm: true,
    });
    assert.deepEqual(
      r.services.map((s) => s.state),
      ['notCreated', 'notCreated'],
    );
    await rowMatches('timescaledb', /^not created$/);
    const sb = await statusMatches(/TimescaleDB: not created/);
    assert.equal(sb.background, 'statusBarItem.warningBackground');
  });

  it('stack.cleanStart { confirm: true } runs the infra’s scripts/clean_start.sh: database only (ONLY_DATABASE=TRUE), pgBackRest set up', async () => {
    assert.ok(existsSync(join(stack.infraDir, 'scripts', 'clean_start.sh')));
    const r = await vscode.commands.executeCommand<{ mode: string; profile: string; services: ServiceResult[] }>(
      'tsdbOps.stack.cleanStart',
      { confirm: true },
    );
    assert.equal(r.mode, 'script');
    assert.equal(r.profile, 'database');
    assert.equal(r.services.find((s) => s.service === 'timescaledb')?.state, 'running');
    assert.equal(r.services.find((s) => s.service === 'ofelia')?.state, 'notCreated');
    await rowMatches('timescaledb', /^running/);
    await statusMatches(/TimescaleDB: (healthy|starting|running)/);
    const info = await stack.exec('timescaledb', ['pgbackrest', '--stanza=db', 'info']);
    assert.match(info.stdout, /stanza: db/);
  });

  it('stack.up { profile: "database" } on a running stack changes nothing and returns the states', async () => {
    const r = await vscode.commands.executeCommand<{ profile: string; services: ServiceResult[] }>('tsdbOps.stack.up', {
      profile: 'database',
    });
    assert.equal(r.profile, 'database');
    assert.deepEqual(
      r.services.map((s) => s.state),
      ['running', 'notCreated'],
    );
  });
});
