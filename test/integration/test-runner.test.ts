/**
 * The development loop stops cleanly: Ctrl+C (SIGINT to the process group) during the integration layer of
 * `npm test` ends the whole run within 30 s, starts no further layer, and leaves no container, network, volume or
 * temp folder of what the interrupted layer started. The run is `test/run-all.ts` on a small integration spec
 * (test/fixtures/runner/interrupted-stack.test.ts) that starts the guide's stack and waits.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerAvailable, dockerInstallHint, ensureDocker, pidAlive, type DockerHandle } from '../support/docker';
import { debootstrapAvailable, debootstrapInstallHint } from '../support/image';
import { supportDir } from '../support/paths';
import { waitFor } from '../support/proc';
import { requirePart } from '../support/requirements';
import { composeAvailable, composeInstallHint, projectLeftovers } from '../support/stack';

const repoRoot = (): string => join(supportDir(), '..', '..');

describe('npm test: Ctrl+C during the integration layer', function () {
  this.timeout(600_000);
  let docker: DockerHandle | undefined;
  let work: string;

  before(async function () {
    requirePart(this, dockerAvailable(), 'Docker', dockerInstallHint);
    requirePart(this, composeAvailable(), 'Docker Compose', composeInstallHint);
    requirePart(this, debootstrapAvailable(), 'debootstrap (test image)', debootstrapInstallHint);
    // Held by this process, so the engine outlives the interrupted run and its leftovers can be looked for.
    docker = await ensureDocker();
    work = mkdtempSync(join(tmpdir(), 'tsdb-ops-runner-'));
  });

  after(async () => {
    if (work) rmSync(work, { recursive: true, force: true });
    await docker?.stop();
  });

  it('ends the run within 30 s, runs no further layer, and leaves nothing of the stack behind', async () => {
    const probe = join(work, 'probe.json');
    const tsx = join(repoRoot(), 'node_modules', '.bin', 'tsx');
    const spec = join(repoRoot(), 'test', 'fixtures', 'runner', 'interrupted-stack.test.ts');
    // Like a terminal: the run in a process group of its own, which Ctrl+C signals as a whole.
    const run = spawn(
      tsx,
      ['test/run-all.ts', 'integration', 'vscode', '--', '--ignore', 'test/integration/**', spec],
      {
        cwd: repoRoot(),
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, TSDB_OPS_RUNNER_PROBE: probe },
      },
    );
    let output = '';
    run.stdout.on('data', (d: Buffer) => (output += d.toString()));
    run.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      run.on('exit', (code, signal) => resolve({ code, signal })),
    );
    try {
      await waitFor(
        'the inner run to start its stack',
        async () => (existsSync(probe) ? true : undefined),
        480_000,
        250,
      );
      const started = JSON.parse(readFileSync(probe, 'utf8')) as { project: string; dir: string; pid: number };
      assert.ok((await projectLeftovers(started.project, docker!.env)).length > 0, 'the stack runs before Ctrl+C');

      const t0 = Date.now();
      process.kill(-run.pid!, 'SIGINT');
      const ended = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(r, 60_000))]);
      const seconds = (Date.now() - t0) / 1000;
      console.log(`      the run ended ${seconds.toFixed(1)} s after Ctrl+C`);
      assert.ok(ended, `the run still runs 60 s after Ctrl+C:\n${output.slice(-3000)}`);
      assert.ok(seconds <= 30, `the run took ${seconds.toFixed(1)} s to end after Ctrl+C (bound: 30 s)`);
      assert.equal(ended.code, 130, `exit code of an interrupted run\n${output.slice(-3000)}`);
      assert.match(output, /interrupted by SIGINT; not run: test:vscode/);
      assert.doesNotMatch(output, /======== test:vscode/);

      assert.equal(pidAlive(started.pid), false, 'the interrupted mocha process has ended');
      assert.deepEqual(await projectLeftovers(started.project, docker!.env), [], 'containers, networks, volumes');
      assert.equal(existsSync(started.dir), false, `the stack's temp folder ${started.dir} is removed`);
    } finally {
      if (run.exitCode === null && run.signalCode === null) process.kill(-run.pid!, 'SIGKILL');
    }
  });
});
