/** Restores: time targets, set choice, dumpall parsing and filtering, path mapping, logged commands. */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import {
  checkNotFuture,
  formatTimeTarget,
  parseTimeTarget,
  setForTime,
  TimeTargetError,
  type RestorableSet,
} from '../../src/core/backups/restore/pitr';
import {
  checkDatabaseName,
  dumpAllObjects,
  skipExistingRoles,
  unquoteIdent,
} from '../../src/core/backups/restore/logical';
import { containerPath, hostPath } from '../../src/core/backups/restore/stack';
import { displayArgv, psqlArgv, sqlIdent, sqlLiteral } from '../../src/core/backups/restore/run';
import { journalPath, parseDfAvailable, parseTarVerboseLine } from '../../src/core/backups/restore/physical';
import type { VolumeMount } from '../../src/core/infra';

describe('restore: point-in-time targets', () => {
  it('formats pgBackRest time targets in UTC with +00 (ISO strings give [029])', () => {
    assert.equal(formatTimeTarget(new Date('2026-11-24T19:54:50.000Z')), '2026-11-24 19:54:50+00');
    assert.equal(formatTimeTarget(new Date('2026-11-24T19:54:50.07Z')), '2026-11-24 19:54:50.070+00');
    assert.equal(formatTimeTarget(new Date('2026-01-02T03:04:05.999+02:00')), '2026-01-02 01:04:05.999+00');
  });

  it('reads ISO 8601, pgBackRest form, epoch ms and Dates; refuses a missing zone or a bad date naming the field', () => {
    assert.equal(parseTimeTarget('2026-11-24T19:54:50Z').toISOString(), '2026-11-24T19:54:50.000Z');
    assert.equal(parseTimeTarget('2026-11-24 19:54:50.5+00').toISOString(), '2026-11-24T19:54:50.500Z');
    assert.equal(parseTimeTarget('2026-11-24T21:54:50+02:00').toISOString(), '2026-11-24T19:54:50.000Z');
    assert.equal(parseTimeTarget('2026-11-24 14:54-0500').toISOString(), '2026-11-24T19:54:00.000Z');
    assert.equal(parseTimeTarget(Date.UTC(2026, 0, 1)).toISOString(), '2026-01-01T00:00:00.000Z');
    assert.throws(() => parseTimeTarget('2026-11-24 19:54:50'), /has no time zone/);
    assert.throws(() => parseTimeTarget('2026-02-31T00:00:00Z'), /not a valid date/);
    assert.throws(() => parseTimeTarget('yesterday', 'time'), /time "yesterday" is not a time/);
    assert.throws(() => parseTimeTarget(42n as unknown), TimeTargetError);
    assert.throws(() => checkNotFuture(new Date(Date.now() + 60_000)), /in the future/);
  });

  const sets: RestorableSet[] = [
    { label: 'F1', type: 'full', start: new Date('2026-11-24T10:00:00Z'), stop: new Date('2026-11-24T10:00:30Z') },
    { label: 'F1_D1', type: 'diff', start: new Date('2026-11-24T12:00:00Z'), stop: new Date('2026-11-24T12:00:10Z') },
  ];

  it('picks the newest set that ended before the target, at one-second resolution ([075] otherwise)', () => {
    assert.equal(setForTime(sets, new Date('2026-11-24T12:00:11Z')).label, 'F1_D1');
    assert.equal(
      setForTime(sets, new Date('2026-11-24T12:00:10.900Z')).label,
      'F1',
      'same second as the diff stop: not usable',
    );
    assert.throws(() => setForTime(sets, new Date('2026-11-24T10:00:30.5Z')), /before the point-in-time window.*F1/);
    assert.throws(
      () => setForTime(sets, new Date('2026-11-24T11:00:00Z'), 'F1_D1'),
      /not after backup set F1_D1 ended/,
    );
    assert.throws(() => setForTime(sets, new Date('2026-11-24T13:00:00Z'), 'nope'), /not in the repository/);
    assert.throws(() => setForTime([], new Date()), /take a full backup first/);
  });
});

