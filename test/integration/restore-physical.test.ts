/**
 * Physical restores against the fixture stack (custom entrypoint: the container stays up while
 * PostgreSQL is stopped): pgBackRest latest / point in time, pg_basebackup, a corrupt base backup
 * refused before anything is touched, a cancel and a killed restore tool rolled back, and a crash of
 * the extension itself (the process running the restore is killed) recovered from the journal.
 */
import { isCancelled, isKind } from '../../src/core/errors/error';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { connectEngine, resolveEngine } from '../../src/core/docker/engine-address';
import { ContainerRuntime } from '../../src/core/runtime';
import { listPreRestoreCopies } from '../../src/core/backups/restore/pre-restore';
import {
  deletePreRestoreCopy,
  finishInterruptedRestore,
  journalPath,
  readJournal,
  recoverInterruptedRestore,
  restorePhysical,
  serverState,
  type PhysicalTarget,
} from '../../src/core/backups/restore/physical';
import { debootstrapAvailable, debootstrapInstallHint } from '../support/image';
import { dockerAvailable, dockerInstallHint } from '../support/docker';
import { requirePart } from '../support/requirements';
import { composeAvailable, composeInstallHint, startStack, type Stack } from '../support/stack';
import { recordingContext } from '../support/restore-context';
import { sleep } from '../support/proc';

const DATA = '/home/postgres/pgdata/data';

