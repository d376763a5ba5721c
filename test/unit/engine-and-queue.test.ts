import { strict as assert } from 'node:assert';
import { EngineConfigError, resolveEngine } from '../../src/core/docker/engine-address';
import { isKind } from '../../src/core/errors/error';
import { maskSecrets, OperationQueue } from '../../src/core/operations/queue';
import { isCancelled } from '../../src/core/operations/cancel';
import { preRestoreName, preRestoreTimestamp } from '../../src/core/backups/restore/pre-restore';

describe('Docker engine address', () => {
  it('the setting wins over DOCKER_HOST, which wins over the local socket', () => {
    assert.deepEqual(resolveEngine('unix:///tmp/a.sock', { DOCKER_HOST: 'tcp://h:1' }).options, {
      socketPath: '/tmp/a.sock',
    });
    assert.equal(resolveEngine('', { DOCKER_HOST: 'tcp://h:1' }).source, 'DOCKER_HOST');
    const d = resolveEngine(undefined, {});
    assert.equal(d.source, 'default');
    assert.deepEqual(d.options, { socketPath: '/var/run/docker.sock' });
  });

  it('reads tcp (plain and TLS) and ssh hosts as dockerode expects them', () => {
    assert.deepEqual(resolveEngine('tcp://10.0.0.5:2375', {}).options, {
      host: '10.0.0.5',
      port: 2375,
      protocol: 'http',
    });
    assert.deepEqual(resolveEngine('tcp://10.0.0.5', { DOCKER_TLS_VERIFY: '1' }).options, {
      host: '10.0.0.5',
      port: 2376,
      protocol: 'https',
    });
    const ssh = resolveEngine('ssh://ops@db.example:2222', { SSH_AUTH_SOCK: '/run/agent' }).options as Record<
      string,
      unknown
    >;
    assert.equal(ssh.protocol, 'ssh');
    assert.equal(ssh.host, 'db.example');
    assert.equal(ssh.port, 2222);
    assert.equal(ssh.username, 'ops');
  });

  it('a bad value names the setting, the value and how to write it', () => {
    assert.throws(
      () => resolveEngine('docker.example:2375', {}),
      (e: Error) =>
        e instanceof EngineConfigError &&
        /tsdbOps\.docker\.host "docker\.example:2375".*unix:\/\/\/var\/run\/docker\.sock/.test(e.message),
    );
    assert.throws(() => resolveEngine('', { DOCKER_HOST: 'ftp://x' }), /DOCKER_HOST "ftp:\/\/x" uses ftp:/);
  });
});

