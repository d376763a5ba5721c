/**
 * In-host part of the bench (not a test): runs inside the real extension host that
 * bench/figures/host.ts starts (code-server + Chromium), reads the timings the extension recorded and
 * measures the Backups view at scale, and prints one `TSDB_OPS_BENCH {json}` line the figure parses.
 *
 * Input: the environment variable TSDB_OPS_BENCH (JSON, see HostInput) set on the server by the figure.
 * - activation: `api.activationTimeMs` (performance.now() around the body of the real activate() of the
 *   bundle, dist/extension.js: from its first line to the views, commands and status items registered),
 *   cross-checked with the marks tsdbOps.activate.start/end it leaves in this process.
 * - first tree items: from the mark tsdbOps.activate.start to the moment every view (Containers,
 *   Migrations, Backups) returns its roots and their children (the stack's nodes, one level down; with
 *   several folders: every folder's stack; the Backups view: every row) showing what discovery, the engine
 *   and the files said, not a placeholder (polled every 5 ms through the extension's API) — measured by the
 *   bench's runner (runner.ts, first-items.ts) before mocha and this suite load, handed over on globalThis.
 * - Backups view at scale: the real core loader (loadBackupsOverview: manual backups listed from disk with
 *   their sidecars, Ofelia jobs, freshness) plus parsePgBackRestInfo on a generated `pgbackrest info
 *   --output=json` of 500 sets (no pgBackRest repository of 500 sets can be made here in time), then the real
 *   BackupsProvider's getChildren/getTreeItem over every node, everything expanded.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as vscode from 'vscode';
import type { TsdbOpsApi } from '../../src/api';
import { discoverInfra, type StackConfig } from '../../src/core/infra/discovery';
import { freshnessAt, loadBackupsOverview, type BackupsOverview } from '../../src/core/backups/overview';
import { parsePgBackRestInfo } from '../../src/core/backups/pgbackrest';
import { resolveStack } from '../../src/core/stack/context';
import { BackupsProvider } from '../../src/ui/views/backups';
import type { Node } from '../../src/ui/views/node';
import { mark, probed } from './first-items';

export interface HostInput {
  /** How many stacks the opened window holds (checked). */
  stacks: number;
  /** The Backups-view-at-scale part: a workspace folder whose stack has the generated manual backups. */
  backups?: { workspaceFolder: string; infoFile: string; reps: number };
}

export interface HostOutput {
  activationMs: number;
  activationMarksMs: number;
  firstRenderMs: number;
  /** How long after activate() ended the first-items probe started (the first-render figure cannot be below it). */
  suiteStartAfterActivationMs: number;
  wasActive: boolean;
  rows: { containers: number; migrations: number; backups: number; sample: string[] };
  /** When each view first showed what was read (ms after the start of activate()). */
  viewsMs: { containers: number; migrations: number; backups: number; discovery: number };
  backupsView?: { ms: number[]; loadMs: number[]; items: number };
  /**
   * Every other `tsdbOps.*` performance mark the extension left in this process (its first of each name), in
   * ms after the start of activate() (negative: before it, e.g. the bundle's load): where the time went.
   */
  marksMs?: Record<string, number>;
}

const input = JSON.parse(process.env['TSDB_OPS_BENCH'] ?? '{}') as HostInput;

