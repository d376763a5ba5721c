/** The recovery speed-up around a restore, on this machine's real shell and file system (HostRuntime). */
import { strict as assert } from 'node:assert';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostRuntime } from '../../src/core/runtime';
import {
  parseRecoveryProbe,
  plainRestoreCommand,
  probeRecoveryMachine,
  replayEnd,
  setUpRecoverySpeed,
  spoolCandidates,
  sweepRecoveryLeftovers,
  tearDownRecoverySpeed,
} from '../../src/core/backups/restore/recovery-run';
import { RECOVERY_WRAPPER_SCRIPT } from '../../src/core/backups/restore/recovery-wrapper';
import type { RecoverySpeedInput } from '../../src/core/backups/restore/recovery-speed';

describe('recovery speed around a restore: probe, set up, tear down', () => {
  let dir: string;
  const rt = new HostRuntime();
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsdbops-recovery-run-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const input = (over: Partial<RecoverySpeedInput> = {}): RecoverySpeedInput => ({
    machine: { cores: 2, spoolCandidates: [{ path: dir, freeBytes: 10 * 1024 ** 3 }] },
    stanza: 'db',
    baseArgs: ['--stanza=db'],
    workDir: dir,
    runId: 'r1',
    ...over,
  });

  it('the probe reads the cores and the free space of each writable candidate (real nproc and df)', async () => {
    const m = await probeRecoveryMachine(rt, join(dir, 'data'));
    assert.ok(m.cores >= 1);
    assert.equal(m.spoolCandidates[0]!.path, dir);
    assert.ok((m.spoolCandidates[0]!.freeBytes ?? 0) > 0, 'the temp folder has free space');
    assert.deepEqual(spoolCandidates('/home/postgres/pgdata/data/'), [
      '/home/postgres/pgdata',
      '/var/spool/pgbackrest',
      '/tmp',
    ]);
    const parsed = parseRecoveryProbe(
      ['cores 8', 'free /a /dev/sda1 1000 10 990 2% /', 'free /b -'],
      ['/a', '/b', '/c'],
    );
    assert.deepEqual(parsed, {
      cores: 8,
      spoolCandidates: [
        { path: '/a', freeBytes: 990 * 1024 },
        { path: '/b', freeBytes: undefined },
        { path: '/c', freeBytes: undefined },
      ],
    });
  });

  it('set up writes the wrapper and the spool; tear down reads the log and removes all three', async () => {
    const s = await setUpRecoverySpeed(rt, input());
    assert.equal(s.archiveGet.mode, 'async');
    assert.equal(readFileSync(s.wrapperPath!, 'utf8'), RECOVERY_WRAPPER_SCRIPT);
    assert.equal(statSync(s.wrapperPath!).mode & 0o777, 0o700);
    assert.ok(statSync(s.spoolDir!).isDirectory());
    writeFileSync(
      s.wrapperLogPath!,
      'queue 000000010000000000000041\nasync 000000010000000000000042 45\nplain 000000010000000000000042 ok\n' +
        'queue 000000010000000000000043\n',
    );
    const said = await tearDownRecoverySpeed(rt, s);
    assert.deepEqual(said, [
      'WAL replay: 2 segments taken straight from the async queue (no pgBackRest start for them).',
      'archive-get: the async queue could not give 1 segment (first 000000010000000000000042): fetched the plain way.',
    ]);
    for (const p of [s.wrapperPath!, s.wrapperLogPath!, s.spoolDir!]) assert.ok(!existsSync(p), `${p} removed`);
  });

  it("tear down inside a folder about to go whole (a drill's scratch volume) says the log and leaves the files to it", async () => {
    const s = await setUpRecoverySpeed(rt, input());
    writeFileSync(s.wrapperLogPath!, 'queue 000000010000000000000041\n');
    assert.deepEqual(await tearDownRecoverySpeed(rt, s, { filesGoWith: `${dir}/` }), [
      'WAL replay: 1 segment taken straight from the async queue (no pgBackRest start for it).',
    ]);
    for (const p of [s.wrapperPath!, s.wrapperLogPath!, s.spoolDir!])
      assert.ok(existsSync(p), `${p} left to go with ${dir}`);
    // A file outside that folder: everything is removed as usual.
    await tearDownRecoverySpeed(rt, s, { filesGoWith: join(dir, 'elsewhere') });
    for (const p of [s.wrapperPath!, s.wrapperLogPath!, s.spoolDir!]) assert.ok(!existsSync(p), `${p} removed`);
  });

  it('a spool that cannot be created: plain archive-get, and the reason says which folder and why', async () => {
    const missing = join(dir, 'no-such-folder');
    const s = await setUpRecoverySpeed(
      rt,
      input({ machine: { cores: 2, spoolCandidates: [{ path: missing, freeBytes: 10 * 1024 ** 3 }] } }),
    );
    assert.equal(s.archiveGet.mode, 'plain');
    assert.deepEqual(s.recoveryArgs, []);
    assert.match(
      s.archiveGet.why,
      new RegExp(
        `^archive-get: plain, one segment per call \\(the spool ${missing}/\\.tsdbops-spool-r1 could not be created: .*No such file`,
      ),
    );
    assert.deepEqual(s.restoreArgs, ['--process-max=2']);
  });

  it('a wrapper that cannot be written: the spool removed again, plain archive-get', async () => {
    const s = await setUpRecoverySpeed(rt, input({ workDir: join(dir, 'gone') }));
    assert.equal(s.archiveGet.mode, 'plain');
    assert.match(s.archiveGet.why, /the restore_command .*gone\/\.tsdbops-restore-command-r1\.sh could not be written/);
    assert.ok(!existsSync(join(dir, '.tsdbops-spool-r1')), 'the spool made for it is gone');
  });

  it('tear down of nothing left behind is quiet', async () => {
    const s = await setUpRecoverySpeed(rt, input());
    rmSync(s.spoolDir!, { recursive: true });
    assert.deepEqual(await tearDownRecoverySpeed(rt, s), []);
    assert.ok(!existsSync(s.wrapperPath!));
  });

  it('replay end: the LSN and the timeline recovery came from, or nothing on a server that never recovered', async () => {
    let asked = '';
    const end = await replayEnd(async (sql) => {
      asked = sql;
      return ['0/43000000', '1'];
    });
    assert.deepEqual(end, { lsn: '0/43000000', timeline: 1 });
    assert.match(asked, /pg_last_wal_replay_lsn\(\)/);
    assert.equal(await replayEnd(async () => [null as unknown as string, '1']), undefined);
  });
});

