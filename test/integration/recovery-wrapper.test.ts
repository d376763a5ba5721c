/**
 * The restore_command wrapper (recovery-wrapper.ts) against a real pgBackRest repository: a throwaway PostgreSQL
 * 15 cluster on this machine archives a few WAL segments, then the wrapper the recovery-speed decision writes
 * is run as PostgreSQL runs it (as the postgres OS user, `/bin/sh <wrapper> <segment> <path> <log> <queue>
 * <options…>`), with asynchronous archive-get and a spool.
 *
 * Proven: a segment in the archive is fetched through the async queue (exit 0, the file written); a segment
 * past the archive's end is a true "not in the archive" (exit 1, so recovery may end there); a segment made
 * unreadable (permissions) is never reported as missing: after the async call and 3 plain tries the wrapper
 * exits 255 (PostgreSQL stops instead of promoting); a segment unreadable for one try is fetched on the next; a
 * segment the async worker fetched ahead is moved from its queue by the wrapper itself, the archived bytes.
 */
import { strict as assert } from 'node:assert';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import {
  startCluster,
  postgresAvailable,
  postgresInstallHint,
  pgbackrestAvailable,
  pgbackrestInstallHint,
  type Cluster,
} from '../support/cluster';
import { requirePart } from '../support/requirements';
import { asPostgres, sleep } from '../support/proc';
import { decideRecoverySpeed, userSpoolPath } from '../../src/core/backups/restore/recovery-speed';
import { probeRecoveryMachine } from '../../src/core/backups/restore/recovery-run';
import { HostRuntime } from '../../src/core/runtime';
import { RECOVERY_WRAPPER_SCRIPT, parseWrapperLog } from '../../src/core/backups/restore/recovery-wrapper';

