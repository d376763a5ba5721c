import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeFailed, ServiceNotCreatedError, serviceNotRunning } from '../../src/core/errors/docker';
import { cancel, cancelReason, CancelledError, isCancelled, OpsError } from '../../src/core/errors/error';
import { migrateError } from '../../src/core/errors/migrations';
import { toolCancelled } from '../../src/core/errors/process';

describe('the errors module', () => {
  it('a cancel is the reason of the abort, and is recognised as a cancel (not "This operation was aborted")', () => {
    const ac = new AbortController();
    cancel(ac);
    assert.ok(ac.signal.reason instanceof CancelledError);
    assert.equal(ac.signal.reason.message, 'Cancelled.');
    // What code awaiting the signal throws is that reason.
    assert.throws(
      () => ac.signal.throwIfAborted(),
      (e: unknown) => isCancelled(e),
    );
    const bare = new AbortController();
    bare.abort();
    assert.equal(isCancelled(bare.signal.reason), false, 'a bare abort() carries a DOMException');
    assert.ok(isCancelled(cancelReason(bare.signal)), 'cancelReason turns it into a CancelledError');
    assert.ok(isCancelled(toolCancelled(['pg_dump'])));
  });

  it('errors carry a kind, their facts and the action that fixes them', () => {
    const failed = composeFailed(['docker', 'compose', 'up'], 3, ['boom']);
    assert.ok(failed instanceof OpsError);
    assert.equal(failed.kind, 'tool-failed');
    assert.equal(failed.facts.exitCode, 3);
    assert.equal(failed.message, 'docker compose up exited with code 3: boom');
    assert.equal(new ServiceNotCreatedError('p', 'timescaledb').action?.command, 'tsdbOps.stack.up');
    assert.deepEqual(serviceNotRunning('timescaledb', 'exited').action, {
      title: 'Start Container',
      command: 'tsdbOps.container.start',
      args: { service: 'timescaledb' },
    });
    const m = migrateError.execute(2n, new Error('relation "x" does not exist'), { file: 'f.sql', line: 2, column: 5 });
    assert.equal(m.kind, 'migration');
    assert.equal(m.sqlxKind, 'ExecuteMigration');
    assert.deepEqual([m.facts.file, m.facts.line, m.facts.column], ['f.sql', 2, 5]);
  });

  it('every action an error suggests is a command package.json declares', () => {
    const root = join(__dirname, '..', '..');
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const commands = new Set(pkg.contributes.commands.map((c: { command: string }) => c.command));
    const dir = join(root, 'src', 'core', 'errors');
    const named = ['docker.ts', 'process.ts', 'misc.ts', 'migrations.ts', 'error.ts'].flatMap((f) =>
      [...readFileSync(join(dir, f), 'utf8').matchAll(/command: '([\w.]+)'/g)].map((x) => x[1]!),
    );
    assert.ok(named.length > 0);
    assert.deepEqual(
      named.filter((c) => !commands.has(c)),
      [],
    );
  });
});