async function backupsAtScale(b: NonNullable<HostInput['backups']>): Promise<HostOutput['backupsView']> {
  const d = await discoverInfra({ workspaceFolder: b.workspaceFolder });
  assert.equal(d.kind, 'found', `no stack in ${b.workspaceFolder}`);
  const stack = (d as { stack: StackConfig }).stack;
  const registry = {
    ready: Promise.resolve(),
    all: [d],
    stacks: [stack],
    onDidChange: () => ({ dispose() {} }),
  };
  const ms: number[] = [];
  const loadMs: number[] = [];
  let items = 0;
  for (let i = 0; i < b.reps; i++) {
    const t0 = performance.now();
    const o = await loadBackupsOverview({
      // No engine: the site is what the infra alone says (infraSite).
      context: resolveStack(stack, {}, {}),
      // The only part not real: pgBackRest's answer is the generated info JSON read below.
      runtime: () => Promise.reject(new Error('bench: pgBackRest info comes from the generated JSON')),
    });
    const stanza = parsePgBackRestInfo(readFileSync(b.infoFile, 'utf8'), o.loadedAt)[0];
    const partial: BackupsOverview = { ...o, stanza, stanzaError: undefined };
    const overview: BackupsOverview = { ...partial, freshness: freshnessAt(partial, o.loadedAt, 15 * 60_000) };
    const t1 = performance.now();
    const controller = { onDidChange: () => ({ dispose() {} }), load: async () => overview, scheduleRefresh() {} };
    const provider = new BackupsProvider(registry as never, controller as never);
    let n = 0;
    const walk = async (nodes: Node[]): Promise<void> => {
      for (const node of nodes) {
        provider.getTreeItem(node);
        n++;
        await walk(await provider.getChildren(node));
      }
    };
    await walk(await provider.getChildren());
    ms.push(performance.now() - t0);
    loadMs.push(t1 - t0);
    items = n;
    provider.dispose();
    assert.equal(overview.manual.length, 1000, 'the generated manual backups');
    assert.equal(stanza?.backups.length, 500, 'the generated pgBackRest sets');
  }
  return { ms, loadMs, items };
}

describe('bench: the extension host', function () {
  this.timeout(300_000);

  it('activation, first tree items, the Backups view at scale', async () => {
    // Measured by the bench's runner before mocha and this suite loaded (first-items.ts).
    const first = probed();
    assert.ok(first, 'no first-items probe: run this suite through the bench (bench/host/runner.ts)');
    const ext = vscode.extensions.getExtension<TsdbOpsApi>('tsdb-ops-team.tsdb-ops');
    assert.ok(ext, 'the extension is not installed in this window');
    const api = await ext.activate();
    const start = mark('tsdbOps.activate.start');
    const end = mark('tsdbOps.activate.end');
    const { firstRenderMs } = first;
    const { containers, migrations, backups } = first.rows;
    assert.equal(api.stacks().length, input.stacks, `stacks found: ${api.stacks().length}`);
    const out: HostOutput = {
      activationMs: api.activationTimeMs,
      activationMarksMs: end.startTime - start.startTime,
      firstRenderMs,
      suiteStartAfterActivationMs: first.startAfterActivationMs,
      wasActive: first.wasActive,
      viewsMs: first.viewsMs,
      rows: {
        containers: containers.length,
        migrations: migrations.length,
        backups: backups.length,
        sample: [
          ...containers.slice(0, 2).map((r) => `Containers: ${r.label} ${r.description ?? ''}`),
          ...migrations.slice(0, 2).map((r) => `Migrations: ${r.label}`),
          ...backups.slice(0, 2).map((r) => `Backups: ${r.label} ${r.description ?? ''}`),
        ],
      },
    };
    // The first of each name, and the last one before the first items showed when there are several (20 stacks).
    out.marksMs = {};
    const seen = new Map<string, number>();
    for (const e of performance.getEntriesByType('mark')) {
      if (!e.name.startsWith('tsdbOps.') || e.name.startsWith('tsdbOps.activate.')) continue;
      const at = e.startTime - start.startTime;
      if (at > firstRenderMs) continue;
      const name = e.name.slice('tsdbOps.'.length);
      seen.set(name, (seen.get(name) ?? 0) + 1);
      if (seen.get(name) === 1) out.marksMs[name] = at;
      else out.marksMs[`${name}(last)`] = at;
    }
    if (input.backups) out.backupsView = await backupsAtScale(input.backups);
    console.log(`TSDB_OPS_BENCH ${JSON.stringify(out)}`);
  });
});