describe('OperationQueue: one operation at a time per stack', () => {
  it('runs queued operations one after the other, in order', async () => {
    const q = new OperationQueue();
    const events: string[] = [];
    const op = (name: string, ms: number) =>
      q.run(name, async () => {
        events.push(`start ${name}`);
        await new Promise((r) => setTimeout(r, ms));
        events.push(`end ${name}`);
        return name;
      });
    const results = await Promise.all([op('a', 30), op('b', 5), op('c', 1)]);
    assert.deepEqual(results, ['a', 'b', 'c']);
    assert.deepEqual(events, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    assert.equal(q.busy, false);
  });

  it('refuses a second operation in refuse mode, naming the running one; a failure does not block the next', async () => {
    const q = new OperationQueue();
    let release!: () => void;
    const first = q.run('Restore from pgBackRest', () => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setImmediate(r));
    assert.equal(q.running, 'Restore from pgBackRest');
    await assert.rejects(
      q.run('Restore dump', async () => 1, { mode: 'refuse' }),
      (e: Error) => isKind(e, 'busy') && /"Restore from pgBackRest" is running/.test(e.message),
    );
    release();
    await first;
    await assert.rejects(
      q.run('fails', async () => Promise.reject(new Error('boom'))),
      /boom/,
    );
    assert.equal(await q.run('after', async () => 42, { mode: 'refuse' }), 42);
  });

  it('a claim makes the queue busy at once: another claim or refuse-mode run is refused until it runs or is released', async () => {
    const q = new OperationQueue();
    const claim = q.claim('Restore from pgBackRest');
    assert.equal(q.busy, true);
    assert.equal(q.running, 'Restore from pgBackRest');
    assert.throws(
      () => q.claim('Restore a pg_dump'),
      (e: Error) =>
        isKind(e, 'busy') &&
        /"Restore from pgBackRest" is running.*"Restore a pg_dump" was not started/.test(e.message),
    );
    await assert.rejects(
      q.run('Restore dump', async () => 1, { mode: 'refuse' }),
      (e: unknown) => isKind(e, 'busy'),
    );
    let release!: () => void;
    const first = q.run('Restoring exactly backup set x', () => new Promise<void>((r) => (release = r)), {
      mode: 'refuse',
      claim,
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(q.running, 'Restoring exactly backup set x');
    assert.throws(() => q.claim('Restore a pg_dump'), /"Restoring exactly backup set x" is running/);
    release();
    await first;
    assert.equal(q.busy, false);
    q.claim('dropped').release();
    assert.equal(q.busy, false);
    assert.equal(await q.run('after', async () => 42, { mode: 'refuse' }), 42);
  });

  it("passes the caller's cancel to the operation and reports steps and lines", async () => {
    const q = new OperationQueue();
    const ac = new AbortController();
    const seen: string[] = [];
    const p = q.run(
      'op',
      async (ctx) => {
        ctx.step('one');
        ctx.line('hello');
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
        return ctx.signal.aborted;
      },
      {
        signal: ac.signal,
        listener: { onStep: (o, t) => seen.push(`${o}:step:${t}`), onLine: (o, t) => seen.push(`${o}:line:${t}`) },
      },
    );
    await new Promise((r) => setTimeout(r, 10));
    ac.abort();
    assert.equal(await p, true);
    assert.deepEqual(seen, ['op:step:one', 'op:line:hello']);
  });

  it('cancelRunning aborts the running operation with a CancelledError naming it; a waiting one keeps its place', async () => {
    const q = new OperationQueue();
    assert.equal(q.cancelRunning(), undefined, 'nothing runs');
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const first = q.run('pg_dump of db', async (ctx) => {
      started();
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      throw ctx.signal.reason;
    });
    const second = q.run('second', async (ctx) => ctx.signal.aborted);
    await running;
    assert.equal(q.cancelRunning(), 'pg_dump of db');
    await assert.rejects(
      first,
      (e: unknown) => isCancelled(e) && /Cancelled: pg_dump of db/.test((e as Error).message),
    );
    assert.equal(await second, false, 'the waiting operation ran, not cancelled');
    assert.equal(q.cancelRunning(), undefined);
  });

  it('masks every occurrence of a secret', () => {
    assert.equal(
      maskSecrets('PGPASSWORD=s3cr3t psql s3cr3t', ['s3cr3t', undefined]),
      'PGPASSWORD=******** psql ********',
    );
  });
});

describe('pre-restore copy names', () => {
  it('round-trips the UTC timestamp in the name', () => {
    const at = new Date(Date.UTC(2026, 10, 24, 20, 30, 5));
    const name = preRestoreName('/home/postgres/pgdata/data/', at);
    assert.equal(name, '/home/postgres/pgdata/data.pre-restore-20261124_203005');
    assert.equal(preRestoreTimestamp(name)?.toISOString(), at.toISOString());
    assert.equal(preRestoreTimestamp('data.old'), undefined);
  });
});

describe('findOnPath', () => {
  it('finds an executable in PATH order and nothing when PATH lacks it', async () => {
    const { mkdtempSync, writeFileSync, chmodSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { findOnPath } = await import('../../src/core/docker/cli-path');
    const a = mkdtempSync(join(tmpdir(), 'tsdbops-path-a-'));
    const b = mkdtempSync(join(tmpdir(), 'tsdbops-path-b-'));
    try {
      writeFileSync(join(a, 'docker'), 'not executable');
      writeFileSync(join(b, 'docker'), '#!/bin/sh\n');
      chmodSync(join(b, 'docker'), 0o755);
      assert.equal(findOnPath('docker', { PATH: `${a}:${b}` }), join(b, 'docker'));
      assert.equal(findOnPath('docker', { PATH: a }), undefined);
      assert.equal(findOnPath('docker', {}), undefined);
    } finally {
      rmSync(a, { recursive: true, force: true });
      rmSync(b, { recursive: true, force: true });
    }
  });
});
