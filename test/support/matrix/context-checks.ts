/**
 * The stack context's own answers on configuration (a)'s stack (folded in from the former
 * test/integration/stack-context-drill.test.ts, so no second stack is started for them): the config in
 * effect named from the container's PGBACKREST_CONFIG and read; the old inputs (config read from
 * /etc/pgbackrest.conf) fail the drill the matrix's (a) drill cell passes, so the matrix reproduces the bug;
 * a config path that does not exist, and one the tools cannot read, refused before anything runs, naming the
 * file, its source and the fix. Each check is a named result; the suite asserts them in one `it`.
 *
 * Run between (a) and (f) on stack A (nothing else runs on that stack then): the old-inputs drill must not
 * meet a restore of (f).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DRILL_LABEL, DRILL_PROJECT_LABEL, runDrill } from '../../../src/core/backups/drill';
import { drillTargetOf } from '../../../src/core/backups/drill-target';
import { EngineRegistry } from '../../../src/core/docker/engines';
import { readStack } from '../../../src/core/infra';
import { isKind } from '../../../src/core/errors/error';
import { resolveStack } from '../../../src/core/stack/context';
import { recordingContext } from '../restore-context';
import type { Stack } from '../stack';

export const MOUNTED = '/etc/pgbackrest/pgbackrest.conf';

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly error?: string;
}

export async function contextChecks(stack: Stack): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const environment = { DOCKER_HOST: stack.docker.host };
  const engines = new EngineRegistry(environment);
  const config = await readStack(
    { workspaceFolder: stack.dir },
    stack.infraDir,
    join(stack.infraDir, 'docker-compose.yaml'),
    environment,
  );
  const check = async (name: string, work: () => Promise<void>): Promise<void> => {
    try {
      await work();
      results.push({ name, ok: true });
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      results.push({ name, ok: false, error });
      console.log(`      [matrix] (a) context × ${name}: FAILED — ${error.split('\n')[0]}`);
    }
  };
  try {
    await check('the context names the mounted file from the container environment and reads it', async () => {
      const sctx = resolveStack(config, {}, { engines, processEnv: environment });
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

    await check('the old inputs (config read from /etc/pgbackrest.conf) fail the drill, leaving nothing', async () => {
      const sctx = resolveStack(config, {}, { engines, processEnv: environment });
      const target = await drillTargetOf(sctx, { pgbackrest: true });
      assert.equal(target.configPath, MOUNTED);
      const { ctx } = recordingContext();
      const r = await runDrill(
        { ...target, configPath: undefined, conf: undefined },
        { kind: 'pgbackrest' },
        ctx(),
      ).catch((e: Error) => ({ passed: false, error: e.message }));
      assert.equal(r.passed, false, 'the drill with the old inputs must fail (the bug reproduced)');
      const docker = await sctx.docker();
      const left = await docker.listContainers({
        all: true,
        filters: { label: [DRILL_LABEL, `${DRILL_PROJECT_LABEL}=${stack.projectName}`] },
      });
      assert.equal(left.length, 0, 'no drill container left');
    });

    await check('a config path that does not exist: refused naming the file, its source and the fix', async () => {
      const sctx = resolveStack(
        config,
        { backups: { pgbackrestConfig: '/etc/pgbackrest/nope.conf' } },
        { engines, processEnv: environment },
      );
      const pg = await sctx.pgbackrest();
      assert.ok(isKind(pg.error, 'config'), String(pg.error));
      assert.equal(pg.error.facts.file, '/etc/pgbackrest/nope.conf');
      assert.match(pg.error.message, /does not exist/);
      await assert.rejects(drillTargetOf(sctx, { pgbackrest: true }), (e: Error) => {
        assert.match(e.message, /\/etc\/pgbackrest\/nope\.conf/);
        assert.match(e.message, /setting tsdbOps\.backups\.pgbackrestConfig/);
        assert.match(e.message, /does not exist in container/);
        return true;
      });
    });

    await check('a config the tools cannot read: refused naming the file, the OS user and the fix', async () => {
      const sctx = resolveStack(
        config,
        { backups: { pgbackrestConfig: '/etc/pgbackrest.conf' } },
        { engines, processEnv: environment },
      );
      await assert.rejects(sctx.requirePgBackRestConfig(), (e: Error) => {
        assert.ok(isKind(e, 'config'), String(e));
        assert.equal(e.facts.file, '/etc/pgbackrest.conf');
        assert.match(e.message, /\/etc\/pgbackrest\.conf .*cannot be read by OS user postgres/);
        return true;
      });
    });
  } finally {
    engines.dispose();
  }
  return results;
}
