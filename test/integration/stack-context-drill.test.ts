/**
 * The stack context on a real stack whose compose sets PGBACKREST_CONFIG to a mounted
 * /etc/pgbackrest/pgbackrest.conf (the guide's way of using one's own config with the real image), while
 * /etc/pgbackrest.conf in the image is another file the tools' user cannot read (as in a Debian-built image).
 * Before the stack context, every restore drill of such a stack failed with
 * `[055] unable to open missing file '…/.tsdbops-drill/pgbackrest.conf'`: the drill read /etc/pgbackrest.conf.
 * Now the context names the file in effect (from the container's PGBACKREST_CONFIG), reads it once, and the
 * drill restores the set and passes. A config path that does not exist or cannot be read is refused before
 * anything is created, naming the file, its source and the fix.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { discoverInfra, type StackConfig } from '../../src/core/infra';
import { EngineRegistry } from '../../src/core/docker/engines';
import { PgBackRestConfigError, resolveStack } from '../../src/core/stack/context';
import { drillTargetOf } from '../../src/core/backups/drill-target';
import { DRILL_LABEL, DRILL_PROJECT_LABEL, runDrill } from '../../src/core/backups/drill';
import { dockerAvailable, dockerInstallHint } from '../support/docker';
import { debootstrapAvailable, debootstrapInstallHint } from '../support/image';
import { requirePart } from '../support/requirements';
import { composeAvailable, composeInstallHint, startStack, type Stack } from '../support/stack';
import { recordingContext } from '../support/restore-context';

const MOUNTED = '/etc/pgbackrest/pgbackrest.conf';

/** The guide's compose with a mounted config named by PGBACKREST_CONFIG. */
function mountConfig(infraDir: string): void {
  const file = join(infraDir, 'docker-compose.yaml');
  const text = readFileSync(file, 'utf8')
    .replace('./pgbackrest.conf:/home/postgres/pgdata/backup/pgbackrest.conf:ro', `./pgbackrest.conf:${MOUNTED}:ro`)
    .replace('      PGBACKREST_STANZA: db\n', `      PGBACKREST_STANZA: db\n      PGBACKREST_CONFIG: ${MOUNTED}\n`);
  assert.ok(text.includes(`PGBACKREST_CONFIG: ${MOUNTED}`) && text.includes(`:${MOUNTED}:ro`), 'fixture edited');
  writeFileSync(file, text);
}

