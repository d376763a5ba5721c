/**
 * A restore journal names the process running its restore: a second window (another process on this machine,
 * or another context in this process) must not take it for an interrupted restore and roll it back while the
 * restore runs. Real processes: a live `sleep` stands for the other window's extension host, an ended one for
 * a window that is gone.
 */
import * as assert from 'node:assert/strict';
import { isKind } from '../../src/core/errors/error';
import { spawn, spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import {
  holdJournal,
  inProgressElsewhere,
  journalOwner,
  ownerGone,
  refuseIfRunningElsewhere,
} from '../../src/core/backups/restore/physical/journal';
import type { PhysicalTarget, RestoreJournal } from '../../src/core/backups/restore/physical/types';

const journal = (owner?: RestoreJournal['owner']): RestoreJournal => ({
  version: 1,
  dataDir: '/home/postgres/pgdata/data',
  aside: '/home/postgres/pgdata/data.pre-restore-x',
  wasRunning: true,
  leaveRunning: true,
  started: '2026-12-07T01:00:00.000Z',
  source: 'pgbackrest latest',
  pidFile: '/home/postgres/pgdata/.tsdbops-restore.pid',
  ...(owner ? { owner } : {}),
});
const target = { rt: { description: 'container db-1' }, dataDir: '/home/postgres/pgdata/data' } as PhysicalTarget;

describe('restore journal owner: a restore in progress is never recovered by a second window', () => {
  it('another live process of this machine: in progress, refused naming it; nothing to refuse once it is gone', async () => {
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const j = journal({ host: hostname(), pid: other.pid! });
      assert.equal(inProgressElsewhere(j), true);
      assert.equal(ownerGone(j), false);
      assert.throws(
        () => refuseIfRunningElsewhere(target, j),
        (e: unknown) =>
          isKind(e, 'busy') &&
          new RegExp(`in progress in another window \\(in process ${other.pid} on this machine`).test(e.message) &&
          /nothing was changed/.test(e.message),
      );
    } finally {
      other.kill('SIGKILL');
    }
    const ended = spawnSync('true');
    const gone = journal({ host: hostname(), pid: ended.pid });
    assert.equal(inProgressElsewhere(gone), false);
    assert.equal(ownerGone(gone), true, 'a process of this machine that ended is gone');
    assert.doesNotThrow(() => refuseIfRunningElsewhere(target, gone));
  });

  it('this process, another machine or an older journal without owner: interrupted (recoverable)', () => {
    assert.equal(inProgressElsewhere(journal(journalOwner())), false);
    assert.equal(inProgressElsewhere(journal({ host: `${hostname()}-elsewhere`, pid: 1 })), false);
    assert.equal(inProgressElsewhere(journal()), false);
    // Gone is only said of another process of this machine: this one is not gone, another machine's cannot be asked.
    assert.equal(ownerGone(journal(journalOwner())), false);
    assert.equal(ownerGone(journal({ host: `${hostname()}-elsewhere`, pid: 1 })), false);
    assert.equal(ownerGone(journal()), false);
  });

  it('a restore of this process holds its journal: a second context here is refused until it ends', () => {
    const release = holdJournal(target);
    try {
      assert.throws(() => refuseIfRunningElsewhere(target, journal(journalOwner())), /\(in this process, started/);
      // Another data folder or another container is not held.
      assert.doesNotThrow(() => refuseIfRunningElsewhere({ ...target, dataDir: '/other' }, journal(journalOwner())));
    } finally {
      release();
    }
    assert.doesNotThrow(() => refuseIfRunningElsewhere(target, journal(journalOwner())));
  });
});
