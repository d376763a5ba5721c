/**
 * Two pgBackRest repositories for real: repo1 on disk, repo2 in object storage (azurite, Azure's storage
 * emulator, over TLS on loopback with a self-signed certificate and `repo2-storage-verify-tls=n`, encrypted
 * with a cipher pass), for a throwaway PostgreSQL 15 cluster on this machine (the host runtime: azurite on
 * 127.0.0.1 is reachable from it; the compose stack's containers could not reach it). One azurite and one
 * cluster serve every test of the file.
 *
 * Proven: a backup to repo2 (`--repo=2`), the Backups model listing both repositories with type, container,
 * encryption, retention and their own sets and windows, a restore from repo2, azurite stopped → repo2 a
 * problem item with pgBackRest's message while repo1 still lists its sets and window and restores (a backup to repo1 then
 * fails with [082]: pgBackRest's archive-push fails while any repository is unreachable); and the repository keys
 * never appear in an argv (recorded, and /proc scanned while each tool runs), in the model or in any output line.
 * A restore drill from repo2 is in drill-object-store.test.ts (azurite reachable from the private engine's containers).
 */
import { strict as assert } from 'node:assert';
import { appendFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  startCluster,
  postgresAvailable,
  postgresInstallHint,
  pgbackrestAvailable,
  pgbackrestInstallHint,
  PG_BIN,
  type Cluster,
} from '../support/cluster';
import { opensslAvailable, opensslInstallHint, startAzurite, type Azurite } from '../support/azurite';
import { supportDir } from '../support/paths';
import { requirePart } from '../support/requirements';
import { isRoot } from '../support/proc';
import { HostRuntime, type ToolRunOptions, type ToolRunResult, type ToolRuntime } from '../../src/core/runtime';
import {
  PgBackRestError,
  pgbackrestBackup,
  pgbackrestInfo,
  pgbackrestStanzaCreate,
  type PgBackRestTarget,
} from '../../src/core/backups/pgbackrest';
import { loadBackupsOverview } from '../../src/core/backups/overview';
import { overviewContext } from '../support/overview-context';
import { repositorySummary } from '../../src/core/backups/repositories';
import { restorePhysical } from '../../src/core/backups/restore/physical';
import { readStack } from '../../src/core/infra/discovery';
import type { StackConfig } from '../../src/core/infra';

const CIPHER_PASS = 'cipher-Pw-7Hq2-never-shown';

/** Records every argv and scans /proc for the secrets while each tool runs. */
class RecordingRuntime implements ToolRuntime {
  readonly kind = 'host' as const;
  readonly description = 'this machine (recorded)';
  readonly argvs: string[][] = [];
  readonly leaks: string[] = [];
  constructor(
    private readonly inner: ToolRuntime,
    private readonly secrets: () => string[],
  ) {}
  async run(argv: readonly string[], opts?: ToolRunOptions): Promise<ToolRunResult> {
    this.argvs.push([...argv]);
    const scan = setInterval(() => this.scanProc(), 5);
    try {
      return await this.inner.run(argv, opts);
    } finally {
      clearInterval(scan);
      this.scanProc();
    }
  }
  private scanProc(): void {
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        for (const s of this.secrets()) if (cmd.includes(s)) this.leaks.push(cmd.replaceAll('\0', ' '));
      } catch {
        // gone
      }
    }
  }
}

