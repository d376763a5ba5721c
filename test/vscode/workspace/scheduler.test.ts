/**
 * In-host suite (issue 30): schedules that tell the truth on the fixture stack, started the guide's way
 * with ONLY_DATABASE=TRUE (Ofelia not created). The Backups view's Schedules node warns and its jobs read
 * "would run …", the status item warns "no scheduled backups", Start Scheduler… names what starts (its
 * confirmation text, a declined modal changes nothing), then starts Ofelia (the stand-in image) and the
 * warning goes without a reload; Ofelia stopped: the warning names the exit time; a failed saved run is a
 * problem item with the job's output.
 */
import * as assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { startStack, type Stack } from '../../support/stack';
import { activate, waitFor, useInfra } from '../extension.js';

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
interface SchedulerJson {
  status: string;
  scheduling: string;
  service?: string;
  exitCode?: number;
  finishedAt?: string;
  offBy?: { kind: string; text: string };
  headline: string;
  start?: { command: string; starts: string[] };
}
interface Info {
  scheduler: SchedulerJson;
  schedules: Array<{ job: string; plan: string; lastRun?: { date: string; result: string; source: string } }>;
}
interface DryRun {
  started: false;
  confirmation: { message: string; detail: string; button: string };
  plan: { composeArgs: string[]; starts: string[] };
}

