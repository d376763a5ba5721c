/**
 * In-host suite: the backup commands with args on the real fixture stack (started by the suite on the
 * test engine), the Backups view's rows (stanza, full with diff child, PITR window, manual backups,
 * schedules), the freshness status item at fixed times, the pgBackRest and Ofelia channels, and no
 * password in any channel or the extension log.
 */
import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { startStack, type Stack } from '../../support/stack';
import { activate, extensionLogFiles, waitFor, useInfra } from '../extension.js';

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
  channel(name: 'pgBackRest' | 'Ofelia'): string[];
}

describe('Backups: commands on a real stack, the view, the freshness status item and the channels', function () {
  this.timeout(240_000);
  let stack: Stack;
  let backups: BackupsApi;
  let fullLabel: string;
  let diffLabel: string;
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

  before(async function () {
    this.timeout(300_000);
    const { api } = await activate();
    backups = (api as unknown as { backups: BackupsApi }).backups;
    assert.ok(backups, 'the API has backups');
    stack = await startStack();
    mkdirSync(join(stack.infraDir, 'ofelia_logs'), { recursive: true });
    await cfg().update('docker.host', stack.docker.host, vscode.ConfigurationTarget.Global);
    await useInfra(stack.infraDir);
    await vscode.commands.executeCommand('tsdbOps.refresh');
  });

  after(async () => {
    await cfg().update('backups.stanza', undefined, vscode.ConfigurationTarget.Global);
    await useInfra(undefined);
    await cfg().update('docker.host', undefined, vscode.ConfigurationTarget.Global);
    await stack?.stop();
  });

  it('the view shows the stanza the guide creates, with no backups yet, and the compose schedules', async () => {
    const rows = await rowsWhere(
      (r) => r.some((x) => x.label === 'pgBackRest (stanza db)' && /no valid backups/.test(x.description ?? '')),
      'stanza row',
      60_000,
    );
    const stanza = rows.find((x) => x.label === 'pgBackRest (stanza db)')!;
    assert.equal(stanza.contextValue, 'stanza');
    assert.equal(stanza.depth, 0);
    assert.ok(rows.some((x) => x.label === 'Manual backups' && x.depth === 0));
    const sched = rows.filter((x) => x.depth === 1 && x.contextValue?.startsWith('schedule.'));
    assert.deepEqual(
      sched.map((x) => x.label),
      ['pgbackrest-full-backup', 'pgbackrest-diff-backup'],
    );
    // The fixture starts with ONLY_DATABASE=TRUE: Ofelia is not created, nothing runs the jobs (issue 30).
    assert.equal(sched[0]!.description, 'would run daily at 00:00 UTC · no recorded run');
    assert.equal(sched[1]!.description, 'would run every 15 minutes · no recorded run');
  });

  it('tsdbOps.backup.pgbackrest full then diff: the view shows the full with its diff child and the PITR window', async () => {
    const full = await vscode.commands.executeCommand<{ label: string; type: string; stanza: string }>(
      'tsdbOps.backup.pgbackrest',
      { type: 'full' },
    );
    assert.equal(full.type, 'full');
    assert.equal(full.stanza, 'db');
    fullLabel = full.label;
    const diff = await vscode.commands.executeCommand<{ label: string }>('tsdbOps.backup.pgbackrest', { type: 'diff' });
    diffLabel = diff.label;
    assert.ok(diffLabel.startsWith(`${fullLabel}_`));
    const rows = await rowsWhere((r) => r.some((x) => x.label === diffLabel), 'diff row');
    const f = rows.findIndex((x) => x.label === fullLabel);
    assert.equal(rows[f]!.contextValue, 'backupSet.full');
    assert.equal(rows[f]!.depth, 1);
    assert.match(rows[f]!.description!, /^full · .* · \d+(\.\d)? (KB|MB) · repo /);
    assert.equal(rows[f + 1]!.label, diffLabel, "the diff is the full backup's child");
    assert.equal(rows[f + 1]!.depth, 2);
    assert.equal(rows[f + 1]!.contextValue, 'backupSet.diff');
    assert.match(rows[f + 1]!.tooltip!, new RegExp(`Prior: ${fullLabel}`));
    assert.ok(rows.some((x) => x.contextValue === 'pitrWindow' && x.label === 'Point-in-time window'));
    assert.ok(
      rows.some((x) => x.label === 'Archived WAL' && /^[0-9A-F]{24} … [0-9A-F]{24}$/.test(x.description ?? '')),
    );
    const info = await vscode.commands.executeCommand<{ backups: Array<{ label: string; prior?: string }> }>(
      'tsdbOps.backup.info',
      {},
    );
    assert.deepEqual(
      info.backups.map((b) => [b.label, b.prior ?? null]),
      [
        [fullLabel, null],
        [diffLabel, fullLabel],
      ],
    );
  });

  it('bad args are refused with a clear error; pgBackRest errors keep their code', async () => {
    await assert.rejects(
      Promise.resolve(vscode.commands.executeCommand('tsdbOps.backup.pgbackrest', { type: 'weekly' })),
      /type must be one of 'full', 'diff', 'incr', not "weekly"/,
    );
    await assert.rejects(
      Promise.resolve(vscode.commands.executeCommand('tsdbOps.backup.dump', { format: 'zip' })),
      /format must be one of 'tar', 'custom', not "zip"/,
    );
    // A stanza in pgbackrest.conf that was never created: [055], then stanza-create through the command.
    const confPath = join(stack.infraDir, 'pgbackrest.conf');
    const conf = readFileSync(confPath, 'utf8');
    writeFileSync(
      confPath,
      `${conf}\n[other]\npg1-path=/home/postgres/pgdata/data\npg1-port=5432\npg1-socket-path=/var/run/postgresql\npg1-user=${stack.env.POSTGRES_USER}\n`,
    );
    await cfg().update('backups.stanza', 'other', vscode.ConfigurationTarget.Global);
    try {
      await assert.rejects(
        Promise.resolve(vscode.commands.executeCommand('tsdbOps.backup.pgbackrest', { type: 'full' })),
        (e: Error & { code?: number; remedy?: string }) => {
          assert.equal(e.code, 55);
          assert.equal(e.remedy, 'stanzaCreate');
          assert.match(e.message, /HINT: has a stanza-create been performed\?/);
          return true;
        },
      );
      assert.deepEqual(await vscode.commands.executeCommand('tsdbOps.backup.stanzaCreate', {}), { stanza: 'other' });
      const info = await vscode.commands.executeCommand<{ stanza: string; status: { code: number } }>(
        'tsdbOps.backup.info',
        {},
      );
      assert.equal(info.stanza, 'other');
      assert.equal(info.status.code, 2, 'created, no valid backups');
    } finally {
      await cfg().update('backups.stanza', undefined, vscode.ConfigurationTarget.Global);
      writeFileSync(confPath, conf);
    }
    assert.deepEqual(await vscode.commands.executeCommand('tsdbOps.backup.check', {}), { ok: true, stanza: 'db' });
  });

  it('a second repository: backup with { repo: 2 }, the view groups sets per repository, info lists both', async () => {
    const confFile = join(stack.infraDir, 'pgbackrest.conf');
    const original = readFileSync(confFile, 'utf8');
    // Written in place: the container's bind mount of the file sees it.
    writeFileSync(
      confFile,
      original.replace('[global]\n', '[global]\nrepo2-path=/var/lib/pgbackrest/repo2\nrepo2-retention-full=1\n'),
    );
    try {
      await vscode.commands.executeCommand('tsdbOps.backup.stanzaCreate', {});
      const r = await vscode.commands.executeCommand<{ label: string; repo?: number }>('tsdbOps.backup.pgbackrest', {
        type: 'full',
        repo: 2,
      });
      assert.equal(r.repo, 2);
      const rows = await rowsWhere((x) => x.some((y) => y.label === r.label), 'the repo2 set');
      const repo1 = rows.findIndex((x) => x.label === 'repo1');
      const repo2 = rows.findIndex((x) => x.label === 'repo2');
      assert.ok(repo1 > 0 && repo2 > repo1, rows.map((x) => x.label).join(', '));
      assert.equal(rows[repo2]!.contextValue, 'repository');
      assert.equal(rows[repo2]!.depth, 1);
      assert.match(rows[repo2]!.description!, /^posix \/var\/lib\/pgbackrest\/repo2 · 1 backup$/);
      const set = rows.findIndex((x) => x.label === r.label);
      assert.ok(set > repo2 && rows[set]!.depth === 2, 'the repo2 set is under repo2');
      const full1 = rows.findIndex((x) => x.label === fullLabel);
      assert.ok(full1 > repo1 && full1 < repo2, 'the earlier full is under repo1');
      const info = await vscode.commands.executeCommand<{
        repositories: Array<{ name: string; location: string; retention: string; backups: string[] }>;
      }>('tsdbOps.backup.info', {});
      assert.deepEqual(
        info.repositories.map((x) => [x.name, x.location, x.retention]),
        [
          ['repo1', 'posix /var/lib/pgbackrest', 'full 2'],
          ['repo2', 'posix /var/lib/pgbackrest/repo2', 'full 1'],
        ],
      );
      assert.deepEqual(info.repositories[1]!.backups, [r.label]);
      await assert.rejects(
        Promise.resolve(vscode.commands.executeCommand('tsdbOps.backup.pgbackrest', { type: 'full', repo: 3 })),
        /no repo3 in the pgBackRest config \(repositories: repo1, repo2\)/,
      );
    } finally {
      writeFileSync(confFile, original);
      await vscode.commands.executeCommand('tsdbOps.backup.refresh');
    }
  });

  it('pg_dump, pg_dumpall and pg_basebackup land in manual_backup with sidecars and show in the view', async () => {
    const dump = await vscode.commands.executeCommand<{
      path: string;
      name: string;
      meta: { database: string; format: string };
    }>('tsdbOps.backup.dump', {});
    assert.equal(dump.meta.database, stack.env.POSTGRES_DB);
    assert.equal(dump.meta.format, 'tar');
    assert.ok(existsSync(dump.path) && existsSync(`${dump.path}.meta.json`));
    const custom = await vscode.commands.executeCommand<{ name: string }>('tsdbOps.backup.dump', {
      database: 'postgres',
      format: 'custom',
    });
    assert.match(custom.name, /^postgres_pg_dump_\d{8}_\d{6}\.dump$/);
    const all = await vscode.commands.executeCommand<{ name: string }>('tsdbOps.backup.dumpAll', {});
    assert.match(all.name, /^all_dbs_pg_dumpall_\d{8}_\d{6}\.sql$/);
    const base = await vscode.commands.executeCommand<{ name: string; path: string }>('tsdbOps.backup.baseBackup', {});
    assert.ok(existsSync(join(base.path, 'base.tar.gz')));
    const viaNew = await vscode.commands.executeCommand<{ kind: string }>('tsdbOps.backup.new', { kind: 'dumpAll' });
    assert.equal(viaNew.kind, 'dumpAll');
    const rows = await rowsWhere((r) => r.some((x) => x.label === base.name), 'manual rows');
    const byName = (n: string) => rows.find((x) => x.label === n)!;
    assert.equal(byName(dump.name).contextValue, 'manualBackup.dump');
    assert.equal(byName(all.name).contextValue, 'manualBackup.dumpAll');
    assert.equal(byName(base.name).contextValue, 'manualBackup.baseBackup');
    assert.match(byName(dump.name).description!, /^pg_dump · \d+(\.\d)? (B|KB|MB) · /);
    assert.match(byName(dump.name).tooltip!, /PostgreSQL 15/);
  });

  it('a data folder a restore moved aside shows under Pre-restore copies with its size', async () => {
    const copy = '/home/postgres/pgdata/data.pre-restore-20261124_203000';
    await stack.exec('timescaledb', ['sh', '-c', `mkdir -p ${copy} && head -c 100000 /dev/zero > ${copy}/f`]);
    try {
      await vscode.commands.executeCommand('tsdbOps.backup.refresh');
      const rows = await rowsWhere((r) => r.some((x) => x.contextValue === 'preRestoreCopy'), 'pre-restore copy row');
      const group = rows.find((x) => x.label === 'Pre-restore copies');
      assert.equal(group?.depth, 0);
      const row = rows.find((x) => x.contextValue === 'preRestoreCopy')!;
      assert.equal(row.label, 'data.pre-restore-20261124_203000');
      assert.match(row.description!, /^(9\d|1\d\d) KB · /);
    } finally {
      await stack.exec('timescaledb', ['rm', '-rf', copy]);
      await vscode.commands.executeCommand('tsdbOps.backup.refresh');
    }
    assert.ok(!(await backups.rows()).some((x) => x.label === 'Pre-restore copies'));
  });

  it("the freshness status item shows the newest backup's age, and warns at a time past the schedules", async () => {
    const now = backups.statusBar();
    assert.ok(now, 'shown');
    // No restore drill passed yet (none ran in this workspace): the item warns and says so.
    assert.equal(now.level, 'warning', now.tooltip);
    assert.match(now.text, /^\$\(warning\) backup \d+ (s|min) ago · no scheduled backups · not verified$/);
    assert.match(now.tooltip, /no restore drill passed yet — run "Verify Backup by Restoring…"/);
    assert.match(now.tooltip, /pgbackrest-diff-backup: would run every 15 minutes; no recorded run — /);
    const later = backups.statusBar(new Date(Date.now() + 3 * 3_600_000).toISOString());
    assert.equal(later?.level, 'warning');
    assert.match(later!.text, /^\$\(warning\) backup 3 h( \d+ min)? ago · no scheduled backups · not verified$/);
    assert.match(later!.tooltip, /pgbackrest-diff-backup: newest full or differential backup/);
  });

  it('the pgBackRest channel follows logs/pgbackrest; the Ofelia channel shows saved runs; openLog opens one file', async () => {
    const lines = await waitFor(
      () => {
        const l = backups.channel('pgBackRest');
        return l.some((x) => x.includes(`new backup label = ${diffLabel}`)) ? l : undefined;
      },
      20_000,
      'pgBackRest channel shows the diff backup',
    );
    assert.ok(lines.some((l) => /^==> .*db-backup\.log <==$/.test(l)));
    const shown = await vscode.commands.executeCommand<{ channel: string; lines: string[] }>('tsdbOps.backup.showLog', {
      channel: 'pgBackRest',
    });
    assert.equal(shown.channel, 'pgBackRest');

    const dir = join(stack.infraDir, 'ofelia_logs');
    const stamp = '20261124_203000';
    writeFileSync(
      join(dir, `${stamp}_pgbackrest-diff-backup.stderr.log`),
      "ERROR: [050]: unable to acquire lock on file '/tmp/pgbackrest/db-backup.lock': Resource temporarily unavailable\n",
    );
    writeFileSync(join(dir, `${stamp}_pgbackrest-diff-backup.stdout.log`), '');
    writeFileSync(
      join(dir, `${stamp}_pgbackrest-diff-backup.json`),
      JSON.stringify({
        Job: {
          Name: 'pgbackrest-diff-backup',
          Command: 'pgbackrest --stanza=db --type=diff --log-level-stderr=info backup',
        },
        Execution: {
          ID: 'e1',
          Date: '2026-11-24T20:30:00Z',
          Duration: 4e8,
          IsRunning: false,
          Failed: true,
          Skipped: false,
          Error: {},
        },
      }),
    );
    const ofelia = await waitFor(
      () => {
        const l = backups.channel('Ofelia');
        return l.some((x) => /job pgbackrest-diff-backup: FAILED/.test(x)) ? l : undefined;
      },
      20_000,
      'Ofelia channel shows the saved run',
    );
    assert.ok(ofelia.some((l) => /ERROR: \[050\]/.test(l)));
    const r = await vscode.commands.executeCommand<{ source: string }>('tsdbOps.backup.showLog', { channel: 'Ofelia' });
    assert.equal(r.source, 'savedRuns');
    const rows = await rowsWhere(
      (x) => x.some((y) => y.label === 'pgbackrest-diff-backup' && /\(failed\)/.test(y.description ?? '')),
      'schedule row with the failed run',
    );
    assert.ok(rows);

    const opened = await vscode.commands.executeCommand<{ file: string }>('tsdbOps.backup.openLog', {
      file: 'db-backup.log',
    });
    assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, opened.file);
  });

  it('no password in the channels or the extension log', () => {
    const pw = stack.env.POSTGRES_PASSWORD!;
    assert.ok(pw.length >= 4);
    for (const name of ['pgBackRest', 'Ofelia'] as const)
      for (const l of backups.channel(name)) assert.ok(!l.includes(pw), `${name}: ${l}`);
    for (const f of extensionLogFiles()) assert.ok(!readFileSync(f, 'utf8').includes(pw), f);
  });
});
