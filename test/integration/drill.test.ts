/**
 * Restore drills on the fixture stack: a scratch container of the service's image restores the newest
 * set (latest state) and checks it, with the live database, the repository (every file's hash) and the
 * container and volume lists exactly as before; a damaged repository file fails the drill naming it;
 * two drills at once, not enough disk, a cancel and a killed owner leave nothing behind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { connectEngine, resolveEngine } from '../../src/core/docker/engine-address';
import {
  DRILL_LABEL,
  DRILL_PROJECT_LABEL,
  DrillRefusedError,
  readDrillReports,
  runDrill,
  sweepDrills,
  writeDrillReport,
  type DrillTarget,
} from '../../src/core/backups/drill';
import { ContainerRuntime } from '../../src/core/runtime';
import { describeArchiver, readArchiverStatus } from '../../src/core/backups/archiver';
import { debootstrapAvailable, debootstrapInstallHint } from '../support/image';
import { dockerAvailable, dockerInstallHint } from '../support/docker';
import { requirePart } from '../support/requirements';
import { composeAvailable, composeInstallHint, startStack, type Stack } from '../support/stack';
import { recordingContext } from '../support/restore-context';
import { sleep } from '../support/proc';

const EXT = '/usr/share/postgresql/15/extension';
const TSDB_STANDIN = [
  'CREATE SCHEMA timescaledb_information;',
  'CREATE VIEW timescaledb_information.hypertables AS SELECT nspname AS hypertable_schema, ' +
    "relname AS hypertable_name, 3 AS num_chunks FROM pg_class JOIN pg_namespace n ON n.oid = relnamespace WHERE relname = 'metrics' AND relkind = 'r';",
  'CREATE VIEW timescaledb_information.continuous_aggregates AS SELECT nspname AS view_schema, ' +
    "relname AS view_name FROM pg_class JOIN pg_namespace n ON n.oid = relnamespace WHERE relname = 'metrics_hourly' AND relkind = 'v';",
  'CREATE VIEW timescaledb_information.jobs AS SELECT 1000 AS job_id;',
].join('\n');

function treeHashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else out[p.slice(dir.length)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

describe('restore drills in a scratch container', function () {
  this.timeout(600_000);
  let stack: Stack | undefined;
  let docker: Dockerode;
  let target: DrillTarget;
  const { lines, ctx } = recordingContext();
  const sql = <T = Record<string, unknown>>(q: string) => stack!.sql<T>(q);
  const values = async () => (await sql<{ v: number }>('SELECT v FROM t ORDER BY v')).map((r) => r.v);
  const repo = () => join(stack!.infraDir, 'backups');
  // The engine is shared with other suites (and other runs' drills): compare this stack's containers and its drills'.
  const ourDrills = () => ({ label: [DRILL_LABEL, `${DRILL_PROJECT_LABEL}=${stack!.projectName}`] });
  const world = async () => {
    const project = { label: [`com.docker.compose.project=${stack!.projectName}`] };
    const drill = ourDrills();
    return {
      containers: [
        ...(await docker.listContainers({ all: true, filters: project })),
        ...(await docker.listContainers({ all: true, filters: drill })),
      ]
        .map((c) => `${c.Id} ${c.State}`)
        .sort(),
      volumes: [
        ...((await docker.listVolumes({ filters: project })).Volumes ?? []),
        ...((await docker.listVolumes({ filters: drill })).Volumes ?? []),
      ]
        .map((v) => v.Name)
        .sort(),
    };
  };
  const noDrillLeft = async () => {
    assert.equal((await docker.listContainers({ all: true, filters: ourDrills() })).length, 0, 'no container');
    assert.equal(((await docker.listVolumes({ filters: ourDrills() })).Volumes ?? []).length, 0, 'no volume');
  };

  before(async function () {
    requirePart(this, dockerAvailable(), 'docker', dockerInstallHint);
    requirePart(this, composeAvailable(), 'docker compose', composeInstallHint);
    requirePart(this, debootstrapAvailable(), 'debootstrap', debootstrapInstallHint);
    stack = await startStack();
    docker = await connectEngine(resolveEngine(undefined, { DOCKER_HOST: stack.docker.host }));
    const id = await stack.containerId('timescaledb');
    target = {
      docker,
      containerId: id,
      project: stack.projectName,
      stanza: 'db',
      configPath: '/home/postgres/pgdata/backup/pgbackrest.conf',
      dataDir: '/home/postgres/pgdata/data',
      conn: { user: stack.env.POSTGRES_USER!, password: stack.env.POSTGRES_PASSWORD, database: stack.env.POSTGRES_DB },
      checks: [
        { name: 'rows.sql', sql: 'SELECT count(*) >= 2 AS enough FROM t;' },
        { name: 'no-rows.sql', sql: 'SELECT 1 FROM t WHERE v < 0;' },
      ],
    };
    await sql('CREATE TABLE t (v int PRIMARY KEY)');
    await sql('INSERT INTO t VALUES (1), (2)');
    // The sqlx history (sqlx's own table shape): one migration in the backup, a second applied after it.
    await sql(
      'CREATE TABLE _sqlx_migrations (version bigint PRIMARY KEY, description text NOT NULL, ' +
        'installed_on timestamptz NOT NULL DEFAULT now(), success boolean NOT NULL, checksum bytea NOT NULL, ' +
        'execution_time bigint NOT NULL)',
    );
    await sql("INSERT INTO _sqlx_migrations VALUES (20240101000000, 'create t', now(), true, '\\x00', 1)");
    // TimescaleDB is not in Debian: a stand-in extension whose catalog (version, timescaledb_information views
    // of a hypertable, a continuous aggregate and a job) the drill reads from the restored copy. Its files are
    // in the live container only: the scratch copy reads the restored catalog, which needs none.
    await stack.exec('timescaledb', ['sh', '-c', 'cat > "$0"', `${EXT}/timescaledb.control`], {
      user: 'root',
      input: "default_version = '2.10.3'\ncomment = 'test stand-in'\nrelocatable = false\nsuperuser = true\n",
    });
    await stack.exec('timescaledb', ['sh', '-c', 'cat > "$0"', `${EXT}/timescaledb--2.10.3.sql`], {
      user: 'root',
      input: TSDB_STANDIN,
    });
    await sql('CREATE DATABASE tsdb_drill');
    await stack.sql('CREATE EXTENSION timescaledb', { database: 'tsdb_drill' });
    await stack.sql('CREATE TABLE metrics (ts timestamptz, v float8)', { database: 'tsdb_drill' });
    await stack.sql(
      "CREATE VIEW metrics_hourly AS SELECT date_trunc('hour', ts) AS h, avg(v) FROM metrics GROUP BY 1",
      {
        database: 'tsdb_drill',
      },
    );
    await stack.exec('timescaledb', ['pgbackrest', '--stanza=db', '--type=full', '--log-level-console=warn', 'backup']);
    await sql('INSERT INTO t VALUES (3)');
    await sql("INSERT INTO _sqlx_migrations VALUES (20240102000000, 'add index', now(), true, '\\x00', 1)");
    const wal = (await sql<{ w: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS w'))[0]!.w;
    for (let i = 0; i < 240; i++) {
      const a = (await sql<{ w: string | null }>('SELECT last_archived_wal AS w FROM pg_stat_archiver'))[0];
      if (a?.w && a.w >= wal) break;
      await sleep(250);
    }
  });

  after(async () => {
    await stack?.stop();
  });

  it('drills the newest set (latest state): every check reported, RTO and recovery point; live, repository and engine untouched', async () => {
    const liveBefore = await values();
    const repoBefore = treeHashes(repo());
    const worldBefore = await world();
    const r = await runDrill(target, { kind: 'pgbackrest' }, ctx());
    // Every check passed but the user check that returns no row: the drill fails, naming it.
    assert.equal(r.passed, false, JSON.stringify(r, null, 2));
    assert.deepEqual(
      r.checks.filter((c) => c.status === 'failed').map((c) => c.name),
      ['check no-rows.sql'],
    );
    const names = r.checks.map((c) => c.name);
    for (const n of [
      'restore',
      'PostgreSQL starts and leaves recovery',
      'every database accepts a connection',
      'pg_amcheck (heap and B-tree, every database)',
      'check rows.sql',
      'TimescaleDB in tsdb_drill',
      'sqlx history',
    ])
      assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
    assert.match(
      r.checks.find((c) => c.name === 'TimescaleDB in tsdb_drill')!.message,
      /^version 2\.10\.3; 1 hypertables \(public\.metrics: 3 chunks\); 1 continuous aggregates; 1 jobs$/,
    );
    // Latest state: the migration applied after the backup came back with the archived WAL.
    assert.match(r.checks.find((c) => c.name === 'sqlx history')!.message, /20240102000000; the same as live$/);
    assert.equal(r.checks.find((c) => c.name === 'check no-rows.sql')?.status, 'failed', 'no row is a failure');
    assert.match(r.checks.find((c) => c.name === 'check no-rows.sql')!.message, /no row/);
    assert.deepEqual(
      r.phases.map((p) => p.name),
      ['prepare', 'restore', 'replay and start', 'checks'],
    );
    assert.ok(r.rtoMs > 0);
    assert.equal(r.recoveryPointFrom, 'last replayed commit');
    assert.ok(r.recoveryPoint && !Number.isNaN(Date.parse(r.recoveryPoint)));
    assert.ok(lines.some((l) => l.includes('--network none') && l.includes('readonly')));
    // The scratch server's replay memory: raised from this machine's memory (it has GBs free), said, and passed.
    assert.ok(
      lines.some((l) => /^replay memory: shared_buffers \d+ MB for the scratch server's replay/.test(l)),
      lines.filter((l) => l.startsWith('replay memory')).join('\n') || 'no replay memory line',
    );
    assert.ok(lines.some((l) => /^\$ pg_ctl .* -c shared_buffers=\d+MB/.test(l)));
    // Nothing else changed.
    assert.deepEqual(await values(), liveBefore);
    assert.deepEqual(treeHashes(repo()), repoBefore, 'every repository file has the same hash');
    assert.deepEqual(await world(), worldBefore, 'the same containers and volumes');
    // The report files.
    const files = await writeDrillReport(join(stack!.infraDir, 'backups', 'drills'), r);
    assert.match(readFileSync(files.markdown, 'utf8'), /# Restore drill FAILED: pgbackrest .* \(latest state\)/);
    const back = await readDrillReports(join(stack!.infraDir, 'backups', 'drills'));
    assert.equal(back[0]?.sourceKey, 'pgbackrest:db');
  });

  it('passes when every check passes', async () => {
    const r = await runDrill({ ...target, checks: [target.checks![0]!] }, { kind: 'pgbackrest', target: 'set' }, ctx());
    assert.equal(r.passed, true, JSON.stringify(r.checks));
    assert.equal(r.target, 'set');
    // Exactly the set: it predates the migration applied after it.
    assert.equal(
      r.checks.find((c) => c.name === 'sqlx history')?.message,
      'newest applied migration in the backup: 20240101000000; it predates 1 applied live: 20240102000000 add index',
    );
    await noDrillLeft();
    // The later drills (a pg_dumpall script restored into a fresh cluster) need no stand-in extension.
    await sql('DROP DATABASE tsdb_drill');
    await stack!.exec('timescaledb', ['rm', '-f', `${EXT}/timescaledb.control`, `${EXT}/timescaledb--2.10.3.sql`], {
      user: 'root',
    });
  });

  it('two drills at once on one stack: the second is refused with a message', async () => {
    const results = await Promise.allSettled([
      runDrill(target, { kind: 'pgbackrest' }, ctx()),
      runDrill(target, { kind: 'pgbackrest' }, ctx()),
    ]);
    const refused = results.filter((x) => x.status === 'rejected');
    assert.equal(refused.length, 1);
    const e = (refused[0] as PromiseRejectedResult).reason as Error;
    assert.ok(e instanceof DrillRefusedError);
    assert.match(e.message, /already running/);
    await noDrillLeft();
  });

  it('not enough disk on the engine: refused before the restore, with the numbers', async () => {
    const e = await runDrill({ ...target, reserveBytes: 2 ** 60 }, { kind: 'pgbackrest' }, ctx()).then(
      () => undefined,
      (x: unknown) => x,
    );
    assert.ok(e instanceof DrillRefusedError, String(e));
    assert.match(e.message, /Not enough disk on the Docker engine .* needs about \d+ MB .* \d+ MB are free/);
    await noDrillLeft();
  });

  it('a cancel midway removes the scratch container and volume', async () => {
    const ac = new AbortController();
    const e = await runDrill(
      target,
      { kind: 'pgbackrest' },
      ctx(ac.signal, (l) => {
        if (/restore command begin/.test(l)) ac.abort();
      }),
    ).then(
      () => undefined,
      (x: unknown) => x,
    );
    assert.ok(e, 'the cancel ends the drill with an error');
    await noDrillLeft();
  });

  it('a drill of another process refuses a second one; killed, it leaves a scratch container that the next sweep removes', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'drill-crash-child.ts')], {
      env: {
        ...process.env,
        DOCKER_HOST: stack!.docker.host,
        CONTAINER: target.containerId,
        PROJECT: target.project,
        PGUSER_: stack!.env.POSTGRES_USER,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the child never reached the restore:\n${out}`)), 120_000);
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (/restore command begin/.test(out)) {
          clearTimeout(timer);
          child.kill('SIGSTOP'); // alive, frozen midway: its drill container stays
          resolve();
        }
      });
      child.on('exit', () => reject(new Error(`the child ended before the restore began:\n${out}`)));
    });
    // Another process (window) runs a drill of this stack: this one is refused, naming that process.
    const e = await runDrill(target, { kind: 'pgbackrest' }, ctx()).then(
      () => undefined,
      (x: unknown) => x,
    );
    assert.ok(e instanceof DrillRefusedError, String(e));
    assert.match(e.message, new RegExp(`already running \\(container [0-9a-f]{12}, .* by process ${child.pid} on `));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const left = await docker.listContainers({ all: true, filters: ourDrills() });
    assert.equal(left.length, 1, 'left behind');
    const swept = await sweepDrills(docker);
    assert.ok(swept.containers.includes(left[0]!.Id), 'the killed drill’s container is swept');
    await noDrillLeft();
    // The live database is untouched.
    assert.deepEqual(await values(), [1, 2, 3]);
  });

  it('a damaged repository file fails the drill naming it; live, repository and engine as before', async () => {
    const info = JSON.parse(
      (await stack!.exec('timescaledb', ['pgbackrest', '--stanza=db', '--output=json', 'info'])).stdout,
    ) as { backup: { label: string }[] }[];
    const label = info[0]!.backup.at(-1)!.label;
    const setDir = join(repo(), 'backup', 'db', label, 'pg_data');
    // The biggest file of the set: flip bytes in its middle.
    const files = Object.keys(treeHashes(setDir)).map((p) => join(setDir, p));
    const victim = files.sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
    const original = readFileSync(victim);
    const damaged = Buffer.from(original);
    for (let i = 0; i < 16; i++) {
      const k = Math.floor(damaged.length / 2) + i;
      damaged[k] = damaged[k]! ^ 0xff;
    }
    writeFileSync(victim, damaged);
    try {
      const liveBefore = await values();
      const repoBefore = treeHashes(repo());
      const worldBefore = await world();
      const r = await runDrill(target, { kind: 'pgbackrest', set: label }, ctx());
      assert.equal(r.passed, false);
      const restore = r.checks.find((c) => c.name === 'restore');
      assert.equal(restore?.status, 'failed', JSON.stringify(r.checks));
      const rel = victim.slice(setDir.length + 1).replace(/\.(gz|lz4|zst|bz2)$/, '');
      assert.ok(restore!.message.includes(rel), `the message names ${rel}: ${restore!.message}`);
      assert.match(restore!.message, /ERROR: \[\d{3}\]/);
      assert.deepEqual(await values(), liveBefore);
      assert.deepEqual(treeHashes(repo()), repoBefore, 'every repository file has the same hash');
      assert.deepEqual(await world(), worldBefore, 'the same containers and volumes');
    } finally {
      writeFileSync(victim, original);
    }
  });

  it('drills from a chosen repository (repo: 2 → --repo=2); an unreachable object-store repository is refused before anything is created', async () => {
    const confFile = join(stack!.infraDir, 'pgbackrest.conf');
    const original = readFileSync(confFile, 'utf8');
    const withRepo2 = original.replace(
      '[global]\n',
      '[global]\nrepo2-path=/var/lib/pgbackrest/repo2\nrepo2-retention-full=1\n',
    );
    const pgb = (args: string[]) =>
      stack!.exec('timescaledb', ['pgbackrest', '--stanza=db', '--log-level-console=warn', ...args]);
    writeFileSync(confFile, withRepo2); // the bind mount sees the change (same file, rewritten in place)
    try {
      await pgb(['stanza-create']);
      await pgb(['--repo=2', '--type=full', 'backup']);
      const before = lines.length;
      const r = await runDrill({ ...target, checks: [] }, { kind: 'pgbackrest', repo: 2 }, ctx());
      const mine = lines.slice(before);
      assert.equal(r.passed, true, JSON.stringify(r.checks));
      assert.equal(r.sourceKey, 'pgbackrest:db:repo2');
      assert.match(r.source, / from repo2 /);
      assert.ok(
        mine.some((l) => l.includes('--repo=2') && l.includes('restore')),
        'the restore names --repo=2',
      );
      assert.ok(
        mine.some((l) => /repo2: restore backup set/.test(l)),
        'pgBackRest restored from repo2',
      );
      // This stack's drills only: other sessions share the engine.
      const ours = { label: [`${DRILL_PROJECT_LABEL}=${stack!.projectName}`] };
      assert.equal((await docker.listContainers({ all: true, filters: ours })).length, 0, 'no drill container left');
      // repo2 as an object store nothing listens for: refused with pgBackRest's reason, nothing created.
      // (A drill from a reachable object store: drill-object-store.test.ts.)
      const secret = 'azure-key-never-in-a-line';
      writeFileSync(
        confFile,
        original.replace(
          '[global]\n',
          `[global]\nio-timeout=1\nrepo2-type=azure\nrepo2-azure-account=a\nrepo2-azure-key=${secret}\nrepo2-azure-container=c\n` +
            'repo2-azure-host=127.0.0.1\nrepo2-storage-port=1\nrepo2-storage-verify-tls=n\nrepo2-path=/repo\n',
        ),
      );
      const ourDrills = async () =>
        [
          ...(await docker.listContainers({ all: true, filters: ours })).map((c) => c.Id),
          ...((await docker.listVolumes({ filters: ours })).Volumes ?? []).map((v) => v.Name),
        ].length;
      const from = lines.length;
      await assert.rejects(
        runDrill(target, { kind: 'pgbackrest', repo: 2 }, ctx()),
        (e: unknown) =>
          e instanceof DrillRefusedError && /not restorable/.test(e.message) && !e.message.includes(secret),
      );
      assert.equal(await ourDrills(), 0, 'nothing created');
      assert.ok(!lines.slice(from).some((l) => l.includes(secret)), 'the key is in no output line');
    } finally {
      writeFileSync(confFile, original);
      // The newest archived file is the repo2 backup's history file: archive one more segment, as the suite began.
      await sql('CREATE TABLE IF NOT EXISTS repo2_drill_mark AS SELECT 1 AS v');
      const wal = (await sql<{ w: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS w'))[0]!.w;
      for (let i = 0; i < 240; i++) {
        const a = (await sql<{ w: string | null }>('SELECT last_archived_wal AS w FROM pg_stat_archiver'))[0];
        if (a?.w && /^[0-9A-F]{24}$/.test(a.w) && a.w >= wal) break;
        await sleep(250);
      }
    }
  });

  it('drills a pg_dump file and a pg_dumpall script in a new cluster of the scratch container', async () => {
    const MB = '/var/lib/pgbackrest/manual_backup';
    const user = stack!.env.POSTGRES_USER!;
    await stack!.exec('timescaledb', ['mkdir', '-p', MB]);
    await stack!.exec('timescaledb', [
      'pg_dump',
      '-h',
      '/var/run/postgresql',
      '-U',
      user,
      '-F',
      't',
      '-f',
      `${MB}/connect_db_pg_dump_20261124_201500.tar`,
      'connect_db',
    ]);
    await stack!.exec('timescaledb', [
      'pg_dumpall',
      '-h',
      '/var/run/postgresql',
      '-U',
      user,
      '-f',
      `${MB}/all_dbs_pg_dumpall_20261124_201512.sql`,
    ]);
    const dump = await runDrill(
      { ...target, checks: [target.checks![0]!] },
      { kind: 'dump', file: `${MB}/connect_db_pg_dump_20261124_201500.tar` },
      ctx(),
    );
    assert.equal(dump.passed, true, JSON.stringify(dump.checks));
    assert.equal(dump.checks.find((c) => c.name === 'check rows.sql')?.status, 'passed');
    assert.equal(dump.recoveryPointFrom, 'backup stop time');
    const all = await runDrill(
      { ...target, checks: [target.checks![0]!] },
      { kind: 'dumpAll', file: `${MB}/all_dbs_pg_dumpall_20261124_201512.sql` },
      ctx(),
    );
    assert.equal(all.passed, true, JSON.stringify(all.checks));
    assert.match(all.checks.find((c) => c.name === 'every database accepts a connection')!.message, /connect_db/);
    await noDrillLeft();
  });

  it('pg_stat_archiver: the newest archived WAL, then failing archiving seen, then healthy again', async () => {
    const rt = new ContainerRuntime(docker, target.containerId, 'container timescaledb');
    const conn = { user: stack!.env.POSTGRES_USER!, database: stack!.env.POSTGRES_DB };
    const ok = await readArchiverStatus(rt, conn);
    assert.equal(ok.failing, false);
    assert.match(ok.lastArchivedWal ?? '', /^[0-9A-F]{24}$/);
    await sql("ALTER SYSTEM SET archive_command = 'false'");
    await sql('SELECT pg_reload_conf()');
    try {
      await sql('INSERT INTO t VALUES (100)');
      await sql('SELECT pg_switch_wal()');
      let a = await readArchiverStatus(rt, conn);
      for (let i = 0; i < 120 && !a.failing; i++) {
        await sleep(500);
        a = await readArchiverStatus(rt, conn);
      }
      assert.equal(a.failing, true, JSON.stringify(a));
      assert.ok(a.failedCount > 0 && a.lastFailedWal);
      assert.match(describeArchiver(a), /WAL archiving is FAILING/);
    } finally {
      await sql('ALTER SYSTEM RESET archive_command');
      await sql('SELECT pg_reload_conf()');
    }
    let b = await readArchiverStatus(rt, conn);
    for (let i = 0; i < 240 && b.failing; i++) {
      await sleep(500);
      b = await readArchiverStatus(rt, conn);
    }
    assert.equal(b.failing, false, 'archiving works again');
  });
});
