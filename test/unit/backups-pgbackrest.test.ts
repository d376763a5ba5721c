/** pgBackRest info JSON (the spec's 2.45 example), error lines, stanza resolution, sidecars, file names. */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  confOption,
  groupBackupSets,
  parsePgBackRestError,
  parsePgBackRestInfo,
  PgBackRestError,
  stanzasInConf,
} from '../../src/core/backups/pgbackrest';
import { resolveSite } from '../../src/core/stack/site';
import { readSidecar, sidecarPath, writeSidecar } from '../../src/core/backups/sidecar';
import { backupStamp, baseBackupDirName, dumpAllFileName, dumpFileName } from '../../src/core/backups/dump';

const EXAMPLE = `[{"archive":[{"database":{"id":1,"repo-key":1},"id":"15-1",
   "max":"000000010000000000000031","min":"000000010000000000000004"}],
 "backup":[
  {"archive":{"start":"000000010000000000000004","stop":"000000010000000000000004"},
   "backrest":{"format":5,"version":"2.45"},"database":{"id":1,"repo-key":1},"error":false,
   "info":{"delta":1073959836,"repository":{"delta":161020337,"size":161020337},"size":1073959836},
   "label":"20230507-020002F","lsn":{"start":"0/4000028","stop":"0/4000138"},
   "prior":null,"reference":null,"timestamp":{"start":1683424802,"stop":1683424871},"type":"full"},
  {"archive":{"start":"000000010000000000000012","stop":"000000010000000000000012"},
   "backrest":{"format":5,"version":"2.45"},"database":{"id":1,"repo-key":1},"error":false,
   "info":{"delta":48234496,"repository":{"delta":6120455,"size":163102213},"size":1081348096},
   "label":"20230507-020002F_20230508-020001D","lsn":{"start":"0/12000028","stop":"0/12000100"},
   "prior":"20230507-020002F","reference":["20230507-020002F"],
   "timestamp":{"start":1683511201,"stop":1683511239},"type":"diff"},
  {"annotation":{"reason":"pre-migration","source":"vscode"},
   "archive":{"start":"000000010000000000000030","stop":"000000010000000000000030"},
   "backrest":{"format":5,"version":"2.45"},"database":{"id":1,"repo-key":1},"error":true,
   "info":{"delta":9437184,"repository":{"delta":1203311,"size":164305524},"size":1082396672},
   "label":"20230507-020002F_20230508-140003I","lsn":{"start":"0/30000028","stop":"0/30000138"},
   "prior":"20230507-020002F_20230508-020001D",
   "reference":["20230507-020002F","20230507-020002F_20230508-020001D"],
   "timestamp":{"start":1683554403,"stop":1683554421},"type":"incr"}],
 "cipher":"none",
 "db":[{"id":1,"repo-key":1,"system-id":7230372066285913629,"version":"15"}],
 "name":"poddb",
 "repo":[{"cipher":"none","key":1,"status":{"code":0,"message":"ok"}}],
 "status":{"code":0,"lock":{"backup":{"held":true}},"message":"ok"}}]`;