describe('Schedules: the scheduler not running is said where the user looks, and Start Scheduler… starts it', function () {
  this.timeout(240_000);
  let stack: Stack;
  let backups: BackupsApi;
  const cfg = () => vscode.workspace.getConfiguration('tsdbOps');
  const rowsWhere = (pred: (rows: Row[]) => boolean, what: string, ms = 30_000) =>
    waitFor(
      async () => {
        const rows = await backups.rows();
        return pred(rows) ? rows : undefined;
      },
      ms,
      what,
    );
  const schedules = (rows: Row[]) => rows.find((r) => r.depth === 0 && r.label === 'Schedules');
  const info = () => vscode.commands.executeCommand<Info>('tsdbOps.backup.info', {});

  before(async function () {
    this.timeout(300_000);
    const { api } = await activate();
    backups = (api as unknown as { backups: BackupsApi }).backups;
    stack = await startStack();
    mkdirSync(join(stack.infraDir, 'ofelia_logs'), { recursive: true });
    await cfg().update('docker.host', stack.docker.host, vscode.ConfigurationTarget.Global);
    await useInfra(stack.infraDir);
    await vscode.commands.executeCommand('tsdbOps.refresh');
  });

  after(async () => {
    await useInfra(undefined);
    await cfg().update('docker.host', undefined, vscode.ConfigurationTarget.Global);
    await stack?.stop();
  });

  it('Ofelia not created: the Schedules node warns, jobs read "would run", the status item says "no scheduled backups"', async () => {
    const rows = await rowsWhere((r) => schedules(r)?.contextValue === 'schedules.off', 'Schedules warning', 60_000);
    const node = schedules(rows)!;
    assert.equal(node.description, 'Ofelia never started on this stack — no scheduled backups');
    assert.match(node.tooltip!, /Ofelia \(service ofelia\) is not created \(ONLY_DATABASE=TRUE in .*\.env/);
    assert.match(node.tooltip!, /docker compose --profile full up -d --no-recreate/);
    const jobs = rows.filter((r) => r.depth === 1 && r.contextValue?.startsWith('schedule.'));
    assert.deepEqual(
      jobs.map((r) => [r.label, r.description]),
      [
        ['pgbackrest-full-backup', 'would run daily at 00:00 UTC · no recorded run'],
        ['pgbackrest-diff-backup', 'would run every 15 minutes · no recorded run'],
      ],
    );
    const sb = backups.statusBar();
    assert.equal(sb?.level, 'warning');
    assert.match(sb!.text, /^\$\(warning\) no backup · no scheduled backups/);
    assert.match(sb!.tooltip, /Ofelia never started on this stack — no scheduled backups — start it: `docker compose/);
    assert.match(sb!.tooltip, /- pgbackrest-full-backup: would run daily at 00:00 UTC; no recorded run — /);

    const i = await info();
    assert.equal(i.scheduler.status, 'notCreated');
    assert.equal(i.scheduler.scheduling, 'no');
    assert.equal(i.scheduler.offBy?.kind, 'onlyDatabase');
    assert.deepEqual(i.scheduler.start?.starts, ['ofelia']);
    assert.deepEqual(
      i.schedules.map((s) => [s.job, s.plan, s.lastRun ?? null]),
      [
        ['pgbackrest-full-backup', 'would run daily at 00:00 UTC', null],
        ['pgbackrest-diff-backup', 'would run every 15 minutes', null],
      ],
    );
  });

  it("Start Scheduler…'s confirmation names what starts; without confirm, with a typo, or declined: nothing starts", async () => {
    const dry = await vscode.commands.executeCommand<DryRun>('tsdbOps.schedule.start', { dryRun: true });
    assert.equal(dry.confirmation.message, `Start the scheduler (ofelia) of ${stack.projectName}?`);
    assert.match(
      dry.confirmation.detail,
      /^Runs `docker compose --profile full up -d --no-recreate` in .*\. Starts: ofelia\./,
    );
    assert.match(dry.confirmation.detail, /the database is not restarted/);
    assert.match(dry.confirmation.detail, /keeps ONLY_DATABASE=TRUE/);
    assert.equal(dry.confirmation.button, 'Start Scheduler');
    await assert.rejects(Promise.resolve(vscode.commands.executeCommand('tsdbOps.schedule.start', {})), /confirm/);
    await assert.rejects(
      Promise.resolve(vscode.commands.executeCommand('tsdbOps.schedule.start', { confirm: true, profile: 'full' })),
      /unknown key "profile" \(it accepts folder, confirm, dryRun\)/,
    );
    // From the tree node: the modal is refused in this host (no dialogs), like a user pressing Cancel.
    const rows = await backups.rows();
    const node = { item: new vscode.TreeItem('Schedules'), stack: undefined, scheduler: {} };
    assert.ok(schedules(rows));
    const r = await Promise.race([
      Promise.resolve(vscode.commands.executeCommand('tsdbOps.schedule.start', node)),
      new Promise((res) => setTimeout(() => res('timeout'), 60_000)),
    ]);
    assert.equal(r, undefined);
    assert.equal((await info()).scheduler.status, 'notCreated', 'nothing started');
  });

  it('{ confirm: true } starts Ofelia the guide’s way; the warning goes without a reload', async () => {
    const r = await vscode.commands.executeCommand<{ started: boolean; argv: string[]; scheduler: SchedulerJson }>(
      'tsdbOps.schedule.start',
      { confirm: true },
    );
    assert.equal(r.started, true);
    assert.ok(
      r.argv.includes('--profile') && r.argv.includes('full') && r.argv.includes('--no-recreate'),
      r.argv.join(' '),
    );
    assert.equal(r.scheduler.status, 'running');
    const rows = await rowsWhere((x) => schedules(x)?.contextValue === 'schedules', 'Schedules without warning');
    assert.doesNotMatch(schedules(rows)!.description ?? '', /Ofelia/);
    const jobs = rows.filter((x) => x.depth === 1 && x.contextValue?.startsWith('schedule.'));
    assert.match(jobs[0]!.description!, /^daily at 00:00 UTC · no recorded run · next /);
    assert.doesNotMatch(backups.statusBar()!.text, /no scheduled backups/);
  });

  it('Ofelia stopped (exited): the warning names the exit time', async () => {
    await stack.compose(['stop', 'ofelia']);
    const rows = await rowsWhere(
      (x) => /^Ofelia not running — no scheduled backups since /.test(schedules(x)?.description ?? ''),
      'exited warning',
    );
    const i = await info();
    assert.equal(i.scheduler.status, 'exited');
    assert.equal(typeof i.scheduler.exitCode, 'number');
    const minute = `${i.scheduler.finishedAt!.slice(0, 16).replace('T', ' ')} UTC`;
    assert.equal(schedules(rows)!.description, `Ofelia not running — no scheduled backups since ${minute}`);
    assert.match(schedules(rows)!.tooltip!, new RegExp(`exited with code ${i.scheduler.exitCode} at ${minute}`));
    assert.match(backups.statusBar()!.text, /no scheduled backups/);
  });

  it('a failed saved run is a problem item with the job’s output, and backup.info has it as the last run', async () => {
    const dir = join(stack.infraDir, 'ofelia_logs');
    const base = join(dir, '20261206_101500_pgbackrest-diff-backup');
    writeFileSync(`${base}.stdout.log`, 'INFO: backup command begin 2.45\n');
    writeFileSync(
      `${base}.stderr.log`,
      "ERROR: [050]: unable to acquire lock on file '/tmp/pgbackrest/db-backup.lock'\n",
    );
    writeFileSync(
      `${base}.json`,
      JSON.stringify({
        Job: { Name: 'pgbackrest-diff-backup', Command: 'pgbackrest --stanza=db --type=diff backup' },
        Execution: {
          ID: 'f1',
          Date: '2026-12-06T10:15:00Z',
          Duration: 4e8,
          IsRunning: false,
          Failed: true,
          Skipped: false,
        },
      }),
    );
    const rows = await rowsWhere((x) => x.some((y) => y.contextValue === 'scheduleRun.failed'), 'failed run item');
    const job = rows.findIndex((x) => x.label === 'pgbackrest-diff-backup');
    assert.match(rows[job]!.description!, /last run .* \(failed\)/);
    const failed = rows[job + 1]!;
    assert.equal(failed.depth, 2);
    assert.equal(failed.contextValue, 'scheduleRun.failed');
    assert.match(failed.description!, /^ERROR: \[050\]: unable to acquire lock/);
    assert.match(failed.tooltip!, /INFO: backup command begin 2\.45/);
    const i = await info();
    const diff = i.schedules.find((s) => s.job === 'pgbackrest-diff-backup')!;
    assert.deepEqual(diff.lastRun && [diff.lastRun.date, diff.lastRun.result, diff.lastRun.source], [
      '2026-12-06T10:15:00.000Z',
      'failed',
      'saved',
    ]);
  });
});
