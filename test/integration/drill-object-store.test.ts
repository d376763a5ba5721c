/**
 * A restore drill from an object-store repository, for real: azurite (Azure's storage emulator) over TLS with a
 * self-signed certificate, bound to the gateway address of the fixture stack's compose network on this host (the
 * private engine's containers reach the host there; they cannot reach its 127.0.0.1), is repo2 of the stack's
 * pgBackRest (`repo2-type=azure`, `repo2-storage-verify-tls=n`, encrypted with a cipher pass). A full backup to
 * repo2 from the stack container, then `runDrill` with `repo: 2`: the scratch container, on a bridge network of
 * the drill's own, restores from azurite, replays the archived WAL and passes its checks.
 *
 * Proven: the drill passes and its report names repo2 and the network (and that it reaches more than the
 * endpoint); this stack's containers, volumes and networks and its drills' are exactly as before afterwards;
 * the repository key and cipher pass are in no argv the drill gives the engine (every exec and the scratch
 * container's create request recorded), in no output line and not in the report; an abandoned drill network
 * (its owner process gone) is removed by the next sweep. Not proven: a network restricted to the endpoint (the
 * engine offers none, see README "Repositories"); s3, gcs and sftp repositories (same code path, other type).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { connectEngine, resolveEngine } from '../../src/core/docker/engine-address';
import {
  DRILL_HOST_LABEL,
  DRILL_LABEL,
  DRILL_PID_LABEL,
  DRILL_PROJECT_LABEL,
  drillMarkdown,
  runDrill,
  sweepDrills,
  type DrillTarget,
} from '../../src/core/backups/drill';
import { debootstrapAvailable, debootstrapInstallHint } from '../support/image';
import { dockerAvailable, dockerInstallHint } from '../support/docker';
import { opensslAvailable, opensslInstallHint, startAzurite, type Azurite } from '../support/azurite';
import { requirePart } from '../support/requirements';
import { composeAvailable, composeInstallHint, startStack, type Stack } from '../support/stack';
import { recordingContext } from '../support/restore-context';
import { sleep } from '../support/proc';

const CIPHER_PASS = 'drill-cipher-Pw-5Kx9-never-shown';

/** The engine client with every exec's argv and every container create request recorded. */
function recordingDocker(docker: Dockerode, seen: string[]): Dockerode {
  return new Proxy(docker, {
    get(target, prop, receiver) {
      if (prop === 'getContainer')
        return (id: string) => {
          const c = target.getContainer(id);
          return new Proxy(c, {
            get(ct, p, r) {
              if (p === 'exec')
                return (opts: Dockerode.ExecCreateOptions) => {
                  seen.push(JSON.stringify(opts));
                  return ct.exec(opts);
                };
              const v = Reflect.get(ct, p, r) as unknown;
              return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(ct) : v;
            },
          });
        };
      if (prop === 'createContainer')
        return (opts: Dockerode.ContainerCreateOptions) => {
          seen.push(JSON.stringify(opts));
          return target.createContainer(opts);
        };
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe('restore drill from an object-store repository (azurite over TLS)', function () {
  this.timeout(600_000);
  let stack: Stack | undefined;
  let azurite: Azurite | undefined;
  let docker: Dockerode;
  let target: DrillTarget;
  const seen: string[] = [];
  const { lines, ctx } = recordingContext();
  const sql = <T = Record<string, unknown>>(q: string) => stack!.sql<T>(q);
  // The engine is shared with other sessions (their drills come and go): this stack's resources and its drills'.
  const world = async () => {
    const project = { label: [`com.docker.compose.project=${stack!.projectName}`] };
    const drill = { label: [`${DRILL_PROJECT_LABEL}=${stack!.projectName}`] };
    const both = async <T>(f: (filters: { label: string[] }) => Promise<T[]>) => [
      ...(await f(project)),
      ...(await f(drill)),
    ];
    return {
      containers: (await both((filters) => docker.listContainers({ all: true, filters })))
        .map((c) => `${c.Id} ${c.State}`)
        .sort(),
      volumes: (await both(async (filters) => (await docker.listVolumes({ filters })).Volumes ?? []))
        .map((v) => v.Name)
        .sort(),
      networks: (await both((filters) => docker.listNetworks({ filters }))).map((n) => `${n.Id} ${n.Name}`).sort(),
    };
  };

  before(async function () {
    requirePart(this, dockerAvailable(), 'docker', dockerInstallHint);
    requirePart(this, composeAvailable(), 'docker compose', composeInstallHint);
    requirePart(this, debootstrapAvailable(), 'debootstrap', debootstrapInstallHint);
    requirePart(this, opensslAvailable(), 'openssl', opensslInstallHint);
    stack = await startStack();
    const engine = await connectEngine(resolveEngine(undefined, { DOCKER_HOST: stack.docker.host }));
    const id = await stack.containerId('timescaledb');
    const nets = Object.values((await engine.getContainer(id).inspect()).NetworkSettings.Networks ?? {});
    const gateway = nets.map((n) => n.Gateway).find(Boolean);
    assert.ok(gateway, `the stack container has a bridge network with a gateway: ${JSON.stringify(nets)}`);
    // The gateway is this host's address on the compose bridge: reachable from every bridge network of the engine.
    azurite = await startAzurite({ host: gateway });
    await azurite.createContainer('pgbr');
    docker = recordingDocker(engine, seen);
    const confFile = join(stack.infraDir, 'pgbackrest.conf');
    writeFileSync(
      confFile, // the bind mount sees the change (same file, rewritten in place)
      readFileSync(confFile, 'utf8').replace(
        '[global]\n',
        [
          '[global]',
          'io-timeout=5',
          'repo2-type=azure',
          `repo2-azure-account=${azurite.account}`,
          `repo2-azure-key=${azurite.key}`,
          'repo2-azure-container=pgbr',
          `repo2-azure-host=${azurite.host}`,
          'repo2-azure-uri-style=path',
          `repo2-storage-port=${azurite.port}`,
          'repo2-storage-verify-tls=n',
          'repo2-path=/repo',
          'repo2-retention-full=1',
          'repo2-cipher-type=aes-256-cbc',
          `repo2-cipher-pass=${CIPHER_PASS}`,
          '',
        ].join('\n'),
      ),
    );
    target = {
      docker,
      containerId: id,
      project: stack.projectName,
      stanza: 'db',
      configPath: '/home/postgres/pgdata/backup/pgbackrest.conf',
      dataDir: '/home/postgres/pgdata/data',
      conn: { user: stack.env.POSTGRES_USER!, password: stack.env.POSTGRES_PASSWORD, database: stack.env.POSTGRES_DB },
      checks: [{ name: 'rows.sql', sql: 'SELECT count(*) = 3 AS all_rows FROM t;' }],
    };
    const pgb = (args: string[]) =>
      stack!.exec('timescaledb', ['pgbackrest', '--stanza=db', '--log-level-console=warn', ...args]);
    await sql('CREATE TABLE t (v int PRIMARY KEY)');
    await sql('INSERT INTO t VALUES (1), (2)');
    await pgb(['stanza-create']);
    await pgb(['--repo=2', '--type=full', 'backup']);
    // A row after the backup: the drill's latest state has it only if WAL from repo2 was replayed.
    await sql('INSERT INTO t VALUES (3)');
    const wal = (await sql<{ w: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS w'))[0]!.w;
    for (let i = 0; i < 240; i++) {
      const a = (await sql<{ w: string | null }>('SELECT last_archived_wal AS w FROM pg_stat_archiver'))[0];
      if (a?.w && /^[0-9A-F]{24}$/.test(a.w) && a.w >= wal) break;
      await sleep(250);
    }
  });

  after(async () => {
    await stack?.stop();
    await azurite?.close();
  });

  it('drills repo2 (azure) through a network of its own: passes, names repo2, leaves nothing, shows no secret', async () => {
    const before = await world();
    const from = lines.length;
    seen.length = 0;
    const r = await runDrill(target, { kind: 'pgbackrest', repo: 2 }, ctx());
    const mine = lines.slice(from);
    assert.equal(r.passed, true, `${JSON.stringify(r.checks)}\n${mine.join('\n')}`);
    assert.equal(r.sourceKey, 'pgbackrest:db:repo2');
    assert.match(r.source, / from repo2 /);
    assert.ok(
      mine.some((l) => /repo2: restore backup set/.test(l)),
      'pgBackRest restored from repo2',
    );
    assert.deepEqual(
      r.checks.find((c) => c.name === 'check rows.sql')?.status,
      'passed',
      'the row written after the backup is there',
    );
    assert.match(r.network ?? '', new RegExp(`azure endpoint ${azurite!.host}:${azurite!.port}`));
    assert.match(r.network ?? '', /not only the endpoint/);
    assert.match(drillMarkdown(r), /- Scratch container network: .*not only the endpoint/);
    assert.ok(
      mine.some((l) => /^\$ docker network create --driver bridge tsdbops-drill-/.test(l)),
      'the network is created',
    );
    assert.ok(
      mine.some((l) => /^\$ docker network rm tsdbops-drill-/.test(l)),
      'and removed',
    );
    assert.deepEqual(await world(), before, 'containers, volumes and networks as before');
    const ours = { label: [`${DRILL_PROJECT_LABEL}=${stack!.projectName}`] };
    assert.equal((await docker.listNetworks({ filters: ours })).length, 0, 'no drill network left');
    // Secrets: through the config file on stdin only.
    assert.ok(seen.length > 5, 'the drill execs were recorded');
    assert.ok(
      seen.some((s) => s.includes('"NetworkMode":"tsdbops-drill-')),
      'the scratch container was created on the drill network',
    );
    for (const secret of [azurite!.key, CIPHER_PASS]) {
      assert.ok(!seen.some((s) => s.includes(secret)), 'no secret in an exec argv or the create request');
      assert.ok(!mine.some((l) => l.includes(secret)), 'no secret in an output line');
      assert.ok(!JSON.stringify(r).includes(secret), 'no secret in the report');
    }
  });

  it('an abandoned drill network (its owner process gone) is removed by the next sweep', async () => {
    const name = `tsdbops-drill-${stack!.projectName}-abandoned`;
    await docker.createNetwork({
      Name: name,
      Driver: 'bridge',
      Labels: {
        [DRILL_LABEL]: '1',
        [DRILL_PROJECT_LABEL]: stack!.projectName,
        [DRILL_HOST_LABEL]: hostname(),
        [DRILL_PID_LABEL]: '2147483646', // no such process
      },
    });
    const swept = await sweepDrills(docker);
    assert.ok(swept.networks.includes(name), JSON.stringify(swept));
    assert.equal((await docker.listNetworks({ filters: { name: [name] } })).length, 0, 'the network is gone');
  });
});