describe('restore: pg_dumpall scripts', () => {
  const script = [
    'CREATE ROLE admin1234;',
    'ALTER ROLE admin1234 WITH SUPERUSER;',
    'CREATE ROLE "Report Reader";',
    "CREATE DATABASE connect_db WITH TEMPLATE = template0 ENCODING = 'UTF8';",
    'CREATE DATABASE "My ""Shop""" WITH TEMPLATE = template0;',
    '-- CREATE DATABASE not_this;',
  ];

  it('finds the databases and roles it creates (quoted names included)', () => {
    assert.deepEqual(dumpAllObjects(script), {
      databases: ['connect_db', 'My "Shop"'],
      roles: ['admin1234', 'Report Reader'],
    });
    assert.equal(unquoteIdent('"a""b"'), 'a"b');
  });

  it('comments out CREATE ROLE of existing roles only, across chunk boundaries', async () => {
    const text = script.join('\n') + '\n';
    const chunks = [text.slice(0, 7), text.slice(7, 40), text.slice(40)];
    const out: string[] = [];
    await new Promise<void>((resolve, reject) => {
      Readable.from(chunks)
        .pipe(skipExistingRoles(new Set(['admin1234'])))
        .on('data', (c: Buffer) => out.push(c.toString()))
        .on('end', resolve)
        .on('error', reject);
    });
    const lines = out.join('').split('\n');
    assert.equal(lines[0], '-- tsdb-ops: role admin1234 exists, CREATE ROLE skipped');
    assert.equal(lines[1], 'ALTER ROLE admin1234 WITH SUPERUSER;');
    assert.equal(lines[2], 'CREATE ROLE "Report Reader";');
    assert.equal(lines.length, script.length + 1);
  });

  it('checks database names', () => {
    assert.equal(checkDatabaseName('copy_db'), 'copy_db');
    assert.throws(() => checkDatabaseName(''), /database must be a database name/);
    assert.throws(() => checkDatabaseName('x'.repeat(64)), /longer than 63 bytes/);
  });
});

describe('restore: paths, commands, plan', () => {
  const volumes: VolumeMount[] = [
    { type: 'bind', source: '/work/infra/pgdata', target: '/home/postgres/pgdata', readOnly: false },
    { type: 'bind', source: '/work/infra/backups', target: '/var/lib/pgbackrest', readOnly: false },
  ];

  it('maps host paths of the backups folder into the container, keeps container paths, refuses others', () => {
    assert.equal(
      containerPath(volumes, '/work/infra/backups/manual_backup/a.tar'),
      '/var/lib/pgbackrest/manual_backup/a.tar',
    );
    assert.equal(
      containerPath(volumes, '/var/lib/pgbackrest/manual_backup/a.tar'),
      '/var/lib/pgbackrest/manual_backup/a.tar',
    );
    assert.equal(
      hostPath(volumes, '/var/lib/pgbackrest/manual_backup/a.tar'),
      '/work/infra/backups/manual_backup/a.tar',
    );
    assert.equal(hostPath(volumes, '/var/lib/pgbackrest'), '/work/infra/backups');
    assert.equal(hostPath(volumes, '/etc/hostname'), undefined);
    assert.throws(
      () => containerPath(volumes, '/home/me/a.tar'),
      /not inside a folder the database container mounts.*\/work\/infra\/backups → \/var\/lib\/pgbackrest/,
    );
  });

  it('logs commands readably and quotes SQL', () => {
    assert.equal(
      displayArgv(['pgbackrest', '--target=2026-11-24 19:54:50+00', "it's"]),
      `pgbackrest '--target=2026-11-24 19:54:50+00' 'it'\\''s'`,
    );
    assert.deepEqual(psqlArgv({ user: 'u', host: '/s', port: 5 }, 'db').slice(-8), [
      '-h',
      '/s',
      '-p',
      '5',
      '-U',
      'u',
      '-d',
      'db',
    ]);
    assert.ok(!psqlArgv({ user: 'u', password: 'secret' }).includes('secret'), 'no password in argv');
    assert.equal(sqlLiteral("o'k"), "'o''k'");
    assert.equal(sqlIdent('a"b'), '"a""b"');
  });

  it('reads GNU tar -tv lines (sizes, names with spaces, symlinks) and df -P output', () => {
    assert.deepEqual(parseTarVerboseLine('-rw------- postgres/postgres  8192 2026-11-24 21:00 global/pg_control'), {
      name: 'global/pg_control',
      size: 8192,
    });
    assert.deepEqual(parseTarVerboseLine('-rw------- 1000/1000 3 2026-11-24 21:00:05 ./PG_VERSION'), {
      name: 'PG_VERSION',
      size: 3,
    });
    assert.deepEqual(
      parseTarVerboseLine('lrwxrwxrwx postgres/postgres 0 2026-11-24 21:00 pg_tblspc/16384 -> /mnt/ts'),
      { name: 'pg_tblspc/16384', size: 0 },
    );
    assert.deepEqual(parseTarVerboseLine('-rw------- a/b 1 2026-11-24 21:00 a file'), { name: 'a file', size: 1 });
    assert.equal(parseTarVerboseLine('tar: Removing leading `/'), undefined);
    assert.equal(
      parseDfAvailable([
        'Filesystem     1024-blocks      Used Available Capacity Mounted on',
        'overlay          102687672  48215604  49212144      50% /',
      ]),
      49212144 * 1024,
    );
    assert.equal(parseDfAvailable(['df: /nope: No such file or directory']), undefined);
  });

  it('keeps its journal beside PGDATA', () => {
    assert.equal(journalPath('/home/postgres/pgdata/data/'), '/home/postgres/pgdata/.tsdbops-restore-data.json');
  });
});
