/**
 * The database image's own pgBackRest environment, as the extension reads it, on two fixture stacks:
 * the fixture as it is (the compose file does NOT override PGBACKREST_CONFIG: the image's
 * /home/postgres/pgdata/backup/pgbackrest.conf is in effect, /etc/pgbackrest.conf links to it) and a
 * variant made here from it that DOES (PGBACKREST_CONFIG=/etc/pgbackrest/pgbackrest.conf, the file
 * mounted there). Both: the PGBACKREST_* variables, the config in effect, `pgbackrest version`, the
 * stack's site (config, stanza) and pgBackRest info through that config, with no warning. Also the
 * shape of the test image itself (uid 1000, stop signal SIGINT, PGBACKREST_STANZA=poddb).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectEngine, resolveEngine } from '../../src/core/docker/engine-address';
import { discoverInfra } from '../../src/core/infra';
import { ContainerRuntime } from '../../src/core/runtime';
import { loadBackupsOverview, type BackupsOverview } from '../../src/core/backups/overview';
import { overviewContext } from '../support/overview-context';
import { debootstrapAvailable, debootstrapInstallHint, TIMESCALEDB_TEST_IMAGE } from '../support/image';
import { dockerAvailable, dockerInstallHint } from '../support/docker';
import { requirePart } from '../support/requirements';
import { composeAvailable, composeInstallHint, startStack, type Stack } from '../support/stack';
import { run } from '../support/proc';

const IMAGE_CONF = '/home/postgres/pgdata/backup/pgbackrest.conf';
const OVERRIDE_CONF = '/etc/pgbackrest/pgbackrest.conf';

/** The variant: the compose file sets PGBACKREST_CONFIG and mounts the config there instead. */
function overrideConfig(infra: string): void {
  const f = join(infra, 'docker-compose.yaml');
  const text = readFileSync(f, 'utf8');
  const env = '      PGBACKREST_STANZA: db\n';
  const mount = `      - ./pgbackrest.conf:${IMAGE_CONF}:ro\n`;
  assert.ok(text.includes(env) && text.includes(mount), 'the fixture has the lines the variant changes');
  writeFileSync(
    f,
    text
      .replace(env, `${env}      PGBACKREST_CONFIG: ${OVERRIDE_CONF}\n`)
      .replace(mount, `      - ./pgbackrest.conf:${OVERRIDE_CONF}:ro\n`),
  );
}

async function overviewOf(stack: Stack): Promise<BackupsOverview> {
  const d = await discoverInfra({ workspaceFolder: stack.infraDir, infraPath: stack.infraDir });
  assert.equal(d.kind, 'found');
  if (d.kind !== 'found') throw new Error('no stack');
  const client = await connectEngine(resolveEngine(undefined, { DOCKER_HOST: stack.docker.host }));
  const rt = new ContainerRuntime(client, await stack.containerId('timescaledb'), 'container timescaledb');
  return loadBackupsOverview({ context: overviewContext(d.stack, rt), runtime: async () => rt });
}

describe('the pgBackRest environment in effect: a compose file that keeps the image’s config and one that overrides it', function () {
  this.timeout(600_000);
  let plain: Stack | undefined;
  let override: Stack | undefined;

  before(async function () {
    requirePart(this, dockerAvailable(), 'docker', dockerInstallHint);
    requirePart(this, composeAvailable(), 'docker compose', composeInstallHint);
    requirePart(this, debootstrapAvailable(), 'debootstrap', debootstrapInstallHint);
    [plain, override] = await Promise.all([startStack(), startStack({ prepare: overrideConfig })]);
  });

  after(async () => {
    await Promise.all([plain?.stop(), override?.stop()]);
  });

  it('the test image is shaped like timescaledb-ha: uid 1000, SIGINT, PGBACKREST_CONFIG and poddb, the /etc link, procps', async () => {
    const inspect = await run('docker', ['image', 'inspect', TIMESCALEDB_TEST_IMAGE, '--format', '{{json .Config}}'], {
      env: { DOCKER_HOST: plain!.docker.host },
    });
    const config = JSON.parse(inspect.stdout) as { Env: string[]; StopSignal: string; User: string };
    assert.equal(config.StopSignal, 'SIGINT');
    assert.ok(config.Env.includes(`PGBACKREST_CONFIG=${IMAGE_CONF}`), config.Env.join(' '));
    assert.ok(config.Env.includes('PGBACKREST_STANZA=poddb'), config.Env.join(' '));
    assert.equal((await plain!.exec('timescaledb', ['id', '-u'])).stdout.trim(), '1000');
    assert.equal((await plain!.exec('timescaledb', ['readlink', '/etc/pgbackrest.conf'])).stdout.trim(), IMAGE_CONF);
    // procps, as in the real image: ps lists the container's postmaster.
    assert.match((await plain!.exec('timescaledb', ['ps', '-eo', 'comm'])).stdout, /postgres/);
  });

  it('without an override: the image’s config (also behind /etc/pgbackrest.conf), the compose file’s stanza db', async () => {
    const o = await overviewOf(plain!);
    const env = o.pgbackrestEnv!;
    assert.ok(env, o.pgbackrestEnvError);
    assert.deepEqual(env.variables, { PGBACKREST_CONFIG: IMAGE_CONF, PGBACKREST_STANZA: 'db' });
    assert.equal(env.configPath, IMAGE_CONF);
    assert.equal(env.configResolved, IMAGE_CONF);
    assert.match(env.version ?? '', /^2\.\d+/);
    assert.equal(o.site.configFile, IMAGE_CONF);
    assert.equal(o.stanzaName, 'db');
    assert.equal(o.stanzaError, undefined, 'pgBackRest info works through that config');
    assert.equal(o.stanza?.name, 'db');
    assert.deepEqual(o.pgbackrestEnvWarnings, []);
    assert.deepEqual(
      o.pgbackrestEnvRows.find((r) => r.label === 'Config in effect')?.value,
      IMAGE_CONF,
      'the view row names the file in effect',
    );
  });

  it('with PGBACKREST_CONFIG overridden: that file is in effect for pgBackRest and the extension alike', async () => {
    const o = await overviewOf(override!);
    const env = o.pgbackrestEnv!;
    assert.ok(env, o.pgbackrestEnvError);
    assert.deepEqual(env.variables, { PGBACKREST_CONFIG: OVERRIDE_CONF, PGBACKREST_STANZA: 'db' });
    assert.equal(env.configPath, OVERRIDE_CONF);
    assert.equal(env.configResolved, OVERRIDE_CONF);
    assert.equal(o.site.configFile, OVERRIDE_CONF);
    assert.equal(o.stanzaError, undefined, 'pgBackRest info works through the overriding config');
    assert.equal(o.stanza?.name, 'db');
    assert.deepEqual(o.pgbackrestEnvWarnings, []);
    // The image's link now leads nowhere: only PGBACKREST_CONFIG finds the config.
    const link = await override!.exec('timescaledb', [
      'sh',
      '-c',
      'test -e /etc/pgbackrest.conf && echo yes || echo no',
    ]);
    assert.equal(link.stdout.trim(), 'no');
  });
});
