/**
 * The Containers model on the fixture stack: how fast a Docker event reaches it (the StackMonitor the
 * tree reads), and how many Engine API calls it makes while idle with every view hidden (no polling),
 * counted by a pass-through proxy in front of the engine's socket.
 */
import { createConnection, createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connectEngine, resolveEngine } from '../../src/core/docker/engine-address';
import { StackMonitor, type MonitorState } from '../../src/core/docker/events';
import { discoverInfra, type StackConfig } from '../../src/core/infra';
import type { Stack } from '../../test/support/stack';
import { median, percentile, pick, sleep, type Figure } from '../lib';

async function config(stack: Stack): Promise<StackConfig> {
  const d = await discoverInfra({ workspaceFolder: stack.infraDir, infraPath: stack.infraDir });
  if (d.kind !== 'found') throw new Error(`the fixture stack was not discovered: ${d.kind}`);
  return d.stack;
}

function monitorFor(cfg: StackConfig, dockerHost: string): StackMonitor {
  return new StackMonitor({
    connect: () => connectEngine(resolveEngine(undefined, { DOCKER_HOST: dockerHost })),
    project: cfg.projectName,
    services: () => cfg.compose!.services,
    dbService: () => cfg.dbService?.name,
  });
}

const dbState = (s: MonitorState): string | undefined =>
  s.kind === 'ready' ? s.model.services.find((x) => x.service === 'timescaledb')?.state : undefined;

function until(monitor: StackMonitor, ok: (s: MonitorState) => boolean, timeoutMs = 30_000): Promise<number> {
  return new Promise((resolve, reject) => {
    if (ok(monitor.state)) return resolve(performance.now());
    const timer = setTimeout(() => {
      off();
      reject(new Error(`the model did not change within ${timeoutMs} ms (state ${dbState(monitor.state)})`));
    }, timeoutMs);
    const off = monitor.onChange((s) => {
      if (!ok(s)) return;
      clearTimeout(timer);
      off();
      resolve(performance.now());
    });
  });
}

export const dockerEventFigure: Figure = {
  id: 'docker-event',
  title: 'Docker event → model',
  async run(ctx) {
    const stack = await ctx.stack();
    const cfg = await config(stack);
    const monitor = monitorFor(cfg, stack.docker.host);
    monitor.start();
    try {
      await until(monitor, (s) => dbState(s) === 'running');
      const docker = await connectEngine(resolveEngine(undefined, { DOCKER_HOST: stack.docker.host }));
      const c = docker.getContainer(await stack.containerId('timescaledb'));
      const events = pick(ctx.size, 10, 50);
      const latencies: number[] = [];
      for (let i = 0; i < events; i++) {
        const pause = i % 2 === 0;
        // From the moment the engine has done it (its event is out) to the model showing it.
        if (pause) await c.pause();
        else await c.unpause();
        const t0 = performance.now();
        const t1 = await until(monitor, (s) => dbState(s) === (pause ? 'paused' : 'running'));
        latencies.push(t1 - t0);
      }
      const p95 = percentile(latencies, 95);
      ctx.log(`docker events: p50 ${median(latencies).toFixed(0)} ms, p95 ${p95.toFixed(0)} ms`);
      return [
        {
          figure: `Docker event → Containers model updated (${events} pause/unpause events; p95 ${p95.toFixed(0)} ms)`,
          unit: 'ms',
          extension: latencies,
          target: '≤ 1 s p95',
          met: p95 <= 1000,
          note: 'the StackMonitor the tree reads (300 ms debounce included); the tree render itself is not in this figure',
          cause: p95 <= 1000 ? undefined : 'the debounce plus a list/inspect round after each event',
        },
      ];
    } finally {
      monitor.dispose();
    }
  },
};

/** A unix-socket proxy to the engine that counts HTTP requests (not the bytes of a held-open events stream). */
async function countingProxy(
  target: string,
): Promise<{ host: string; requests: () => number; seen: string[]; close(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'tsdbops-bench-proxy-'));
  const path = join(dir, 'docker.sock');
  let count = 0;
  const seen: string[] = [];
  const upstream = target.replace(/^unix:\/\//, '');
  const server: Server = createServer((client) => {
    const up = createConnection(upstream);
    client.on('data', (chunk: Buffer) => {
      const requests = chunk.toString('latin1').match(/^(GET|POST|PUT|DELETE|HEAD) \S+ HTTP\/1\.[01]\r$/gm) ?? [];
      count += requests.length;
      seen.push(...requests.map((r) => r.replace(/ HTTP\/1\.[01]\r$/, '')));
    });
    client.pipe(up).pipe(client);
    const end = () => {
      client.destroy();
      up.destroy();
    };
    client.on('error', end);
    up.on('error', end);
    client.on('close', end);
    up.on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    host: `unix://${path}`,
    requests: () => count,
    seen,
    close: () => {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const dockerIdleFigure: Figure = {
  id: 'docker-idle',
  title: 'Docker API calls while idle',
  async run(ctx) {
    const stack = await ctx.stack();
    if (!stack.docker.host.startsWith('unix://'))
      throw new Error(`the idle count needs a unix socket engine, not ${stack.docker.host}`);
    const cfg = await config(stack);
    const proxy = await countingProxy(stack.docker.host);
    const monitor = monitorFor(cfg, proxy.host);
    const idleSec = pick(ctx.size, 6, 60);
    try {
      monitor.start();
      monitor.setPolling(false); // every view hidden
      await until(monitor, (s) => s.kind === 'ready');
      // Settle: no model change for 6 s (longer than the health check's 5 s interval), so a health change left
      // by an earlier figure (a restart, a pause) is not counted as idle traffic.
      let last = performance.now();
      const off = monitor.onChange(() => (last = performance.now()));
      for (const t0 = performance.now(); performance.now() - last < 6000 && performance.now() - t0 < 120_000;)
        await sleep(250);
      off();
      const before = proxy.requests();
      ctx.log(`docker idle: ${idleSec} s with the views hidden`);
      await sleep(idleSec * 1000);
      const calls = proxy.requests() - before;
      const which = proxy.seen.slice(before);
      return [
        {
          figure: `Docker API calls in ${idleSec} s idle with all views hidden`,
          unit: 'calls',
          extension: [calls],
          target: '0',
          met: calls === 0,
          note: 'counted by a proxy on the engine socket; the events stream opened at start stays open and is not a call',
          cause:
            calls === 0
              ? undefined
              : `calls made while idle: ${[...new Set(which)].map((w) => `${w} ×${which.filter((x) => x === w).length}`).join(', ')}`,
        },
      ];
    } finally {
      monitor.dispose();
      proxy.close();
    }
  },
};