describe('recovery wrapper against a real pgBackRest repository (host cluster)', function () {
  this.timeout(300_000);
  let c: Cluster;
  let work: string;
  let segments: string[];
  let archiveDir: string;

  before(async function () {
    requirePart(this, postgresAvailable(), 'PostgreSQL 15', postgresInstallHint);
    requirePart(this, pgbackrestAvailable(), 'pgBackRest', pgbackrestInstallHint);
    c = await startCluster({ stanza: true });
    await c.psql('CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g');
    for (let i = 0; i < 3; i++) {
      await c.psql(`INSERT INTO t SELECT g FROM generate_series(1, 1000) g`);
      await c.psql('SELECT pg_switch_wal()');
    }
    const want = await c.psql('SELECT pg_walfile_name(pg_switch_wal())');
    for (const t0 = Date.now(); ; await sleep(200)) {
      const last = await c.psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");
      if (last >= want) break;
      if (Date.now() - t0 > 120_000) throw new Error(`WAL ${want} not archived (last ${last})`);
    }
    const db = readdirSync(join(c.repoPath, 'archive', c.stanza)).find((d) => /^\d+-\d+$/.test(d))!;
    archiveDir = join(c.repoPath, 'archive', c.stanza, db, '0000000100000000');
    segments = readdirSync(archiveDir)
      .filter((f) => /^[0-9A-F]{24}-/.test(f))
      .sort();
    assert.ok(segments.length >= 3, `segments archived: ${segments.join(', ')}`);
    work = mkdtempSync('/tmp/tsdbops-wrapper-it-');
    const pg = statSync(c.dataDir);
    chownSync(work, pg.uid, pg.gid);
  });

  after(async () => {
    if (work) rmSync(work, { recursive: true, force: true });
    await c?.stop();
  });

  /** pgBackRest's async archive-get of this cluster still working in the background (it prefetches ahead). */
  const asyncRunning = () =>
    execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .some((l) => l.includes(c.pgbackrestConf) && l.includes('archive-get:async'));

  let n = 0;
  /** The decision's wrapper and restore_command, the queue empty; runs it for `segment` as PostgreSQL would. */
  async function wrapperRun(segment: string, during?: (logFile: string) => Promise<void>, keepQueue = false) {
    const runId = `t${++n}`;
    for (const t0 = Date.now(); asyncRunning() && Date.now() - t0 < 120_000;) await sleep(100);
    const conf = readFileSync(c.pgbackrestConf, 'utf8');
    const spool = userSpoolPath(conf, {}, c.stanza);
    // The probe as the restore runs it, as the tools' user (the cluster's config sets a spool-path: measured too).
    const machine = await probeRecoveryMachine(new HostRuntime([], 'postgres'), c.dataDir, spool ? [spool] : []);
    const speed = decideRecoverySpeed({
      machine,
      conf,
      stanza: c.stanza,
      baseArgs: [`--config=${c.pgbackrestConf}`, `--stanza=${c.stanza}`],
      workDir: work,
      runId,
    });
    assert.equal(speed.archiveGet.mode, 'async', speed.archiveGet.why);
    if (speed.spoolQueueDir && !keepQueue) rmSync(speed.spoolQueueDir, { recursive: true, force: true });
    writeFileSync(speed.wrapperPath!, RECOVERY_WRAPPER_SCRIPT, { mode: 0o755 });
    const pg = statSync(c.dataDir);
    chownSync(speed.wrapperPath!, pg.uid, pg.gid);
    const command = speed.recoveryArgs[0]!.replace('--recovery-option=restore_command=', '');
    const target = join(work, `${runId}-out`);
    const words = command.replace('%f', segment).replace('"%p"', target).split(' ');
    const [file, argv] = asPostgres(words[0]!, words.slice(1));
    return new Promise<{ code: number | null; target: string; log: string; stderr: string }>((resolve, reject) => {
      const child = spawn(file, argv, { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      const done = during?.(speed.wrapperLogPath!).catch(reject);
      child.on('exit', (code) => {
        void Promise.resolve(done).then(() => {
          const log = existsSync(speed.wrapperLogPath!) ? readFileSync(speed.wrapperLogPath!, 'utf8') : '';
          resolve({ code, target, log, stderr });
        });
      });
    });
  }

  const name = (f: string) => f.slice(0, 24);

  it('a segment in the archive comes through the async queue: exit 0, the segment written, nothing logged', async () => {
    const seg = name(segments[0]!);
    const r = await wrapperRun(seg);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statSync(r.target).size, 16 * 1024 * 1024);
    assert.equal(r.log, '');
  });

  it("segments pgBackRest's async worker fetched ahead are moved from its queue, whole, with no pgBackRest start", async () => {
    const first = await wrapperRun(name(segments[0]!));
    assert.equal(first.code, 0, first.stderr);
    assert.equal(parseWrapperLog(first.log).fromQueue, 0, 'the first segment: the queue was empty');
    // wrapperRun waits for the worker (started by that first call) to end before the next call.
    const r = await wrapperRun(name(segments[1]!), undefined, true);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(parseWrapperLog(r.log).fromQueue, 1, r.log);
    const archived = execFileSync('sh', ['-c', 'gzip -dc "$1" | sha1sum', 'sha', join(archiveDir, segments[1]!)], {
      encoding: 'utf8',
    });
    const moved = execFileSync('sha1sum', [r.target], { encoding: 'utf8' });
    assert.equal(moved.split(' ')[0], archived.split(' ')[0], 'the same bytes as the archived segment');
  });

  it('a segment past the end of the archive: exit 1, a true "not in the archive"', async () => {
    const r = await wrapperRun('0000000100000000000000F0');
    assert.equal(r.code, 1, r.stderr);
    assert.ok(!existsSync(r.target));
  });

  it('a segment that cannot be read (permissions): exit 255 after the plain tries, never "not in the archive"', async () => {
    const f = join(archiveDir, segments[1]!);
    chmodSync(f, 0o000);
    try {
      const r = await wrapperRun(name(segments[1]!));
      assert.equal(r.code, 255, r.stderr);
      const log = parseWrapperLog(r.log);
      assert.deepEqual(log.asyncMissed, [name(segments[1]!)]);
      assert.deepEqual(
        log.failed.map((x) => x.file),
        [name(segments[1]!)],
      );
      assert.match(r.stderr, /could not be read from the archive \(pgBackRest exit \d+, 3 tries\): stopping recovery/);
    } finally {
      chmodSync(f, 0o640);
    }
  });

  it('a segment unreadable for one try: fetched on the next plain try, exit 0', async () => {
    const f = join(archiveDir, segments[2]!);
    chmodSync(f, 0o000);
    const r = await wrapperRun(name(segments[2]!), async (logFile) => {
      // Readable again as soon as the first plain try has failed (the wrapper waits 2 s before the next).
      for (
        const t0 = Date.now();
        !(existsSync(logFile) && /try 1/.test(readFileSync(logFile, 'utf8')));
        await sleep(50)
      ) {
        if (Date.now() - t0 > 120_000) break;
      }
      chmodSync(f, 0o640);
    });
    chmodSync(f, 0o640);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statSync(r.target).size, 16 * 1024 * 1024);
    const log = parseWrapperLog(r.log);
    assert.deepEqual(log.fetchedPlain, [name(segments[2]!)]);
    assert.equal(log.retries, 1);
  });
});
