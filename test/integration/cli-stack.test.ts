/**
 * The installed `tsdb-ops` (test/support/cli-package: the packed tarball) on a real fixture stack with a pgBackRest
 * full backup: `status` in every format (promtool checks the metrics), `--fail-on`, `drill` writing its report where
 * the extension reads it, `--max-age-days` skipping, the documented systemd ExecStart and cron line, and every bad
 * input exiting 2 with its one line and nothing started. The stack's password never appears in any process's argv
 * (host /proc, which sees the containers' processes too), the output or the report.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { installedCli } from '../support/cli-package';
import { debootstrapAvailable, debootstrapInstallHint } from '../support/image';
import { dockerAvailable, dockerInstallHint } from '../support/docker';
import { sleep } from '../support/proc';
import { requirePart, which } from '../support/requirements';
import { composeAvailable, composeInstallHint, startStack, type Stack } from '../support/stack';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Command lines (from /proc) that held the stack's password while it ran. */
  readonly leaks: string[];
}

const DOCS = join(__dirname, '..', '..', 'docs', 'cli.md');

/** The fenced blocks of a language in docs/cli.md. */
function docBlocks(lang: string): string[] {
  const text = readFileSync(DOCS, 'utf8');
  return [...text.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
}

function scanProc(secret: string, leaks: string[]): void {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(secret)) leaks.push(cmd.replaceAll('\0', ' '));
    } catch {
      // gone
    }
  }
}

