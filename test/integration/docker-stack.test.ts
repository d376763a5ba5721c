/**
 * The Containers core against the real engine and the fixture stack (test/fixtures/infra, Compose v1
 * here): discovery of the project by its labels, every state (healthy, not created, paused, exited
 * with a code), events reaching the model within 1 s, stack up database-only and full through the
 * compose CLI, container stop/start/restart, logs (history and follow), and the built-in clean start.
 */
import assert from 'node:assert/strict';
import type Dockerode from 'dockerode';
import { join } from 'node:path';
import { connectEngine, resolveEngine } from '../../src/core/docker/engine-address';
import { StackMonitor, readStackModel, type MonitorState } from '../../src/core/docker/events';
import { findComposeCli, runCompose } from '../../src/core/docker/compose-cli';
import { containerAction, hasBash } from '../../src/core/docker/lifecycle';
import { streamLogs } from '../../src/core/docker/logs';
import { cleanStart, defaultProfile, profileArgs } from '../../src/core/stack/clean-start';
import { describeState, type ServiceStatus, type StackModel } from '../../src/core/docker/model';
import { readStack, type StackConfig } from '../../src/core/infra';
import { CancelledError } from '../../src/core/operations/cancel';
import { dockerAvailable, dockerInstallHint } from '../support/docker';
import { debootstrapAvailable, debootstrapInstallHint, TIMESCALEDB_TEST_IMAGE } from '../support/image';
import { requirePart } from '../support/requirements';
import { composeAvailable, composeInstallHint, startStack, type Stack } from '../support/stack';

function svc(m: StackModel, name: string): ServiceStatus {
  const s = m.services.find((x) => x.service === name);
  assert.ok(s, `service ${name} in the model (${m.services.map((x) => x.service).join(', ')})`);
  return s;
}