describe('pgBackRest repositories: repo1 on disk, repo2 in object storage (azurite over TLS)', function () {
  let azurite: Azurite;
  let cluster: Cluster;
  let rt: RecordingRuntime;
  let pgb: PgBackRestTarget;
  let stack: StackConfig;
  let infraDir: string;
  const lines: string[] = [];
  const ctx = { step: (s: string) => lines.push(`▶ ${s}`), line: (l: string) => lines.push(l) };
  const settings = () => ({
    runtime: 'host' as const,
    pgbackrestConfig: cluster.pgbackrestConf,
    stanza: cluster.stanza,
    host: cluster.socketDir,
    port: cluster.port,
  });
  const overview = () =>
    loadBackupsOverview({
      context: overviewContext(stack, rt, settings()),
      runtime: async () => rt,
      settings: settings(),
    });

  before(async function () {
    requirePart(this, postgresAvailable(), 'PostgreSQL 15', postgresInstallHint);
    requirePart(this, pgbackrestAvailable(), 'pgBackRest', pgbackrestInstallHint);
    requirePart(this, opensslAvailable(), 'openssl', opensslInstallHint);
    [azurite, cluster] = await Promise.all([startAzurite(), startCluster({ stanza: false, fresh: true })]);
    await azurite.createContainer('pgbr');
    appendFileSync(
      cluster.pgbackrestConf,
      [
        '',
        '[global]',
        // An unreachable object store fails within seconds, not pgBackRest's default 60 s per request.
        'io-timeout=1',
        // The backup below that waits for WAL pgBackRest never reports archived gives up after 10 s (default 60 s).
        'archive-timeout=10',
        'repo2-type=azure',
        `repo2-azure-account=${azurite.account}`,
        `repo2-azure-key=${azurite.key}`,
        'repo2-azure-container=pgbr',
        `repo2-azure-host=${azurite.host}`,
        'repo2-azure-uri-style=path',
        `repo2-storage-port=${azurite.port}`,
        'repo2-storage-verify-tls=n',
        'repo2-path=/repo',
        'repo2-retention-full=1',
        'repo2-cipher-type=aes-256-cbc',
        `repo2-cipher-pass=${CIPHER_PASS}`,
        '',
      ].join('\n'),
    );
    rt = new RecordingRuntime(new HostRuntime([PG_BIN], isRoot ? 'postgres' : undefined), () => [
      azurite.key,
      CIPHER_PASS,
    ]);
    pgb = { runtime: rt, stanza: cluster.stanza, configPath: cluster.pgbackrestConf };
    await pgbackrestStanzaCreate(pgb, { onLine: ctx.line });
    // A stack for the Backups model: the fixture infra with the host runtime pointed at this cluster.
    infraDir = mkdtempSync('/tmp/tsdbops-repos-infra-');
    cpSync(join(supportDir(), '..', 'fixtures', 'infra'), infraDir, { recursive: true });
    writeFileSync(join(infraDir, '.env'), `POSTGRES_USER=${cluster.user}\nPOSTGRES_DB=postgres\n`);
    stack = await readStack({ workspaceFolder: infraDir }, infraDir, join(infraDir, 'docker-compose.yaml'));
    await cluster.psql('CREATE TABLE t (v int); INSERT INTO t VALUES (1)');
  });
  after(async () => {
    await cluster?.stop();
    await azurite?.close();
    if (infraDir) rmSync(infraDir, { recursive: true, force: true });
  });

  it('backs up to repo1 and to repo2 (--repo=2); info puts each set in its repository', async () => {
    const one = await pgbackrestBackup(pgb, 'full', { onLine: ctx.line, repo: 1 });
    await cluster.psql('INSERT INTO t VALUES (2)');
    const two = await pgbackrestBackup(pgb, 'full', { onLine: ctx.line, repo: 2 });
    assert.ok(
      rt.argvs.some((a) => a.includes('--repo=2') && a.includes('backup')),
      'the repo2 backup names --repo=2',
    );
    const info = await pgbackrestInfo(pgb);
    assert.equal(info.backups.find((b) => b.label === one.label)?.repoKey, 1);
    assert.equal(info.backups.find((b) => b.label === two.label)?.repoKey, 2);
    assert.deepEqual(
      info.repos.map((r) => [r.key, r.code, r.cipher]),
      [
        [1, 0, 'none'],
        [2, 0, 'aes-256-cbc'],
      ],
    );
  });

  it('the Backups model lists both repositories with type, container, encryption, retention and their own sets', async () => {
    const o = await overview();
    assert.equal(o.stanzaError, undefined, o.stanzaError?.message);
    const [r1, r2] = o.repositories;
    assert.equal(o.repositories.length, 2);
    assert.equal(r1!.name, 'repo1');
    assert.equal(r1!.config?.type, 'posix');
    assert.equal(r1!.location, `posix ${cluster.repoPath}`);
    assert.equal(r1!.retention, 'full 2');
    assert.equal(r1!.cipher, 'none');
    assert.equal(r2!.name, 'repo2');
    assert.equal(r2!.location, `azure container pgbr at ${azurite.host}:${azurite.port}, path /repo`);
    assert.equal(r2!.cipher, 'aes-256-cbc');
    assert.equal(r2!.retention, 'full 1');
    assert.deepEqual(r2!.config?.secretOptions, ['repo2-azure-key', 'repo2-cipher-pass']);
    assert.equal(r1!.backups.length, 1);
    assert.equal(r2!.backups.length, 1);
    assert.notEqual(r1!.backups[0]!.label, r2!.backups[0]!.label);
    assert.ok(r2!.walMax, 'archive-push wrote WAL to repo2 too');
    assert.ok(r1!.pitr && r2!.pitr, 'each repository has its own point-in-time window');
    assert.equal(r2!.pitr!.from.getTime(), r2!.backups[0]!.stop.getTime());
    assert.equal(r2!.problem, undefined);
    assert.match(repositorySummary(r2!), /^azure container pgbr .* · encrypted aes-256-cbc · retention full 1$/);
    const text = JSON.stringify(o.repositories);
    for (const s of [azurite.key, CIPHER_PASS]) assert.ok(!text.includes(s), 'no secret in the model');
  });

  it('restores from repo2 (--repo=2): the repo2 set comes back, WAL replayed', async () => {
    const info = await pgbackrestInfo(pgb);
    const repo2Set = info.backups.find((b) => b.repoKey === 2)!.label;
    await cluster.psql('INSERT INTO t VALUES (3)');
    const r = await restorePhysical(
      { rt, dataDir: cluster.dataDir, conn: { host: cluster.socketDir, port: cluster.port, user: cluster.user } },
      { kind: 'pgbackrest', stanza: cluster.stanza, configPath: cluster.pgbackrestConf, repo: 2 },
      ctx,
    );
    assert.equal(r.from, repo2Set, 'the newest set of repo2');
    const restoreArgv = rt.argvs.find((a) => a.includes('restore'))!;
    assert.ok(restoreArgv.includes('--repo=2'), restoreArgv.join(' '));
    assert.ok(
      lines.some((l) => /repo2: restore backup set/.test(l)),
      'pgBackRest restored from repo2',
    );
    assert.equal(await cluster.psql("SELECT string_agg(v::text, ',' ORDER BY v) FROM t"), '1,2,3');
  });

  it("azurite stopped: repo2 is a problem item with pgBackRest's message; repo1 still lists and restores (a backup waits on archiving)", async () => {
    await azurite.stop();
    try {
      const o = await overview();
      assert.equal(o.stanzaError, undefined, o.stanzaError?.message);
      const r1 = o.repositories.find((r) => r.key === 1)!;
      const r2 = o.repositories.find((r) => r.key === 2)!;
      assert.ok(r2.problem, 'repo2 is a problem');
      assert.match(r2.problem!, /unable to|connect|refused|error/i);
      assert.equal(r1.problem, undefined);
      assert.ok(r1.backups.length >= 1, 'repo1 still lists its sets');
      assert.ok(r1.pitr, 'and its window');
      // pgBackRest 2.45: archive-push fails while any repository is unreachable, so PostgreSQL keeps retrying
      // the WAL and a backup to repo1 waits for a segment it never sees archived ([082]). Seen here, also with
      // archive-async=y within the archive timeout; see README "Repositories".
      const err = await pgbackrestBackup(pgb, 'diff', { onLine: ctx.line, repo: 1 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof PgBackRestError, String(err));
      assert.equal(err.code, 82, err.message);
      // A restore without repo uses the repositories that work: the newest set of repo1 (--repo=1), latest state.
      const before = rt.argvs.length;
      const r = await restorePhysical(
        { rt, dataDir: cluster.dataDir, conn: { host: cluster.socketDir, port: cluster.port, user: cluster.user } },
        { kind: 'pgbackrest', stanza: cluster.stanza, configPath: cluster.pgbackrestConf },
        ctx,
      );
      assert.equal(r.from, r1.backups[r1.backups.length - 1]!.label);
      const restoreArgv = rt.argvs.slice(before).find((a) => a.includes('restore'))!;
      assert.ok(restoreArgv.includes('--repo=1'), restoreArgv.join(' '));
      assert.ok(lines.some((l) => /repo2 is not usable .*only the other repositories are used/.test(l)));
      assert.equal(await cluster.psql("SELECT string_agg(v::text, ',' ORDER BY v) FROM t"), '1,2,3');
    } finally {
      await azurite.start();
    }
  });

  it('no repository key or cipher pass in any argv, process list, output line or model', async () => {
    const secrets = [azurite.key, CIPHER_PASS];
    assert.deepEqual(rt.leaks, []);
    for (const a of rt.argvs) for (const s of secrets) assert.ok(!a.join(' ').includes(s), a.join(' '));
    for (const l of lines) for (const s of secrets) assert.ok(!l.includes(s), l);
    // The overview keeps the config text for the tools (site.conf, targets.conf: never shown or returned);
    // everything the view and the commands' results are built from has no secret.
    const { site: _site, targets: _targets, ...shown } = await overview();
    const model = JSON.stringify(shown, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    for (const s of secrets) assert.ok(!model.includes(s), 'not in the overview');
  });
});
