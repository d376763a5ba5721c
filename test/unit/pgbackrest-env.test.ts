/**
 * The container's pgBackRest environment against the Ofelia jobs: a missing config file, jobs on a
 * stanza other than PGBACKREST_STANZA (the real timescaledb-ha image says poddb, the guide's jobs say db),
 * and pgBackRest jobs that run as root, with the quick fix that adds `user: postgres` to the label.
 */
import assert from 'node:assert/strict';
import {
  addOfeliaUserLabel,
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
});
