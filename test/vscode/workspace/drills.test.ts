/**
 * In-host suite: the restore drill command with args on the real fixture stack, its report files, the
 * Drills row in the Backups view and "verified … ago" in the backup status item; bad args of the drill
 * and of tsdbOps.restore.pgbackrest are refused naming the field; user checks from infra/drill-checks; a
 * stopped stanza shown with its start action; failing WAL archiving as a problem row and an error status item.
 * On the same stack, the one-cancel cases (./cancel-cases.ts): a drill, a dump, a migration run, a revert and a
 * restore cancelled while each waits end as Cancelled and leave nothing behind.
 */
import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import {
  DRILL_HOST_LABEL,
  DRILL_LABEL,
  DRILL_PID_LABEL,
  DRILL_PROJECT_LABEL,
  DRILL_STARTED_LABEL,
} from '../../../src/core/backups/drill';
import { run } from '../../support/proc';
import { TIMESCALEDB_TEST_IMAGE } from '../../support/image';
import { startStack, type Stack } from '../../support/stack';
import { activate, waitFor, useInfra } from '../extension.js';
import { describeOneCancel } from './cancel-cases';

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
interface DrillResult {
  report: {
    passed: boolean;
    source: string;
    rtoMs: number;
    recoveryPoint?: string;
    checks: { name: string; status: string }[];
  };
  files: { json: string; markdown: string };
}

