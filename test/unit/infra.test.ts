import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import {
  discoverInfra,
  parseCompose,
  parseInfraEnv,
  interpolate,
  formatProblem,
  type StackConfig,
  normalizeProjectName,
} from '../../src/core/infra';
import { GUIDE_COMPOSE, GUIDE_ENV, tempTree } from './helpers';

async function found(opts: Parameters<typeof discoverInfra>[0]): Promise<StackConfig> {
  const d = await discoverInfra(opts);
  assert.equal(d.kind, 'found', `expected a stack, got ${JSON.stringify(d)}`);
  return (d as { stack: StackConfig }).stack;
}

describe('infra discovery on the guide layout (connect/infra)', () => {
  let tree: ReturnType<typeof tempTree>;
  before(() => {
    tree = tempTree({
      'connect/infra/docker-compose.yaml': GUIDE_COMPOSE,
      'connect/infra/.env': GUIDE_ENV,
      'connect/infra/scripts/clean_start.sh': '#!/bin/sh\n',
      'connect/database/migrations/20240101000000_init.sql': 'SELECT 1;\n',
      'connect/src/main.rs': 'fn main() {}\n',
      'node_modules/pkg/docker-compose.yaml': 'services:\n  db:\n    image: postgres:16\n',
    });
  });
  after(() => tree.dispose());

  it('finds the infra folder, the database service and the project name', async () => {
    const stack = await found({ workspaceFolder: tree.root });
    assert.equal(stack.infraDir, join(tree.root, 'connect/infra'));
    assert.equal(stack.composeFile, join(tree.root, 'connect/infra/docker-compose.yaml'));
    assert.equal(stack.projectName, 'infra');
    assert.equal(stack.dbService?.name, 'timescaledb');
    assert.equal(stack.dbService?.image, 'timescale/timescaledb-ha:pg15-ts2.10');
    assert.deepEqual(stack.problems, []);
  });

  it('reads services, profiles, ports, volumes and labels with .env interpolation', async () => {
    const stack = await found({ workspaceFolder: tree.root });
    const [db, ofelia] = stack.compose!.services;
    assert.deepEqual(
      stack.compose!.services.map((s) => s.name),
      ['timescaledb', 'ofelia'],
    );
    assert.deepEqual(ofelia!.profiles, ['full']);
    assert.deepEqual(db!.ports, [{ hostIp: '127.0.0.1', published: 15432, target: 5432, protocol: 'tcp' }]);
    assert.deepEqual(
      db!.volumes.map((v) => [v.type, v.source, v.target]),
      [
        ['bind', join(tree.root, 'connect/infra/pgdata'), '/home/postgres/pgdata/data'],
        ['bind', join(tree.root, 'connect/infra/backups'), '/var/lib/pgbackrest'],
        ['bind', join(tree.root, 'connect/infra/logs/pgbackrest'), '/var/log/pgbackrest'],
        ['bind', join(tree.root, 'connect/infra/scripts'), '/scripts'],
      ],
    );
    assert.equal(db!.volumes[3]!.readOnly, true);
    assert.equal(db!.labels['ofelia.job-exec.diff-backup.schedule'], '0 */15 * * * *');
    assert.equal(db!.environment['POSTGRES_USER'], 'admin1234');
    assert.equal(db!.hasHealthcheck, true);
    assert.equal(db!.line, 2);
    assert.equal(ofelia!.line, 25);
  });

  it('reads the guide keys of .env with their types and keeps unknown keys', async () => {
    const { env } = await found({ workspaceFolder: tree.root });
    assert.equal(env.onlyDatabase, false);
    assert.equal(env.image, 'timescale/timescaledb-ha:pg15-ts2.10');
    assert.equal(env.user, 'admin1234');
    assert.equal(env.database, 'connect_db');
    assert.equal(env.port, 15432);
    assert.equal(env.raw['OFELIA_SLACK_WEBHOOK'], 'https://example.invalid/hook');
    assert.equal(env.lines['POSTGRES_DB'], 7);
  });

  it('derives the migrations, backups and log folders the guide names', async () => {
    const stack = await found({ workspaceFolder: tree.root });
    assert.equal(stack.migrationsDir, join(tree.root, 'connect/database/migrations'));
    assert.equal(stack.backupsDir, join(tree.root, 'connect/infra/backups'));
    assert.equal(stack.pgbackrestLogDir, join(tree.root, 'connect/infra/logs/pgbackrest'));
    assert.equal(stack.ofeliaLogDir, join(tree.root, 'connect/infra/ofelia_logs'));
  });

  it('honours tsdbOps.infraPath and tsdbOps.migrations.path', async () => {
    const stack = await found({
      workspaceFolder: tree.root,
      infraPath: 'connect/infra',
      migrationsPath: 'somewhere/else',
    });
    assert.equal(stack.infraDir, join(tree.root, 'connect/infra'));
    assert.equal(stack.migrationsDir, join(tree.root, 'somewhere/else'));
  });

  it('uses COMPOSE_PROJECT_NAME, then name:, then the folder for the project name', async () => {
    assert.equal(
      (await found({ workspaceFolder: tree.root, environment: { COMPOSE_PROJECT_NAME: 'My.Stack' } })).projectName,
      'mystack',
    );
    const model = parseCompose(
      'name: Connect_DB\nservices:\n  db:\n    image: postgres\n',
      '/x/infra/compose.yaml',
      {},
    ).model!;
    assert.equal(model.name, 'Connect_DB');
    assert.equal(normalizeProjectName('_Connect DB!'), 'connectdb');
  });

  it('the environment overrides .env, as in Compose', async () => {
    const stack = await found({ workspaceFolder: tree.root, environment: { POSTGRES_PORT: '25432' } });
    assert.equal(stack.dbService?.ports[0]?.published, 25432);
  });
});

