/**
 * In-host suite: the pgBackRest environment on the Backups view, on a real stack shaped like the guide's
 * stack on the real timescaledb-ha image: the compose file does NOT override PGBACKREST_STANZA (so the
 * image's poddb is in effect while the Ofelia jobs and the stack say db) and one pgBackRest job has no
 * `user` label (Ofelia runs it as root). The view shows the environment and both warnings; the quick fix
 * command adds `user: postgres` to that job in the (copied) compose file and the warning goes away.
 */
import * as assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
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

const USER_LINE = '      ofelia.job-exec.pgbackrest-diff-backup.user: "postgres"\n';
const STANZA_LINE = '      PGBACKREST_STANZA: db\n';
const ENTRY_STANZA = 'STANZA="${PGBACKREST_STANZA:-db}"';

describe('Backups: the pgBackRest environment of the container, its warnings and the Ofelia user quick fix', function () {
  this.timeout(240_000);
  let stack: Stack;
  let rows: () => Promise<Row[]>;
  let composeFile: string;
  const cfg = () => vscode.workspace.getConfiguration('tsdbOps');
  const rowsWhere = (pred: (r: Row[]) => boolean, what: string, ms = 60_000) =>
    waitFor(
      async () => {
        const r = await rows();
        return pred(r) ? r : undefined;
      },
      ms,
      what,
    );

  before(async function () {
    this.timeout(300_000);
    const { api } = await activate();
    const backups = (api as unknown as { backups: { rows(): Promise<Row[]> } }).backups;
    rows = () => backups.rows();
    stack = await startStack({
      prepare: (infra) => {
        const f = join(infra, 'docker-compose.yaml');
        const text = readFileSync(f, 'utf8');
        assert.ok(text.includes(USER_LINE) && text.includes(STANZA_LINE), 'the fixture has the lines this suite drops');
        writeFileSync(f, text.replace(USER_LINE, '').replace(STANZA_LINE, ''));
        // The fixture's entrypoint archives to $PGBACKREST_STANZA (default db): name db the way the guide's commands do.
        const ep = join(infra, 'scripts', 'entrypoint.sh');
        const script = readFileSync(ep, 'utf8');
        assert.ok(script.includes(ENTRY_STANZA), 'the entrypoint picks the stanza from PGBACKREST_STANZA');
        writeFileSync(ep, script.replace(ENTRY_STANZA, 'STANZA=db'));
      },
    });
    composeFile = join(stack.infraDir, 'docker-compose.yaml');
    await cfg().update('docker.host', stack.docker.host, vscode.ConfigurationTarget.Global);
    await useInfra(stack.infraDir);
    await vscode.commands.executeCommand('tsdbOps.refresh');
  });

  after(async () => {
    await useInfra(undefined);
    await cfg().update('docker.host', undefined, vscode.ConfigurationTarget.Global);
    await stack?.stop();
  });

  it('the pgBackRest node shows the environment in effect and warns: PGBACKREST_STANZA poddb vs db, a job as root', async () => {
    const r = await rowsWhere(
      (x) => x.some((y) => y.label === 'Environment') && x.some((y) => /runs pgBackRest as root/.test(y.label)),
      'environment rows and warnings',
    );
    const stanza = r.findIndex((x) => x.label === 'pgBackRest (stanza db)');
    assert.ok(stanza >= 0, `the stanza node: ${r.map((x) => x.label).join(' | ')}`);
    const under = r.slice(stanza + 1).filter((x) => x.depth >= 1);
    const stanzaWarning = under.find((x) => x.contextValue === 'pgbackrestEnvWarning.stanzaMismatch');
    assert.equal(stanzaWarning?.label, 'PGBACKREST_STANZA is "poddb", this stack\'s stanza is "db"');
    assert.match(stanzaWarning!.tooltip!, /pgBackRest commands without --stanza .* use "poddb"/);
    const root = under.find((x) => x.contextValue === 'pgbackrestEnvWarning.jobRunsAsRoot');
    assert.equal(root?.label, 'Ofelia job pgbackrest-diff-backup runs pgBackRest as root');
    assert.match(root!.tooltip!, /pgBackRest 2\.\d+ then leaves root-owned files/);
    assert.ok(!under.some((x) => /pgbackrest-full-backup runs/.test(x.label)), 'the job with user: postgres is fine');
    const env = r.find((x) => x.label === 'Environment' && x.contextValue === 'pgbackrestEnv')!;
    assert.match(env.description!, /^PGBACKREST_STANZA=poddb · pgBackRest 2\.\d+/);
    const at = r.indexOf(env);
    const envRows = Object.fromEntries(
      r
        .slice(at + 1)
        .filter((x, i, all) => x.depth === env.depth + 1 && all.slice(0, i).every((y) => y.depth > env.depth))
        .map((x) => [x.label, x.description]),
    );
    assert.equal(envRows['PGBACKREST_CONFIG'], '/home/postgres/pgdata/backup/pgbackrest.conf');
    assert.equal(envRows['PGBACKREST_STANZA'], 'poddb');
    assert.equal(envRows['Config in effect'], '/home/postgres/pgdata/backup/pgbackrest.conf');
    assert.match(envRows['pgbackrest version'] ?? '', /^2\.\d+/);
    assert.equal(envRows['Ofelia jobs’ stanza'], 'db');
    const info = await vscode.commands.executeCommand<{
      environment: { stanza: string; configPath: string };
      environmentWarnings: { code: string }[];
    }>('tsdbOps.backup.info', { refresh: false });
    assert.equal(info.environment.stanza, 'poddb');
    assert.equal(info.environment.configPath, '/home/postgres/pgdata/backup/pgbackrest.conf');
    assert.deepEqual(info.environmentWarnings.map((w) => w.code).sort(), ['job-runs-as-root', 'stanza-mismatch']);
  });

  it('tsdbOps.backup.fixOfeliaUser: refuses without confirm, then adds user: postgres to that job only', async () => {
    const before = readFileSync(composeFile, 'utf8');
    await assert.rejects(
      Promise.resolve(
        vscode.commands.executeCommand('tsdbOps.backup.fixOfeliaUser', { job: 'pgbackrest-diff-backup' }),
      ),
      /pass \{ confirm: true \}/,
    );
    await assert.rejects(
      Promise.resolve(
        vscode.commands.executeCommand('tsdbOps.backup.fixOfeliaUser', {
          job: 'pgbackrest-full-backup',
          confirm: true,
        }),
      ),
      /not an Ofelia job-exec running pgBackRest as root .*\(those are: pgbackrest-diff-backup\)/,
    );
    assert.equal(readFileSync(composeFile, 'utf8'), before, 'refused: the file is unchanged');
    const result = await vscode.commands.executeCommand<{ job: string; service: string; note: string }>(
      'tsdbOps.backup.fixOfeliaUser',
      { confirm: true },
    );
    assert.equal(result.job, 'pgbackrest-diff-backup', 'the only job running as root is picked');
    assert.equal(result.service, 'timescaledb');
    assert.match(result.note, /docker compose up -d/);
    const after = readFileSync(composeFile, 'utf8');
    assert.equal(after.replace(USER_LINE, ''), before, 'one line added, the rest (comments included) unchanged');
    assert.ok(after.includes(`ofelia.job-exec.pgbackrest-diff-backup.no-overlap: "true"\n${USER_LINE}`));
    await rowsWhere(
      (x) =>
        x.some((y) => y.label === 'Environment') &&
        !x.some((y) => y.contextValue === 'pgbackrestEnvWarning.jobRunsAsRoot'),
      'the root warning gone after the fix',
    );
    const r = await rows();
    assert.ok(
      r.some((x) => x.contextValue === 'pgbackrestEnvWarning.stanzaMismatch'),
      'the stanza warning stays (the fix touches only the user label)',
    );
  });
});
