/** One cancellation type: every layer's cancel is a CancelledError, recognised with instanceof, never by name. */
import assert from 'node:assert/strict';
import { CancelledError, isCancelled } from '../../src/core/operations/cancel';
import { ExecCancelledError } from '../../src/core/docker/exec';
import { ToolCancelledError } from '../../src/core/runtime';
import { ComposeCancelledError } from '../../src/core/docker/compose-cli';

describe('cancellation', () => {
  it('a cancelled docker exec, tool run and compose command are each a CancelledError', () => {
    for (const e of [
      new ExecCancelledError(['pg_isready']),
      new ToolCancelledError(['pgbackrest', 'backup']),
      new ComposeCancelledError(['docker-compose', 'up', '-d']),
    ]) {
      assert.ok(e instanceof CancelledError, e.name);
      assert.ok(isCancelled(e), e.name);
      assert.match(e.message, /^Cancelled: /);
    }
  });

  it('a failure is not a cancel, even when its name says so', () => {
    const e = new Error('Cancelled: pg_isready');
    e.name = 'CancelledError';
    assert.equal(isCancelled(e), false);
    assert.equal(isCancelled(undefined), false);
  });
});