describe('stack context: a mounted pgBackRest config named by PGBACKREST_CONFIG', function () {
  this.timeout(900_000);
  let stack: Stack | undefined;
  let config: StackConfig;
  let engines: EngineRegistry;
  const { lines, ctx } = recordingContext();
  const ours = () => ({ label: [DRILL_LABEL, `${DRILL_PROJECT_LABEL}=${stack!.projectName}`] });

  before(async function () {
    requirePart(this, dockerAvailable(), 'docker', dockerInstallHint);
    requirePart(this, composeAvailable(), 'docker compose', composeInstallHint);
    requirePart(this, debootstrapAvailable(), 'debootstrap', debootstrapInstallHint);
    stack = await startStack({ prepare: mountConfig });
    // /etc/pgbackrest.conf: another file, readable by root only (the file the old drill read).
    await stack.exec(
      'timescaledb',
      [
        'sh',
        '-c',
        'rm -f /etc/pgbackrest.conf && printf "[other]\\npg1-path=/nowhere\\n" > /etc/pgbackrest.conf && chmod 600 /etc/pgbackrest.conf',
      ],
      { user: 'root' },
    );
    const d = await discoverInfra({ workspaceFolder: stack.infraDir, infraPath: stack.infraDir });
    assert.equal(d.kind, 'found');
    config = (d as { stack: StackConfig }).stack;
    engines = new EngineRegistry({ DOCKER_HOST: stack.docker.host });
    await stack.sql('CREATE TABLE t (v int PRIMARY KEY)');
    await stack.sql('INSERT INTO t VALUES (1), (2), (3)');
    for (const argv of [
      ['pgbackrest', '--stanza=db', '--log-level-console=warn', 'stanza-create'],
      ['pgbackrest', '--stanza=db', '--type=full', '--log-level-console=warn', 'backup'],
    ]) {
      await stack.exec('timescaledb', argv); // throws naming the command on a non-zero exit
    }
  });

  after(async () => {
    engines?.dispose();
    await stack?.stop();
  });

  it('the context names the mounted file from the container environment and reads it', async () => {
    const sctx = resolveStack(config, {}, { engines });
    const pg = await sctx.pgbackrest();
    assert.equal(pg.file.value, MOUNTED);
    assert.equal(pg.file.source, 'container-env');
    assert.match(pg.file.from, /PGBACKREST_CONFIG of container/);
    assert.equal(pg.error, undefined);
    assert.match(pg.text!, /^\[db\]$/m);
    assert.equal(pg.stanza.value, 'db');
    assert.equal((await sctx.site()).dataDir, '/home/postgres/pgdata/data');
    assert.equal((await sctx.tools()).user.value, 'postgres');
  });

  it('a drill of the newest set passes (before the context: [055], the drill read /etc/pgbackrest.conf)', async () => {
    const sctx = resolveStack(config, {}, { engines });
    const target = await drillTargetOf(sctx, { pgbackrest: true });
    assert.equal(target.configPath, MOUNTED);
    const r = await runDrill(target, { kind: 'pgbackrest' }, ctx());
    assert.equal(r.passed, true, `${r.error ?? ''}\n${lines.join('\n')}`);
    assert.ok(
      r.checks.some((c) => c.name === 'restore' && c.status === 'passed'),
      JSON.stringify(r.checks),
    );
    assert.ok(!lines.some((l) => /\[055\]/.test(l)), 'no [055]');
    const docker = await sctx.docker();
    assert.equal((await docker.listContainers({ all: true, filters: ours() })).length, 0, 'no drill container left');
  });

  it('the old inputs (config read from /etc/pgbackrest.conf) fail the same drill: the test reproduces the bug', async () => {
    const sctx = resolveStack(config, {}, { engines });
    const target = await drillTargetOf(sctx, { pgbackrest: true });
    lines.length = 0;
    const r = await runDrill(
      { ...target, configPath: undefined, conf: undefined },
      { kind: 'pgbackrest' },
      ctx(),
    ).catch((e: Error) => ({ passed: false, error: e.message }));
    assert.equal(r.passed, false);
  });

  it('a config path that does not exist: refused before anything runs, naming the file, its source and the fix', async () => {
    const sctx = resolveStack(config, { backups: { pgbackrestConfig: '/etc/pgbackrest/nope.conf' } }, { engines });
    const pg = await sctx.pgbackrest();
    assert.ok(pg.error instanceof PgBackRestConfigError);
    assert.equal(pg.error.reason, 'missing');
    await assert.rejects(drillTargetOf(sctx, { pgbackrest: true }), (e: Error) => {
      assert.match(e.message, /\/etc\/pgbackrest\/nope\.conf/);
      assert.match(e.message, /setting tsdbOps\.backups\.pgbackrestConfig/);
      assert.match(e.message, /does not exist in container/);
      return true;
    });
  });

  it('a config the tools cannot read: refused naming the file, the OS user and the fix', async () => {
    const sctx = resolveStack(config, { backups: { pgbackrestConfig: '/etc/pgbackrest.conf' } }, { engines });
    await assert.rejects(sctx.requirePgBackRestConfig(), (e: Error) => {
      assert.ok(e instanceof PgBackRestConfigError);
      assert.equal(e.reason, 'unreadable');
      assert.match(e.message, /\/etc\/pgbackrest\.conf .*cannot be read by OS user postgres/);
      return true;
    });
  });
});
