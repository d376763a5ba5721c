/**
 * In-host suite on the fixture workspace opened UNTRUSTED (the server runs with workspace trust on,
 * a fresh profile trusts nothing): the extension still activates and reads the stack, and every
 * command that executes workspace content or changes the database refuses with the way to trust.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { activate } from '../extension.js';

describe('Restricted mode (untrusted workspace)', function () {
  this.timeout(60_000);

  it('the workspace is untrusted and the extension activates in it, reading the stack', async () => {
    assert.equal(vscode.workspace.isTrusted, false);
    const { api } = await activate();
    await api.ready;
    const stacks = api.stacks();
    assert.equal(stacks.length, 1);
    assert.deepEqual(stacks[0]!.services, ['timescaledb', 'ofelia']);
  });

  // Every command that runs workspace content (compose file, scripts, migrations) or changes data.
  const guarded: Array<[string, Record<string, unknown>]> = [
    ['tsdbOps.migrations.runPending', { confirm: true }],
    ['tsdbOps.migrations.revert', { confirm: true }],
    ['tsdbOps.stack.up', { profile: 'database' }],
    ['tsdbOps.stack.down', { confirm: true }],
    ['tsdbOps.stack.cleanStart', { confirm: true }],
    ['tsdbOps.backup.pgbackrest', { type: 'full' }],
    ['tsdbOps.backup.dump', {}],
    ['tsdbOps.backup.dumpAll', {}],
    ['tsdbOps.backup.baseBackup', {}],
    ['tsdbOps.restore.pgbackrest', { confirm: true }],
    ['tsdbOps.restore.dump', { file: '/var/lib/pgbackrest/manual_backup/x.tar', confirm: true }],
    ['tsdbOps.restore.dumpAll', { file: '/var/lib/pgbackrest/manual_backup/x.sql', confirm: true }],
    ['tsdbOps.restore.baseBackup', { dir: '/var/lib/pgbackrest/manual_backup/pg_basebackup_x', confirm: true }],
  ];
  for (const [id, args] of guarded) {
    it(`${id} refuses, naming workspace trust`, async () => {
      await assert.rejects(Promise.resolve(vscode.commands.executeCommand(id, args)), (e: Error) => {
        assert.match(e.message, /needs a trusted workspace.*Manage Workspace Trust/s);
        return true;
      });
    });
  }
});
