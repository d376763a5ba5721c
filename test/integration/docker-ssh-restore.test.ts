/**
 * Backups and restores through an ssh:// engine, for real: Debian's sshd on loopback (test/support/sshd)
 * whose sessions reach the bench's engine, and the same core operations the commands call (createDump,
 * restoreDump, pgbackrestBackup, restorePhysical, recoverInterruptedRestore) on a runtime whose Docker
 * client goes through the host-key-checked SSH connection.
 * Then the SSH connection is killed (every sshd session process) midway through a physical restore: the
 * restore ends with a clear error within a generous bound (no hang), and after reconnecting the data is
 * checked: either the restore's own rollback put the original data back, or the journal is still there
 * and the recovery the extension offers on reconnect (recoverInterruptedRestore) rolls it back. The kill
 * midway through a pg_dump (no partial file left) is in docker-ssh.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type Dockerode from 'dockerode';
import { createDump } from '../../src/core/backups/dump';
import { pgbackrestBackup, pgbackrestInfo } from '../../src/core/backups/pgbackrest';
import { restoreDump } from '../../src/core/backups/restore/logical';
import {
  journalPath,
  recoverInterruptedRestore,
  restorePhysical,
  serverState,
  type PhysicalTarget,
} from '../../src/core/backups/restore/physical';
import { connectEngine, resolveEngine } from '../../src/core/docker/engine-address';
import { runningServiceContainer } from '../../src/core/docker/find';
import { disposeSshEngines } from '../../src/core/docker/ssh-engine';
import { readStack, type StackConfig } from '../../src/core/infra';
import { ContainerRuntime } from '../../src/core/runtime';
import { manualBackupHostDir } from '../../src/core/stack/site';
import { dockerAvailable, dockerInstallHint } from '../support/docker';
import { debootstrapAvailable, debootstrapInstallHint } from '../support/image';
import { requirePart } from '../support/requirements';
import { recordingContext } from '../support/restore-context';
import { sharedSshd, sshdAvailable, sshdInstallHint, stopSharedSshd, type Sshd } from '../support/sshd';
import { composeAvailable, composeInstallHint, startStack, type Stack } from '../support/stack';
import { join } from 'node:path';
import { isKind } from '../../src/core/errors/error';

const DATA = '/home/postgres/pgdata/data';
const MB = '/var/lib/pgbackrest/manual_backup';
/** A restore that loses its engine connection must end well within this (no hang). */
const HANG_BOUND_MS = 180_000;

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not end within ${ms / 1000} s (a hang)`)), ms);
  });
  return Promise.race([p, bound]).finally(() => clearTimeout(timer));
}

describe('Backups and restores through ssh:// (a real sshd on loopback), and a connection killed midway', function () {
  this.timeout(600_000);
  let stack: Stack;
  let sshd: Sshd;
  let config: StackConfig;
  const { lines, ctx } = recordingContext();

  const sql = <T = Record<string, unknown>>(q: string, database?: string) => stack.sql<T>(q, { database });
  const values = async () => (await sql<{ v: number }>('SELECT v FROM t ORDER BY v')).map((r) => r.v);
  const conn = () => ({
    user: stack.env.POSTGRES_USER!,
    password: stack.env.POSTGRES_PASSWORD,
    database: stack.env.POSTGRES_DB,
  });
  /** A runtime in the database container whose Docker client goes through ssh:// (a new client each call). */
  const sshRuntime = async (): Promise<{ docker: Dockerode; rt: ContainerRuntime }> => {
    const docker = await connectEngine(
      resolveEngine(sshd.url, {}, { identityFiles: [sshd.userKey], knownHostsFiles: [sshd.knownHosts] }),
    );
    const c = await runningServiceContainer(docker, config.projectName, 'timescaledb');
    return { docker, rt: new ContainerRuntime(docker, c.Id, 'container timescaledb (ssh)') };
  };
  const physicalTarget = async (): Promise<PhysicalTarget> => ({
    rt: (await sshRuntime()).rt,
    dataDir: DATA,
    conn: conn(),
  });
  /** Switches to a new WAL segment and waits until pg_stat_archiver says it is archived. */
  const archiveNow = async () => {
    const wal = (await sql<{ wal: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS wal'))[0]!.wal;
    for (let i = 0; i < 240; i++) {
      const [a] = await sql<{ w: string | null }>('SELECT last_archived_wal AS w FROM pg_stat_archiver');
      if (a?.w && a.w >= wal) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`WAL ${wal} was not archived`);
  };
  const journalExists = async () =>
    (await stack.exec('timescaledb', ['test', '-e', journalPath(DATA)], { reject: false })).exitCode === 0;

  before(async function () {
    requirePart(this, dockerAvailable(), 'Docker', dockerInstallHint);
    requirePart(this, composeAvailable(), 'Docker Compose', composeInstallHint);
    requirePart(this, debootstrapAvailable(), 'debootstrap', debootstrapInstallHint);
    requirePart(this, sshdAvailable(), 'OpenSSH server', sshdInstallHint);
    stack = await startStack();
    sshd = await sharedSshd(stack.docker.host);
    config = await readStack(
      { workspaceFolder: stack.dir },
      stack.infraDir,
      join(stack.infraDir, 'docker-compose.yaml'),
    );
    await sql('CREATE TABLE t (v int)');
    await sql('INSERT INTO t SELECT generate_series(1, 1000)');
  });

  after(async () => {
    disposeSshEngines();
    await stopSharedSshd();
    await stack?.stop();
  });

  it('a pg_dump written on the engine and its restore into a new database, both through ssh://', async () => {
    const { rt } = await sshRuntime();
    const dump = await createDump(
      {
        runtime: rt,
        hostDir: manualBackupHostDir(config),
        runtimeDir: MB,
        user: stack.env.POSTGRES_USER!,
        maintenanceDb: stack.env.POSTGRES_DB!,
        dumpTo: 'engine',
      },
      { database: stack.env.POSTGRES_DB! },
    );
    assert.equal(dump.wroteIn, 'engine');
    assert.ok(dump.sizeBytes > 0);
    // The bench's engine is on this machine: the bind-mounted folder shows the same file.
    assert.ok(existsSync(join(manualBackupHostDir(config), dump.name)), dump.name);
    const r = await restoreDump({ rt, conn: conn() }, { file: `${MB}/${dump.name}`, database: 'ssh_copy' }, ctx());
    assert.equal(r.created, true);
    const rows = await sql<{ n: string; s: string }>('SELECT count(*) AS n, sum(v)::text AS s FROM t', 'ssh_copy');
    assert.deepEqual(rows[0], { n: '1000', s: String((1000 * 1001) / 2) });
  });

  it('a pgBackRest full backup through ssh:// is a new set in pgbackrest info', async () => {
    const { rt } = await sshRuntime();
    const target = { runtime: rt, stanza: 'db' };
    const before = await pgbackrestInfo(target).catch(() => undefined);
    const { label } = await pgbackrestBackup(target, 'full', { onLine: (l) => lines.push(l) });
    const after = await pgbackrestInfo(target);
    assert.ok(
      after.backups.some((b) => b.label === label && b.type === 'full'),
      label,
    );
    assert.equal(after.backups.length, (before?.backups.length ?? 0) + 1);
  });

  it('a physical restore through ssh:// brings back the backup', async () => {
    await sql('INSERT INTO t VALUES (2000)');
    await archiveNow();
    const expected = await values();
    const r = await restorePhysical(await physicalTarget(), { kind: 'pgbackrest', stanza: 'db' }, ctx());
    assert.ok(r.databases.includes(stack.env.POSTGRES_DB!));
    assert.deepEqual(await values(), expected, 'the archived row after the backup came back with the WAL');
    assert.equal(await journalExists(), false);
  });

  it('killing the SSH connection midway through a physical restore: a clear error, no hang; after reconnecting the original data runs', async () => {
    await sql('INSERT INTO t VALUES (3000)');
    const expected = await values();
    let killed: Promise<void> | undefined;
    const target = await physicalTarget();
    const e = await within(
      restorePhysical(
        target,
        { kind: 'pgbackrest', stanza: 'db' },
        ctx(undefined, (l) => {
          if (!killed && /restore command begin/.test(l)) killed = sshd.killSessions();
        }),
      ).then(
        () => undefined,
        (x: unknown) => x as Error,
      ),
      HANG_BOUND_MS,
      'the restore whose SSH connection was killed',
    );
    assert.ok(killed, 'the connection was killed while pgbackrest restore ran');
    await killed;
    assert.ok(e instanceof Error, `the restore failed (${String(e)})`);
    // Either the output stream broke first (the tool's result unknown), or, when the engine already saw the
    // tool end (its stdio cut with the connection), its exit code: both name the failure, both roll back.
    assert.match(
      e.message,
      /connection to the Docker engine was lost while "[^"]+" ran|pgbackrest exited with code \d+/,
      e.message,
    );
    // Reconnect (a new SSH connection, host key checked again) and check the state.
    const again = await physicalTarget();
    if (await journalExists()) {
      // The rollback could not run over the dead connection: the recovery offered on reconnect does it.
      const j = await within(recoverInterruptedRestore(again, ctx()), HANG_BOUND_MS, 'the recovery');
      assert.ok(j, 'the journal was read');
      console.log('      the journal was left: recovered on reconnect (recoverInterruptedRestore)');
    } else {
      // The errors module: a restore that put the previous data back says so in its facts (kind restore-failed).
      assert.ok(
        isKind(e, 'restore-failed') && e.facts.rolledBack === true,
        `rolled back by the restore itself: ${e.message}`,
      );
      console.log(`      rolled back by the restore itself (over a new SSH connection): ${e.message}`);
    }
    assert.equal(await journalExists(), false, 'no journal left');
    assert.equal(await serverState(again, ctx()), 'running');
    assert.deepEqual(await values(), expected, 'the original data, including the row written before the restore');
    assert.equal(await recoverInterruptedRestore(again, ctx()), undefined, 'nothing left to recover');
  });
});
