/**
 * Self-tests of the real test bench: the throwaway cluster, the private Docker engine, the test
 * images and the user's compose stack, driven with the infra guide's own commands.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pendingCleanups } from '../support/cleanup';
import {
  pgbackrestAvailable,
  pgbackrestInstallHint,
  postgresAvailable,
  postgresInstallHint,
  prepareCluster,
  startCluster,
  type Cluster,
} from '../support/cluster';
import { dockerAvailable, dockerInstallHint, ensureDocker, type DockerHandle } from '../support/docker';
import {
  debootstrapAvailable,
  debootstrapInstallHint,
  ensureTestImages,
  TIMESCALEDB_TEST_IMAGE,
} from '../support/image';
import { run, waitFor } from '../support/proc';
import { requirePart } from '../support/requirements';
import { composeAvailable, composeInstallHint, projectLeftovers, startStack, type Stack } from '../support/stack';

interface InfoBackup {
  label: string;
  type: string;
  prior: string | null;
}
interface InfoStanza {
  name: string;
  status: { code: number; message: string };
  backup: InfoBackup[];
}

/** pgBackRest's info JSON, with the uint64 system-id quoted first (it exceeds 2^53). */
function parseInfo(json: string): InfoStanza[] {
  return JSON.parse(json.replace(/"system-id":(\d+)/g, '"system-id":"$1"')) as InfoStanza[];
}

/** What every suite leaves behind, checked by the last suite. */
const started = {
  clusterDirs: [] as string[],
  stackDirs: [] as string[],
  projects: [] as { name: string; env: Record<string, string> }[],
};

describe('bench: throwaway PostgreSQL + pgBackRest cluster', function () {
  let cluster: Cluster | undefined;

  before(async function () {
    requirePart(this, postgresAvailable(), 'PostgreSQL 15 server', postgresInstallHint);
    requirePart(this, pgbackrestAvailable(), 'pgBackRest', pgbackrestInstallHint);
    await prepareCluster(); // one-time cache (initdb template), not part of a cluster's start
  });

  after(async function () {
    await cluster?.stop();
  });

  it('starts with a stanza and archiving on', async function () {
    const t0 = Date.now();
    cluster = await startCluster({ stanza: true });
    const ms = Date.now() - t0;
    started.clusterDirs.push(cluster.baseDir);
    console.log(`      cluster ready in ${ms} ms (port ${cluster.port})`);
    assert.equal(await cluster.psql('show archive_mode'), 'on');
  });

  it('takes a full then a diff backup, and info --output=json lists both', async function () {
    assert.ok(cluster);
    await cluster.psql('create table bench(id int primary key, note text)');
    await cluster.psql("insert into bench values (1, 'before full')");
    await cluster.pgbackrest(['--type=full', 'backup']);
    await cluster.psql("insert into bench values (2, 'before diff')");
    await cluster.pgbackrest(['--type=diff', 'backup']);
    const info = parseInfo((await cluster.pgbackrest(['info', '--output=json'])).stdout);
    const stanza = info.find((s) => s.name === cluster?.stanza);
    assert.ok(stanza, 'stanza listed');
    assert.equal(stanza.status.code, 0, stanza.status.message);
    assert.deepEqual(
      stanza.backup.map((b) => b.type),
      ['full', 'diff'],
    );
    assert.equal(stanza.backup[1]?.prior, stanza.backup[0]?.label);
    assert.ok(existsSync(join(cluster.logPath, 'db-backup.log')), 'pgBackRest log file written');
  });

  it('stop() removes everything', async function () {
    assert.ok(cluster);
    const dir = cluster.baseDir;
    await cluster.stop();
    assert.equal(existsSync(dir), false);
  });
});

