/**
 * The journal's source line (shown by a second window's refusal, Show what happened, the Backups view's problem row)
 * names a point-in-time or xid target once: “… time 2026-12-07 07:06:17.272+00”, not “… time time …”.
 */
import * as assert from 'node:assert/strict';
import { describeSource } from '../../src/core/backups/restore/physical/journal';

describe('restore journal: the source line', () => {
  it('names the target kind once, then its value, then the set', () => {
    const base = { kind: 'pgbackrest', stanza: 'db' } as const;
    assert.equal(
      describeSource({ ...base, time: new Date('2026-12-07T07:06:17.272Z') }),
      'pgBackRest stanza db time 2026-12-07 07:06:17.272+00',
    );
    assert.equal(describeSource({ ...base, xid: '1234' }), 'pgBackRest stanza db xid 1234');
    assert.equal(
      describeSource({ ...base, xid: '1234', set: '20261207-070000F' }),
      'pgBackRest stanza db xid 1234 set 20261207-070000F',
    );
    assert.equal(describeSource(base), 'pgBackRest stanza db latest');
    assert.equal(describeSource({ kind: 'baseBackup', dir: '/b' }), 'pg_basebackup /b');
  });
});
