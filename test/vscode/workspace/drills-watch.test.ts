/**
 * In-host suite: a drill report written by anyone (here the core's writer, as `tsdb-ops drill` writes it from a shell
 * or a nightly timer) into the stack's drills folder shows without a reload: the Drills node and "verified 8h ago" in
 * the backup status item; then a failed one turns the status item to error and shows a problem row under Drills; its
 * removal takes both back. No command of the extension runs between the write and the check: only the folder watcher
 * can bring the report in. The report's facts are the stack's own: its stanza and the label and stop time of a real
 * `pgbackrest backup` in it, its database container's image; no drill is run (integration/drill.test.ts runs real ones).
 */
import * as assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { writeDrillReport, type DrillReport } from '../../../src/core/backups/drill';
import { run } from '../../support/proc';
import { startStack, type Stack } from '../../support/stack';
import { activate, useInfra, waitFor } from '../extension.js';

interface Row {
  depth: number;
  label: string;
  description?: string;
  contextValue?: string;
  tooltip?: string;
}
interface BackupsApi {
  rows(): Promise<Row[]>;
  statusBar(at?: string): { text: string; level: string; tooltip: string } | undefined;
}
interface InfoJson {
  name: string;
  backup: { label: string; type: string; timestamp: { start: number; stop: number } }[];
}

const HANG_MS = 60_000;

