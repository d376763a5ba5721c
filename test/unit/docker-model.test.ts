/**
 * The stack model from compose services + the Engine's container answers (list and inspect shapes
 * as the Engine sends them), the compose CLI's argv, the clean start's folders and profiles.
 */
import { strict as assert } from 'node:assert';
import { formatDuration } from '../../src/core/format';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { parseCompose } from '../../src/core/infra/compose';
import { readStack } from '../../src/core/infra/discovery';
import {
  buildStackModel,
  describeState,
  exitCodeFromStatus,
  formatPort,
  healthFromStatus,
  serviceResult,
  snapshotFromEngine,
  uptime,
} from '../../src/core/docker/model';
import { composeArgv, composeEnv, projectArgs } from '../../src/core/docker/compose-cli';
import { defaultProfile, foldersToCreate, profileArgs } from '../../src/core/stack/clean-start';
import { demuxBuffer } from '../../src/core/docker/logs';
import { tempTree } from './helpers';

const COMPOSE = `services:
  timescaledb:
    image: tsdb/ha:pg15
    ports:
      - "127.0.0.1:5432:5432"
    healthcheck:
      test: ["CMD", "pg_isready"]
  ofelia:
    image: mcuadros/ofelia:988d988
    profiles: ["full"]
  worker:
    image: busybox
`;

const services = () => parseCompose(COMPOSE, '/infra/docker-compose.yaml', {}).model!.services;

function listed(over: Partial<Dockerode.ContainerInfo> & { service: string }): Dockerode.ContainerInfo {
  return {
    Id: `${over.service}-id-0123456789abcdef`,
    Names: [`/proj_${over.service}_1`],
    Image: 'img',
    ImageID: 'sha256:x',
    Command: '',
    Created: 1_700_000_000,
    Ports: [],
    Labels: { 'com.docker.compose.project': 'proj', 'com.docker.compose.service': over.service },
    State: 'running',
    Status: 'Up 2 minutes',
    HostConfig: { NetworkMode: 'proj_default' },
    NetworkSettings: { Networks: {} },
    Mounts: [],
    ...over,
  } as Dockerode.ContainerInfo;
}

function inspected(
  state: Partial<Dockerode.ContainerInspectInfo['State']>,
  image = 'tsdb/ha:pg15',
): Dockerode.ContainerInspectInfo {
  return {
    State: {
      Status: 'running',
      Running: true,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: 1,
      ExitCode: 0,
      Error: '',
      StartedAt: '2026-11-24T10:00:00.000000000Z',
      FinishedAt: '0001-01-01T00:00:00Z',
      ...state,
    },
    Config: { Image: image, Tty: false },
    RestartCount: 0,
    Created: '2026-11-24T09:59:00Z',
    Name: '/x',
  } as unknown as Dockerode.ContainerInspectInfo;
}

