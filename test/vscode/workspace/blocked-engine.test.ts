/**
 * In-host suite (issue 28, item 5): the first tree items come from what can be read without the engine.
 * The Docker host is a Unix socket that accepts and never answers (a hung engine, for real: the
 * extension's requests are sent and wait). The Containers view lists the compose file's services
 * ("waiting for Docker at …") and the Migrations view the migration files anyway, also of a migrations folder
 * it had not read before (named while the engine hangs); when the engine's request times out the rows turn
 * into its answer (unreachable), without a reload.
 */
import * as assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as vscode from 'vscode';
import { activate, waitFor } from '../extension.js';

interface Row {
  label: string;
  description?: string;
  contextValue?: string;
}
interface Api {
  containers: { items(): Promise<Row[]>; reachability(): string };
  migrations: { items(): Promise<Row[]> };
}

describe('A hung Docker engine: the trees show the files’ facts first', function () {
  this.timeout(120_000);
  let api: Api;
  let server: Server;
  let dir: string;
  const accepted: Socket[] = [];
  const cfg = () => vscode.workspace.getConfiguration('tsdbOps');

  before(async () => {
    api = (await activate()).api as unknown as Api;
    dir = mkdtempSync(join(tmpdir(), 'tsdbops-hung-'));
    const sock = join(dir, 'docker.sock');
    server = createServer((s) => {
      accepted.push(s); // read, never answer
      s.on('error', () => undefined);
    });
    await new Promise<void>((res) => server.listen(sock, res));
    // The setting's change event points the engine at the socket (no Refresh: it would wait on the engine).
    await cfg().update('docker.host', `unix://${sock}`, vscode.ConfigurationTarget.Global);
  });

  after(async () => {
    for (const s of accepted) s.destroy();
    await new Promise<void>((res) => server?.close(() => res()));
    await cfg().update('docker.host', undefined, vscode.ConfigurationTarget.Global);
    await cfg().update('migrations.path', undefined, vscode.ConfigurationTarget.Global);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('Containers lists the compose services while the engine has not answered; Migrations lists the files', async () => {
    const rows = await waitFor(
      async () => {
        const r = await api.containers.items();
        return r.some((x) => x.label === 'timescaledb' && /^waiting for Docker at unix:\/\//.test(x.description ?? ''))
          ? r
          : undefined;
      },
      30_000,
      'compose rows waiting for Docker',
    );
    assert.ok(accepted.length > 0, 'the extension did connect to the hung socket');
    const ofelia = rows.find((x) => x.label === 'ofelia');
    assert.match(ofelia?.description ?? '', /waiting for Docker at .* · profile full/);
    assert.equal(rows.find((x) => x.label === 'timescaledb')!.contextValue, 'containerPending');
    const migrations = await waitFor(
      async () => {
        const r = await api.migrations.items();
        return r.some((x) => /create sensors/.test(x.label)) ? r : undefined;
      },
      30_000,
      'migration files listed',
    );
    assert.ok(migrations.some((x) => /daily rollup/.test(x.label)));
  });

  it('a migrations folder opened while the engine hangs: the Migrations tree lists its files (versions and names)', async () => {
    // A folder the extension has not read before: the fixture's migrations and one more, named by the setting.
    const folder = join(dir, 'migrations');
    const fixture = resolve(vscode.workspace.workspaceFolders![0]!.uri.fsPath, 'database', 'migrations');
    cpSync(fixture, folder, { recursive: true, dereference: true }); // the fixture's folder is a link: copy the files
    writeFileSync(join(folder, '20240201000000_hung_engine_check.sql'), 'SELECT 1;\n');
    await cfg().update('migrations.path', folder, vscode.ConfigurationTarget.Global);
    const rows = await waitFor(
      async () => {
        const r = await api.migrations.items();
        return r.some((x) => x.label === '20240201000000 hung engine check') ? r : undefined;
      },
      30_000,
      'the new folder’s migration files listed',
    );
    for (const label of [
      '20240101000000 create sensors',
      '20240103000000 add sensor kind',
      '20240105000000 daily rollup',
    ])
      assert.ok(
        rows.some((x) => x.label === label),
        `${label} in ${rows.map((x) => x.label).join(', ')}`,
      );
    // The engine was asked and has still answered nothing (the socket reads and never writes).
    assert.ok(accepted.length > 0, 'the extension did connect to the hung socket');
    assert.notEqual(api.containers.reachability(), 'reachable');
  });

  it('the engine’s answer (a request timeout here: it never answers) replaces the compose rows without a reload', async () => {
    await waitFor(
      async () => {
        const r = await api.containers.items();
        return api.containers.reachability() === 'unreachable' && !r.some((x) => x.contextValue === 'containerPending')
          ? r
          : undefined;
      },
      60_000,
      'compose rows replaced by the engine’s answer (unreachable)',
    );
  });
});
