/**
 * The container's pgBackRest environment against the Ofelia jobs: a missing config file, jobs on a
 * stanza other than PGBACKREST_STANZA (the real timescaledb-ha image says poddb, the guide's jobs say db),
 * and pgBackRest jobs that run as root, with the quick fix that adds `user: postgres` to the label.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { parseCompose } from '../../src/core/infra';
import {
  addOfeliaUserLabel,
  describePgbackrestEnvironment,
  jobsRunningPgbackrestAsRoot,
  pgbackrestEnvironmentWarnings,
  stanzaOfCommand,
  type PgbackrestEnvironment,
} from '../../src/core/backups/pgbackrest-env';
import type { OfeliaJob } from '../../src/core/schedule/ofelia';

function job(name: string, command: string, user?: string): OfeliaJob {
  return {
    name,
    type: 'job-exec',
    service: 'timescaledb',
    command,
    user,
    noOverlap: true,
    params: {},
    backupKind: 'full',
  };
}

// What the real timescale/timescaledb-ha image sets (its config link exists once the file is mounted).
const haEnv: PgbackrestEnvironment = {
  variables: {
    PGBACKREST_CONFIG: '/home/postgres/pgdata/backup/pgbackrest.conf',
    PGBACKREST_STANZA: 'poddb',
  },
  version: '2.45',
  configPath: '/home/postgres/pgdata/backup/pgbackrest.conf',
  configResolved: '/home/postgres/pgdata/backup/pgbackrest.conf',
  configExists: true,
  stanza: 'poddb',
};

describe('pgBackRest environment of the database container', () => {
  it('reads the stanza of a pgBackRest command line', () => {
    assert.equal(stanzaOfCommand('pgbackrest --stanza=db --type=full backup'), 'db');
    assert.equal(stanzaOfCommand('/usr/bin/pgbackrest --stanza poddb backup'), 'poddb');
    assert.equal(stanzaOfCommand('pgbackrest backup'), undefined);
    assert.equal(stanzaOfCommand('pg_dump --stanza=x'), undefined);
  });

  it('warns when the jobs back up stanza db while the environment says poddb', () => {
    const w = pgbackrestEnvironmentWarnings(haEnv, [
      job('full', 'pgbackrest --stanza=db --type=full backup', 'postgres'),
      job('diff', 'pgbackrest --stanza=db --type=diff backup', 'postgres'),
    ]);
    assert.equal(w.length, 1);
    assert.equal(w[0]!.code, 'stanza-mismatch');
    assert.match(
      w[0]!.message,
      /jobs full, diff back up stanza "db", but the container's PGBACKREST_STANZA is "poddb"/,
    );
  });

  it('no warning when the compose file overrides PGBACKREST_STANZA to the jobs’ stanza', () => {
    const env = { ...haEnv, variables: { ...haEnv.variables, PGBACKREST_STANZA: 'db' }, stanza: 'db' };
    assert.deepEqual(
      pgbackrestEnvironmentWarnings(env, [job('full', 'pgbackrest --stanza=db backup', 'postgres')]),
      [],
    );
  });

  it('warns when the config file pgBackRest reads does not exist', () => {
    const env = { ...haEnv, configResolved: undefined, configExists: false };
    const w = pgbackrestEnvironmentWarnings(env, []);
    assert.equal(w[0]!.code, 'config-missing');
    assert.match(
      w[0]!.message,
      /reads \/home\/postgres\/pgdata\/backup\/pgbackrest\.conf \(PGBACKREST_CONFIG\), which does not exist/,
    );
  });

  it('warns on a pgBackRest job without user (root), by version', () => {
    const old = pgbackrestEnvironmentWarnings(haEnv, [job('full', 'pgbackrest --stanza=poddb backup')]);
    assert.equal(old.length, 1);
    assert.equal(old[0]!.code, 'job-runs-as-root');
    assert.deepEqual(old[0]!.job, { service: 'timescaledb', name: 'full' });
    assert.match(old[0]!.message, /leaves root-owned files/);
    const newer = pgbackrestEnvironmentWarnings({ ...haEnv, version: '2.59.0' }, [
      job('full', 'pgbackrest --stanza=poddb backup', 'root'),
    ]);
    assert.match(newer[0]!.message, /pgBackRest 2\.59\.0 refuses to run as root/);
  });

  it('the quick fix adds user: postgres after the job’s labels (map and list style)', () => {
    const map = [
      '    labels:',
      '      ofelia.enabled: "true"',
      '      ofelia.job-exec.full.schedule: "0 0 2 * * *"',
      '      ofelia.job-exec.full.command: "pgbackrest --stanza=db backup"',
      '      other: x',
    ].join('\n');
    assert.deepEqual(addOfeliaUserLabel(map, 'full').split('\n').slice(3, 5), [
      '      ofelia.job-exec.full.command: "pgbackrest --stanza=db backup"',
      '      ofelia.job-exec.full.user: "postgres"',
    ]);
    const list = ['    labels:', '      - "ofelia.job-exec.full.command=pgbackrest backup"'].join('\n');
    assert.equal(addOfeliaUserLabel(list, 'full').split('\n')[2], '      - "ofelia.job-exec.full.user=postgres"');
    const root = '      ofelia.job-exec.full.user: "root"';
    assert.equal(addOfeliaUserLabel(root, 'full'), '      ofelia.job-exec.full.user: "postgres"');
    assert.throws(() => addOfeliaUserLabel(map, 'nope'), /No ofelia\.job-exec\.nope\.\* label/);
  });

  it('warns when PGBACKREST_STANZA differs from the stack’s stanza even when the jobs agree with the stack', () => {
    const w = pgbackrestEnvironmentWarnings(haEnv, [job('full', 'pgbackrest --stanza=db backup', 'postgres')], 'db');
    assert.deepEqual(
      w.map((x) => x.code),
      ['stanza-mismatch'],
    );
    assert.equal(w[0]!.title, 'PGBACKREST_STANZA is "poddb", this stack\'s stanza is "db"');
    assert.match(w[0]!.message, /Set PGBACKREST_STANZA: db in the environment of the database service/);
    assert.deepEqual(pgbackrestEnvironmentWarnings({ ...haEnv, stanza: 'db' }, [], 'db'), []);
  });

  it('describes the environment as rows: variables, config in effect (link followed), version, the jobs’ stanza', () => {
    const rows = describePgbackrestEnvironment(
      { ...haEnv, configPath: '/etc/pgbackrest.conf', configResolved: '/home/postgres/pgdata/backup/pgbackrest.conf' },
      [job('full', 'pgbackrest --stanza=db backup'), job('diff', 'pgbackrest backup')],
    );
    assert.deepEqual(
      rows.map((r) => [r.label, r.value]),
      [
        ['PGBACKREST_CONFIG', '/home/postgres/pgdata/backup/pgbackrest.conf'],
        ['PGBACKREST_STANZA', 'poddb'],
        ['Config in effect', '/etc/pgbackrest.conf → /home/postgres/pgdata/backup/pgbackrest.conf'],
        ['pgbackrest version', '2.45'],
        ['Ofelia jobs’ stanza', 'db, poddb (no --stanza)'],
      ],
    );
    assert.match(rows[1]!.tooltip, /option --stanza/);
    const missing = describePgbackrestEnvironment(
      { ...haEnv, configExists: false, configResolved: undefined, version: undefined },
      [],
    );
    assert.deepEqual(
      missing.slice(2).map((r) => r.value),
      ['/home/postgres/pgdata/backup/pgbackrest.conf (missing)', 'not found'],
    );
  });

  it('the quick fix on the fixture compose file: only the one service’s job gets the line, comments and the rest unchanged', () => {
    const fixture = readFileSync(join(__dirname, '..', 'fixtures', 'infra', 'docker-compose.yaml'), 'utf8');
    const rootText = fixture.replace('      ofelia.job-exec.pgbackrest-diff-backup.user: "postgres"\n', '');
    const vars = {
      TIMESCALEDB_IMAGE: 'x',
      POSTGRES_USER: 'u',
      POSTGRES_PASSWORD: 'p',
      POSTGRES_DB: 'd',
      PG_DATA: './pgdata',
    };
    const before = parseCompose(rootText, 'docker-compose.yaml', vars).model;
    assert.deepEqual(
      jobsRunningPgbackrestAsRoot(before).map((j) => [j.name, j.service]),
      [['pgbackrest-diff-backup', 'timescaledb']],
    );
    const fixed = addOfeliaUserLabel(rootText, 'pgbackrest-diff-backup', 'timescaledb');
    const added = fixed.split('\n').filter((l) => !rootText.split('\n').includes(l));
    assert.deepEqual(added, ['      ofelia.job-exec.pgbackrest-diff-backup.user: "postgres"']);
    assert.equal(fixed.replace(`${added[0]}\n`, ''), rootText, 'nothing else changes (comments kept)');
    assert.deepEqual(jobsRunningPgbackrestAsRoot(parseCompose(fixed, 'docker-compose.yaml', vars).model), []);
    assert.throws(() => addOfeliaUserLabel(rootText, 'pgbackrest-diff-backup', 'ofelia'), /on service ofelia/);
  });

  it('the quick fix keeps a value’s quotes, handles a comment after the last label and flow-style labels', () => {
    const commented = [
      's:',
      '  labels:',
      '    - "ofelia.job-exec.f.command=pgbackrest backup"  # nightly',
      '    - x=1',
      '',
    ].join('\n');
    assert.equal(
      addOfeliaUserLabel(commented, 'f'),
      [
        's:',
        '  labels:',
        '    - "ofelia.job-exec.f.command=pgbackrest backup"  # nightly',
        '    - "ofelia.job-exec.f.user=postgres"',
        '    - x=1',
        '',
      ].join('\n'),
    );
    const single = "s:\n  labels:\n    ofelia.job-exec.f.user: 'root' # was\n";
    assert.equal(addOfeliaUserLabel(single, 'f'), "s:\n  labels:\n    ofelia.job-exec.f.user: 'postgres' # was\n");
    const flow = 's:\n  labels: { ofelia.job-exec.f.command: "pgbackrest backup" }\n';
    assert.equal(
      parseDocument(addOfeliaUserLabel(flow, 'f')).getIn(['s', 'labels', 'ofelia.job-exec.f.user']),
      'postgres',
    );
  });
});