describe('infra discovery: nothing to find', () => {
  it('reports none for a folder without a TimescaleDB/PostgreSQL compose file', async () => {
    const tree = tempTree({ 'web/docker-compose.yml': 'services:\n  web:\n    image: nginx\n', 'README.md': '# x\n' });
    try {
      const d = await discoverInfra({ workspaceFolder: tree.root });
      assert.equal(d.kind, 'none');
    } finally {
      tree.dispose();
    }
  });

  it('a wrong tsdbOps.infraPath names the setting, the folder and the fix', async () => {
    const tree = tempTree({ 'infra/README.md': 'x' });
    try {
      const d = await discoverInfra({ workspaceFolder: tree.root, infraPath: 'infra' });
      assert.equal(d.kind, 'invalid');
      assert.ok(d.kind === 'invalid');
      const p = d.problems[0]!;
      assert.match(p.message, /^tsdbOps\.infraPath is "infra", but .*\/infra holds no docker-compose\.yaml/);
      assert.match(p.fix!, /Point tsdbOps\.infraPath at the folder with docker-compose\.yaml/);
      const missing = await discoverInfra({ workspaceFolder: tree.root, infraPath: 'nope' });
      assert.ok(missing.kind === 'invalid');
      assert.match(missing.problems[0]!.message, /nope does not exist\.$/);
    } finally {
      tree.dispose();
    }
  });
});