describe('docker model', () => {
  it('reads health and exit codes from the Engine’s status text', () => {
    assert.equal(healthFromStatus('Up 2 minutes (healthy)'), 'healthy');
    assert.equal(healthFromStatus('Up 5 seconds (health: starting)'), 'starting');
    assert.equal(healthFromStatus('Up 1 hour (unhealthy)'), 'unhealthy');
    assert.equal(healthFromStatus('Up 1 hour'), undefined);
    assert.equal(exitCodeFromStatus('Exited (137) 5 seconds ago'), 137);
    assert.equal(exitCodeFromStatus('Up 2 minutes'), undefined);
  });

  it('lists every compose service: running healthy, exited with a code, and not created (profile)', () => {
    const db = snapshotFromEngine(
      listed({
        service: 'timescaledb',
        Status: 'Up 2 minutes (healthy)',
        Ports: [{ IP: '127.0.0.1', PrivatePort: 5432, PublicPort: 5432, Type: 'tcp' }],
      }),
      inspected({ Health: { Status: 'healthy', FailingStreak: 0, Log: [] } }),
    );
    const worker = snapshotFromEngine(
      listed({ service: 'worker', State: 'exited', Status: 'Exited (3) 1 minute ago' }),
      inspected({ Status: 'exited', Running: false, ExitCode: 3, FinishedAt: '2026-11-24T10:05:00Z' }, 'busybox'),
    );
    const m = buildStackModel({
      project: 'proj',
      services: services(),
      dbService: 'timescaledb',
      containers: [worker, db],
    });
    assert.deepEqual(
      m.services.map((s) => [s.service, describeState(s)]),
      [
        ['timescaledb', 'running · healthy'],
        ['ofelia', 'not created'],
        ['worker', 'exited (3)'],
      ],
    );
    assert.equal(m.database?.service, 'timescaledb');
    assert.equal(m.database?.containerName, 'proj_timescaledb_1');
    assert.deepEqual(m.database?.ports.map(formatPort), ['127.0.0.1:5432→5432/tcp']);
    const ofelia = m.services[1]!;
    assert.deepEqual([ofelia.profiles, ofelia.image, ofelia.containers], [['full'], 'mcuadros/ofelia:988d988', 0]);
    assert.equal(m.services[2]!.exitCode, 3);
    assert.equal(m.services[2]!.finishedAt?.toISOString(), '2026-11-24T10:05:00.000Z');
  });

  it('knows restarting, paused, created and health starting/unhealthy; orphans come last', () => {
    const make = (service: string, state: Partial<Dockerode.ContainerInspectInfo['State']>) =>
      snapshotFromEngine(listed({ service, State: state.Status as string }), inspected(state));
    const m = buildStackModel({
      project: 'proj',
      services: services(),
      containers: [
        make('timescaledb', { Status: 'running', Health: { Status: 'unhealthy', FailingStreak: 3, Log: [] } }),
        make('ofelia', { Status: 'restarting', Restarting: true }),
        make('worker', { Status: 'paused', Paused: true }),
        make('old', { Status: 'created', Running: false }),
      ],
    });
    assert.deepEqual(
      m.services.map((s) => `${s.service}: ${describeState(s)}${s.inComposeFile ? '' : ' (orphan)'}`),
      ['timescaledb: running · unhealthy', 'ofelia: restarting', 'worker: paused', 'old: created (orphan)'],
    );
    const starting = buildStackModel({
      project: 'p',
      services: services(),
      containers: [
        make('timescaledb', { Status: 'running', Health: { Status: 'starting', FailingStreak: 0, Log: [] } }),
      ],
    });
    assert.equal(describeState(starting.services[0]!), 'running · health starting');
  });

  it('picks the running container of a service with several, and counts them', () => {
    const old = snapshotFromEngine(
      listed({ service: 'worker', Id: 'old', State: 'exited', Status: 'Exited (0) 1 hour ago', Created: 1 }),
    );
    const cur = snapshotFromEngine(listed({ service: 'worker', Id: 'cur', State: 'running', Created: 2 }));
    const m = buildStackModel({ project: 'p', services: services(), containers: [old, cur] });
    const w = m.services.find((s) => s.service === 'worker')!;
    assert.deepEqual([w.containerId, w.state, w.containers], ['cur', 'running', 2]);
  });

  it('formats uptime and durations; serviceResult is JSON-friendly', () => {
    assert.equal(formatDuration(42_000), '42 s');
    assert.equal(formatDuration(5 * 60_000), '5 min');
    assert.equal(formatDuration((3 * 60 + 12) * 60_000), '3 h 12 min');
    assert.equal(formatDuration(52 * 60 * 60_000), '2 days 4 h');
    const s = { state: 'running' as const, startedAt: new Date('2026-11-24T10:00:00Z') };
    assert.equal(uptime(s, new Date('2026-11-24T10:07:30Z')), '7 min');
    assert.equal(uptime({ state: 'exited', startedAt: s.startedAt }), undefined);
    const m = buildStackModel({ project: 'p', services: services(), containers: [] });
    const r = serviceResult(m.services[0]!);
    assert.deepEqual(JSON.parse(JSON.stringify(r)), {
      service: 'timescaledb',
      state: 'notCreated',
      description: 'not created',
      image: 'tsdb/ha:pg15',
      ports: ['127.0.0.1:5432→5432/tcp'],
      profiles: [],
      isDatabase: false,
      inComposeFile: true,
    });
  });
});

