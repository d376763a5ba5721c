/** pgBackRest repositories: the config's repoN-* options (secrets dropped), info per repository, the repo args. */
import assert from 'node:assert/strict';
import { isKind } from '../../src/core/errors/error';
import {
  isSecretRepoOption,
  parseRepoArg,
  repositoriesInConf,
  repositoriesOf,
  repositorySummary,
  stanzaInRepository,
} from '../../src/core/backups/repositories';
import { parsePgBackRestInfo } from '../../src/core/backups/pgbackrest';
import { parseRestoreTarget, describeRestoreTarget } from '../../src/core/backups/restore/target';

const SECRETS = {
  s3: 'AKIA-s3-key-VALUE',
  s3secret: 's3-secret-VALUE',
  azure: 'azure-key-VALUE==',
  gcs: '/etc/gcs-key-file-VALUE.json',
  cipher: 'cipher-pass-VALUE',
  sftp: 'sftp-passphrase-VALUE',
  token: 's3-token-VALUE',
};

const CONF = `[global]
repo1-path=/var/lib/pgbackrest
repo1-retention-full=2
repo2-type=s3
repo2-s3-bucket=backups
repo2-s3-endpoint=s3.eu-west-1.amazonaws.com
repo2-s3-region=eu-west-1
repo2-s3-key=${SECRETS.s3}
repo2-s3-key-secret=${SECRETS.s3secret}
repo2-s3-token=${SECRETS.token}
repo2-s3-key-type=shared
repo2-path=/pg
repo2-retention-full=14
repo2-retention-full-type=time
repo2-cipher-type=aes-256-cbc
repo2-cipher-pass=${SECRETS.cipher}
repo3-type=azure
repo3-azure-account=acct
repo3-azure-key=${SECRETS.azure}
repo3-azure-container=pgbr
repo4-type=gcs
repo4-gcs-bucket=b4
repo4-gcs-key=${SECRETS.gcs}
repo5-type=sftp
repo5-sftp-host=backup.example
repo5-sftp-private-key-passphrase=${SECRETS.sftp}
log-path=/var/log/pgbackrest

[global:archive-push]
repo1-path=/not/this

[db]
pg1-path=/home/postgres/pgdata/data
repo1-retention-full=3
`;

