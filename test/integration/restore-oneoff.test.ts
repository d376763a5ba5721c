/**
 * The stack without the guide's custom entrypoint (a compose override in the test's temp copy gives
 * the service the image's own entrypoint): PostgreSQL is PID 1, so the restore runs in a one-off
 * container with the same volumes and the service is started again, after success and after a cancel.
 */
import { isCancelled } from '../../src/core/errors/error';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { connectEngine, resolveEngine } from '../../src/core/docker/engine-address';
import { ContainerRuntime } from '../../src/core/runtime';
import { toolUserOf } from '../../src/core/stack/site';
import {
  ONEOFF_LABEL,
  postgresIsPid1,
  recoverInOneOff,
  restoreInOneOff,
  type OneOffTarget,
} from '../../src/core/backups/restore/oneoff';
import { journalPath } from '../../src/core/backups/restore/physical';
import { listPreRestoreCopies } from '../../src/core/backups/restore/pre-restore';
import { debootstrapAvailable, debootstrapInstallHint } from '../support/image';
import { dockerAvailable, dockerInstallHint } from '../support/docker';
import { requirePart } from '../support/requirements';
import { composeAvailable, composeInstallHint, startStack, type Stack } from '../support/stack';
import { recordingContext } from '../support/restore-context';

const DATA = '/home/postgres/pgdata/data';

describe('restore: one-off container when PostgreSQL is PID 1', function () {
  this.timeout(600_000);
  let stack: Stack | undefined;
  let client: Dockerode;
  let target: OneOffTarget;
  const { steps, ctx } = recordingContext();

  const sql = <T = Record<string, unknown>>(q: string) => stack!.sql<T>(q);
  const values = async () => (await sql<{ v: number }>('SELECT v FROM t ORDER BY v')).map((r) => r.v);

  before(async function () {
    requirePart(this, dockerAvailable(), 'docker', dockerInstallHint);
    requirePart(this, composeAvailable(), 'docker compose', composeInstallHint);
    requirePart(this, debootstrapAvailable(), 'debootstrap', debootstrapInstallHint);
    stack = await startStack();
    // The image's own entrypoint: `exec postgres`, PID 1. The data folder (already set up) stays.
    writeFileSync(
      join(stack.infraDir, 'docker-compose.override.yml'),
      'services:\n  timescaledb:\n    entrypoint: ["/docker-entrypoint.sh"]\n    command: ["postgres"]\n',
    );
    await stack.compose(['up', '-d', 'timescaledb']);
    await stack.waitForPostgres();
    client = await connectEngine(resolveEngine(undefined, { DOCKER_HOST: stack.docker.host }));
    const id = await stack.containerId('timescaledb');
    assert.equal(
      await postgresIsPid1(new ContainerRuntime(client, id, 'db')),
      true,
      'the override made PostgreSQL PID 1',
    );
    // The tools' OS user, by the rule the stack context answers with (tools().user).
    const info = await client.getContainer(id).inspect();
    target = {
      docker: client,
      containerId: id,
      user: toolUserOf('container', undefined, { name: info.Name, user: info.Config.User }).user,
      dataDir: DATA,
      conn: { user: stack.env.POSTGRES_USER!, database: stack.env.POSTGRES_DB },
    };
    await sql('CREATE TABLE t (v int)');
  });

  after(async () => {
    await stack?.stop();
  });

  it('restores exactly the newest set in a one-off container and starts the service again', async () => {
    await sql('INSERT INTO t VALUES (1), (2)');
    await stack!.exec('timescaledb', ['pgbackrest', '--stanza=db', '--type=full', 'backup']);
    await sql('INSERT INTO t VALUES (3)');
    const r = await restoreInOneOff(target, { kind: 'pgbackrest', stanza: 'db', target: 'set' }, ctx());
    assert.deepEqual(await values(), [1, 2]);
    assert.ok(steps.includes('Creating a one-off restore container with the same volumes'));
    assert.ok(steps.includes('Starting the database container'));
    assert.ok(r.preRestoreCopy);
    const id = await stack!.containerId('timescaledb');
    assert.equal(id.slice(0, 12), target.containerId.slice(0, 12), 'the same service container runs again');
    assert.equal(await postgresIsPid1(new ContainerRuntime(client, id, 'db')), true);
    const copies = await listPreRestoreCopies(new ContainerRuntime(client, id, 'db'), DATA);
    assert.ok(copies.some((c) => c.path === r.preRestoreCopy));
    const left = await client.listContainers({
      all: true,
      filters: { label: [`${ONEOFF_LABEL}=${target.containerId}`] },
    });
    assert.equal(left.length, 0, 'the one-off container is gone');
  });

  it('a cancel midway rolls back in the one-off container and starts the service on the original data', async () => {
    await sql('INSERT INTO t VALUES (4)');
    const expected = await values();
    const ac = new AbortController();
    const e = await restoreInOneOff(
      target,
      { kind: 'pgbackrest', stanza: 'db' },
      ctx(ac.signal, (l) => {
        if (/restore command begin/.test(l)) ac.abort();
      }),
    ).then(
      () => undefined,
      (x: unknown) => x,
    );
    assert.ok(isCancelled(e) && e.facts.rolledBack, `a cancel, not a failure: ${String(e)}`);
    assert.deepEqual(await values(), expected);
    const r = await stack!.exec('timescaledb', ['test', '-e', journalPath(DATA)], { reject: false });
    assert.notEqual(r.exitCode, 0, 'no journal left');
  });

  it('a crash of the process running a one-off restore is recovered: one-off removed, old data back, service running', async () => {
    await sql('INSERT INTO t VALUES (5)');
    const expected = await values();
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'restore-crash-child.ts')], {
      env: {
        ...process.env,
        DOCKER_HOST: stack!.docker.host,
        CONTAINER: target.containerId,
        PGUSER_: stack!.env.POSTGRES_USER,
        MODE: 'oneoff',
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
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', () => reject(new Error(`the child ended before the restore began:\n${out}`)));
    });
    // VS Code died: the service is stopped and the one-off container is still there.
    const info = await client.getContainer(target.containerId).inspect();
    assert.equal(info.State.Running, false);
    assert.equal(
      (await client.listContainers({ all: true, filters: { label: [`${ONEOFF_LABEL}=${target.containerId}`] } }))
        .length,
      1,
    );
    const j = await recoverInOneOff(target, ctx());
    assert.ok(j, 'the journal was found');
    assert.deepEqual(await values(), expected);
    assert.equal(
      (await client.listContainers({ all: true, filters: { label: [`${ONEOFF_LABEL}=${target.containerId}`] } }))
        .length,
      0,
    );
    assert.equal(await recoverInOneOff(target, ctx()), undefined, 'nothing left to recover');
  });
});