describe('bench: the timescaledb-ha-shaped test image', function () {
  let docker: DockerHandle | undefined;
  let name = '';

  before(async function () {
    requirePart(this, dockerAvailable(), 'Docker engine', dockerInstallHint);
    requirePart(this, debootstrapAvailable(), 'debootstrap', debootstrapInstallHint);
    docker = await ensureDocker();
    const t0 = Date.now();
    await ensureTestImages();
    console.log(`      test images ready in ${Date.now() - t0} ms`);
  });

  after(async function () {
    if (docker && name) await run('docker', ['rm', '-f', '-v', name], { env: docker.env, reject: false });
    await docker?.stop();
  });

  it('is shaped like timescale/timescaledb-ha:pg15-ts2.10', async function () {
    assert.ok(docker);
    const r = await run(
      'docker',
      [
        'run',
        '--rm',
        '--entrypoint',
        'bash',
        TIMESCALEDB_TEST_IMAGE,
        '-c',
        'id -u; id -g; echo $PGDATA; echo $PGBACKREST_CONFIG; echo $PGBACKREST_STANZA; readlink /etc/pgbackrest.conf; ' +
          'stat -c %U /var/log/pgbackrest /var/lib/pgbackrest /var/spool/pgbackrest; command -v postgres pg_ctl pgbackrest; pgbackrest version',
      ],
      { env: docker.env },
    );
    assert.deepEqual(r.stdout.trim().split('\n'), [
      '1000',
      '1000',
      '/home/postgres/pgdata/data',
      '/home/postgres/pgdata/backup/pgbackrest.conf',
      'poddb',
      '/home/postgres/pgdata/backup/pgbackrest.conf',
      'postgres',
      'postgres',
      'postgres',
      '/usr/lib/postgresql/15/bin/postgres',
      '/usr/lib/postgresql/15/bin/pg_ctl',
      '/usr/bin/pgbackrest',
      'pgBackRest 2.45',
    ]);
  });

  it('its own entrypoint initialises from POSTGRES_* and runs PostgreSQL as PID 1 (stopping it ends the container)', async function () {
    assert.ok(docker);
    const env = docker.env;
    // The compose project label makes a killed run's container garbage for the next engine start.
    name = `tsdbops-img-${Date.now().toString(36)}`;
    await run(
      'docker',
      [
        'run',
        '-d',
        '--name',
        name,
        '--label',
        `com.docker.compose.project=${name}`,
        '-e',
        'POSTGRES_USER=admin1234',
        '-e',
        'POSTGRES_PASSWORD',
        '-e',
        'POSTGRES_DB=connect_db',
        TIMESCALEDB_TEST_IMAGE,
      ],
      { env: { ...env, POSTGRES_PASSWORD: 'image-test-password' } },
    );
    await waitFor(
      'the image to initialise and start',
      async () =>
        (await run('docker', ['exec', name, 'pg_isready', '-q', '-h', '/var/run/postgresql'], { env, reject: false }))
          .exitCode === 0
          ? true
          : undefined,
      60_000,
      250,
    );
    // After init the server is restarted for real; wait until the database answers queries.
    const q = await waitFor(
      'a query',
      async () => {
        const r = await run(
          'docker',
          [
            'exec',
            name,
            'psql',
            '-X',
            '-At',
            '-U',
            'admin1234',
            '-d',
            'connect_db',
            '-c',
            'select current_user, current_database()',
          ],
          { env, reject: false },
        );
        return r.exitCode === 0 ? r.stdout.trim() : undefined;
      },
      30_000,
      250,
    );
    assert.equal(q, 'admin1234|connect_db');
    const pid1 = await waitFor(
      'PostgreSQL as PID 1',
      async () => {
        const r = await run('docker', ['exec', name, 'cat', '/proc/1/cmdline'], { env });
        const cmd = r.stdout.replace(/\0/g, ' ').trim();
        return cmd.startsWith('postgres') ? cmd : undefined;
      },
      30_000,
      250,
    );
    assert.match(pid1, /^postgres\b/);
    await run('docker', ['exec', name, 'pg_ctl', 'stop', '-m', 'fast'], { env, reject: false });
    const running = await waitFor(
      'the container to exit',
      async () => {
        const r = await run('docker', ['inspect', '--format', '{{.State.Running}}', name], { env });
        return r.stdout.trim() === 'false' ? false : undefined;
      },
      30_000,
      250,
    );
    assert.equal(running, false);
  });
});

