/**
 * Recovery proven to reach the end of the archive, and the restore_command wrapper that never turns a read
 * error into "no such segment".
 *
 * The wrapper runs here under the real /bin/sh with a STAND-IN `pgbackrest` first on PATH (a script that exits
 * with the code a plan file gives for each call): these tests check the wrapper's protocol with PostgreSQL
 * (which exit code ends recovery, which stops it) for faults that a unit test cannot make a real repository
 * produce on cue (the async queue failing one segment, a read failing once then working).
 */
import { strict as assert } from 'node:assert';
import { SCRIPT_PRELUDE, WAIT_READY } from '../../src/core/backups/restore/physical/server';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkRecoveryEnd,
  formatLsn,
  newestArchivedSegment,
  parseLsn,
  parseRecoveryLog,
  replayProgressLine,
  parseWalSegment,
  walSegmentName,
} from '../../src/core/backups/restore/recovery-proof';
import {
  RECOVERY_WRAPPER_ASYNC_MARK,
  RECOVERY_WRAPPER_SCRIPT,
  describeWrapperLog,
  parseWrapperLog,
} from '../../src/core/backups/restore/recovery-wrapper';
import { parsePgBackRestInfo } from '../../src/core/backups/pgbackrest';

describe('recovery proof: the newest archived segment, and where replay stopped', () => {
  it('segment names and positions round-trip (16 MB and 64 MB segments)', () => {
    const s = parseWalSegment('000000010000000A00000042')!;
    assert.equal(s.timeline, 1);
    assert.equal(s.number, 0xan * 256n + 0x42n);
    assert.equal(walSegmentName(s), '000000010000000A00000042');
    assert.equal(
      walSegmentName(parseWalSegment('00000002000000010000003F', 64 * 1024 * 1024)!, 64 * 1024 * 1024),
      '00000002000000010000003F',
    );
    assert.equal(parseWalSegment('00000001000000000000004'), undefined);
    assert.equal(parseWalSegment('00000002.history'), undefined);
    assert.equal(parseLsn('A/42000028'), (0xan << 32n) + 0x42000028n);
    assert.equal(formatLsn(parseLsn('A/42000028')!), 'A/42000028');
    assert.equal(parseLsn('nonsense'), undefined);
  });

  it("the newest segment is the archive's max of the current database, over every repository", () => {
    const info = parsePgBackRestInfo(
      JSON.stringify([
        {
          name: 'db',
          status: { code: 0, message: 'ok' },
          archive: [
            {
              database: { id: 1, 'repo-key': 1 },
              id: '15-1',
              min: '000000010000000000000001',
              max: '000000010000000000000009',
            },
            {
              database: { id: 2, 'repo-key': 1 },
              id: '15-2',
              min: '000000010000000000000003',
              max: '000000010000000000000031',
            },
            {
              database: { id: 2, 'repo-key': 2 },
              id: '15-2',
              min: '000000010000000000000003',
              max: '000000010000000000000040',
            },
          ],
          backup: [],
          db: [],
        },
      ]),
    )[0]!;
    assert.equal(newestArchivedSegment(info), '000000010000000000000040');
    assert.equal(newestArchivedSegment({ archives: [], walMax: undefined }), undefined);
  });

  it('replay into the newest segment or past it is complete; the message names both segments', () => {
    const a = checkRecoveryEnd({ newest: '000000010000000000000042', replayLsn: '0/42000100' });
    assert.equal(a.complete, true);
    assert.equal(a.stoppedAt, '000000010000000000000042');
    assert.match(
      a.message,
      /reached the end of the archive: replayed to 0\/42000100 \(segment 000000010000000000000042/,
    );
    // A switch record at the very end moves the replay position to the next segment's start.
    assert.equal(checkRecoveryEnd({ newest: '000000010000000000000042', replayLsn: '0/43000000' }).complete, true);
  });

  it('replay that stopped earlier is incomplete, naming the segment it stopped at and the newest', () => {
    const r = checkRecoveryEnd({ newest: '000000010000000100000002', replayLsn: '0/FF123456' });
    assert.equal(r.complete, false);
    assert.equal(r.stoppedAt, '0000000100000000000000FF');
    assert.equal(
      r.message,
      'The restore is incomplete: recovery stopped at WAL segment 0000000100000000000000FF (replayed to 0/FF123456), ' +
        'but the archive holds WAL up to 000000010000000100000002: the changes after 0000000100000000000000FF are missing. ' +
        "A segment could not be read from the repository (see the server log and pgBackRest's archive-get log).",
    );
    assert.throws(() => checkRecoveryEnd({ newest: 'x', replayLsn: '0/1' }), /"x" is not a WAL segment name/);
    assert.throws(
      () => checkRecoveryEnd({ newest: '000000010000000000000042', replayLsn: '' }),
      /is not a WAL position/,
    );
  });

  it("the server log: the segments restored from the archive, redo's end, and a fatal restore_command", () => {
    const log = parseRecoveryLog([
      '2026-12-06 20:31:00.1 UTC [77] LOG:  starting archive recovery',
      '2026-12-06 20:31:00.2 UTC [77] LOG:  restored log file "000000010000000000000041" from archive',
      '2026-12-06 20:31:00.9 UTC [77] LOG:  restored log file "000000010000000000000042" from archive',
      '2026-12-06 20:31:01.0 UTC [77] LOG:  redo done at 0/42000100 system usage: CPU: user: 0.01 s',
    ]);
    assert.deepEqual(log.restored, ['000000010000000000000041', '000000010000000000000042']);
    assert.equal(log.redoDoneAt, '0/42000100');
    assert.equal(log.fatal, undefined);
    const bad = parseRecoveryLog([
      'LOG:  restored log file "000000010000000000000041" from archive',
      'FATAL:  could not restore file "000000010000000000000042" from archive: child process exited with exit code 255',
    ]);
    assert.match(bad.fatal!, /^FATAL: {2}could not restore file "000000010000000000000042"/);
  });
});

describe('recovery wrapper: async first, then the plain way; only "not in the archive" ends recovery', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsdbops-wrapper-'));
    writeFileSync(join(dir, 'w.sh'), RECOVERY_WRAPPER_SCRIPT);
    // The stand-in pgbackrest: logs its argv, exits with the next code of the plan (the last one repeats).
    writeFileSync(
      join(dir, 'pgbackrest'),
      '#!/bin/sh\necho "$*" >> "$CALLS"\nn=$(wc -l < "$CALLS")\ncode=$(sed -n "${n}p" "$PLAN")\n' +
        '[ -z "$code" ] && code=$(tail -n 1 "$PLAN")\nexit $code\n',
    );
    chmodSync(join(dir, 'pgbackrest'), 0o755);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function run(file: string, plan: number[], asyncArgs = ['--archive-async', '--process-max=2'], queue = '-') {
    writeFileSync(join(dir, 'plan'), plan.join('\n') + '\n');
    writeFileSync(join(dir, 'calls'), '');
    const r = spawnSync(
      '/bin/sh',
      [
        join(dir, 'w.sh'),
        file,
        join(dir, 'out'),
        join(dir, 'log'),
        queue,
        '--stanza=db',
        RECOVERY_WRAPPER_ASYNC_MARK,
        ...asyncArgs,
      ],
      {
        encoding: 'utf8',
        env: { PATH: `${dir}:/usr/bin:/bin`, CALLS: join(dir, 'calls'), PLAN: join(dir, 'plan') },
      },
    );
    const calls = readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n').filter(Boolean);
    let log = '';
    try {
      log = readFileSync(join(dir, 'log'), 'utf8');
    } catch {
      /* no log: the async call gave the segment */
    }
    return { code: r.status, calls, log, stderr: r.stderr };
  }

  const SEG = '000000010000000000000042';

  it('the async call gives the segment: one call, exit 0, nothing logged', () => {
    const r = run(SEG, [0]);
    assert.equal(r.code, 0);
    assert.deepEqual(r.calls, [`--stanza=db --archive-async --process-max=2 archive-get ${SEG} ${join(dir, 'out')}`]);
    assert.equal(r.log, '');
  });

  it('the async queue could not give it (exit 1 or an error): fetched the plain way, exit 0, logged', () => {
    for (const first of [1, 45]) {
      const r = run(SEG, [first, 0]);
      assert.equal(r.code, 0);
      assert.equal(r.calls[1], `--stanza=db --no-archive-async archive-get ${SEG} ${join(dir, 'out')}`);
      const log = parseWrapperLog(r.log);
      assert.deepEqual(log.asyncMissed, [SEG]);
      assert.deepEqual(log.fetchedPlain, [SEG]);
      assert.match(
        describeWrapperLog(log)!,
        /^archive-get: the async queue could not give 1 segment \(first 0+10+42\): fetched the plain way\.$/,
      );
    }
  });

  it('a plain read that fails once is retried; then found: exit 0', () => {
    const r = run(SEG, [45, 45, 0]);
    assert.equal(r.code, 0);
    assert.equal(r.calls.length, 3);
    assert.equal(parseWrapperLog(r.log).retries, 1);
  });

  it('only a plain "not in the archive" (exit 1) ends recovery with exit 1', () => {
    const r = run(SEG, [1, 1]);
    assert.equal(r.code, 1);
    assert.equal(r.calls.length, 2);
    assert.equal(describeWrapperLog(parseWrapperLog(r.log)), undefined, "the archive's end is no miss of the queue");
  });

  it('a segment that cannot be read at all: exit 255 after 3 plain tries (PostgreSQL stops, it does not promote)', () => {
    const r = run(SEG, [45]);
    assert.equal(r.code, 255, 'above 125: fatal for PostgreSQL');
    assert.equal(r.calls.length, 4);
    assert.match(r.stderr, /WAL segment 0+10+42 could not be read from the archive \(pgBackRest exit 45, 3 tries\)/);
    const log = parseWrapperLog(r.log);
    assert.deepEqual(log.failed, [{ file: SEG, code: 45 }]);
    assert.match(describeWrapperLog(log)!, /0+10+42 \(exit 45\) could not be read: recovery stopped there/);
  });

  it('history files skip the async call (pgBackRest queues segments only)', () => {
    const r = run('00000002.history', [1]);
    assert.equal(r.code, 1);
    assert.deepEqual(r.calls, [`--stanza=db --no-archive-async archive-get 00000002.history ${join(dir, 'out')}`]);
  });

  it('a segment the async worker already queued is linked into place: no pgBackRest call, logged as from the queue', () => {
    const q = join(dir, 'queue');
    mkdirSync(q);
    writeFileSync(join(q, SEG), 'wal bytes');
    writeFileSync(join(q, `${SEG}.pgbackrest.tmp`), 'half');
    const r = run(SEG, [0], undefined, q);
    assert.equal(r.code, 0);
    assert.deepEqual(r.calls, [], 'no pgBackRest process for a queued segment');
    assert.equal(readFileSync(join(dir, 'out'), 'utf8'), 'wal bytes');
    // A hard link, not a copy: the queue keeps the name (PostgreSQL asks again for the last segment at the end).
    assert.equal(statSync(join(q, SEG)).ino, statSync(join(dir, 'out')).ino, 'linked, not copied');
    assert.equal(parseWrapperLog(r.log).fromQueue, 1);
    // Asked again (the end of the archive): answered from the queue again, counted once.
    const again = run(SEG, [0], undefined, q);
    assert.deepEqual(again.calls, [], 'no pgBackRest process for a segment asked again');
    assert.equal(readFileSync(join(dir, 'out'), 'utf8'), 'wal bytes');
    assert.equal(parseWrapperLog(again.log).fromQueue, 1, 'the same segment counts once');
    assert.equal(describeWrapperLog(parseWrapperLog(r.log)), undefined, 'a queued segment is no miss');
    // The next one is only half written (pgBackRest's temporary name): not taken, pgBackRest's async call is.
    const next = '000000010000000000000043';
    const r2 = run(next, [0], undefined, q);
    assert.deepEqual(r2.calls, [`--stanza=db --archive-async --process-max=2 archive-get ${next} ${join(dir, 'out')}`]);
    assert.equal(parseWrapperLog(r2.log).fromQueue, 1, 'still the one line of the first call');
  });

  // A STAND-IN `ln` that fails, as a link across filesystems does (a spool not on PGDATA's volume).
  it('where no link can be made the queued segment is moved into place, still no pgBackRest call', () => {
    const q = join(dir, 'queue');
    mkdirSync(q);
    writeFileSync(join(q, SEG), 'wal bytes');
    writeFileSync(join(dir, 'ln'), '#!/bin/sh\necho "ln: Invalid cross-device link" >&2\nexit 1\n');
    chmodSync(join(dir, 'ln'), 0o755);
    const r = run(SEG, [0], undefined, q);
    assert.equal(r.code, 0);
    assert.deepEqual(r.calls, []);
    assert.equal(readFileSync(join(dir, 'out'), 'utf8'), 'wal bytes');
    assert.ok(!existsSync(join(q, SEG)), 'moved');
    assert.equal(parseWrapperLog(r.log).fromQueue, 1);
  });

  it('a queued segment is not taken without async options, nor for a history file', () => {
    const q = join(dir, 'queue');
    mkdirSync(q);
    writeFileSync(join(q, SEG), 'wal bytes');
    writeFileSync(join(q, '00000002.history'), 'history');
    assert.deepEqual(run(SEG, [0], [], q).calls, [
      `--stanza=db --no-archive-async archive-get ${SEG} ${join(dir, 'out')}`,
    ]);
    assert.equal(run('00000002.history', [0], undefined, q).calls.length, 1);
    assert.ok(existsSync(join(q, SEG)) && existsSync(join(q, '00000002.history')));
  });

  it('without async options the wrapper is the plain archive-get with the retry', () => {
    const r = run(SEG, [0], []);
    assert.equal(r.code, 0);
    assert.deepEqual(r.calls, [`--stanza=db --no-archive-async archive-get ${SEG} ${join(dir, 'out')}`]);
  });
});