describe('recovery speed: what an interrupted restore left', () => {
  it("the sweep removes only this module's names beside PGDATA, and says which", async () => {
    const base = mkdtempSync(join(tmpdir(), 'tsdbops-sweep-'));
    try {
      const data = join(base, 'data');
      mkdirSync(data);
      mkdirSync(join(base, '.tsdbops-spool-20261206-1'));
      writeFileSync(join(base, '.tsdbops-spool-20261206-1', 'seg'), 'x');
      writeFileSync(join(base, '.tsdbops-restore-command-20261206-1.sh'), RECOVERY_WRAPPER_SCRIPT);
      writeFileSync(join(base, '.tsdbops-restore-command-20261206-1.log'), '');
      writeFileSync(join(base, '.tsdbops-restore-data.json'), '{}');
      writeFileSync(join(base, 'spool-of-the-user'), '');
      const gone = await sweepRecoveryLeftovers(new HostRuntime(), data);
      assert.deepEqual(gone.sort(), [
        join(base, '.tsdbops-restore-command-20261206-1.log'),
        join(base, '.tsdbops-restore-command-20261206-1.sh'),
        join(base, '.tsdbops-spool-20261206-1'),
      ]);
      assert.deepEqual(readdirSync(base).sort(), ['.tsdbops-restore-data.json', 'data', 'spool-of-the-user']);
      assert.deepEqual(await sweepRecoveryLeftovers(new HostRuntime(), data), []);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it("pgBackRest's own restore_command, for postgresql.auto.conf after the wrapper is gone", () => {
    assert.equal(
      plainRestoreCommand(['--config=/etc/pgbackrest/pgbackrest.conf', '--stanza=db']),
      'pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --stanza=db archive-get %f "%p"',
    );
  });
});
