/**
 * One site for a stack whose .env and compose file move PGDATA and the stanza away from the guide's
 * defaults (PGDATA /home/postgres/pgdata/main, stanza `main`; the config still holds the guide's
 * `[db]` section, the image says PGBACKREST_STANZA=poddb): a backup, the Backups overview, a restore
 * and the built-in clean start all use the same stanza and data folder (core/stack/site).
 */
import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { connectEngine, resolveEngine } from '../../src/core/docker/engine-address';
import { runningServiceContainer } from '../../src/core/docker/find';
import { ContainerRuntime } from '../../src/core/runtime';
import { discoverInfra, type StackConfig } from '../../src/core/infra';
import { pgbackrestBackup } from '../../src/core/backups/pgbackrest';
import { stackBackupTargets } from '../../src/core/backups/targets';
import { loadBackupsOverview } from '../../src/core/backups/overview';
import { readRestoreSetup } from '../../src/core/backups/restore/stack';
import { restorePhysical } from '../../src/core/backups/restore/physical';
import { cleanStart } from '../../src/core/stack/clean-start';
import { dockerAvailable, dockerInstallHint } from '../support/docker';
import { debootstrapAvailable, debootstrapInstallHint } from '../support/image';
import { requirePart } from '../support/requirements';
import { composeAvailable, composeInstallHint, startStack, type Stack } from '../support/stack';
import { recordingContext } from '../support/restore-context';

const DATA = '/home/postgres/pgdata/main';
const STANZA = 'main';

/** The fixture with PGDATA and the stanza set by .env, the compose file and the Ofelia jobs. */
function moveSite(infraDir: string): void {
  const edit = (file: string, f: (s: string) => string) =>
    writeFileSync(join(infraDir, file), f(readFileSync(join(infraDir, file), 'utf8')));
  edit('.env', (s) => `${s.replace(/\n?$/, '\n')}PGDATA_IN_CONTAINER=${DATA}\nSTANZA=${STANZA}\n`);
  edit('docker-compose.yaml', (s) =>
    s
      .replace(
        '      PGBACKREST_STANZA: db\n',
        '      PGBACKREST_STANZA: ${STANZA}\n      PGDATA: ${PGDATA_IN_CONTAINER}\n',
      )
      .replaceAll('--stanza=db', '--stanza=${STANZA}'),
  );
  edit('pgbackrest.conf', (s) => {
    const main = s.replace('[db]', `[${STANZA}]`).replace('pg1-path=/home/postgres/pgdata/data', `pg1-path=${DATA}`);
    return `${main}\n# Left from the guide's default stack.\n[db]\npg1-path=/home/postgres/pgdata/data\n`;
  });
  edit('scripts/clean_start.sh', (s) => s.replaceAll('--stanza=db', `--stanza=${STANZA}`));
}

describe('one site: a stack with its own PGDATA and stanza', function () {
  this.timeout(600_000);
  let stack: Stack | undefined;
  let config: StackConfig;
  let docker: Dockerode;
  let rt: ContainerRuntime;
  let label: string;
  const { ctx } = recordingContext();

  before(async function () {
    requirePart(this, dockerAvailable(), 'docker', dockerInstallHint);
    requirePart(this, composeAvailable(), 'docker compose', composeInstallHint);
    requirePart(this, debootstrapAvailable(), 'debootstrap', debootstrapInstallHint);
    stack = await startStack({ prepare: moveSite });
    docker = await connectEngine(resolveEngine(undefined, { DOCKER_HOST: stack.docker.host }));
    const d = await discoverInfra({ workspaceFolder: stack.infraDir, infraPath: stack.infraDir });
    assert.equal(d.kind, 'found');
    config = d.stack;
    const c = await runningServiceContainer(docker, config.projectName, config.dbService!.name);
    rt = new ContainerRuntime(docker, c.Id, 'container timescaledb');
    await stack.sql('CREATE TABLE t (v int)');
    await stack.sql('INSERT INTO t VALUES (1)');
  });
  after(async () => {
    await stack?.stop();
  });

  it('the running cluster is in the moved PGDATA (the fixture did what .env says)', async () => {
    const [row] = await stack!.sql<{ d: string }>("SELECT current_setting('data_directory') AS d");
    assert.equal(row!.d, DATA);
  });

  it('a backup runs on the stanza and PGDATA of .env and compose', async () => {
    const t = await stackBackupTargets(config, rt);
    assert.equal(t.pgbackrest.stanza, STANZA);
    assert.equal(t.dataDir, DATA);
    label = (await pgbackrestBackup(t.pgbackrest, 'full')).label;
  });

  it('the Backups overview shows that stanza with the backup, and the same data folder', async () => {
    const o = await loadBackupsOverview({ stack: config, runtime: async () => rt });
    assert.equal(o.stanzaName, STANZA);
    assert.equal(o.stanzaError, undefined);
    assert.ok(o.stanza?.backups.some((b) => b.label === label));
    assert.equal(o.targets?.dataDir, DATA);
    const stanzas = o.site.sources.filter((s) => s.field === 'stanza');
    assert.deepEqual(
      stanzas.filter((s) => s.used).map((s) => s.from),
      ['--stanza= of Ofelia jobs pgbackrest-full-backup, pgbackrest-diff-backup'],
    );
    assert.ok(
      stanzas.some((s) => s.value === 'db' && !s.used && /\[db\].*not used/.test(s.from)),
      JSON.stringify(stanzas),
    );
  });

  it('a restore of that backup goes to the same stanza and data folder', async () => {
    const c = await runningServiceContainer(docker, config.projectName, config.dbService!.name);
    const setup = await readRestoreSetup({
      stack: config,
      docker,
      containerId: c.Id,
      user: stack!.env.POSTGRES_USER!,
      password: stack!.env.POSTGRES_PASSWORD,
      database: stack!.env.POSTGRES_DB,
    });
    assert.equal(setup.stanza, STANZA);
    assert.equal(setup.dataDir, DATA);
    await stack!.sql('INSERT INTO t VALUES (2)');
    await restorePhysical(
      { rt, dataDir: setup.dataDir, conn: setup.conn },
      { kind: 'pgbackrest', stanza: setup.stanza, configPath: setup.configPath, set: label },
      ctx(),
    );
    assert.deepEqual(
      (await stack!.sql<{ v: number }>('SELECT v FROM t ORDER BY v')).map((r) => r.v),
      [1],
    );
  });

  it('the built-in clean start sets up the same stanza', async () => {
    const r = await cleanStart(config, { docker, dockerHost: stack!.docker.host, builtin: true });
    assert.equal(r.stanza, STANZA);
  });
});