describe('Drill reports written by anyone: the drills folder is watched', function () {
  this.timeout(300_000);
  let stack: Stack;
  let backups: BackupsApi;
  let drillsDir: string;
  /** The stack's own facts, as a drill of it would report them. */
  let facts: { stanza: string; label: string; stop: Date; image: string };
  const cfg = () => vscode.workspace.getConfiguration('tsdbOps');

  const reportOf = (over: Partial<DrillReport> & { finished: string; passed: boolean }): DrillReport => {
    const finished = new Date(over.finished);
    const started = new Date(finished.getTime() - 95_000);
    return {
      version: 1,
      project: stack.projectName,
      source: `pgbackrest ${facts.label} (latest state)`,
      sourceKey: `pgbackrest:${facts.stanza}`,
      set: facts.label,
      target: 'latest',
      started: started.toISOString(),
      checks: [
        { name: 'PostgreSQL starts and leaves recovery', status: 'passed', message: 'ready' },
        { name: 'pg_amcheck', status: 'passed', message: 'no corruption found' },
      ],
      phases: [
        { name: 'prepare', ms: 800 },
        { name: 'restore', ms: 41_000 },
        { name: 'replay and start', ms: 9_000 },
        { name: 'checks', ms: 6_000 },
      ],
      rtoMs: 56_000,
      recoveryPoint: facts.stop.toISOString(),
      recoveryPointFrom: 'backup stop time',
      image: facts.image,
      owner: { host: hostname(), pid: 4242 },
      network: 'none',
      ...over,
    };
  };

  before(async function () {
    this.timeout(300_000);
    const { api } = await activate();
    backups = (api as unknown as { backups: BackupsApi }).backups;
    stack = await startStack();
    // Where the fixture's compose file binds the backups folder (./backups → /var/lib/pgbackrest): what a user sees.
    drillsDir = join(stack.infraDir, 'backups', 'drills');
    await cfg().update('docker.host', stack.docker.host, vscode.ConfigurationTarget.Global);
    await useInfra(stack.infraDir);
    await stack.exec('timescaledb', ['pgbackrest', '--stanza=db', '--type=full', 'backup'], { timeoutMs: 180_000 });
    const info = JSON.parse(
      (await stack.exec('timescaledb', ['pgbackrest', 'info', '--output=json'])).stdout,
    ) as InfoJson[];
    assert.equal(info.length, 1, 'one stanza in the stack');
    const set = info[0]!.backup.filter((b) => b.type === 'full').at(-1)!;
    const id = await stack.containerId('timescaledb');
    const image = (await run('docker', ['inspect', '-f', '{{.Image}}', id], { env: stack.dockerEnv })).stdout.trim();
    facts = { stanza: info[0]!.name, label: set.label, stop: new Date(set.timestamp.stop * 1000), image };
    // The extension has read the stack with its backup and no drill yet.
    await vscode.commands.executeCommand('tsdbOps.backup.refresh');
    await waitFor(
      async () => (await backups.rows()).some((r) => r.label === facts.label),
      HANG_MS,
      `the Backups view lists ${facts.label}`,
    );
  });

  after(async () => {
    await useInfra(undefined);
    await cfg().update('docker.host', undefined, vscode.ConfigurationTarget.Global);
    await stack?.stop();
  });

  const drillsRow = async () => (await backups.rows()).find((r) => r.label === 'Drills');

  it('a passing report written by the command line shows in the Drills node and as "verified 8h ago"', async () => {
    assert.equal((await drillsRow())?.description, 'no restore drill yet');
    assert.match(backups.statusBar()?.text ?? '', / · not verified$/);
    // A nightly drill that finished 8 hours ago, written the way `tsdb-ops drill` writes it.
    const passed = reportOf({ finished: new Date(Date.now() - 8 * 3_600_000).toISOString(), passed: true });
    await writeDrillReport(drillsDir, passed);
    const row = await waitFor(
      async () => (await backups.rows()).find((r) => r.contextValue === 'drill.passed'),
      HANG_MS,
      'the passed drill under Drills',
    );
    assert.equal(row.label, `pgbackrest ${facts.label} (latest state)`);
    assert.match(row.description ?? '', /^passed · .* · RTO 56 s · recovery point /);
    assert.equal((await drillsRow())?.description, 'verified 8h ago');
    const status = await waitFor(() => backups.statusBar(), HANG_MS, 'the backup status item');
    assert.match(status.text, / · verified 8h ago$/);
    assert.notEqual(status.level, 'error');
    assert.match(status.tooltip, new RegExp(`verified 8h ago \\(restore drill of pgbackrest ${facts.label}`));
  });

  it('a failed report turns the status item to error and is a problem row under Drills; removing it takes both back', async () => {
    const failed = reportOf({
      finished: new Date().toISOString(),
      passed: false,
      error: `the restore failed: pgbackrest restore --set=${facts.label} exited with code 39`,
      checks: [
        {
          name: 'PostgreSQL starts and leaves recovery',
          status: 'failed',
          message: 'the restore failed: [039] repository file missing',
        },
      ],
    });
    // A slow writer: the JSON appears half-written first (not a report yet), then whole.
    const files = await writeDrillReport(drillsDir, failed);
    const whole = JSON.stringify(failed, null, 2);
    writeFileSync(files.json, whole.slice(0, whole.length / 2));
    await new Promise((r) => setTimeout(r, 50));
    writeFileSync(files.json, `${whole}\n`);
    const problem = await waitFor(
      async () => (await backups.rows()).find((r) => r.contextValue === 'drillFailed'),
      HANG_MS,
      'the failed drill as a problem row',
    );
    assert.equal(problem.label, 'The newest restore drill failed');
    assert.match(problem.description ?? '', new RegExp(`^pgbackrest ${facts.label} \\(latest state\\) · `));
    assert.match(problem.tooltip ?? '', /exited with code 39/);
    assert.match(problem.tooltip ?? '', /\[039\] repository file missing/);
    assert.equal((await drillsRow())?.description, 'newest drill FAILED · verified 8h ago');
    const status = await waitFor(
      () => (backups.statusBar()?.level === 'error' ? backups.statusBar() : undefined),
      HANG_MS,
      'the status item in error',
    );
    assert.match(status.text, /^\$\(error\) /);
    assert.match(status.tooltip, /the newest restore drill failed \(pgbackrest .*exited with code 39/);

    rmSync(files.json);
    rmSync(files.markdown);
    await waitFor(
      async () => !(await backups.rows()).some((r) => r.contextValue === 'drillFailed'),
      HANG_MS,
      'the problem row gone with its report',
    );
    assert.notEqual(backups.statusBar()?.level, 'error');
    assert.equal((await drillsRow())?.description, 'verified 8h ago');
  });
});
