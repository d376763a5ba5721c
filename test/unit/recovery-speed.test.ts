/** The options of one restore for a fast recovery: the machine decides, the user's settings win wherever set. */
import { strict as assert } from 'node:assert';
import {
  confSections,
  decideRecoverySpeed,
  parsePgBackRestSize,
  pickQueue,
  userSetting,
  type RecoverySpeedInput,
} from '../../src/core/backups/restore/recovery-speed';
import { RECOVERY_WRAPPER_ASYNC_MARK } from '../../src/core/backups/restore/recovery-wrapper';

const GB = 1024 ** 3;
const MB = 1024 ** 2;

function input(over: Partial<RecoverySpeedInput> = {}): RecoverySpeedInput {
  return {
    machine: { cores: 2, spoolCandidates: [{ path: '/home/postgres/pgdata', freeBytes: 20 * GB }] },
    conf: '[global]\nrepo1-path=/var/lib/pgbackrest\n\n[db]\npg1-path=/home/postgres/pgdata/data\n',
    stanza: 'db',
    baseArgs: ['--config=/etc/pgbackrest/pgbackrest.conf', '--stanza=db'],
    workDir: '/home/postgres/pgdata',
    runId: '20261206-203000',
    ...over,
  };
}

/** The restore_command the decision wrote, split into words. */
function restoreCommand(r: ReturnType<typeof decideRecoverySpeed>): string[] {
  assert.equal(r.recoveryArgs.length, 1, 'one --recovery-option');
  const prefix = '--recovery-option=restore_command=';
  assert.ok(r.recoveryArgs[0]!.startsWith(prefix));
  return r.recoveryArgs[0]!.slice(prefix.length).split(' ');
}

const asyncPart = (words: string[]) => words.slice(words.indexOf(RECOVERY_WRAPPER_ASYNC_MARK) + 1);