describe('Containers core on the real engine and the fixture stack', function () {
  this.timeout(300_000);
  let stack: Stack;
  let config: StackConfig;
  let docker: Dockerode;
  let monitor: StackMonitor;
  const states: Array<{ at: number; state: MonitorState }> = [];

  /** Waits until the monitor's model satisfies `ok`; resolves with the time it happened. */
  function until(
    ok: (m: StackModel) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<{ at: number; model: StackModel }> {
    return new Promise((resolve, reject) => {
      const check = (s: MonitorState) => {
        if (s.kind === 'ready' && ok(s.model)) {
          clearTimeout(timer);
          off();
          resolve({ at: performance.now(), model: s.model });
        }
      };
      const off = monitor.onChange(check);
      const timer = setTimeout(() => {
        off();
        const s = monitor.state;
        reject(
          new Error(
            `${what}: not seen within ${timeoutMs} ms; last: ` +
              `${s.kind === 'ready' ? s.model.services.map((x) => `${x.service}=${describeState(x)}`).join(', ') : s.kind}`,
          ),
        );
      }, timeoutMs);
      check(monitor.state);
    });
  }

  before(async function () {
    requirePart(this, dockerAvailable(), 'Docker', dockerInstallHint);
    requirePart(this, composeAvailable(), 'Docker Compose', composeInstallHint);
    requirePart(this, debootstrapAvailable(), 'debootstrap', debootstrapInstallHint);
    stack = await startStack();
    config = await readStack(
      { workspaceFolder: stack.dir },
      stack.infraDir,
      join(stack.infraDir, 'docker-compose.yaml'),
    );
    docker = await connectEngine(resolveEngine(undefined, { DOCKER_HOST: stack.docker.host }));
    monitor = new StackMonitor({
      connect: async () => docker,
      project: config.projectName,
      services: () => config.compose!.services,
      dbService: () => config.dbService?.name,
      backoff: { initialMs: 200, maxMs: 2000 },
    });
    monitor.onChange((state) => states.push({ at: performance.now(), state }));
    monitor.start();
  });

  after(async () => {
    monitor?.dispose();
    await stack?.stop();
  });

  it('discovers the project as Compose named it (from .env) and lists every service: the database running, the profile service not created', async () => {
    assert.equal(config.projectName, stack.projectName);
    assert.equal(config.dbService?.name, 'timescaledb');
    const { model } = await until((m) => svc(m, 'timescaledb').health === 'healthy', 90_000, 'database healthy');
    const db = svc(model, 'timescaledb');
    assert.equal(describeState(db), 'running · healthy');
    assert.equal(db.isDatabase, true);
    assert.equal(model.database?.service, 'timescaledb');
    assert.equal(db.image, 'tsdb-ops-test/timescaledb-ha:pg15');
    assert.ok(
      db.ports.some((p) => p.hostPort === stack.port && p.containerPort === 5432),
      `ports ${JSON.stringify(db.ports)}`,
    );
    assert.ok(db.startedAt && Date.now() - db.startedAt.getTime() < 600_000, 'uptime known');
    const ofelia = svc(model, 'ofelia');
    assert.deepEqual([ofelia.state, ofelia.profiles, ofelia.containers], ['notCreated', ['full'], 0]);
    // A one-off `compose run` container (clean_start's chown) is not the service's container.
    assert.equal(db.containers, 1);
  });

  it('the model is event-driven: no refresh without a change while nothing polls', async () => {
    assert.equal(monitor.polling, false);
    const before = states.length;
    await new Promise((res) => setTimeout(res, 1500));
    // Health checks run exec in the container every 5 s; they are not model events.
    assert.ok(states.length - before <= 1, `${states.length - before} refreshes in 1.5 s of quiet`);
  });

  it('a Docker event reaches the model (pause → paused, unpause → running) without polling', async () => {
    const id = (await stack.containerId('timescaledb')).trim();
    const c = docker.getContainer(id);
    let t0 = performance.now();
    await c.pause();
    const paused = await until((m) => svc(m, 'timescaledb').state === 'paused', 5000, 'paused');
    const pauseMs = paused.at - t0;
    t0 = performance.now();
    await c.unpause();
    const running = await until((m) => svc(m, 'timescaledb').state === 'running', 5000, 'running again');
    const unpauseMs = running.at - t0;
    // The latency is a figure of `npm run bench`, not an assertion; here: the events arrived (within the
    // generous hang bound of until()) while the monitor was not polling.
    console.log(`      docker pause → model: ${pauseMs.toFixed(0)} ms; unpause → model: ${unpauseMs.toFixed(0)} ms`);
    assert.equal(monitor.polling, false, 'the change came from an event, not a poll');
  });

  it('restarting, created and orphan containers of the project (containers the compose file does not know)', async () => {
    const labels = (service: string) => ({
      'com.docker.compose.project': config.projectName,
      'com.docker.compose.service': service,
    });
    const flapping = await docker.createContainer({
      Image: TIMESCALEDB_TEST_IMAGE,
      Entrypoint: ['false'],
      Labels: labels('flapper'),
      HostConfig: { RestartPolicy: { Name: 'always' } },
    });
    const created = await docker.createContainer({
      Image: TIMESCALEDB_TEST_IMAGE,
      Entrypoint: ['true'],
      Labels: labels('spare'),
    });
    try {
      await flapping.start();
      const { model } = await until(
        (m) =>
          m.services.some((x) => x.service === 'flapper' && x.state === 'restarting') &&
          m.services.some((x) => x.service === 'spare'),
        30_000,
        'restarting and created',
      );
      const spare = svc(model, 'spare');
      assert.deepEqual([spare.state, spare.inComposeFile], ['created', false]);
      assert.equal(svc(model, 'flapper').inComposeFile, false);
      assert.deepEqual(
        model.services.slice(0, 2).map((x) => x.service),
        ['timescaledb', 'ofelia'],
        'compose services first, orphans after',
      );
    } finally {
      await flapping.remove({ force: true });
      await created.remove({ force: true });
    }
    await until(
      (m) => !m.services.some((x) => x.service === 'flapper' || x.service === 'spare'),
      5000,
      'orphans gone after destroy',
    );
  });

  it('container stop, start and restart through the Engine API', async () => {
    const stopped = await containerAction(docker, config.projectName, 'timescaledb', 'stop');
    assert.equal(stopped.changed, true);
    await until((m) => svc(m, 'timescaledb').state === 'exited', 5000, 'exited after stop');
    assert.equal(svc((monitor.state as { model: StackModel }).model, 'timescaledb').exitCode, 0);
    assert.equal(
      (await containerAction(docker, config.projectName, 'timescaledb', 'stop')).changed,
      false,
      'stopping a stopped container changes nothing',
    );
    await containerAction(docker, config.projectName, 'timescaledb', 'start');
    const started = await until((m) => svc(m, 'timescaledb').state === 'running', 5000, 'running after start');
    const before = svc(started.model, 'timescaledb').startedAt!.getTime();
    await containerAction(docker, config.projectName, 'timescaledb', 'restart');
    await until(
      (m) => svc(m, 'timescaledb').state === 'running' && svc(m, 'timescaledb').startedAt!.getTime() > before,
      30_000,
      'restarted',
    );
    await stack.waitForPostgres();
    assert.equal(
      await hasBash(docker, (await stack.containerId('timescaledb')).trim()),
      true,
      'the test image has bash',
    );
  });

  it('logs: the last lines, then following until the container stops (and a cancel ends a follow)', async () => {
    const id = (await stack.containerId('timescaledb')).trim();
    const hist: string[] = [];
    const r = await streamLogs(docker, id, { tail: 20, onLine: (l) => hist.push(l) });
    assert.equal(r.ended, 'end');
    assert.ok(hist.length > 0 && hist.length <= 20, `${hist.length} lines`);
    assert.ok(
      hist.some((l) => /entrypoint:|database system is ready|LOG:/.test(l)),
      hist.join('\n'),
    );

    const followed: string[] = [];
    const follow = streamLogs(docker, id, { tail: 0, follow: true, onLine: (l) => followed.push(l) });
    await new Promise((res) => setTimeout(res, 500));
    await containerAction(docker, config.projectName, 'timescaledb', 'stop');
    const end = await Promise.race([
      follow,
      new Promise<never>((_, rej) =>
        setTimeout(() => rej(new Error('follow did not end when the container stopped')), 20_000),
      ),
    ]);
    assert.equal(end.ended, 'end');
    assert.ok(
      followed.some((l) => /entrypoint: stopping|shutting down|shut down/.test(l)),
      `followed: ${followed.join(' | ')}`,
    );

    await containerAction(docker, config.projectName, 'timescaledb', 'start');
    const ac = new AbortController();
    const cancelled = streamLogs(docker, id, { tail: 1, follow: true, signal: ac.signal, onLine: () => undefined });
    await new Promise((res) => setTimeout(res, 300));
    ac.abort();
    assert.equal((await cancelled).ended, 'cancelled');
    await stack.waitForPostgres();
  });

  it('stack up full (compose CLI, --profile full) creates the profile service; killing it shows exited with its code', async () => {
    const cli = await findComposeCli();
    console.log(`      compose: ${cli.version}`);
    const lines: string[] = [];
    await runCompose(config, [...profileArgs('full'), 'up', '-d'], {
      dockerHost: stack.docker.host,
      onLine: (l) => lines.push(l),
    });
    assert.ok(lines.length > 0, 'compose output streamed');
    await until((m) => svc(m, 'ofelia').state === 'running', 30_000, 'ofelia running');
    const ofeliaId = (await stack.containerId('ofelia')).trim();
    await docker.getContainer(ofeliaId).kill({ signal: 'SIGKILL' });
    const { model } = await until((m) => svc(m, 'ofelia').state === 'exited', 5000, 'ofelia exited');
    assert.equal(svc(model, 'ofelia').exitCode, 137);
    assert.equal(describeState(svc(model, 'ofelia')), 'exited (137)');
  });

  it('stack down (--profile full) then up database-only: every container goes, then only the database comes back', async () => {
    await runCompose(config, [...profileArgs('full'), 'down'], { dockerHost: stack.docker.host });
    await until((m) => m.services.every((s) => s.state === 'notCreated'), 10_000, 'all not created');
    assert.equal(defaultProfile(config), 'database', 'the fixture’s .env says ONLY_DATABASE=TRUE');
    await runCompose(config, [...profileArgs('database'), 'up', '-d'], { dockerHost: stack.docker.host });
    const { model } = await until((m) => svc(m, 'timescaledb').state === 'running', 30_000, 'database running');
    assert.equal(svc(model, 'ofelia').state, 'notCreated');
    await stack.waitForPostgres();
  });

  it('the built-in clean start (folders, chown, up, stanza-create, check) runs on a started stack: safe to run twice', async () => {
    const steps: string[] = [];
    const r = await cleanStart(config, {
      docker,
      dockerHost: stack.docker.host,
      builtin: true,
      step: (s) => steps.push(s),
    });
    assert.equal(r.mode, 'builtin');
    assert.equal(r.profile, 'database');
    assert.equal(r.stanza, 'db');
    assert.deepEqual(steps.slice(0, 2), [
      'Creating the mounted folders',
      "Handing them to the container's postgres user",
    ]);
    const model = await readStackModel(docker, {
      project: config.projectName,
      services: config.compose!.services,
      dbService: 'timescaledb',
    });
    assert.equal(svc(model, 'timescaledb').state, 'running');
  });

  it('Cancel while the built-in clean start waits for PostgreSQL is a cancel (CancelledError), not a "Cancelled: pg_isready" failure', async () => {
    const ac = new AbortController();
    const steps: string[] = [];
    const p = cleanStart(config, {
      docker,
      dockerHost: stack.docker.host,
      builtin: true,
      signal: ac.signal,
      step: (s) => {
        steps.push(s);
        if (s === 'Waiting for PostgreSQL') ac.abort();
      },
    });
    const e = await p.then(
      () => assert.fail('the clean start finished although it was cancelled'),
      (err: unknown) => err,
    );
    assert.ok(
      e instanceof CancelledError,
      `a cancel, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
    );
    assert.equal(steps.at(-1), 'Waiting for PostgreSQL', 'it stopped at the step that was cancelled');
    assert.ok(!steps.some((s) => s.startsWith('Setting up pgBackRest')), 'no step ran after the cancel');
    const model = await readStackModel(docker, {
      project: config.projectName,
      services: config.compose!.services,
      dbService: 'timescaledb',
    });
    assert.equal(svc(model, 'timescaledb').state, 'running', 'the database keeps running');
  });
});