describe('replay progress while the server recovers', () => {
  it('names the replayed position, its segment and how many segments are left to the newest', () => {
    assert.equal(
      replayProgressLine('1/A2000028', '0000000100000001000000F0'),
      "Recovery: WAL replayed up to 1/A2000028 (segment …00000001000000A2); 78 segments to the archive's newest, 0000000100000001000000F0.",
    );
  });
  it('says when replay reached the newest segment, and needs no newest to say where it is', () => {
    assert.match(replayProgressLine('1/F0000100', '0000000100000001000000F0')!, /at the archive's newest/);
    assert.equal(
      replayProgressLine('0/3000060'),
      'Recovery: WAL replayed up to 0/3000060 (segment …0000000000000003).',
    );
    assert.equal(replayProgressLine('not an lsn', '0000000100000001000000F0'), undefined);
  });
});

describe('waiting for a restored server: the wait loop in the runtime', () => {
  // A STAND-IN `psql` first on PATH answers from a list, one line per call (the real server's answers while it
  // replays: refused, in recovery at two positions, then out of recovery): the loop's protocol, not PostgreSQL.
  it('reports replay progress while the server is in recovery and ends with the databases once it left it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsdbops-wait-'));
    try {
      writeFileSync(
        join(dir, 'answers'),
        ['!could not connect', 't|app,postgres|0/3000060', 't|app,postgres|0/5000000', 'f|app,postgres'].join('\n'),
      );
      writeFileSync(
        join(dir, 'psql'),
        `#!/bin/sh\nn=$(cat "${dir}/n" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "${dir}/n"\n` +
          `a=$(sed -n "\${n}p" "${dir}/answers"); case $a in '!'*) echo "\${a#!}" >&2; exit 2 ;; esac; echo "$a"\n`,
      );
      chmodSync(join(dir, 'psql'), 0o755);
      const r = spawnSync('sh', ['-c', `${SCRIPT_PRELUDE}timeout=60\n${WAIT_READY}`, 'wait', 'psql'], {
        env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.deepEqual(lines, ['tsdbops:replayed 0/3000060', 'tsdbops:ready f|app,postgres']);
      assert.equal(readFileSync(join(dir, 'n'), 'utf8').trim(), '4');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  // The same stand-in psql (and a pg_ctl that says "running"): the loop's protocol around recovery.signal.
  it('while recovery.signal is there it asks the server about once a second, and at once when the file goes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsdbops-wait-'));
    try {
      const data = join(dir, 'data');
      mkdirSync(data);
      writeFileSync(join(data, 'recovery.signal'), '');
      writeFileSync(
        join(dir, 'psql'),
        `#!/bin/sh\nif [ -e "${data}/recovery.signal" ]; then echo x >> "${dir}/during"; echo 't|app|0/3000060'; ` +
          `else echo x >> "${dir}/after"; echo 'f|app'; fi\n`,
      );
      writeFileSync(join(dir, 'pg_ctl'), '#!/bin/sh\nexit 0\n');
      chmodSync(join(dir, 'psql'), 0o755);
      chmodSync(join(dir, 'pg_ctl'), 0o755);
      const child = spawn(
        'sh',
        ['-c', `${SCRIPT_PRELUDE}d=$1 timeout=60; shift\n${WAIT_READY}`, 'wait', data, 'psql'],
        {
          env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
        },
      );
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      const exited = new Promise<number | null>((res) => child.on('exit', res));
      // Redo runs for 3 s, then PostgreSQL removes the file (the end of archive recovery).
      await new Promise((r) => setTimeout(r, 3000));
      rmSync(join(data, 'recovery.signal'));
      assert.equal(await exited, 0);
      const count = (f: string) =>
        existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8').split('\n').length - 1 : 0;
      // Without the file watch it asked every 100 ms: some 25 times in those 3 s.
      assert.ok(count('during') >= 1 && count('during') <= 5, `psql during redo: ${count('during')} times`);
      assert.equal(count('after'), 1, 'one question once the file went: the server is out of recovery');
      assert.match(out, /tsdbops:ready f\|app\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
