import * as assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describeJournal, type RestoreJournal } from '../../src/core/backups/restore/physical';
import { abandoned } from '../../src/core/backups/restore/logical/half-restored';

const journal: RestoreJournal = {
  version: 1,
  dataDir: '/home/postgres/pgdata/data',
  aside: '/home/postgres/pgdata/data.pre-restore-20261207_030000',
  wasRunning: true,
  leaveRunning: true,
  started: '2026-12-07T03:00:00.000Z',
  source: 'pgBackRest stanza db latest',
  owner: { host: 'box', pid: 4242 },
  pidFile: '/home/postgres/pgdata/.tsdbops-restore-data.pid',
};

describe('Recover Interrupted Restore: what Show says and when Finish applies', () => {
  it('a journal whose restore tool never completed: Show says so and that Finish is not possible', () => {
    const t = describeJournal(journal, '/home/postgres/pgdata/.tsdbops-restore-data.json', false);
    assert.match(t, /restore tool: +did not complete/);
    assert.match(t, /Finish: not possible/);
    assert.ok(t.includes(journal.aside));
    assert.doesNotMatch(t, /STILL RUNNING/);
  });

  it('a journal marked restored: Show gives when, the WAL the proof needs, and what Finish does', () => {
    const t = describeJournal(
      { ...journal, restored: '2026-12-07T03:01:00.000Z', newestWal: '000000010000000000000007' },
      'j.json',
      true,
    );
    assert.match(t, /completed at 2026-12-07T03:01:00.000Z/);
    assert.match(t, /000000010000000000000007/);
    assert.match(t, /Finish: start the restored server/);
    assert.match(t, /STILL RUNNING/);
  });

  it('a journal marked restored on a stack that restores in a one-off container: Show says Finish is not here', () => {
    const t = describeJournal({ ...journal, restored: '2026-12-07T03:01:00.000Z' }, 'j.json', false, false);
    assert.match(t, /Finish: not here \(this stack restores in a one-off container/);
    assert.doesNotMatch(t, /Finish: start the restored server/);
    assert.match(t, /Roll back: end the restore tool/);
  });
});

describe('pg_dump restore into a new database: the half-restored mark', () => {
  it('is abandoned when its process is gone, is this process or another machine; not while another live process runs it', () => {
    assert.equal(abandoned({ started: '', file: 'f', owner: { host: 'elsewhere', pid: process.pid } }), true);
    assert.equal(abandoned({ started: '', file: 'f', owner: { host: hostname(), pid: process.pid } }), true);
    assert.equal(abandoned({ started: '', file: 'f', owner: { host: hostname(), pid: process.ppid } }), false);
    assert.equal(abandoned({ started: '', file: 'f', owner: { host: hostname(), pid: 2 ** 22 + 7 } }), true);
  });
});
