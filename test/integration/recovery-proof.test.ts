/**
 * Recovery proven to reach the end of the archive, for real (a throwaway PostgreSQL 15 cluster on this machine
 * with pgBackRest): a full backup, then four more WAL segments of inserts; one of them made unreadable
 * (permissions) in the repository.
 *
 * The wrapper's case runs first: after an early promotion the archive holds a new timeline that branches off
 * before the unreadable segment, and a later "latest" restore follows it without ever asking for that segment.
 *
 * Proven: with pgBackRest's plain restore_command (the guide's) PostgreSQL promotes early, in silence, with the
 * newer rows missing, and the proof (newest archived segment from `pgbackrest info` against
 * `pg_last_wal_replay_lsn()`) reports it incomplete, naming where it stopped; with the recovery-speed wrapper
 * (async archive-get) the server stops instead of promoting, and once the segment is readable again recovery
 * goes on to the newest segment and the proof says complete, every row there.
 */
import { strict as assert } from 'node:assert';
import { chmodSync, chownSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  startCluster,
  postgresAvailable,
  postgresInstallHint,
  pgbackrestAvailable,
  pgbackrestInstallHint,
  type Cluster,
} from '../support/cluster';
import { requirePart } from '../support/requirements';
import { sleep } from '../support/proc';
import { parsePgBackRestInfo } from '../../src/core/backups/pgbackrest';
import {
  checkRecoveryEnd,
  newestArchivedSegment,
  parseRecoveryLog,
} from '../../src/core/backups/restore/recovery-proof';
import { decideRecoverySpeed, userSpoolPath } from '../../src/core/backups/restore/recovery-speed';
import { probeRecoveryMachine, replayEnd } from '../../src/core/backups/restore/recovery-run';
import { RECOVERY_WRAPPER_SCRIPT } from '../../src/core/backups/restore/recovery-wrapper';
import { HostRuntime } from '../../src/core/runtime';