describe('bench: the infra compose stack (guide commands)', function () {
  let stack: Stack | undefined;
  let timescaleId = '';

  before(async function () {
    requirePart(this, dockerAvailable(), 'Docker engine', dockerInstallHint);
    requirePart(this, composeAvailable(), 'docker-compose', composeInstallHint);
    requirePart(this, debootstrapAvailable(), 'debootstrap', debootstrapInstallHint);
    const t0 = Date.now();
    stack = await startStack({ full: true });
    console.log(`      stack ${stack.projectName} up in ${Date.now() - t0} ms (port ${stack.port})`);
    started.stackDirs.push(stack.dir);
    started.projects.push({ name: stack.projectName, env: stack.dockerEnv });
    timescaleId = await stack.containerId('timescaledb');
  });

  after(async function () {
    await stack?.stop();
  });

  /** The guide's container lookup (`docker ps --filter ancestor=…`), for the test image and this project. */
  async function guideLookup(): Promise<string> {
    assert.ok(stack);
    const r = await run(
      'docker',
      [
        'ps',
        '--filter',
        `ancestor=${TIMESCALEDB_TEST_IMAGE}`,
        '--filter',
        `label=com.docker.compose.project=${stack.projectName}`,
        '--format',
        '{{.ID}}',
      ],
      { env: stack.dockerEnv },
    );
    const ids = r.stdout.split('\n').filter(Boolean);
    assert.equal(ids.length, 1, `one timescaledb container, got ${ids.join(',')}`);
    return ids[0] ?? '';
  }

  async function containerState(): Promise<{ running: boolean; startedAt: string; restarts: number }> {
    assert.ok(stack);
    const r = await run(
      'docker',
      ['inspect', '--format', '{{.State.Running}} {{.State.StartedAt}} {{.RestartCount}}', timescaleId],
      {
        env: stack.dockerEnv,
      },
    );
    const [running, startedAt, restarts] = r.stdout.trim().split(' ');
    return { running: running === 'true', startedAt: startedAt ?? '', restarts: Number(restarts) };
  }

  it('runs the database and the Ofelia stand-in, with Ofelia job labels in 6-field cron', async function () {
    assert.ok(stack);
    const ofeliaId = await stack.containerId('ofelia');
    assert.ok(ofeliaId);
    const labels = JSON.parse(
      (await run('docker', ['inspect', '--format', '{{json .Config.Labels}}', timescaleId], { env: stack.dockerEnv }))
        .stdout,
    ) as Record<string, string>;
    assert.equal(labels['ofelia.enabled'], 'true');
    const jobs = Object.entries(labels).filter(([k]) => /^ofelia\.job-exec\.[^.]+\.schedule$/.test(k));
    const schedules = Object.fromEntries(jobs.map(([k, v]) => [labels[k.replace(/schedule$/, 'command')] ?? '', v]));
    assert.equal(schedules['pgbackrest --stanza=db --type=full --log-level-stderr=info backup'], '0 0 0 * * *');
    assert.equal(schedules['pgbackrest --stanza=db --type=diff --log-level-stderr=info backup'], '0 */15 * * * *');
    const logs = await stack.compose(['logs', '--no-color', 'ofelia']);
    assert.match(logs.stdout, /ofelia stand-in started/);
    assert.ok(existsSync(join(stack.infraDir, 'ofelia_logs', 'ofelia-standin.log')), 'ofelia_logs mounted');
  });

  it('publishes PostgreSQL on 127.0.0.1 with the .env credentials', async function () {
    assert.ok(stack);
    const { Client } = await import('pg');
    const c = new Client(stack.connection);
    await c.connect();
    try {
      const r = await c.query<{ u: string; d: string; s: string }>(
        'select current_user as u, current_database() as d, current_setting($1) as s',
        ['archive_mode'],
      );
      assert.deepEqual(r.rows[0], { u: 'admin1234', d: 'connect_db', s: 'on' });
    } finally {
      await c.end();
    }
  });

  it('keeps a row across pg_ctl stop and start inside the container, the container staying up', async function () {
    assert.ok(stack);
    const { Client } = await import('pg');
    const c = new Client(stack.connection);
    await c.connect();
    await c.query('create table bench_survive(id int primary key, note text)');
    await c.query("insert into bench_survive values (1, 'written through the published port')");
    await c.end();
    const before = await containerState();
    // The guide's stop and status commands (lookup replaced, -it dropped: no TTY in tests).
    const id = await guideLookup();
    await run('docker', ['exec', id, 'pg_ctl', '-D', '/home/postgres/pgdata/data', 'stop'], { env: stack.dockerEnv });
    const status = await run('docker', ['exec', id, 'pg_ctl', '-D', '/home/postgres/pgdata/data', 'status'], {
      env: stack.dockerEnv,
      reject: false,
    });
    assert.equal(status.exitCode, 3);
    assert.match(status.stdout, /pg_ctl: no server running/);
    await new Promise((r) => setTimeout(r, 6000)); // longer than the entrypoint's idle loop tick
    const during = await containerState();
    assert.equal(during.running, true, 'container still running with PostgreSQL stopped');
    assert.equal(during.startedAt, before.startedAt, 'container was not restarted');
    assert.equal(during.restarts, before.restarts);
    await run('docker', ['exec', id, 'pg_ctl', '-D', '/home/postgres/pgdata/data', '-w', 'start'], {
      env: stack.dockerEnv,
    });
    await stack.waitForPostgres(30_000);
    const c2 = new Client(stack.connection);
    await c2.connect();
    try {
      const r = await c2.query<{ note: string }>('select note from bench_survive where id = 1');
      assert.equal(r.rows[0]?.note, 'written through the published port');
      assert.equal((await c2.query<{ s: string }>("select current_setting('archive_mode') as s")).rows[0]?.s, 'on');
    } finally {
      await c2.end();
    }
    assert.equal((await containerState()).startedAt, before.startedAt);
  });

  it("takes the guide's pgBackRest full and diff backups through docker exec", async function () {
    assert.ok(stack);
    const id = await guideLookup();
    // Verbatim from the guide, except the container lookup and `-it`.
    const full = await run(
      'docker',
      ['exec', id, 'pgbackrest', '--stanza=db', '--type=full', '--log-level-stderr=info', 'backup'],
      {
        env: stack.dockerEnv,
      },
    );
    assert.match(full.stderr + full.stdout, /backup command end: completed successfully/);
    const diff = await run(
      'docker',
      ['exec', id, 'pgbackrest', '--stanza=db', '--type=diff', '--log-level-stderr=info', 'backup'],
      {
        env: stack.dockerEnv,
      },
    );
    assert.match(diff.stderr + diff.stdout, /backup command end: completed successfully/);
    const info = parseInfo(
      (await stack.exec('timescaledb', ['pgbackrest', '--stanza=db', 'info', '--output=json'])).stdout,
    );
    const db = info.find((s) => s.name === 'db');
    assert.ok(db);
    assert.equal(db.status.code, 0, db.status.message);
    assert.deepEqual(
      db.backup.map((b) => b.type),
      ['full', 'diff'],
    );
    // On the host, where the guide says: repository in backups/backup/db, logs in logs/pgbackrest.
    const repo = join(stack.infraDir, 'backups', 'backup', 'db');
    assert.ok(existsSync(join(repo, 'backup.info')), 'backups/backup/db/backup.info');
    for (const b of db.backup) assert.ok(existsSync(join(repo, b.label)), `backup ${b.label} on the host`);
    assert.ok(existsSync(join(stack.infraDir, 'logs', 'pgbackrest', 'db-backup.log')), 'logs/pgbackrest/db-backup.log');
  });

  it("writes the guide's pg_dump into backups/manual_backup", async function () {
    assert.ok(stack);
    const id = await guideLookup();
    // The guide's command, verbatim inside `sh -c` (it runs in the container's shell).
    await run(
      'docker',
      [
        'exec',
        id,
        'sh',
        '-c',
        'pg_dump -U admin1234 -F t -d connect_db -f /var/lib/pgbackrest/manual_backup/connect_db_pg_dump_$(date "+%Y%m%d_%H%M%S").tar',
      ],
      { env: stack.dockerEnv },
    );
    const dir = join(stack.infraDir, 'backups', 'manual_backup');
    const dumps = readdirSync(dir).filter((f) => /^connect_db_pg_dump_\d{8}_\d{6}\.tar$/.test(f));
    assert.equal(dumps.length, 1, `dump files: ${readdirSync(dir).join(', ')}`);
    const file = join(dir, dumps[0] ?? '');
    assert.ok(statSync(file).size > 1024);
    assert.match(readFileSync(file).toString('latin1'), /bench_survive/);
  });

  it('clean_start.sh is safe to run a second time', async function () {
    assert.ok(stack);
    const r = await run('bash', [join(stack.infraDir, 'scripts', 'clean_start.sh')], {
      cwd: stack.infraDir,
      env: stack.dockerEnv,
    });
    assert.match(r.stdout, /clean_start: done/);
    assert.equal(await stack.containerId('timescaledb'), timescaleId, 'same container kept');
  });
});

describe('bench: nothing outlives the bench', function () {
  it('left no cluster dirs, stack dirs, containers, networks, volumes or postgres processes', async function () {
    for (const d of [...started.clusterDirs, ...started.stackDirs]) assert.equal(existsSync(d), false, `${d} removed`);
    for (const p of started.projects) {
      assert.deepEqual(await projectLeftovers(p.name, p.env), [], `project ${p.name}`);
    }
    for (const d of started.clusterDirs) {
      const pg = await run('pgrep', ['-a', '-f', d], { reject: false });
      assert.equal(pg.stdout.trim(), '', `no postgres of ${d}`);
    }
    assert.deepEqual(
      pendingCleanups().filter((n) => !n.startsWith('private dockerd')),
      [],
    );
  });
});
