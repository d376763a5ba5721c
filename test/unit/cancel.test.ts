/** One cancellation type: every layer's cancel is a CancelledError, recognised with instanceof, never by name. */
import assert from 'node:assert/strict';
import { CancelledError, isCancelled } from '../../src/core/operations/cancel';
import { toolCancelled } from '../../src/core/errors/process';

describe('cancellation', () => {
  it('a cancelled docker exec, tool run and compose command are each a CancelledError (one factory for all three)', () => {
    for (const e of [
      toolCancelled(['pg_isready'], 'pg_isready'),
      toolCancelled(['pgbackrest', 'backup']),
      toolCancelled(['docker-compose', 'up', '-d']),
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