describe('pgBackRest info and errors', () => {
  it('parses the info JSON with a bigint-safe system-id, sets, WAL and the PITR window', () => {
    const now = new Date('2023-05-09T00:00:00Z');
    const [s] = parsePgBackRestInfo(EXAMPLE, now);
    assert.ok(s);
    assert.equal(s.name, 'poddb');
    assert.equal(s.systemId, 7230372066285913629n, 'every digit of the uint64');
    assert.equal(s.pgVersion, '15');
    assert.equal(s.lockHeld, true);
    assert.deepEqual(s.status, { code: 0, message: 'ok' });
    assert.equal(s.walMin, '000000010000000000000004');
    assert.equal(s.walMax, '000000010000000000000031');
    assert.equal(s.backups.length, 3);
    const [f, d, i] = s.backups as [
      NonNullable<(typeof s.backups)[0]>,
      NonNullable<(typeof s.backups)[0]>,
      NonNullable<(typeof s.backups)[0]>,
    ];
    assert.equal(f.prior, undefined);
    assert.deepEqual(f.reference, []);
    assert.equal(f.start.toISOString(), '2023-05-07T02:00:02.000Z');
    assert.equal(f.repoSizeBytes, 161020337);
    assert.equal(d.prior, f.label);
    assert.equal(d.deltaBytes, 48234496);
    assert.equal(d.lsnStart, '0/12000028');
    assert.equal(i.error, true);
    assert.deepEqual(i.annotations, { reason: 'pre-migration', source: 'vscode' });
    assert.deepEqual(s.pitr, { from: f.stop, to: now }, 'WAL archived after the newest backup: the window reaches now');
    const groups = groupBackupSets(s.backups);
    assert.deepEqual(
      groups.map((g) => [g.full.label, g.children.map((c) => c.label)]),
      [[f.label, [d.label, i.label]]],
    );
  });

  it('reads a stanza without backups (status code, null WAL, missing fields)', () => {
    const [s] = parsePgBackRestInfo(
      '[{"archive":[],"backup":[],"cipher":"none","db":[],"name":"db","repo":[{"cipher":"none","key":1,"status":{"code":1,"message":"missing stanza path"}}],' +
        '"status":{"code":1,"lock":{"backup":{"held":false}},"message":"missing stanza path"}}]',
    );
    assert.equal(s?.status.code, 1);
    assert.equal(s?.systemId, undefined);
    assert.equal(s?.pitr, undefined);
    assert.deepEqual(s?.repos, [{ key: 1, code: 1, message: 'missing stanza path', cipher: 'none' }]);
  });

  it('names the field when the JSON is not what pgBackRest prints', () => {
    assert.throws(() => parsePgBackRestInfo('[{"name":"db","status":{"code":"x"}}]'), /status\.code/);
    assert.throws(() => parsePgBackRestInfo('oops'), /did not print JSON/);
  });

  it('parses ERROR lines with continuation and HINT lines (console and stderr formats)', () => {
    const out = [
      '2026-11-24 20:59:56.452 P00   INFO: backup command begin 2.45: --stanza=db',
      "2026-11-24 20:59:56.452 P00  ERROR: [055]: unable to load info file '/r/backup/db/backup.info' or '/r/backup/db/backup.info.copy':",
      "                                    FileMissingError: unable to open missing file '/r/backup/db/backup.info' for read",
      '                                    HINT: backup.info cannot be opened and is required to perform a backup.',
      '                                    HINT: has a stanza-create been performed?',
      '2026-11-24 20:59:56.452 P00   INFO: backup command end: aborted with exception [055]',
    ];
    const e = parsePgBackRestError(out);
    assert.equal(e?.code, 55);
    assert.match(e!.message, /^unable to load info file/);
    assert.match(e!.message, /FileMissingError/);
    assert.deepEqual(e?.hints, [
      'HINT: backup.info cannot be opened and is required to perform a backup.',
      'HINT: has a stanza-create been performed?',
    ]);
    const bare = parsePgBackRestError([
      "ERROR: [050]: unable to acquire lock on file '/tmp/pgbackrest/db-backup.lock': Resource temporarily unavailable",
      '       HINT: is another pgBackRest process running?',
    ]);
    assert.equal(bare?.code, 50);
    assert.deepEqual(bare?.hints, ['HINT: is another pgBackRest process running?']);
    const err = new PgBackRestError(38, 'unable to restore while PostgreSQL is running', [], 'restore', 'container x');
    assert.equal(err.remedy, 'postgresRunning');
    assert.equal(new PgBackRestError(55, 'm', [], 'backup', 'x').remedy, 'stanzaCreate');
    assert.equal(new PgBackRestError(50, 'm', [], 'backup', 'x').remedy, 'anotherBackupRunning');
    assert.match(err.message, /\[038\]/);
  });

  it('resolves the stanza: setting, else the only section of pgbackrest.conf, else db', () => {
    const resolveStanza = (stanza: string | undefined, text: string | undefined) =>
      resolveSite({
        stack: { backupsDir: '/b' },
        runtime: 'container',
        settings: { stanza },
        conf: text === undefined ? undefined : { file: '/etc/pgbackrest.conf', text, from: 'test' },
      }).stanza;
    const conf =
      '[global]\nrepo1-path=/var/lib/pgbackrest\nlog-path=/var/log/pgbackrest\n\n' +
      '[global:archive-push]\ncompress-level=3\n\n[poddb]\npg1-path=/home/postgres/pgdata/data\n';
    assert.deepEqual(stanzasInConf(conf), ['poddb']);
    assert.equal(resolveStanza(undefined, conf), 'poddb');
    assert.equal(resolveStanza('  main ', conf), 'main');
    assert.equal(resolveStanza(undefined, undefined), 'db');
    assert.equal(resolveStanza('', '[global]\n'), 'db');
    assert.equal(resolveStanza(undefined, '[a]\n[db]\n'), 'db');
    assert.equal(confOption(conf, 'poddb', 'pg1-path'), '/home/postgres/pgdata/data');
    assert.equal(confOption(conf, 'poddb', 'log-path'), '/var/log/pgbackrest');
  });
});

describe('manual backup names and sidecars', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'tsdbops-sidecar-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('names backups the way the guide does', () => {
    const at = new Date(Date.UTC(2026, 10, 24, 20, 15, 0));
    assert.equal(backupStamp(at), '20261124_201500');
    assert.equal(dumpFileName('connect_db', 'tar', at), 'connect_db_pg_dump_20261124_201500.tar');
    assert.equal(dumpFileName('connect_db', 'custom', at), 'connect_db_pg_dump_20261124_201500.dump');
    assert.equal(dumpAllFileName(at), 'all_dbs_pg_dumpall_20261124_201500.sql');
    assert.equal(baseBackupDirName(at), 'pg_basebackup_20261124_201500');
  });

  it('writes and reads a sidecar next to the backup; a bad one names the file and field', async () => {
    const file = join(dir, 'db_pg_dump_20261124_201500.tar');
    writeFileSync(file, 'x');
    assert.equal(await readSidecar(file), undefined);
    await writeSidecar(file, {
      kind: 'dump',
      pgVersion: '15.4',
      timescaledbVersion: '2.10.3',
      database: 'db',
      format: 'tar',
      created: '2026-11-24T20:15:00.000Z',
      sizeBytes: 1,
      command: ['pg_dump', '-U', 'u', '-F', 't', '-d', 'db'],
    });
    assert.equal(sidecarPath(file), `${file}.meta.json`);
    const m = await readSidecar(file);
    assert.equal(m?.timescaledbVersion, '2.10.3');
    writeFileSync(sidecarPath(file), '{"kind":"dump","pgVersion":15}');
    await assert.rejects(
      readSidecar(file),
      (e: Error) => e.message.includes(sidecarPath(file)) && e.message.includes('pgVersion'),
    );
  });
});