describe('Restore drills: the command with args, the Drills row and the status item', function () {
  this.timeout(300_000);
  let stack: Stack;
  let backups: BackupsApi;
  const cfg = () => vscode.workspace.getConfiguration('tsdbOps');

  before(async function () {
    this.timeout(300_000);
    const { api } = await activate();
    backups = (api as unknown as { backups: BackupsApi }).backups;
    stack = await startStack();
    await cfg().update('docker.host', stack.docker.host, vscode.ConfigurationTarget.Global);
    await useInfra(stack.infraDir);
    await vscode.commands.executeCommand('tsdbOps.refresh');
    await stack.sql('CREATE TABLE t (v int)');
    await stack.sql('INSERT INTO t VALUES (1)');
    await stack.exec('timescaledb', ['pgbackrest', '--stanza=db', '--type=full', 'backup']);
  });

  after(async () => {
    await useInfra(undefined);
    await cfg().update('docker.host', undefined, vscode.ConfigurationTarget.Global);
    await stack?.stop();
  });

  it('a drill abandoned by a window that died (its owner process is gone) is swept when the stacks are read again', async () => {
    // What a killed extension host leaves: a scratch container and its volume labelled with this host and
    // a process id that no longer runs (a real process that has exited).
    const deadPid = spawnSync('true').pid;
    assert.ok(deadPid && deadPid > 0);
    const labels = {
      [DRILL_LABEL]: '1',
      [DRILL_PROJECT_LABEL]: stack.projectName,
      [DRILL_HOST_LABEL]: hostname(),
      [DRILL_PID_LABEL]: String(deadPid),
      [DRILL_STARTED_LABEL]: new Date().toISOString(),
    };
    const labelArgs = Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
    const docker = (args: string[]) => run('docker', args, { env: stack.dockerEnv });
    const volume = `${stack.projectName}-abandoned-drill`;
    await docker(['volume', 'create', ...labelArgs, volume]);
    const orphan = (
      await docker([
        'run',
        '-d',
        ...labelArgs,
        '--network',
        'none',
        '-v',
        `${volume}:/var/lib/postgresql/data`,
        '--entrypoint',
        'sleep',
        TIMESCALEDB_TEST_IMAGE,
        'infinity',
      ])
    ).stdout.trim();
    try {
      await vscode.commands.executeCommand('tsdbOps.refresh'); // the stacks are read again, as after a restart
      await waitFor(
        async () => {
          const left = (await docker(['ps', '-aq', '--no-trunc', '--filter', `id=${orphan}`])).stdout.trim();
          const vols = (await docker(['volume', 'ls', '-q', '--filter', `name=${volume}`])).stdout.trim();
          return left === '' && vols === '' ? true : undefined;
        },
        60_000,
        'the abandoned drill container and its volume removed',
      );
    } finally {
      await run('docker', ['rm', '-f', '-v', orphan], { env: stack.dockerEnv, reject: false });
      await run('docker', ['volume', 'rm', volume], { env: stack.dockerEnv, reject: false });
    }
  });

  it('tsdbOps.backup.drill with args drills the newest set and writes the reports; the view and status item show it', async () => {
    // No drill yet: the status item warns "not verified".
    await vscode.commands.executeCommand('tsdbOps.backup.refresh');
    assert.match(backups.statusBar()?.text ?? '', / · not verified$/);
    assert.equal(backups.statusBar()?.level, 'warning');
    // The user's checks: infra/drill-checks/*.sql (tsdbOps.drill.checks unset).
    const checksDir = join(stack.infraDir, 'drill-checks');
    mkdirSync(checksDir, { recursive: true });
    writeFileSync(join(checksDir, 'has-rows.sql'), 'SELECT count(*) >= 1 AS has_rows FROM t;\n');
    let r: DrillResult;
    try {
      r = await vscode.commands.executeCommand<DrillResult>('tsdbOps.backup.drill', {});
    } finally {
      rmSync(checksDir, { recursive: true, force: true });
    }
    assert.equal(r.report.passed, true, JSON.stringify(r.report.checks));
    assert.equal(r.report.checks.find((c) => c.name === 'check has-rows.sql')?.status, 'passed');
    assert.match(r.report.source, /^pgbackrest \d{8}-\d{6}F \(latest state\)$/);
    assert.ok(existsSync(r.files.json) && existsSync(r.files.markdown));
    assert.match(readFileSync(r.files.markdown, 'utf8'), /^# Restore drill passed/);
    const rows = await waitFor(
      async () => {
        const all = await backups.rows();
        return all.some((x) => x.contextValue === 'drill.passed') ? all : undefined;
      },
      60_000,
      'a passed drill row',
    );
    const group = rows.find((x) => x.label === 'Drills')!;
    assert.match(group.description ?? '', /^verified \d+m ago$/);
    const row = rows.find((x) => x.contextValue === 'drill.passed')!;
    assert.match(row.description ?? '', /^passed · .* · RTO \d+ s · recovery point /);
    const status = backups.statusBar();
    assert.match(status?.text ?? '', / · verified \d+m ago$/);
  });

  it('a stopped stanza: the view says backups are refused, a backup fails fast with [062], Start runs pgbackrest start', async () => {
    await stack.exec('timescaledb', ['pgbackrest', '--stanza=db', 'stop']);
    try {
      await vscode.commands.executeCommand('tsdbOps.backup.refresh');
      const rows = await backups.rows();
      const stanza = rows.find((x) => x.label === 'pgBackRest (stanza db)');
      assert.match(stanza?.description ?? '', /^stopped — backups refused · /);
      const stopped = rows.find((x) => x.contextValue === 'stanzaStopped');
      assert.equal(stopped?.label, 'Stanza stopped — backups refused');
      assert.match(stopped?.tooltip ?? '', /\/db\.stop\*\* exists/);
      await assert.rejects(
        Promise.resolve(vscode.commands.executeCommand('tsdbOps.backup.pgbackrest', { type: 'incr' })),
        /\[062\] stop file exists for stanza db/,
      );
      // While a restore journal exists (a restore runs, or one was killed: its recovery starts the stanza), Start is refused.
      const journal = join(stack.infraDir, 'backups', '.tsdbops-restore-data.json');
      writeFileSync(
        journal,
        JSON.stringify({ version: 1, dataDir: '/home/postgres/pgdata/data', started: new Date().toISOString() }),
      );
      try {
        await assert.rejects(
          Promise.resolve(vscode.commands.executeCommand('tsdbOps.backup.stanzaStart', {})),
          /A restore of .* is running or was interrupted .*tsdbOps\.restore\.recover/,
        );
      } finally {
        rmSync(journal, { force: true });
      }
      await stack.exec('timescaledb', ['test', '-e', '/tmp/pgbackrest/db.stop']); // still stopped
    } finally {
      const r = await vscode.commands.executeCommand<{ wasStopped: boolean }>('tsdbOps.backup.stanzaStart', {});
      assert.equal(r.wasStopped, true);
    }
    await vscode.commands.executeCommand('tsdbOps.backup.refresh');
    assert.ok(!(await backups.rows()).some((x) => x.contextValue === 'stanzaStopped'), 'started: no stopped row');
    const again = await vscode.commands.executeCommand<{ wasStopped: boolean }>('tsdbOps.backup.stanzaStart', {});
    assert.equal(again.wasStopped, false);
    await vscode.commands.executeCommand('tsdbOps.backup.pgbackrest', { type: 'incr' });
  });

  it('failing WAL archiving (pg_stat_archiver): a problem row in the Backups view and the status item turns to error', async () => {
    // Healthy: the point-in-time window ends at the newest archived WAL (pg_stat_archiver), not "now".
    await vscode.commands.executeCommand('tsdbOps.backup.refresh');
    const pitr = (await backups.rows()).find((x) => x.contextValue === 'pitrWindow');
    assert.match(
      pitr?.tooltip ?? '',
      /The end is the newest archived WAL \([0-9A-F]{24}(\.[0-9A-F]{8}\.backup)?, pg_stat_archiver\)/,
    );
    assert.ok(!(await backups.rows()).some((x) => x.contextValue === 'archivingFailing'), 'no problem row yet');
    await stack.sql("ALTER SYSTEM SET archive_command = 'false'");
    await stack.sql('SELECT pg_reload_conf()');
    try {
      await stack.sql('INSERT INTO t VALUES (2)');
      await stack.sql('SELECT pg_switch_wal()');
      const row = await waitFor(
        async () => {
          await vscode.commands.executeCommand('tsdbOps.backup.refresh');
          return (await backups.rows()).find((x) => x.contextValue === 'archivingFailing');
        },
        60_000,
        'a failing-archiving row',
      );
      assert.equal(row.label, 'WAL archiving is failing');
      assert.match(row.description ?? '', /^\d+ failures · last [0-9A-F]{24} at /);
      const status = backups.statusBar();
      assert.equal(status?.level, 'error');
      assert.match(status?.text ?? '', /^\$\(error\) /);
      assert.match(status?.tooltip ?? '', /WAL archiving is FAILING/);
      // The automation result says the same as the status item (one status model, core/status).
      const info = await vscode.commands.executeCommand<{
        overall: { level: string; archiving: { state: string; lastFailedWal?: string } };
      }>('tsdbOps.backup.info', { refresh: false });
      assert.equal(info.overall.level, 'error');
      assert.equal(info.overall.archiving.state, 'failing');
      assert.match(info.overall.archiving.lastFailedWal ?? '', /^[0-9A-F]{24}$/);
    } finally {
      await stack.sql('ALTER SYSTEM RESET archive_command');
      await stack.sql('SELECT pg_reload_conf()');
    }
    await waitFor(
      async () => {
        await vscode.commands.executeCommand('tsdbOps.backup.refresh');
        return backups.statusBar()?.level !== 'error' ? true : undefined;
      },
      120_000,
      'archiving healthy again',
    );
  });

  it('bad args are refused naming the field and the value', async () => {
    await cfg().update('drill.checks', ['checks/missing.sql'], vscode.ConfigurationTarget.Global);
    try {
      await assert.rejects(
        Promise.resolve(vscode.commands.executeCommand('tsdbOps.backup.drill', {})),
        /tsdbOps\.drill\.checks: checks\/missing\.sql does not exist/,
      );
    } finally {
      await cfg().update('drill.checks', undefined, vscode.ConfigurationTarget.Global);
    }
    await assert.rejects(
      Promise.resolve(vscode.commands.executeCommand('tsdbOps.backup.drill', { target: 'newest' })),
      /target must be 'latest' or 'set', not "newest"/,
    );
    await assert.rejects(
      Promise.resolve(
        vscode.commands.executeCommand('tsdbOps.restore.pgbackrest', { target: 'newest', confirm: true }),
      ),
      /target must be one of 'latest', 'set', 'time', 'xid', not "newest"/,
    );
    await assert.rejects(
      Promise.resolve(vscode.commands.executeCommand('tsdbOps.restore.pgbackrest', { set: 'latest', confirm: true })),
      /set "latest" is not a pgBackRest backup label/,
    );
  });

  // After this suite's own tests (mocha runs a suite's tests before its child suites), on the same stack.
  describeOneCancel(() => stack);
});
