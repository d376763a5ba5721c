/** The one args schema of tsdbOps.restore.pgbackrest, the pgBackRest options each target maps to, pg_stat_archiver rows. */
import assert from 'node:assert/strict';
import { isKind } from '../../src/core/errors/error';
import {
  describeRestoreTarget,
  parseRestoreTarget,
  restoreTypeOptions,
  targetOfSource,
} from '../../src/core/backups/restore/target';
import { describeArchiver, parseArchiverRow } from '../../src/core/backups/archiver';

const SET = '20261124-000001F';
const DIFF = '20261124-000001F_20261124-201500D';

describe('restore target: the args schema of tsdbOps.restore.pgbackrest', () => {
  it('without target: time → time, set → exactly that set, neither → latest (newest set + every archived WAL)', () => {
    assert.deepEqual(parseRestoreTarget({ confirm: true }), { target: 'latest' });
    assert.deepEqual(parseRestoreTarget({ set: DIFF, confirm: true }), { target: 'set', set: DIFF });
    const t = parseRestoreTarget({ time: '2026-11-24T19:54:50Z' });
    assert.equal(t.target, 'time');
    assert.equal(t.time?.toISOString(), '2026-11-24T19:54:50.000Z');
    assert.equal(parseRestoreTarget({ time: Date.UTC(2026, 0, 1) }).target, 'time');
    assert.deepEqual(parseRestoreTarget({ xid: 1234 }), { target: 'xid', xid: '1234' });
  });

  it('replayWal: true is an alias for "this set plus every archived WAL"', () => {
    assert.deepEqual(parseRestoreTarget({ set: SET, replayWal: true }), { target: 'latest', set: SET });
    assert.deepEqual(parseRestoreTarget({ set: SET, replayWal: false }), { target: 'set', set: SET });
    assert.deepEqual(targetOfSource({ set: SET, replayWal: true }), {
      target: 'latest',
      set: SET,
      time: undefined,
      xid: undefined,
      exclusive: undefined,
    });
    assert.equal(targetOfSource({}).target, 'latest');
    assert.equal(targetOfSource({ set: SET }).target, 'set');
  });

  it('maps each target to pgBackRest restore options (exclusive → --target-exclusive)', () => {
    assert.deepEqual(restoreTypeOptions({ target: 'latest' }), []);
    assert.deepEqual(restoreTypeOptions({ target: 'set', set: SET }), ['--type=immediate', '--target-action=promote']);
    assert.deepEqual(
      restoreTypeOptions({ target: 'time', time: new Date(), exclusive: true }, '2026-11-24 19:54:50+00'),
      ['--type=time', '--target=2026-11-24 19:54:50+00', '--target-exclusive', '--target-action=promote'],
    );
    assert.deepEqual(restoreTypeOptions({ target: 'xid', xid: '77' }), [
      '--type=xid',
      '--target=77',
      '--target-action=promote',
    ]);
    assert.match(describeRestoreTarget({ target: 'latest' }), /newest backup set plus every archived WAL/);
    assert.match(describeRestoreTarget({ target: 'set', set: SET }), /exactly backup set 20261124-000001F/);
  });

  it('refuses bad input naming the field, the value and the fix', () => {
    assert.throws(
      () => parseRestoreTarget({ target: 'newest' }),
      /target must be one of 'latest', 'set', 'time', 'xid', not "newest"/,
    );
    assert.throws(() => parseRestoreTarget({ target: 'time' }), /target 'time' needs time/);
    assert.deepEqual(parseRestoreTarget({ target: 'set' }), { target: 'set' }, 'exactly the newest set');
    assert.throws(() => parseRestoreTarget({ target: 'xid' }), /target 'xid' needs xid/);
    assert.throws(() => parseRestoreTarget({ set: 'latest' }), /set "latest" is not a pgBackRest backup label/);
    assert.throws(() => parseRestoreTarget({ set: 42 }), /set must be a string, not 42/);
    assert.throws(() => parseRestoreTarget({ time: '2026-11-24 19:54:50' }), /has no time zone/);
    assert.throws(() => parseRestoreTarget({ time: '2026-11-24T19:54:50Z', xid: '5' }), /either time or xid/);
    assert.throws(() => parseRestoreTarget({ exclusive: true }), /exclusive applies to target 'time' or 'xid'/);
    assert.throws(() => parseRestoreTarget({ exclusive: 'yes', time: 1 }), /exclusive must be true or false/);
    assert.throws(() => parseRestoreTarget({ xid: 'abc' }), /xid must be a transaction id/);
    assert.throws(() => parseRestoreTarget({ target: 'latest', time: 1 }), /target 'latest' takes no time/);
    assert.throws(
      () => parseRestoreTarget({ target: 'set', set: SET, replayWal: true }),
      (e: unknown) => isKind(e, 'config'),
    );
  });
});

describe('pg_stat_archiver: the live recovery point', () => {
  it('reads the newest archived WAL and sees archiving failing when the last failure is newer', () => {
    const ok = parseArchiverRow('on|12|000000010000000000000031|2026-11-24T21:07:00.000Z|0|||2026-11-24T21:08:00.000Z');
    assert.equal(ok.lastArchivedWal, '000000010000000000000031');
    assert.equal(ok.lastArchivedTime?.toISOString(), '2026-11-24T21:07:00.000Z');
    assert.equal(ok.failing, false);
    assert.match(describeArchiver(ok), /newest archived WAL 000000010000000000000031 at 2026-11-24T21:07:00.000Z/);
    const bad = parseArchiverRow(
      'on|12|000000010000000000000031|2026-11-24T21:07:00.000Z|3|000000010000000000000032|2026-11-24T21:09:00.000Z|2026-11-24T21:10:00.000Z',
    );
    assert.equal(bad.failing, true);
    assert.match(describeArchiver(bad), /FAILING: 3 failures, last 000000010000000000000032/);
    const recovered = parseArchiverRow(
      'on|13|000000010000000000000033|2026-11-24T21:11:00.000Z|3|000000010000000000000032|2026-11-24T21:09:00.000Z|2026-11-24T21:12:00.000Z',
    );
    assert.equal(recovered.failing, false, 'a success after the failure');
    assert.match(describeArchiver(parseArchiverRow('off|0||||||2026-11-24T21:12:00.000Z')), /archive_mode=off/);
    assert.throws(() => parseArchiverRow('on|1'), /unexpected row/);
  });
});