describe('recovery proven to reach the end of the archive (host cluster)', function () {
  this.timeout(600_000);
  let c: Cluster;
  let newest: string;
  let unreadable: string;
  let rows: number;

  before(async function () {
    requirePart(this, postgresAvailable(), 'PostgreSQL 15', postgresInstallHint);
    requirePart(this, pgbackrestAvailable(), 'pgBackRest', pgbackrestInstallHint);
    c = await startCluster({ stanza: true });
    await c.psql('CREATE TABLE t (n int)');
    await c.pgbackrest(['--type=full', 'backup']);
    for (let i = 0; i < 4; i++) {
      await c.psql('INSERT INTO t SELECT g FROM generate_series(1, 1000) g');
      await c.psql('SELECT pg_switch_wal()');
    }
    rows = Number(await c.psql('SELECT count(*) FROM t'));
    const want = await c.psql('SELECT pg_walfile_name(pg_switch_wal())');
    for (const t0 = Date.now(); ; await sleep(200)) {
      const last = await c.psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");
      if (last >= want) break;
      if (Date.now() - t0 > 120_000) throw new Error(`WAL ${want} not archived (last ${last})`);
    }
    newest = newestArchivedSegment(parsePgBackRestInfo((await c.pgbackrest(['--output=json', 'info'])).stdout)[0]!)!;
    // The second segment written after the backup: rows of two inserts come after it.
    const db = readdirSync(join(c.repoPath, 'archive', c.stanza)).find((d) => /^\d+-\d+$/.test(d))!;
    const dir = join(c.repoPath, 'archive', c.stanza, db, '0000000100000000');
    const files = readdirSync(dir)
      .filter((f) => /^[0-9A-F]{24}-/.test(f))
      .sort();
    unreadable = join(dir, files.at(-3)!);
    assert.ok(files.at(-1)!.startsWith(newest), `${newest} is the newest file (${files.at(-1)})`);
  });

  after(async () => {
    if (unreadable) chmodSync(unreadable, 0o640);
    await c?.stop();
  });

  const segmentOf = (f: string) => f.split('/').at(-1)!.slice(0, 24);

  /** Stops the server, empties PGDATA and restores the newest set (latest state) with `extra` options. */
  async function restore(extra: readonly string[] = []): Promise<void> {
    await c.stopServer();
    for (const f of readdirSync(c.dataDir)) rmSync(join(c.dataDir, f), { recursive: true, force: true });
    await c.pgbackrest([...extra, 'restore']);
    writeFileSync(join(c.baseDir, 'postgresql.log'), '');
  }

  /** Until recovery ends: promoted (out of recovery) or stopped (the server is gone). */
  async function outcome(): Promise<'promoted' | 'stopped'> {
    for (const t0 = Date.now(); Date.now() - t0 < 300_000; await sleep(200)) {
      const inRecovery = await c.psql('SELECT pg_is_in_recovery()').catch(() => undefined);
      if (inRecovery === 'f') return 'promoted';
      if (inRecovery === undefined) {
        const st = await c.pgBin('pg_ctl', ['-D', c.dataDir, 'status'], { reject: false });
        if (st.exitCode === 3) return 'stopped';
      }
    }
    throw new Error('recovery neither ended nor stopped within 5 minutes');
  }

  const proof = async () => {
    const end = await replayEnd(async (sql) => (await c.psql(sql)).split('|'));
    assert.ok(end, 'the server recovered');
    return checkRecoveryEnd({ newest, replayLsn: end.lsn });
  };

  it('the recovery-speed wrapper: the server stops instead of promoting; readable again, it reaches the newest segment', async () => {
    const conf = readFileSync(c.pgbackrestConf, 'utf8');
    const spool = userSpoolPath(conf, {}, c.stanza);
    const machine = await probeRecoveryMachine(new HostRuntime([], 'postgres'), c.dataDir, spool ? [spool] : []);
    const speed = decideRecoverySpeed({
      machine,
      conf,
      stanza: c.stanza,
      baseArgs: [`--config=${c.pgbackrestConf}`, `--stanza=${c.stanza}`],
      workDir: c.baseDir,
      runId: 'proof',
    });
    assert.equal(speed.archiveGet.mode, 'async', speed.archiveGet.why);
    writeFileSync(speed.wrapperPath!, RECOVERY_WRAPPER_SCRIPT, { mode: 0o700 });
    const pg = statSync(c.dataDir);
    chownSync(speed.wrapperPath!, pg.uid, pg.gid);
    if (speed.spoolQueueDir) rmSync(speed.spoolQueueDir, { recursive: true, force: true });
    chmodSync(unreadable, 0o000);
    try {
      await restore([...speed.restoreArgs, ...speed.recoveryArgs]);
      // It may accept connections once consistent (hot standby), before it reaches the unreadable segment.
      await c.startServer().catch(() => undefined);
      assert.equal(await outcome(), 'stopped', 'the server stopped instead of promoting');
      const log = parseRecoveryLog(readFileSync(join(c.baseDir, 'postgresql.log'), 'utf8').split('\n'));
      assert.match(
        log.fatal ?? '',
        new RegExp(`could not restore file "${segmentOf(unreadable)}" from archive: .*exit code 255`),
      );
    } finally {
      chmodSync(unreadable, 0o640);
    }
    await c.startServer();
    assert.equal(await outcome(), 'promoted');
    const r = await proof();
    assert.equal(r.complete, true, r.message);
    assert.equal(Number(await c.psql('SELECT count(*) FROM t')), rows, 'every row is there');
  });

  it("the guide's plain restore_command: PostgreSQL promotes early in silence; the proof says incomplete and where", async () => {
    chmodSync(unreadable, 0o000);
    try {
      await restore();
      await c.startServer();
      assert.equal(await outcome(), 'promoted', 'the server looks fine');
      assert.ok(Number(await c.psql('SELECT count(*) FROM t')) < rows, 'rows after the unreadable segment are missing');
      const r = await proof();
      assert.equal(r.complete, false, r.message);
      assert.equal(r.stoppedAt, segmentOf(unreadable));
      assert.match(
        r.message,
        new RegExp(`^The restore is incomplete: recovery stopped at WAL segment ${r.stoppedAt} .* up to ${newest}`),
      );
    } finally {
      chmodSync(unreadable, 0o640);
    }
  });
});