describe('bad input gives a clear problem naming file, line or key and the fix', () => {
  it('broken YAML: file, line and column of the error', async () => {
    const broken = GUIDE_COMPOSE.replace(
      '    container_name: timescaledb\n',
      '    container_name: timescaledb\n   bad_indent: [\n',
    );
    const tree = tempTree({ 'infra/docker-compose.yaml': broken, 'infra/.env': GUIDE_ENV });
    try {
      const stack = await found({ workspaceFolder: tree.root });
      assert.equal(stack.compose, undefined);
      const p = stack.problems[0]!;
      assert.equal(p.file, join(tree.root, 'infra/docker-compose.yaml'));
      assert.equal(p.line, 5);
      assert.match(p.message, /^Invalid YAML: /);
      assert.match(formatProblem(p), /docker-compose\.yaml:5: Invalid YAML: .+ Fix the YAML at this line/);
    } finally {
      tree.dispose();
    }
  });

  it('unknown ONLY_DATABASE value: key, value, line and the allowed values', () => {
    const { env, problems } = parseInfraEnv('PG_DATA=./pgdata\nONLY_DATABASE=yes\n', '/w/infra/.env');
    assert.equal(env.onlyDatabase, undefined);
    assert.equal(env.pgData, './pgdata', 'the valid keys are kept');
    assert.equal(problems.length, 1);
    assert.deepEqual(
      { file: problems[0]!.file, line: problems[0]!.line, message: problems[0]!.message },
      { file: '/w/infra/.env', line: 2, message: 'ONLY_DATABASE="yes" must be TRUE or FALSE.' },
    );
    assert.match(problems[0]!.fix!, /ONLY_DATABASE=TRUE to start only the database/);
  });

  it('a bad port and a bad image name are named with their keys', () => {
    const { problems } = parseInfraEnv('POSTGRES_PORT=70000\nTIMESCALEDB_IMAGE=Timescale DB\n', '.env');
    assert.deepEqual(
      problems.map((p) => [p.line, p.message]),
      [
        [1, 'POSTGRES_PORT="70000" must be a port number (1-65535).'],
        [
          2,
          'TIMESCALEDB_IMAGE="Timescale DB" is not a Docker image reference such as timescale/timescaledb-ha:pg15-ts2.10.',
        ],
      ],
    );
  });

  it('missing .env: one problem on the compose file naming the variables and the file to create', async () => {
    const tree = tempTree({ 'infra/docker-compose.yaml': GUIDE_COMPOSE });
    try {
      const stack = await found({ workspaceFolder: tree.root });
      assert.equal(stack.envFileExists, false);
      assert.equal(stack.problems.length, 1);
      const p = stack.problems[0]!;
      assert.equal(p.file, join(tree.root, 'infra/docker-compose.yaml'));
      assert.equal(p.line, 3);
      assert.equal(
        p.message,
        'infra/.env not found: docker-compose.yaml uses ${TIMESCALEDB_IMAGE}, ${POSTGRES_USER}, ${POSTGRES_PASSWORD}, ' +
          '${POSTGRES_DB}, ${POSTGRES_PORT}, ${PG_DATA}, which Compose reads from it.',
      );
      assert.match(p.fix!, /^Create infra\/\.env with TIMESCALEDB_IMAGE=…, POSTGRES_USER=…/);
    } finally {
      tree.dispose();
    }
  });

  it('unset variable: the line that uses it, the variable and both ways to fix it', async () => {
    const tree = tempTree({
      'infra/docker-compose.yaml': GUIDE_COMPOSE,
      'infra/.env': GUIDE_ENV.replace(/^PG_DATA=.*\n/m, ''),
    });
    try {
      const stack = await found({ workspaceFolder: tree.root });
      assert.equal(stack.problems.length, 1);
      const p = stack.problems[0]!;
      assert.equal(p.line, 13);
      assert.equal(
        p.message,
        '${PG_DATA} is not set: infra/.env has no PG_DATA and the environment does not define it.',
      );
      assert.equal(
        p.fix,
        'Add PG_DATA=<value> to infra/.env, or give a default in the compose file: ${PG_DATA:-<value>}.',
      );
    } finally {
      tree.dispose();
    }
  });

  it('a compose file without services says what a compose file needs', () => {
    const { problems, model } = parseCompose('version: "3"\n', '/w/compose.yaml', {});
    assert.equal(model, undefined);
    assert.match(problems[0]!.message, /^Invalid compose file at services: /);
    assert.match(problems[0]!.fix!, /needs a `services:` map/);
  });
});

describe('Compose interpolation', () => {
  const vars = { SET: 'value', EMPTY: '' };
  const cases: Array<[string, string]> = [
    ['$SET', 'value'],
    ['${SET}', 'value'],
    ['a-${SET}-b', 'a-value-b'],
    ['${UNSET:-dflt}', 'dflt'],
    ['${EMPTY:-dflt}', 'dflt'],
    ['${EMPTY-dflt}', ''],
    ['${UNSET-dflt}', 'dflt'],
    ['${SET:+alt}', 'alt'],
    ['${EMPTY:+alt}', ''],
    ['${EMPTY+alt}', 'alt'],
    ['${UNSET:-${SET}}', 'value'],
    ['$$SET', '$SET'],
    ['cost $5', 'cost $5'],
  ];
  for (const [template, expected] of cases) {
    it(`${template} → ${JSON.stringify(expected)}`, () => {
      const r = interpolate(template, vars);
      assert.equal(r.value, expected);
      assert.deepEqual(r.issues, []);
    });
  }

  it('reports unset, required and syntax errors', () => {
    assert.deepEqual(
      interpolate('${NOPE}', vars).issues.map((i) => i.kind),
      ['unset'],
    );
    assert.equal(
      interpolate('${EMPTY:?must be set}', vars).issues[0]!.message,
      'Required variable EMPTY is empty: must be set.',
    );
    assert.equal(interpolate('${NOPE?}', vars).issues[0]!.message, 'Required variable NOPE is not set.');
    assert.match(interpolate('${SET', vars).issues[0]!.message, /missing "}"/);
    assert.match(interpolate('${SET!x}', vars).issues[0]!.message, /unknown modifier "!x"/);
  });
});