describe('tsdb-ops status and drill: the installed command line on a fixture stack', function () {
  this.timeout(900_000);
  let stack: Stack;
  let bin = '';
  let baseEnv: Record<string, string> = {};
  let secret = '';
  const drills = () => join(stack.infraDir, 'backups', 'drills');
  const reports = () => (existsSync(drills()) ? readdirSync(drills()).sort() : []);

  /** Runs the installed binary (or a shell line) while scanning every process's argv for the password. */
  async function run(file: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
    const child = spawn(file, args, { cwd: opts.cwd ?? stack.dir, env: { ...baseEnv, ...opts.env } });
    const leaks: string[] = [];
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const scan = setInterval(() => scanProc(secret, leaks), 20);
    const hang = setTimeout(() => child.kill('SIGKILL'), 600_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearInterval(scan);
    clearTimeout(hang);
    const r: Run = { code, stdout, stderr, leaks };
    assert.deepEqual(leaks, [], 'the password in a process argv');
    assert.ok(!stdout.includes(secret) && !stderr.includes(secret), 'the password in the output');
    return r;
  }
  const cli = (args: string[], opts?: { cwd?: string; env?: Record<string, string> }) => run(bin, args, opts);

  /** Containers and volumes of this stack's project and its drills (the engine is shared with other runs). */
  const ours = () => {
    const list = (kind: 'ps' | 'volume', label: string) =>
      spawnSync(
        'docker',
        kind === 'ps'
          ? ['ps', '-aq', '--filter', `label=${label}`]
          : ['volume', 'ls', '-q', '--filter', `label=${label}`],
        {
          env: { ...process.env, ...stack.dockerEnv },
          encoding: 'utf8',
        },
      ).stdout;
    return [
      list('ps', `com.docker.compose.project=${stack.projectName}`),
      list('ps', `tsdb-ops.drill.project=${stack.projectName}`),
      list('volume', `tsdb-ops.drill.project=${stack.projectName}`),
    ].join('|');
  };

  function assertUsageError(r: Run, ...needles: string[]): void {
    assert.equal(r.code, 2, `exit code of ${JSON.stringify(r)}`);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `one line on stderr: ${r.stderr}`);
    for (const n of needles) assert.ok(lines[0]!.includes(n), `"${n}" in: ${lines[0]}`);
  }

  before(async function () {
    requirePart(this, dockerAvailable(), 'docker', dockerInstallHint);
    requirePart(this, composeAvailable(), 'docker compose', composeInstallHint);
    requirePart(this, debootstrapAvailable(), 'debootstrap', debootstrapInstallHint);
    requirePart(this, which('promtool') !== undefined, 'promtool', 'apt-get install -y prometheus');
    bin = installedCli().bin;
    stack = await startStack({ workspace: true });
    secret = stack.env.POSTGRES_PASSWORD!;
    assert.ok(secret.length >= 8, 'a password to look for');
    baseEnv = {
      ...Object.fromEntries(
        Object.entries(process.env).filter(
          (e): e is [string, string] => e[1] !== undefined && !e[0].startsWith('PG') && !e[0].startsWith('DOCKER_'),
        ),
      ),
      DOCKER_HOST: stack.docker.host,
    };
    await stack.exec('timescaledb', ['pgbackrest', '--stanza=db', '--type=full', '--log-level-console=warn', 'backup']);
    await stack.sql('CREATE TABLE cli_t (v int)');
    await stack.sql('INSERT INTO cli_t VALUES (1)');
    const wal = (await stack.sql<{ w: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS w'))[0]!.w;
    for (let i = 0; i < 240; i++) {
      const a = (await stack.sql<{ w: string | null }>('SELECT last_archived_wal AS w FROM pg_stat_archiver'))[0];
      if (a?.w && a.w >= wal) break;
      await sleep(250);
    }
  });

  after(async () => {
    await stack?.stop();
  });

  it('status --format prometheus: the stack as metrics, and promtool check metrics passes', async () => {
    const r = await cli(['status', '--format', 'prometheus']);
    assert.equal(r.code, 0, r.stderr);
    const p = `{project="${stack.projectName}"}`;
    for (const line of [
      `tsdb_ops_archiving_failing${p} 0`,
      `tsdb_ops_archiving_enabled${p} 1`,
      `tsdb_ops_backup_info_readable${p} 1`,
      `tsdb_ops_drill_stale${p} 1`,
    ])
      assert.ok(r.stdout.includes(`${line}\n`), `${line} in:\n${r.stdout}`);
    assert.match(
      r.stdout,
      new RegExp(`^tsdb_ops_backup_newest_timestamp_seconds\\{project="${stack.projectName}"\\} \\d+`, 'm'),
    );
    assert.match(r.stdout, /^tsdb_ops_migrations_pending\{project="[^"]+"\} [1-9]\d*$/m);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: r.stdout, encoding: 'utf8', timeout: 60_000 });
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
    assert.equal(`${check.stdout}${check.stderr}`.trim(), '');
  });

  it('status --format json: the newest set, its repository, archiving, no drill, pending migrations', async () => {
    const info = await stack.exec('timescaledb', ['pgbackrest', '--stanza=db', '--output=json', 'info']);
    const sets = (JSON.parse(info.stdout) as Array<{ backup: Array<{ label: string }> }>)[0]!.backup;
    const migrationFiles = readdirSync(join(stack.dir, 'database', 'migrations')).filter((f) =>
      /^\d+_.*(?<!\.down)\.sql$/.test(f),
    );
    const r = await cli(['status', '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as {
      project: string;
      backups: { newest?: { name: string; kind: string; ageSeconds: number }; repositories: string[] };
      archiving: { state: string; lastArchivedWal?: string; recoveryPoint?: string; failedCount?: number };
      drills: { lastPassed?: unknown; stale: boolean; maxAgeDays: number };
      migrations?: { pending: number; modified: number };
      failures: string[];
    };
    assert.equal(s.project, stack.projectName);
    assert.equal(s.backups.newest?.name, sets.at(-1)!.label);
    assert.equal(s.backups.newest?.kind, 'full');
    assert.ok(s.backups.newest.ageSeconds < 3600);
    assert.ok(
      s.backups.repositories.some((x) => x.startsWith('repo1:')),
      JSON.stringify(s.backups.repositories),
    );
    assert.equal(s.archiving.state, 'ok');
    assert.match(s.archiving.lastArchivedWal ?? '', /^[0-9A-F]{24}$/);
    assert.ok(s.archiving.recoveryPoint && Date.parse(s.archiving.recoveryPoint) > Date.now() - 3_600_000);
    assert.equal(s.archiving.failedCount, 0);
    assert.equal(s.drills.lastPassed, undefined);
    assert.equal(s.drills.stale, true);
    assert.equal(s.drills.maxAgeDays, 7);
    assert.equal(s.migrations?.pending, migrationFiles.length);
    assert.equal(s.migrations?.modified, 0);
    assert.deepEqual(s.failures, []);
  });

  it('status --fail-on: stale-drill holds with no drill (exit 1, said); of archiving,pending only pending holds', async () => {
    const stale = await cli(['status', '--fail-on', 'stale-drill']);
    assert.equal(stale.code, 1, stale.stderr);
    assert.match(stale.stdout, /Fails on:\n {2}stale-drill: never verified by a restore drill/);
    assert.match(stale.stdout, /^ {2}newest: \d{8}-\d{6}F \(full\), /m);
    assert.match(stale.stdout, /^ {2}ok: /m);
    // Archiving works and the migrations are not applied: only `pending` holds.
    const pending = await cli(['status', '--fail-on', 'archiving,pending', '--format', 'json']);
    assert.equal(pending.code, 1, pending.stderr);
    const s = JSON.parse(pending.stdout) as { failOn: string[]; failures: string[]; migrations: { pending: number } };
    assert.deepEqual(s.failOn, ['archiving', 'pending']);
    assert.deepEqual(s.failures, [`pending: ${s.migrations.pending} pending migration(s)`]);
  });

  it('every bad input exits 2 with one line naming it, and starts nothing', async () => {
    const before = ours();
    assertUsageError(
      await cli(['status', '--infra', 'no-such-folder']),
      '--infra no-such-folder',
      'docker-compose.yaml',
    );
    assertUsageError(await cli(['drill', '--infra', 'no-such-folder']), '--infra no-such-folder');
    const nowhere = { DOCKER_HOST: `unix://${join(dirname(bin), 'no-engine.sock')}` };
    assertUsageError(
      await cli(['status'], { env: nowhere }),
      'no Docker engine answers',
      'no-engine.sock',
      'DOCKER_HOST',
    );
    assertUsageError(await cli(['drill'], { env: nowhere }), 'no Docker engine answers', 'no-engine.sock');
    assertUsageError(await cli(['status', '--bogus']), 'unknown option --bogus', 'tsdb-ops status --help');
    assertUsageError(await cli(['drill', '--bogus']), 'unknown option --bogus', 'tsdb-ops drill --help');
    assertUsageError(await cli(['status', '--format', 'yaml']), '--format "yaml" is not one of text, json, prometheus');
    assertUsageError(await cli(['drill', '--format', 'yaml']), '--format "yaml" is not one of text, json');
    assertUsageError(
      await cli(['status', '--fail-on', 'stale-backups']),
      '"stale-backups" is not a condition',
      'stale-backup',
    );
    assertUsageError(await cli(['drill', '--max-age-days', 'soon']), '--max-age-days "soon" is not a number of days');
    // Refused in the drill's preflight (after its first progress lines): exit 2, the last line names the set.
    const noSet = await cli(['drill', '--set', '20000101-000000F']);
    assert.equal(noSet.code, 2, noSet.stderr);
    assert.equal(noSet.stderr.trimEnd().split('\n').length, 1, noSet.stderr);
    assert.match(
      noSet.stderr,
      /^tsdb-ops: \S+: Backup set 20000101-000000F is not in stanza "db" \(sets: \d{8}-\d{6}F\)\.\n$/,
    );
    assert.equal(ours(), before, 'nothing started');
    assert.deepEqual(reports(), []);
  });

  it('drill: passes on the stack, writes the JSON and Markdown report into the drills folder, then --max-age-days 1 skips', async () => {
    const r = await cli(['drill', '--format', 'json']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const out = JSON.parse(r.stdout) as {
      skipped: boolean;
      report: { passed: boolean; project: string; rtoMs: number; recoveryPoint?: string; checks: { status: string }[] };
      files: { json: string; markdown: string };
    };
    assert.equal(out.skipped, false);
    assert.equal(out.report.passed, true, JSON.stringify(out.report.checks));
    assert.equal(out.report.project, stack.projectName);
    assert.ok(out.report.rtoMs > 0 && out.report.recoveryPoint);
    assert.equal(dirname(out.files.json), drills());
    assert.deepEqual(reports(), [out.files.json, out.files.markdown].map((f) => f.slice(drills().length + 1)).sort());
    for (const f of [out.files.json, out.files.markdown]) assert.ok(!readFileSync(f, 'utf8').includes(secret), f);
    assert.match(readFileSync(out.files.markdown, 'utf8'), /^# Restore drill passed/);
    assert.equal(ours().split('|')[1], '', 'no scratch container left');

    const skip = await cli(['drill', '--max-age-days', '1']);
    assert.equal(skip.code, 0, skip.stderr);
    assert.match(skip.stdout, /^Skipped: the newest drill \(.+\) passed \d+ min ago, within --max-age-days 1\.$/m);
    assert.equal(reports().length, 2, 'no new report');

    const fresh = await cli(['status', '--fail-on', 'stale-drill', '--format', 'json']);
    assert.equal(fresh.code, 0, fresh.stderr);
    const s = JSON.parse(fresh.stdout) as { drills: { stale: boolean; lastPassed?: { finished: string } } };
    assert.equal(s.drills.stale, false);
    assert.ok(s.drills.lastPassed);
  });

  it('a drill ended by SIGTERM removes its scratch container (exit 1, no report); one killed by SIGKILL is swept by the next run', async () => {
    const drillsNow = () => ours().split('|').slice(1).join('').trim();
    const startAndWait = async () => {
      const child = spawn(bin, ['drill'], { cwd: stack.dir, env: baseEnv });
      const t0 = Date.now();
      let out = '';
      // Each chunk with the seconds since the start: a slow cancel shows where the time went.
      const add = (d: Buffer) => (out += `[${((Date.now() - t0) / 1000).toFixed(1)} s] ${d.toString()}`);
      child.stdout.on('data', add);
      child.stderr.on('data', add);
      const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
      const container = () => ours().split('|')[1]!.trim();
      for (let i = 0; i < 600 && !container(); i++) await sleep(200);
      assert.ok(drillsNow(), `a scratch container appeared:\n${out}`);
      return { child, closed, out: () => out };
    };
    const term = await startAndWait();
    term.child.kill('SIGTERM');
    const code = await term.closed;
    if (/\[(\d{3,}|[6-9]\d)\.\d s\]/.test(term.out())) console.log(`      [slow cancel]\n${term.out()}`);
    assert.equal(code, 1, term.out());
    assert.match(term.out(), /SIGTERM: cancelling the drill/);
    assert.equal(drillsNow(), '', 'nothing left after SIGTERM');
    assert.equal(reports().length, 2, 'no report for a cancelled drill');

    const killed = await startAndWait();
    killed.child.kill('SIGKILL');
    await killed.closed;
    assert.notEqual(drillsNow(), '', 'SIGKILL leaves the scratch container');
    const next = await cli(['drill', '--max-age-days', '1']);
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stdout, /^Swept 1 abandoned drill container\(s\), 1 volume\(s\), 0 network\(s\)\.$/m);
    assert.match(next.stdout, /^Skipped: /m);
    assert.equal(drillsNow(), '', 'swept');
  });

  it("the documented systemd ExecStart and cron line run as written (the stack's folder for /srv/myapp)", async () => {
    const service = docBlocks('ini').find((b) => b.includes('ExecStart='))!;
    const workDir = /^WorkingDirectory=(.+)$/m.exec(service)![1]!;
    const execStart = /^ExecStart=(.+)$/m.exec(service)![1]!.split(/\s+/);
    assert.equal(execStart[0], '/usr/local/bin/tsdb-ops');
    const viaSystemd = await cli(execStart.slice(1), { cwd: workDir === '/srv/myapp' ? stack.dir : workDir });
    assert.equal(viaSystemd.code, 0, viaSystemd.stderr);
    assert.match(viaSystemd.stdout, /^Skipped: /m);

    const cron = docBlocks('cron')
      .flatMap((b) => b.split('\n'))
      .find((l) => l.includes('tsdb-ops drill'))!;
    const command = cron.split(/\s+/).slice(5).join(' ');
    const log = join(dirname(bin), 'tsdb-ops-drill.log');
    const line = command
      .replaceAll('/srv/myapp', stack.dir)
      .replaceAll('/usr/local/bin/tsdb-ops', bin)
      .replaceAll('/var/log/tsdb-ops-drill.log', log);
    const viaCron = await run('/bin/sh', ['-c', line]);
    assert.equal(viaCron.code, 0, `${line}\n${viaCron.stderr}`);
    assert.match(readFileSync(log, 'utf8'), /^Skipped: /m);
    assert.equal(reports().length, 2, 'no new report');
  });
});