describe('pgBackRest repositories', () => {
  it('reads every repoN-* option of the stanza over [global]; command sections are not the definition', () => {
    const repos = repositoriesInConf(CONF, 'db');
    assert.deepEqual(
      repos.map((r) => [r.key, r.type]),
      [
        [1, 'posix'],
        [2, 's3'],
        [3, 'azure'],
        [4, 'gcs'],
        [5, 'sftp'],
      ],
    );
    const [r1, r2, r3, r4, r5] = repos;
    assert.equal(r1!.path, '/var/lib/pgbackrest');
    assert.equal(r1!.retention, 'full 3', 'the [db] section wins');
    assert.equal(r2!.bucket, 'backups');
    assert.equal(r2!.endpoint, 's3.eu-west-1.amazonaws.com');
    assert.equal(r2!.region, 'eu-west-1');
    assert.equal(r2!.cipher, 'aes-256-cbc');
    assert.equal(r2!.retention, 'full 14 days');
    assert.equal(r2!.options['repo2-s3-key-type'], 'shared', 'a key type is not a secret');
    assert.deepEqual(r2!.secretOptions, ['repo2-cipher-pass', 'repo2-s3-key', 'repo2-s3-key-secret', 'repo2-s3-token']);
    assert.equal(r3!.bucket, 'pgbr');
    assert.equal(r3!.endpoint, 'acct.blob.core.windows.net');
    assert.deepEqual(r3!.secretOptions, ['repo3-azure-key']);
    assert.deepEqual(r4!.secretOptions, ['repo4-gcs-key']);
    assert.deepEqual(r5!.secretOptions, ['repo5-sftp-private-key-passphrase']);
    assert.equal(r5!.endpoint, 'backup.example');
  });

  it('never keeps a secret value: not in the parsed repositories, the summaries or the locations', () => {
    const repos = repositoriesOf({ conf: CONF, stanza: 'db' });
    const text = JSON.stringify(repos) + repos.map(repositorySummary).join('\n');
    for (const s of Object.values(SECRETS)) assert.ok(!text.includes(s), `${s} leaked`);
    for (const name of ['repo1-cipher-pass', 'repo9-s3-key', 'repo2-s3-sse-customer-key', 'repo2-s3-kms-key-id'])
      assert.ok(isSecretRepoOption(name), name);
    for (const name of ['repo2-s3-key-type', 'repo2-gcs-key-type', 'repo5-sftp-host-key-hash-type', 'repo2-s3-bucket'])
      assert.ok(!isSecretRepoOption(name), name);
  });

  it("without repo options: one posix repo1 at pgBackRest's default path", () => {
    const [r] = repositoriesInConf('[db]\npg1-path=/x\n', 'db');
    assert.equal(r!.key, 1);
    assert.equal(r!.path, '/var/lib/pgbackrest');
    assert.equal(r!.retention, 'not set (every backup is kept)');
  });

  it('joins info per repository: each set, WAL range and window in its own repository; an unreachable one is a problem', () => {
    const b = (label: string, repo: number, start: number, stop: number, walStop: string) => ({
      label,
      type: 'full',
      timestamp: { start, stop },
      archive: { start: walStop, stop: walStop },
      info: { size: 1, delta: 1, repository: { size: 1, delta: 1 } },
      database: { id: 1, 'repo-key': repo },
    });
    const json = JSON.stringify([
      {
        name: 'db',
        status: { code: 99, message: 'other', lock: { backup: { held: false } } },
        db: [{ id: 1, 'repo-key': 1, 'system-id': 1, version: '15' }],
        archive: [
          {
            database: { id: 1, 'repo-key': 1 },
            id: '15-1',
            min: '000000010000000000000001',
            max: '000000010000000000000009',
          },
          {
            database: { id: 1, 'repo-key': 2 },
            id: '15-1',
            min: '000000010000000000000003',
            max: '000000010000000000000004',
          },
        ],
        backup: [
          b('20261126-010000F', 1, 1000, 1010, '000000010000000000000002'),
          b('20261126-020000F', 2, 2000, 2010, '000000010000000000000004'),
        ],
        repo: [
          { key: 1, cipher: 'none', status: { code: 0, message: 'ok' } },
          {
            key: 2,
            cipher: 'aes-256-cbc',
            status: { code: 99, message: "[HostConnectError] unable to connect to '127.0.0.1:10000'" },
          },
        ],
      },
    ]);
    const now = new Date(5_000_000);
    const info = parsePgBackRestInfo(json, now)[0]!;
    const [r1, r2] = repositoriesOf({ conf: CONF, stanza: 'db', info, now });
    assert.deepEqual(
      r1!.backups.map((x) => x.label),
      ['20261126-010000F'],
    );
    assert.deepEqual(
      r2!.backups.map((x) => x.label),
      ['20261126-020000F'],
    );
    assert.equal(r1!.walMax, '000000010000000000000009');
    assert.equal(r1!.pitr!.to.getTime(), now.getTime(), 'WAL after the newest set: the window reaches now');
    assert.equal(r2!.pitr!.to.getTime(), 2_010_000, 'no WAL after the repo2 set: the window ends at it');
    assert.equal(r1!.problem, undefined);
    assert.match(r2!.problem!, /unable to connect/);
    assert.equal(r2!.cipher, 'aes-256-cbc');
    const only2 = stanzaInRepository(info, 2, now);
    assert.deepEqual(
      only2.backups.map((x) => x.label),
      ['20261126-020000F'],
    );
    assert.equal(only2.pitr!.from.getTime(), 2_010_000);
  });

  it('the repo arg: 2, "2" or "repo2"; anything else names the command and the value', () => {
    assert.equal(parseRepoArg(2, 'x'), 2);
    assert.equal(parseRepoArg('repo2', 'x'), 2);
    assert.equal(parseRepoArg(undefined, 'x'), undefined);
    assert.throws(() => parseRepoArg(0, 'tsdbOps.backup.pgbackrest'), /tsdbOps.backup.pgbackrest: repo must be/);
    assert.throws(() => parseRepoArg('two', 'x'), /not "two"/);
    assert.throws(() => parseRepoArg(3, 'x', [1, 2]), /no repo3 .*repo1, repo2/);
    assert.deepEqual(parseRestoreTarget({ repo: 2, confirm: true }), { target: 'latest', repo: 2 });
    assert.match(describeRestoreTarget(parseRestoreTarget({ repo: 2 })), /from repo2$/);
    assert.throws(
      () => parseRestoreTarget({ repo: 'x' }),
      (e: unknown) => isKind(e, 'config'),
    );
  });
});