describe('restore: physical (pgBackRest, pg_basebackup) on the fixture stack', function () {
  this.timeout(600_000);
  let stack: Stack | undefined;
  let client: Dockerode;
  let target: PhysicalTarget;
  const { lines, steps, ctx } = recordingContext();

  const sql = <T = Record<string, unknown>>(q: string, params: unknown[] = []) => stack!.sql<T>(q, { params });
  const values = async () => (await sql<{ v: number }>('SELECT v FROM t ORDER BY v')).map((r) => r.v);
  const pgbackrest = (args: string[]) =>
    stack!.exec('timescaledb', ['pgbackrest', '--stanza=db', '--log-level-console=warn', ...args]);
  const noJournal = async () => {
    const r = await stack!.exec('timescaledb', ['test', '-e', journalPath(DATA)], { reject: false });
    assert.notEqual(r.exitCode, 0, 'the journal is gone');
  };
  /**
   * Runs a restore in a child process (restore-crash-child.ts, `env` added) and kills it with SIGKILL, the way VS
   * Code dies, at its first output that matches `at`; returns what it printed.
   */
  const crashChildAt = async (env: Record<string, string>, at: RegExp, what: string): Promise<string> => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'restore-crash-child.ts')], {
      env: {
        ...process.env,
        DOCKER_HOST: stack!.docker.host,
        CONTAINER: await stack!.containerId('timescaledb'),
        PGUSER_: stack!.env.POSTGRES_USER,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the child never reached ${what}:\n${out}`)), 180_000);
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (at.test(out)) {
          clearTimeout(timer);
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', () => reject(new Error(`the child ended before ${what}:\n${out}`)));
    });
    return out;
  };

  before(async function () {
    requirePart(this, dockerAvailable(), 'docker', dockerInstallHint);
    requirePart(this, composeAvailable(), 'docker compose', composeInstallHint);
    requirePart(this, debootstrapAvailable(), 'debootstrap', debootstrapInstallHint);
    stack = await startStack();
    client = await connectEngine(resolveEngine(undefined, { DOCKER_HOST: stack.docker.host }));
    const id = await stack.containerId('timescaledb');
    target = {
      rt: new ContainerRuntime(client, id, 'container timescaledb'),
      dataDir: DATA,
      conn: { user: stack.env.POSTGRES_USER!, password: stack.env.POSTGRES_PASSWORD, database: stack.env.POSTGRES_DB },
    };
    await sql('CREATE TABLE t (v int)');
  });

  after(async () => {
    await stack?.stop();
  });

  /** Switches to a new WAL segment and waits until pg_stat_archiver says it (and every earlier one) is archived. */
  const archiveNow = async () => {
    const wal = (await sql<{ wal: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS wal'))[0]!.wal;
    for (let i = 0; i < 240; i++) {
      const [a] = await sql<{ w: string | null }>('SELECT last_archived_wal AS w FROM pg_stat_archiver');
      if (a?.w && a.w >= wal) return wal;
      await sleep(250);
    }
    throw new Error(`WAL ${wal} was not archived`);
  };

  it('a default restore brings back a row committed and archived after the newest backup; { set: newest } does not', async () => {
    await sql('INSERT INTO t VALUES (1), (2)');
    await pgbackrest(['--type=full', 'backup']);
    const newest = JSON.parse((await pgbackrest(['--output=json', 'info'])).stdout) as {
      backup: { label: string }[];
    }[];
    const label = newest[0]!.backup.at(-1)!.label;
    await sql('INSERT INTO t VALUES (3)');
    await archiveNow();
    // Default (no target, no set): newest set + every archived WAL, the guide's `pgbackrest restore`.
    const r = await restorePhysical(target, { kind: 'pgbackrest', stanza: 'db' }, ctx());
    assert.deepEqual(await values(), [1, 2, 3], 'the archived row after the backup is there');
    assert.ok(r.preRestoreCopy?.startsWith(`${DATA}.pre-restore-`), r.preRestoreCopy);
    assert.ok(r.databases.includes('connect_db'));
    const cmd = lines.filter((l) => l.startsWith('$ pgbackrest --stanza=db') && l.endsWith(' restore')).at(-1)!;
    assert.ok(!cmd.includes('--type='), `the latest state uses pgBackRest's default type: ${cmd}`);
    assert.ok(steps.includes('Stopping PostgreSQL') && steps.includes('Checking PostgreSQL stopped'));
    const copies = await listPreRestoreCopies(target.rt, DATA);
    assert.ok(
      copies.some((c) => c.path === r.preRestoreCopy && (c.sizeBytes ?? 0) > 1_000_000),
      JSON.stringify(copies),
    );
    await noJournal();

    // Exactly the set: the row archived after it is not there.
    const r2 = await restorePhysical(target, { kind: 'pgbackrest', stanza: 'db', set: label }, ctx());
    assert.deepEqual(await values(), [1, 2], 'exactly the rows of the backup');
    assert.equal(r2.from, label);
    assert.ok(
      lines.some(
        (l) =>
          l.startsWith('$ pgbackrest --stanza=db') &&
          l.includes(`--set=${label}`) &&
          l.includes('--type=immediate') &&
          l.endsWith(' restore'),
      ),
      'the exact command is logged',
    );
    // The copy is the way back; deleting it is a separate, explicit step.
    for (const c of [r.preRestoreCopy!, r2.preRestoreCopy!]) await deletePreRestoreCopy(target, c, ctx());
    assert.equal((await listPreRestoreCopies(target.rt, DATA)).length, 0);
    await assert.rejects(deletePreRestoreCopy(target, DATA, ctx()), /not a pre-restore copy/);
  });

  it('replayWal: true is "this set plus every archived WAL"; exclusive maps to --target-exclusive', async () => {
    await sql('DELETE FROM t');
    await sql('INSERT INTO t VALUES (5)');
    await pgbackrest(['--type=full', 'backup']);
    const info = JSON.parse((await pgbackrest(['--output=json', 'info'])).stdout) as { backup: { label: string }[] }[];
    const label = info[0]!.backup.at(-1)!.label;
    await sql('INSERT INTO t VALUES (6)');
    const xid = (await sql<{ xid: string }>('SELECT txid_current()::text AS xid'))[0]!.xid;
    await sql('INSERT INTO t VALUES (7)');
    await archiveNow();
    await restorePhysical(target, { kind: 'pgbackrest', stanza: 'db', set: label, replayWal: true }, ctx());
    assert.deepEqual(await values(), [5, 6, 7]);
    // xid target, exclusive: stops just before that transaction (which inserted nothing itself).
    const r = await restorePhysical(
      target,
      { kind: 'pgbackrest', stanza: 'db', set: label, target: 'xid', xid, exclusive: true },
      ctx(),
    );
    assert.equal(r.target, `xid ${xid}`);
    assert.ok(
      lines.some((l) => l.includes(`--type=xid --target=${xid} --target-exclusive`)),
      'xid exclusive',
    );
    assert.deepEqual(await values(), [5, 6]);
    for (const c of await listPreRestoreCopies(target.rt, DATA)) await deletePreRestoreCopy(target, c.path, ctx());
  });

  it('a backup fired during a restore fails fast with [062] (stanza stopped); the restore completes and the stanza is started before PostgreSQL', async () => {
    await sql('INSERT INTO t VALUES (8)');
    await pgbackrest(['--type=full', 'backup']);
    const expected = await values();
    let fired: Promise<{ exitCode: number; out: string }> | undefined;
    await restorePhysical(
      target,
      { kind: 'pgbackrest', stanza: 'db' },
      ctx(undefined, (l) => {
        if (!fired && /restore command begin/.test(l))
          fired = stack!
            .exec('timescaledb', ['pgbackrest', '--stanza=db', '--type=diff', 'backup'], { reject: false })
            .then((r) => ({ exitCode: r.exitCode ?? -1, out: `${r.stdout}${r.stderr}` }));
      }),
    );
    const b = await fired!;
    assert.equal(b.exitCode, 62, b.out);
    assert.match(b.out, /stop file exists/);
    assert.deepEqual(await values(), expected, 'the restore completed');
    const i = steps.lastIndexOf('Starting pgBackRest stanza db again');
    assert.ok(i >= 0 && i < steps.lastIndexOf('Starting PostgreSQL'), steps.join(' / '));
    const stop = steps.lastIndexOf('Stopping pgBackRest stanza db (no backup during the restore)');
    assert.ok(stop > steps.lastIndexOf('Checking PostgreSQL stopped'), 'after the shutdown archived its last WAL');
    assert.ok(stop < i, steps.join(' / '));
    // Started again: the next backup works.
    await pgbackrest(['--type=diff', 'backup']);
    for (const c of await listPreRestoreCopies(target.rt, DATA)) await deletePreRestoreCopy(target, c.path, ctx());
  });

  it('a point-in-time restore between two committed writes keeps the first and not the second', async () => {
    await sql('DELETE FROM t');
    await pgbackrest(['--type=full', 'backup']);
    await sleep(1500);
    await sql('INSERT INTO t VALUES (10)');
    await sleep(1200);
    const between = new Date();
    await sleep(1200);
    await sql('INSERT INTO t VALUES (20)');
    const r = await restorePhysical(target, { kind: 'pgbackrest', stanza: 'db', time: between }, ctx());
    assert.deepEqual(await values(), [10]);
    assert.match(r.target!, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{3})?\+00$/);
    assert.equal(
      (await sql<{ r: boolean }>('SELECT pg_is_in_recovery() AS r'))[0]!.r,
      false,
      'promoted, not paused read-only',
    );
    await sql('INSERT INTO t VALUES (11)'); // writable
  });

  it('a time before the window is refused before anything is touched', async () => {
    const before = await values();
    await assert.rejects(
      restorePhysical(target, { kind: 'pgbackrest', stanza: 'db', time: new Date('2001-01-01T00:00:00Z') }, ctx()),
      (e: unknown) => isKind(e, 'backup-invalid'),
    );
    await assert.rejects(
      restorePhysical(target, { kind: 'pgbackrest', stanza: 'db', set: 'nope' }, ctx()),
      /not in stanza/,
    );
    assert.deepEqual(await values(), before);
    await noJournal();
  });

  it('a cancel midway puts the original data back and PostgreSQL runs on it', async () => {
    await pgbackrest(['--type=full', 'backup']);
    await sql('INSERT INTO t VALUES (30)');
    const expected = await values();
    const copiesBefore = (await listPreRestoreCopies(target.rt, DATA)).length;
    const ac = new AbortController();
    const e = await restorePhysical(
      target,
      { kind: 'pgbackrest', stanza: 'db' },
      ctx(ac.signal, (l) => {
        if (/restore command begin/.test(l)) ac.abort();
      }),
    ).then(
      () => undefined,
      (x: unknown) => x,
    );
    assert.ok(isCancelled(e), `a cancel, not a failure: ${String(e)}`);
    assert.equal(e.facts.rolledBack, true);
    assert.match(e.message, /cancelled/);
    assert.deepEqual(await values(), expected);
    assert.equal(await serverState(target, ctx()), 'running');
    assert.equal(
      (await listPreRestoreCopies(target.rt, DATA)).length,
      copiesBefore,
      'the copy was moved back, not left aside',
    );
    await noJournal();
  });

  it('killing the restore tool midway (kill -9 pgbackrest) ends with the original data running again', async () => {
    await sql('INSERT INTO t VALUES (40)');
    const expected = await values();
    const pidFile = journalPath(DATA).replace(/\.json$/, '.pid');
    let killed: Promise<unknown> | undefined;
    const e = await restorePhysical(
      target,
      { kind: 'pgbackrest', stanza: 'db' },
      ctx(undefined, (l) => {
        if (!killed && /restore command begin/.test(l)) {
          killed = stack!.exec('timescaledb', ['sh', '-c', 'kill -9 "$(cat "$0")"', pidFile]);
        }
      }),
    ).then(
      () => undefined,
      (x: unknown) => x,
    );
    assert.ok(killed, 'the tool was killed');
    await killed;
    assert.ok(isKind(e, 'restore-failed'), String(e));
    assert.equal(e.facts.rolledBack, true);
    assert.deepEqual(await values(), expected);
    await noJournal();
  });

  it('a crash of the process running the restore is rolled back from the journal', async () => {
    await sql('INSERT INTO t VALUES (50)');
    const expected = await values();
    const copiesBefore = (await listPreRestoreCopies(target.rt, DATA)).length;
    await crashChildAt({}, /restore command begin/, 'the restore');
    // VS Code died midway: PostgreSQL is down, the data folder half-restored, the journal still there,
    // and pgbackrest still runs in the container: freeze it (a hung tool) so it is surely alive.
    await stack!.exec('timescaledb', ['test', '-e', journalPath(DATA)]);
    const pid = (await stack!.exec('timescaledb', ['cat', journalPath(DATA).replace(/\.json$/, '.pid')])).stdout.trim();
    await stack!.exec('timescaledb', ['sh', '-c', 'kill -STOP "$0"', pid]);
    const alive = async () =>
      (await stack!.exec('timescaledb', ['cat', `/proc/${pid}/cmdline`], { reject: false })).stdout.includes(
        'pgbackrest',
      );
    assert.equal(await alive(), true, 'pgbackrest outlived the process that started it');
    const j = await recoverInterruptedRestore(target, ctx());
    assert.ok(j, 'a journal was found');
    assert.equal(await alive(), false, 'recovery ended the restore tool before putting the data back');
    assert.deepEqual(await values(), expected);
    await noJournal();
    assert.equal((await listPreRestoreCopies(target.rt, DATA)).length, copiesBefore);
    assert.equal(await recoverInterruptedRestore(target, ctx()), undefined, 'nothing left to recover');
  });

  it('a container restarted while pgbackrest restore runs comes back on the previous data (never an initdb); Roll back cleans up', async () => {
    const expected = await values();
    const id = await stack!.containerId('timescaledb');
    const pidFile = journalPath(DATA).replace(/\.json$/, '.pid');
    await stack!.exec('timescaledb', ['rm', '-f', '--', pidFile]);
    let restarted: Promise<unknown> | undefined;
    // The restart while the restore tool surely runs: a watcher in the container, started once the restore says
    // its options (before the tool starts), freezes the tool as soon as it wrote its pid; then the container
    // restarts and the entrypoint runs again, as after an engine restart. (A restart sent at the tool's first line
    // could complete before the tool's exec began: the restore then ran in the restarted container and completed,
    // which is right, but not this case.)
    const freezeTool =
      'i=0; while [ ! -s "$0" ]; do i=$((i + 1)); [ $i -gt 6000 ] && exit 1; sleep 0.01; done; kill -STOP "$(cat "$0")"';
    const e = await restorePhysical(
      target,
      { kind: 'pgbackrest', stanza: 'db' },
      ctx(undefined, (l) => {
        if (!restarted && l.startsWith('restore: '))
          restarted = stack!
            .exec('timescaledb', ['sh', '-c', freezeTool, pidFile])
            .then(() => client.getContainer(id).restart({ t: 0 }));
      }),
    ).then(
      () => undefined,
      (x: unknown) => x,
    );
    assert.ok(restarted, 'the container was restarted during the restore');
    await restarted;
    assert.ok(e instanceof Error, 'the restore did not say done');
    await stack!.waitForPostgres(180_000);
    assert.deepEqual(await values(), expected, 'the container started the previous data');
    await recoverInterruptedRestore(target, ctx());
    const left = await stack!.exec('timescaledb', ['sh', '-c', 'ls -d "$0".restoring-* 2>/dev/null', DATA], {
      reject: false,
    });
    assert.equal(left.stdout.trim(), '', 'the staging folder is gone');
    await noJournal();
    assert.equal(await serverState(target, ctx()), 'running');
    assert.deepEqual(await values(), expected);
  });

  describe('pg_basebackup', () => {
    const MB = '/var/lib/pgbackrest/manual_backup';
    before(async () => {
      await sql('DELETE FROM t');
      await sql('INSERT INTO t VALUES (100)');
      await stack!.exec('timescaledb', [
        'pg_basebackup',
        '-h',
        '/var/run/postgresql',
        '-U',
        stack!.env.POSTGRES_USER!,
        '-D',
        `${MB}/pg_basebackup_good`,
        '-F',
        't',
        '-Z',
        '9',
        '-X',
        'stream',
      ]);
      await stack!.exec('timescaledb', ['cp', '-r', `${MB}/pg_basebackup_good`, `${MB}/pg_basebackup_bad`]);
      // Cut the compressed base archive in half: the damage a copy or a full disk leaves.
      await stack!.exec('timescaledb', [
        'sh',
        '-c',
        'f="$0/base.tar.gz"; s=$(stat -c %s "$f"); head -c $((s / 2)) "$f" > "$f.cut" && mv "$f.cut" "$f"',
        `${MB}/pg_basebackup_bad`,
      ]);
      await sql('INSERT INTO t VALUES (101)');
    });

    it('a corrupt base backup archive is refused before anything is touched', async () => {
      const copiesBefore = (await listPreRestoreCopies(target.rt, DATA)).length;
      const e = await restorePhysical(target, { kind: 'baseBackup', dir: `${MB}/pg_basebackup_bad` }, ctx()).then(
        () => undefined,
        (x: unknown) => x,
      );
      assert.ok(isKind(e, 'backup-invalid'), String(e));
      assert.match(e.message, /base\.tar\.gz does not list cleanly/);
      assert.equal(await serverState(target, ctx()), 'running');
      assert.deepEqual(await values(), [100, 101]);
      assert.equal((await listPreRestoreCopies(target.rt, DATA)).length, copiesBefore);
      await noJournal();
    });

    it('a restore that would not fit on the disk is refused before anything is touched', async () => {
      const e = await restorePhysical(
        { ...target, reserveBytes: 2 ** 60 },
        { kind: 'baseBackup', dir: `${MB}/pg_basebackup_good` },
        ctx(),
      ).then(
        () => undefined,
        (x: unknown) => x,
      );
      assert.ok(isKind(e, 'backup-invalid'), String(e));
      assert.match(e.message, /Not enough free space in \/home\/postgres\/pgdata/);
      assert.ok(
        lines.some((l) => /^base\.tar\.gz: \d{3,} entries, \d+ MB, lists cleanly\.$/.test(l)),
        'every entry was read',
      );
      assert.equal(await serverState(target, ctx()), 'running');
      assert.deepEqual(await values(), [100, 101]);
      await noJournal();
    });

    it('restores a pg_basebackup folder (base.tar.gz + pg_wal.tar.gz) onto a new timeline, and archiving goes on', async () => {
      const timeline = async () =>
        Number((await sql<{ t: number }>('SELECT timeline_id AS t FROM pg_control_checkpoint()'))[0]!.t);
      const before = await timeline();
      // The stack restored to a point in time before: recovery_target_time is still in postgresql.auto.conf.
      const restoreCommand = async () =>
        (await sql<{ v: string }>("SELECT current_setting('restore_command') AS v"))[0]!.v;
      const previous = await restoreCommand();
      const r = await restorePhysical(target, { kind: 'baseBackup', dir: `${MB}/pg_basebackup_good` }, ctx());
      assert.deepEqual(await values(), [100]);
      assert.ok(r.preRestoreCopy);
      // Extracted beside PGDATA, put in place once complete (a container restarted meanwhile starts the old data).
      assert.ok(
        lines.some((l) =>
          l.startsWith(
            `$ tar -xf /var/lib/pgbackrest/manual_backup/pg_basebackup_good/base.tar.gz -C ${DATA}.restoring-`,
          ),
        ),
      );
      const exists = await stack!.exec('timescaledb', ['sh', '-c', 'ls -d "$0".restoring-* 2>/dev/null', DATA], {
        reject: false,
      });
      assert.equal(exists.stdout.trim(), '', 'no staging folder is left');
      // The stack archives to pgBackRest: the restored server took a new timeline, so its WAL never has the name of a
      // segment the archive already holds ([045] stopped archiving, and the next backup failed [082]).
      assert.ok((await timeline()) > before, `timeline ${await timeline()} after ${before}`);
      // postgresql.auto.conf as PostgreSQL reads it now (the recovery targets are read at the next start).
      const fileSettings = await sql<{ name: string; setting: string }>(
        "SELECT name, setting FROM pg_file_settings WHERE name LIKE 'recovery_target%' AND setting <> ''",
      );
      assert.deepEqual(fileSettings, [], 'the recovery settings are reset');
      assert.equal(await restoreCommand(), previous, 'the restore_command the backup had is set again');
      await sql('INSERT INTO t VALUES (102)');
      await archiveNow();
      await pgbackrest(['check']);
    });

    it('a pg_basebackup restore onto a new timeline whose process died once the data was in place: Finish resets its recovery settings too', async () => {
      const restoreCommand = async () =>
        (await sql<{ v: string }>("SELECT current_setting('restore_command') AS v"))[0]!.v;
      const previous = await restoreCommand();
      // Killed once the restored data is in place and the journal says restored.
      const out = await crashChildAt(
        { BASE_BACKUP: `${MB}/pg_basebackup_good` },
        /^step: Starting PostgreSQL$/m,
        'the start',
      );
      assert.match(out, /it recovers to the backup's end and takes a new timeline/);
      const j = await readJournal(target, ctx());
      assert.ok(j?.restored && j.newTimeline, `the journal says restored, onto a new timeline: ${JSON.stringify(j)}`);
      const done = await finishInterruptedRestore(target, ctx());
      assert.ok(done, 'Finish found the journal');
      assert.deepEqual(await values(), [100]);
      const fileSettings = await sql<{ name: string; setting: string }>(
        "SELECT name, setting FROM pg_file_settings WHERE name LIKE 'recovery_target%' AND setting <> ''",
      );
      assert.deepEqual(fileSettings, [], 'the recovery settings are reset by Finish');
      assert.equal(await restoreCommand(), previous, 'the restore_command the backup had is set again');
      await noJournal();
      await archiveNow();
      await pgbackrest(['check']);
    });
  });
});