describe('compose CLI argv, profiles and clean start folders', () => {
  it('pins Compose to the stack: -f, --project-directory, --env-file, -p (v2 plugin and v1)', () => {
    const p = {
      composeFile: '/i/docker-compose.yaml',
      infraDir: '/i',
      envFile: '/i/.env',
      envFileExists: true,
      projectName: 'connect',
    };
    assert.deepEqual(
      composeArgv({ file: 'docker', prefix: ['compose'], version: 'x' }, p, ['--profile', 'full', 'up', '-d']),
      [
        'docker',
        'compose',
        '--ansi',
        'never',
        '-f',
        '/i/docker-compose.yaml',
        '--project-directory',
        '/i',
        '--env-file',
        '/i/.env',
        '-p',
        'connect',
        '--profile',
        'full',
        'up',
        '-d',
      ],
    );
    assert.deepEqual(
      composeArgv(
        { file: 'docker-compose', prefix: [], version: 'x' },
        { ...p, envFile: '/nope/.env', envFileExists: false },
        ['down'],
      ).slice(0, 1),
      ['docker-compose'],
    );
    assert.ok(!projectArgs({ ...p, envFile: '/nope/.env', envFileExists: false }).includes('--env-file'));
    assert.equal(composeEnv({ dockerHost: 'tcp://h:2375', env: { PATH: '/bin' } })['DOCKER_HOST'], 'tcp://h:2375');
    assert.equal(composeEnv({ env: { PATH: '/bin' } })['DOCKER_HOST'], undefined);
  });

  it('the default profile follows ONLY_DATABASE as the guide says (unset: every service)', async () => {
    const t = tempTree({ 'infra/docker-compose.yaml': COMPOSE, 'infra/.env': 'ONLY_DATABASE=TRUE\n' });
    try {
      const stack = await readStack(
        { workspaceFolder: t.root },
        join(t.root, 'infra'),
        join(t.root, 'infra', 'docker-compose.yaml'),
      );
      assert.equal(defaultProfile(stack), 'database');
      assert.equal(defaultProfile({ env: { ...stack.env, onlyDatabase: false } }), 'full');
      assert.equal(defaultProfile({ env: { ...stack.env, onlyDatabase: undefined } }), 'full');
      assert.deepEqual(profileArgs('full'), ['--profile', 'full']);
      assert.deepEqual(profileArgs('database'), []);
    } finally {
      t.dispose();
    }
  });

  it('clean start creates the missing bind-mount folders and the backup folders, not the mounted files', async () => {
    const compose = `services:
  timescaledb:
    image: timescale/timescaledb-ha:pg15
    volumes:
      - \${PG_DATA}:/home/postgres/pgdata
      - ./pgbackrest.conf:/home/postgres/pgdata/backup/pgbackrest.conf:ro
      - ./backups:/var/lib/pgbackrest
      - ./logs/pgbackrest:/var/log/pgbackrest
  ofelia:
    image: mcuadros/ofelia
    profiles: ["full"]
    volumes:
      - ./ofelia_logs:/tmp/logs
`;
    const t = tempTree({ 'docker-compose.yaml': compose, '.env': 'PG_DATA=./pgdata\n', 'pgbackrest.conf': '[db]\n' });
    try {
      const stack = await readStack({ workspaceFolder: t.root }, t.root, join(t.root, 'docker-compose.yaml'));
      const rel = foldersToCreate(stack)
        .map((d) => d.slice(t.root.length + 1))
        .sort();
      assert.deepEqual(rel, [
        'backups',
        'backups/backup',
        'backups/manual_backup',
        'logs/pgbackrest',
        'ofelia_logs',
        'pgdata',
      ]);
    } finally {
      t.dispose();
    }
  });

  it('demultiplexes a non-TTY log buffer into stdout and stderr', () => {
    const frame = (type: number, text: string) => {
      const body = Buffer.from(text);
      const h = Buffer.alloc(8);
      h[0] = type;
      h.writeUInt32BE(body.length, 4);
      return Buffer.concat([h, body]);
    };
    const got: string[] = [];
    demuxBuffer(Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err 1\n'), frame(1, 'out 2\n')]), (c, s) =>
      got.push(`${s}:${c.toString()}`),
    );
    assert.deepEqual(got, ['stdout:out 1\n', 'stderr:err 1\n', 'stdout:out 2\n']);
  });
});
