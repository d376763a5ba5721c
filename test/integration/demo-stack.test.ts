/**
 * What `npm start` brings up (test/support/demo-stack.ts), checked through the extension's own data
 * sources for its three views: the stack discovered from the demo workspace with its database container
 * running (Containers), the sample migrations pending (Migrations), one pgBackRest full backup
 * (Backups); and `stop()` leaves nothing running. The interactive launcher itself (VS Code, Ctrl+C) is
 * not run here. The real timescale/timescaledb-ha image is not pulled (`pull: false`): the stand-in runs.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { connectEngine, resolveEngine } from '../../src/core/docker/engine-address';
import { discoverInfra, type StackConfig } from '../../src/core/infra';
import { ContainerRuntime } from '../../src/core/runtime';
import { loadBackupsOverview } from '../../src/core/backups/overview';
import { overviewContext } from '../support/overview-context';
import { Migrator } from '../../src/core/migrations/migrator';
import { connect, resolveConnection } from '../../src/core/postgres/connection';
import { debootstrapAvailable, debootstrapInstallHint, TIMESCALEDB_TEST_IMAGE } from '../support/image';
import { dockerAvailable, dockerInstallHint } from '../support/docker';
import { requirePart } from '../support/requirements';
import { composeAvailable, composeInstallHint } from '../support/stack';
import { startDemoStack, type DemoStack } from '../support/demo-stack';
import { run } from '../support/proc';

describe('npm start: the demo stack shows live data in all three views', function () {
  this.timeout(600_000);
  let demo: DemoStack | undefined;
  let config: StackConfig;

  before(async function () {
    requirePart(this, dockerAvailable(), 'docker', dockerInstallHint);
    requirePart(this, composeAvailable(), 'docker compose', composeInstallHint);
    requirePart(this, debootstrapAvailable(), 'debootstrap', debootstrapInstallHint);
    demo = await startDemoStack({ pull: false });
    const d = await discoverInfra({ workspaceFolder: demo.stack.dir });
    assert.equal(d.kind, 'found', 'the demo workspace has a stack the extension finds by itself');
    if (d.kind === 'found') config = d.stack;
  });

  after(async () => {
    await demo?.stack.stop();
  });

  it('Containers: the stack is the demo copy, its database container runs the stand-in image', async () => {
    assert.equal(demo!.image, TIMESCALEDB_TEST_IMAGE);
    assert.match(demo!.imageNote, /stand-in .*not pulled/);
    assert.equal(config.projectName, demo!.stack.projectName);
    const ps = await run(
      'docker',
      ['ps', '--filter', `label=com.docker.compose.project=${config.projectName}`, '--format', '{{.Image}} {{.State}}'],
      { env: { DOCKER_HOST: demo!.stack.docker.host } },
    );
    assert.deepEqual(ps.stdout.trim().split('\n'), [`${TIMESCALEDB_TEST_IMAGE} running`]);
  });

  it('Migrations: every sample migration is pending', async () => {
    assert.ok(config.migrationsDir, 'the demo workspace has its migrations folder');
    const files = readdirSync(config.migrationsDir).filter((f) => /^\d+_.*\.sql$/.test(f) && !f.endsWith('.down.sql'));
    const target = await resolveConnection(config, {});
    const status = await new Migrator(config.migrationsDir, () => connect(target)).status();
    assert.equal(status.fileErrors.length, 0);
    assert.ok(status.migrations.length >= 1 && status.migrations.length === files.length, `${files.length} files`);
    assert.ok(
      status.migrations.every((m) => m.state === 'pending'),
      status.migrations.map((m) => m.state).join(' '),
    );
  });

  it('Backups: the stanza holds the one full backup taken', async () => {
    const client = await connectEngine(resolveEngine(undefined, { DOCKER_HOST: demo!.stack.docker.host }));
    const rt = new ContainerRuntime(client, await demo!.stack.containerId('timescaledb'), 'container timescaledb');
    const o = await loadBackupsOverview({ context: overviewContext(config, rt), runtime: async () => rt });
    assert.equal(o.stanzaError, undefined);
    assert.deepEqual(
      o.stanza?.backups.map((b) => [b.label, b.type]),
      [[demo!.backupLabel, 'full']],
    );
  });

  it('stop() leaves nothing of the stack: no container, no volume, no folder', async () => {
    const { dir, projectName, docker } = demo!.stack;
    await demo!.stack.stop();
    demo = undefined;
    const env = { DOCKER_HOST: docker.host };
    const filter = `label=com.docker.compose.project=${projectName}`;
    assert.equal((await run('docker', ['ps', '-aq', '--filter', filter], { env })).stdout.trim(), '');
    assert.equal((await run('docker', ['volume', 'ls', '-q', '--filter', filter], { env })).stdout.trim(), '');
    assert.equal(existsSync(dir), false);
  });
});