describe('recovery speed: the options of one restore', () => {
  it('a 2-core host with room: restore 2 processes, async archive-get with 1 process (the other core replays) and its own spool, said in one line', () => {
    const r = decideRecoverySpeed(input());
    assert.deepEqual(r.restoreArgs, ['--process-max=2']);
    assert.equal(r.archiveGet.mode, 'async');
    assert.equal(r.archiveGet.processes, 1);
    assert.equal(r.spoolDir, '/home/postgres/pgdata/.tsdbops-spool-20261206-203000');
    const words = restoreCommand(r);
    assert.deepEqual(words.slice(0, 6), [
      '/bin/sh',
      '/home/postgres/pgdata/.tsdbops-restore-command-20261206-203000.sh',
      '%f',
      '"%p"',
      '/home/postgres/pgdata/.tsdbops-restore-command-20261206-203000.log',
      // The async worker's queue of this restore's spool: the wrapper moves what it prefetched from there.
      '/home/postgres/pgdata/.tsdbops-spool-20261206-203000/archive/db/in',
    ]);
    assert.ok(words.includes('--stanza=db') && words.includes('--config=/etc/pgbackrest/pgbackrest.conf'));
    assert.deepEqual(asyncPart(words), [
      '--archive-async',
      `--spool-path=${r.spoolDir}`,
      `--archive-get-queue-max=${4096 * MB}`,
      '--process-max=1',
    ]);
    assert.match(r.explanation.join('\n'), /^restore: 2 processes \(the engine host has 2 cores\)$/m);
    assert.ok(
      r.explanation.includes(
        'archive-get: async, 1 process, queue 4 GB (spool /home/postgres/pgdata/.tsdbops-spool-20261206-203000, ' +
          '20 GB free; 2 cores; a segment the queue cannot give is fetched again the plain way)',
      ),
      r.explanation.join('\n'),
    );
  });

  it('many cores: at most 4 processes each; one core: no restore process-max and one archive-get process', () => {
    const big = decideRecoverySpeed(
      input({ machine: { cores: 16, spoolCandidates: [{ path: '/s', freeBytes: GB * 8 }] } }),
    );
    assert.deepEqual(big.restoreArgs, ['--process-max=4']);
    assert.ok(asyncPart(restoreCommand(big)).includes('--process-max=4'));
    const four = decideRecoverySpeed(
      input({ machine: { cores: 4, spoolCandidates: [{ path: '/s', freeBytes: GB * 8 }] } }),
    );
    assert.ok(asyncPart(restoreCommand(four)).includes('--process-max=3'), 'cores - 1: one core stays with the replay');
    const one = decideRecoverySpeed(
      input({ machine: { cores: 1, spoolCandidates: [{ path: '/s', freeBytes: GB * 8 }] } }),
    );
    assert.deepEqual(one.restoreArgs, []);
    assert.match(one.restoreProcesses.why, /1 process \(the engine host has 1 core\)/);
    assert.equal(one.archiveGet.processes, 1);
    assert.match(one.archiveGet.why, /async, 1 process,/);
  });

  it('the queue: a quarter of the free space at most, the smallest size that holds the WAL to replay', () => {
    assert.equal(pickQueue(20 * GB, undefined, 16 * MB), 4096 * MB);
    assert.equal(pickQueue(20 * GB, 1232 * MB, 16 * MB), 2048 * MB, 'a day of WAL held whole: one run of the worker');
    assert.equal(pickQueue(6 * GB, 3 * GB, 16 * MB), 1024 * MB, 'a quarter of the free space at most');
    assert.equal(pickQueue(1.5 * GB, undefined, 16 * MB), 256 * MB);
    assert.equal(pickQueue(20 * GB, 300 * MB, 16 * MB), 512 * MB);
    assert.equal(pickQueue(20 * GB, 10 * MB, 16 * MB), 128 * MB);
    assert.equal(pickQueue(400 * MB, undefined, 16 * MB), undefined);
    assert.equal(pickQueue(undefined, undefined, 16 * MB), undefined);
  });

  it('the spool goes to the first folder with room; none with room → plain archive-get, and it says where it looked', () => {
    const r = decideRecoverySpeed(
      input({
        machine: {
          cores: 2,
          spoolCandidates: [
            { path: '/home/postgres/pgdata', freeBytes: 300 * MB },
            { path: '/var/spool/pgbackrest', freeBytes: 4 * GB },
          ],
        },
      }),
    );
    assert.equal(r.spoolDir, '/var/spool/pgbackrest/.tsdbops-spool-20261206-203000');
    assert.equal(r.archiveGet.queueBytes, 1024 * MB, 'a quarter of its 4 GB free');
    const none = decideRecoverySpeed(
      input({
        machine: {
          cores: 2,
          spoolCandidates: [{ path: '/home/postgres/pgdata', freeBytes: 300 * MB }, { path: '/tmp' }],
        },
      }),
    );
    assert.equal(none.archiveGet.mode, 'plain');
    assert.deepEqual(none.recoveryArgs, []);
    assert.equal(none.spoolDir, undefined);
    assert.equal(
      none.archiveGet.why,
      'archive-get: plain, one segment per call (no room for a spool (/home/postgres/pgdata: 300 MB free, /tmp: not measured))',
    );
    assert.deepEqual(none.restoreArgs, ['--process-max=2'], 'the file copy is still parallel');
  });

  for (const [section, text] of [
    ['[global]', '[global]\narchive-async=y\nspool-path=/var/spool/pgbackrest\n'],
    ['[global:archive-get]', '[global]\nrepo1-path=/r\n[global:archive-get]\narchive-async=y\n'],
    ['[global:restore]', '[global:restore]\narchive-async=y\n'],
    ['[db]', '[db]\npg1-path=/d\narchive-async=y\n'],
    ['[db:archive-get]', '[db:archive-get]\narchive-async=y\n'],
  ] as const) {
    it(`the user's archive-async=y in ${section}: kept as is (no restore_command, no archive-get option passed)`, () => {
      const r = decideRecoverySpeed(input({ conf: text }));
      assert.equal(r.archiveGet.mode, 'user');
      assert.deepEqual(r.recoveryArgs, []);
      assert.equal(r.spoolDir, undefined);
      assert.equal(r.wrapperPath, undefined);
      assert.equal(r.archiveGet.why, `archive-get: as your config sets it (archive-async=y in ${section})`);
    });
  }

  it("the user's archive-async=n: plain archive-get, said with where it was set", () => {
    const r = decideRecoverySpeed(input({ conf: '[global:archive-get]\narchive-async=n\n' }));
    assert.equal(r.archiveGet.mode, 'plain');
    assert.deepEqual(r.recoveryArgs, []);
    assert.match(r.archiveGet.why, /archive-async=n in \[global:archive-get\]/);
  });

  it('the environment counts as the user setting (PGBACKREST_ARCHIVE_ASYNC, PGBACKREST_PROCESS_MAX)', () => {
    const r = decideRecoverySpeed(input({ env: { PGBACKREST_ARCHIVE_ASYNC: 'y', PGBACKREST_PROCESS_MAX: '3' } }));
    assert.equal(r.archiveGet.mode, 'user');
    assert.deepEqual(r.restoreArgs, []);
    assert.match(r.restoreProcesses.why, /process-max=3 as the environment \(PGBACKREST_PROCESS_MAX\) sets it/);
  });

  for (const [section, text, restoreKept, getKept] of [
    ['[global]', '[global]\nprocess-max=1\n', true, true],
    ['[global:restore]', '[global:restore]\nprocess-max=1\n', true, false],
    ['[global:archive-get]', '[global:archive-get]\nprocess-max=1\n', false, true],
    ['[db]', '[db]\nprocess-max=1\n', true, true],
    ['[db:restore]', '[db:restore]\nprocess-max=1\n', true, false],
    ['[db:archive-get]', '[db:archive-get]\nprocess-max=1\n', false, true],
  ] as const) {
    const kept = [restoreKept ? "the restore's" : '', getKept ? "archive-get's" : ''].filter(Boolean).join(' and ');
    it(`the user's process-max in ${section}: ${kept} kept (not passed)`, () => {
      const r = decideRecoverySpeed(input({ conf: text }));
      assert.deepEqual(r.restoreArgs, restoreKept ? [] : ['--process-max=2']);
      if (restoreKept)
        assert.match(r.restoreProcesses.why, new RegExp(`process-max=1 as \\[${section.slice(1, -1)}\\] sets it`));
      const a = asyncPart(restoreCommand(r));
      assert.equal(
        a.some((w) => w.startsWith('--process-max')),
        !getKept,
      );
      if (getKept) assert.match(r.archiveGet.why, /async, process-max=1 as \[/);
    });
  }

  it("the stanza's section wins over [global] (pgBackRest's precedence), another stanza's does not count", () => {
    const s = confSections('[global]\nprocess-max=1\n[db]\nprocess-max=3\n[other]\nprocess-max=8\n');
    assert.deepEqual(userSetting(s, undefined, 'db', ['restore'], 'process-max'), { value: '3', where: '[db]' });
    assert.deepEqual(userSetting(s, undefined, 'x', ['restore'], 'process-max'), { value: '1', where: '[global]' });
    const t = confSections('[global:restore]\nprocess-max=2\n[db]\nprocess-max=5\n[db:restore]\nprocess-max=6\n');
    assert.deepEqual(userSetting(t, undefined, 'db', ['restore'], 'process-max'), {
      value: '6',
      where: '[db:restore]',
    });
    assert.deepEqual(userSetting(t, { PGBACKREST_PROCESS_MAX: '7' }, 'db', ['restore'], 'process-max'), {
      value: '7',
      where: 'the environment (PGBACKREST_PROCESS_MAX)',
    });
  });

  it("the user's spool-path: async there (its free space decides the queue), the folder kept, only its queue emptied after", () => {
    const r = decideRecoverySpeed(
      input({
        conf: '[global]\nspool-path=/data/spool\n',
        machine: {
          cores: 2,
          spoolCandidates: [
            { path: '/data/spool', freeBytes: 2.5 * GB },
            { path: '/x', freeBytes: 99 * GB },
          ],
        },
      }),
    );
    assert.equal(r.archiveGet.mode, 'async');
    assert.equal(r.spoolDir, undefined);
    assert.equal(r.spoolQueueDir, '/data/spool/archive/db/in');
    assert.equal(
      restoreCommand(r)[5],
      '/data/spool/archive/db/in',
      "the wrapper moves queued segments from the user's spool",
    );
    const a = asyncPart(restoreCommand(r));
    assert.ok(!a.some((w) => w.startsWith('--spool-path')), 'the config gives the spool path');
    assert.ok(a.includes(`--archive-get-queue-max=${512 * MB}`));
    assert.match(r.archiveGet.why, /your spool-path \/data\/spool/);
  });

  it("the user's archive-get-queue-max: not passed, and the spool must hold twice that", () => {
    const r = decideRecoverySpeed(
      input({
        conf: '[global:archive-get]\narchive-get-queue-max=2GiB\n',
        machine: {
          cores: 2,
          spoolCandidates: [
            { path: '/small', freeBytes: 3 * GB },
            { path: '/big', freeBytes: 5 * GB },
          ],
        },
      }),
    );
    assert.equal(r.spoolDir, '/big/.tsdbops-spool-20261206-203000');
    assert.ok(!asyncPart(restoreCommand(r)).some((w) => w.startsWith('--archive-get-queue-max')));
    assert.match(r.archiveGet.why, /queue 2GiB as \[global:archive-get\] sets it/);
    const bad = decideRecoverySpeed(input({ conf: '[global]\narchive-get-queue-max=lots\n' }));
    assert.equal(bad.archiveGet.mode, 'plain');
    assert.match(bad.archiveGet.why, /archive-get-queue-max=lots in \[global\] is not a size/);
  });

  it('a path a restore_command cannot carry unquoted → plain archive-get, saying which', () => {
    const r = decideRecoverySpeed(input({ baseArgs: ['--config=/etc/my conf/pgbackrest.conf', '--stanza=db'] }));
    assert.equal(r.archiveGet.mode, 'plain');
    assert.match(r.archiveGet.why, /"--config=\/etc\/my conf\/pgbackrest.conf" cannot be carried safely/);
  });

  it("pgBackRest's size syntax", () => {
    assert.equal(parsePgBackRestSize('134217728'), 134217728);
    assert.equal(parsePgBackRestSize('512MiB'), 512 * MB);
    assert.equal(parsePgBackRestSize('1GB'), GB);
    assert.equal(parsePgBackRestSize('2g'), 2 * GB);
    assert.equal(parsePgBackRestSize('1.5GiB'), 1.5 * GB);
    assert.equal(parsePgBackRestSize('lots'), undefined);
  });

  it('comments and blank lines in the config are ignored; the last value of a key wins', () => {
    const s = confSections('# [global]\n[global]\n# process-max=9\nprocess-max=2\nprocess-max=3\n');
    assert.deepEqual([...s.keys()], ['global']);
    assert.equal(s.get('global')!.get('process-max'), '3');
  });
});
