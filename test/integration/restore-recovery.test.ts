/**
 * Recovery at the speed of the machine, proven to reach the end, on the fixture stack (one stack for every case):
 * a full backup, then rows in five more archived WAL segments; one of them is made unreadable in the repository
 * (chmod inside the container: a real permission fault, no fake).
 *
 * Proven: a latest-state restore says what it chose for this restore (process-max, async archive-get, queue,
 * spool) and that recovery reached the archive's newest segment; a segment unreadable for one try and the spool
 * made unusable midway through recovery (chmod 000 on it, as soon as the wrapper logs the failed try): fetched the
 * plain way, said so, and every row is there; a segment that stays unreadable: the restore is reported incomplete
 * at that segment and rolled back (PostgreSQL never promoted early), and a drill fails with the same words; a cancel leaves no spool and no wrapper; a
 * config with its own archive-async and process-max is kept as is (nothing of ours on the command line, the file
 * unchanged), and when pgBackRest's own restore_command then lets PostgreSQL promote early at the unreadable
 * segment, the proof catches it: incomplete, rolled back.
 */
import { isCancelled, isKind } from '../../src/core/errors/error';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { connectEngine, resolveEngine } from '../../src/core/docker/engine-address';
import { ContainerRuntime } from '../../src/core/runtime';
import { restorePhysical, serverState, type PhysicalTarget } from '../../src/core/backups/restore/physical';
import { runDrill, type DrillReport } from '../../src/core/backups/drill';
import { debootstrapAvailable, debootstrapInstallHint } from '../support/image';
import { dockerAvailable, dockerInstallHint } from '../support/docker';
import { requirePart } from '../support/requirements';
import { composeAvailable, composeInstallHint, startStack, type Stack } from '../support/stack';
import { recordingContext } from '../support/restore-context';
import { sleep } from '../support/proc';

const DATA = '/home/postgres/pgdata/data';
const LEFTOVERS =
  'ls -d /home/postgres/pgdata/.tsdbops-spool-* /home/postgres/pgdata/.tsdbops-restore-command-* ' +
  '/var/spool/pgbackrest/.tsdbops-* /tmp/.tsdbops-* 2>/dev/null; exit 0';

describe('restore: recovery options of this restore, and recovery proven to reach the end (fixture stack)', function () {
  this.timeout(600_000);
  let stack: Stack | undefined;
  let client: Dockerode;
  let target: PhysicalTarget;
  /** The repository file of the second segment written after the backup (rows of three inserts come after it). */
  let bad: string;
  let badSegment: string;
  let rows: number;
  const { lines, ctx } = recordingContext();

  const sql = <T = Record<string, unknown>>(q: string) => stack!.sql<T>(q);
  const count = async () => Number((await sql<{ n: string }>('SELECT count(*)::text AS n FROM t'))[0]!.n);
  const sh = async (script: string) => (await stack!.exec('timescaledb', ['sh', '-c', script])).stdout.trim();
  const leftovers = () => sh(LEFTOVERS);
  const restoreLatest = (signal?: AbortSignal, onLine?: (l: string) => void) =>
    restorePhysical(target, { kind: 'pgbackrest', stanza: 'db' }, ctx(signal, onLine));
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => assert.fail('the restore succeeded'),
      (e: unknown) => e,
    );
  const restoreCommandLine = () => lines.filter((l) => l.startsWith('$ pgbackrest') && l.endsWith(' restore')).at(-1)!;

  before(async function () {
    requirePart(this, dockerAvailable(), 'docker', dockerInstallHint);
    requirePart(this, composeAvailable(), 'docker compose', composeInstallHint);
    requirePart(this, debootstrapAvailable(), 'debootstrap', debootstrapInstallHint);
    stack = await startStack();
    client = await connectEngine(resolveEngine(undefined, { DOCKER_HOST: stack.docker.host }));
    const id = await stack.containerId('timescaledb');
    target = {
      rt: new ContainerRuntime(client, id, 'container timescaledb'),
      dataDir: DATA,
      conn: { user: stack.env.POSTGRES_USER!, password: stack.env.POSTGRES_PASSWORD, database: stack.env.POSTGRES_DB },
    };
    await sql('CREATE TABLE t (n int)');
    await stack.exec('timescaledb', ['pgbackrest', '--stanza=db', '--log-level-console=warn', '--type=full', 'backup']);
    const segments: string[] = [];
    for (let i = 0; i < 5; i++) {
      await sql('INSERT INTO t SELECT g FROM generate_series(1, 1000) g');
      segments.push((await sql<{ w: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS w'))[0]!.w);
    }
    rows = await count();
    for (let i = 0; ; i++) {
      const [a] = await sql<{ w: string | null }>('SELECT last_archived_wal AS w FROM pg_stat_archiver');
      if (a?.w && a.w >= segments.at(-1)!) break;
      if (i > 480) throw new Error(`WAL ${segments.at(-1)} was not archived`);
      await sleep(250);
    }
    badSegment = segments[1]!;
    bad = await sh(`ls /var/lib/pgbackrest/archive/db/*/0000000100000000/${badSegment}-*`);
    assert.match(bad, new RegExp(`/${badSegment}-[0-9a-f]{40}`), 'the segment is in the repository');
  });

  after(async () => {
    if (bad) await stack?.exec('timescaledb', ['chmod', '0640', bad], { reject: false });
    await stack?.stop();
  });

  it('a segment unreadable for one try and the spool made unusable midway: fetched the plain way, said so, every row there', async () => {
    await sh(`chmod 0000 ${bad}`);
    let faulted = false;
    let done = false;
    // As soon as the wrapper logs the first failed plain read of the segment: the spool unusable, the segment readable.
    const fault = (async () => {
      while (!done) {
        const log = await sh('cat /home/postgres/pgdata/.tsdbops-restore-command-*.log 2>/dev/null; exit 0');
        if (new RegExp(`^plain ${badSegment} \\d+ try 1$`, 'm').test(log)) {
          await sh(`chmod 0000 /home/postgres/pgdata/.tsdbops-spool-* && chmod 0640 ${bad}`);
          faulted = true;
          return;
        }
        await sleep(100);
      }
    })();
    const from = lines.length;
    try {
      await restoreLatest();
    } finally {
      done = true;
      await fault;
      await sh(`chmod 0640 ${bad}`);
    }
    const out = lines.slice(from);
    assert.ok(faulted, 'the fault happened during recovery');
    assert.equal(await count(), rows, 'every row is there');
    assert.ok(
      out.some((l) =>
        /^archive-get: async, \d+ process(es)?, queue \d+ (MB|GB) \(spool \/home\/postgres\/pgdata\/\.tsdbops-spool-/.test(
          l,
        ),
      ),
      `the restore names what it chose: ${out.filter((l) => l.startsWith('archive-get')).join(' | ')}`,
    );
    assert.ok(out.some((l) => /^restore: (\d+ process(es)?|1 process) \(the engine host has \d+ cores?\)$/.test(l)));
    const cmd = restoreCommandLine();
    assert.match(cmd, /--recovery-option=restore_command=/, cmd);
    const fellBack = out.find((l) => l.startsWith('archive-get: the async queue could not give'));
    assert.ok(fellBack, out.join('\n'));
    const n = Number(/could not give (\d+) segment/.exec(fellBack)![1]);
    assert.ok(
      n >= 2,
      `the unreadable segment and at least one after it (spool unusable) came the plain way: ${fellBack}`,
    );
    assert.match(fellBack, new RegExp(`first ${badSegment}`));
    assert.match(fellBack, /plain reads? failed and were retried/);
    assert.ok(out.some((l) => /^Recovery reached the end of the archive/.test(l)));
    assert.equal(await leftovers(), '', 'no spool and no wrapper left');
    const [rc] = await sql<{ restore_command: string }>('SHOW restore_command');
    assert.equal(rc!.restore_command, 'pgbackrest --stanza=db archive-get %f "%p"', "pgBackRest's own again");
  });

  it('a segment that stays unreadable: reported incomplete at that segment and rolled back, never promoted early', async () => {
    await sql('INSERT INTO t VALUES (-1)');
    const before = await count();
    await sh(`chmod 0000 ${bad}`);
    let e: unknown;
    try {
      e = await failure(restoreLatest());
    } finally {
      await sh(`chmod 0640 ${bad}`);
    }
    assert.ok(isKind(e, 'restore-failed'), String(e));
    assert.equal(e.facts.rolledBack, true);
    assert.match(e.message, new RegExp(`^The restore is incomplete: recovery stopped at WAL segment ${badSegment}`));
    assert.match(e.message, /Rolled back: the previous data is back in/);
    assert.equal(await serverState(target, ctx()), 'running');
    assert.equal(await count(), before, 'the previous data, with the row written before the restore');
    assert.equal(await leftovers(), '');
  });

  it('a drill of the latest state with a segment that stays unreadable fails with the same words', async () => {
    await sh(`chmod 0000 ${bad}`);
    let r: DrillReport;
    try {
      r = await runDrill(
        {
          docker: client,
          containerId: await stack!.containerId('timescaledb'),
          project: stack!.projectName,
          stanza: 'db',
          configPath: '/home/postgres/pgdata/backup/pgbackrest.conf',
          dataDir: DATA,
          conn: target.conn,
        },
        { kind: 'pgbackrest' },
        ctx(),
      );
    } finally {
      await sh(`chmod 0640 ${bad}`);
    }
    assert.equal(r.passed, false);
    const words = new RegExp(`^The restore is incomplete: recovery stopped at WAL segment ${badSegment}`);
    assert.match(r.error ?? '', words);
    const started = r.checks.find((c) => c.name === 'PostgreSQL starts and leaves recovery');
    assert.equal(started?.status, 'failed');
    assert.match(started.message, words);
  });

  it('a cancel during the restore leaves no spool and no wrapper behind; what a killed one left is swept first', async () => {
    const before = await count();
    // What a restore killed during recovery leaves (its spool with a queued segment, its wrapper and log).
    await sh(
      'mkdir -p /home/postgres/pgdata/.tsdbops-spool-killed/archive/db/in && ' +
        'echo x > /home/postgres/pgdata/.tsdbops-spool-killed/archive/db/in/000000010000000000000009 && ' +
        'touch /home/postgres/pgdata/.tsdbops-restore-command-killed.sh /home/postgres/pgdata/.tsdbops-restore-command-killed.log',
    );
    const from = lines.length;
    const ac = new AbortController();
    const e = await failure(
      restoreLatest(ac.signal, (l) => {
        if (/restore command begin/.test(l)) ac.abort();
      }),
    );
    // A cancel that put everything back is a cancel (errors module): a CancelledError with facts.rolledBack.
    assert.ok(isCancelled(e) && e.facts.rolledBack, String(e));
    assert.ok(
      lines.slice(from).some((l) => /^archive-get: async, .*spool \/home\/postgres\/pgdata\/\.tsdbops-spool-/.test(l)),
      'a spool was set up',
    );
    assert.ok(
      lines
        .slice(from)
        .some((l) => l.startsWith('Removed what an interrupted restore left:') && l.includes('.tsdbops-spool-killed')),
      'the leftovers were swept',
    );
    assert.equal(await leftovers(), '', 'no spool and no wrapper left');
    assert.equal(await count(), before);
  });

  it('a config with its own archive-async and process-max is kept as is; an early promotion is caught by the proof', async () => {
    const confFile = join(stack!.infraDir, 'pgbackrest.conf');
    const original = readFileSync(confFile, 'utf8');
    const mine = `${original.replace(/\n?$/, '\n')}\n[global:archive-get]\narchive-async=n\n\n[global:restore]\nprocess-max=1\n`;
    writeFileSync(confFile, mine);
    const before = await count();
    await sh(`chmod 0000 ${bad}`);
    const from = lines.length;
    let e: unknown;
    try {
      e = await failure(restoreLatest());
    } finally {
      await sh(`chmod 0640 ${bad}`);
    }
    const out = lines.slice(from);
    assert.equal(readFileSync(confFile, 'utf8'), mine, 'the config is unchanged');
    const cmd = restoreCommandLine();
    assert.doesNotMatch(cmd, /--process-max|--archive-async|--recovery-option|--spool-path/, cmd);
    assert.ok(out.includes('restore: process-max=1 as [global:restore] sets it'), out.join('\n'));
    assert.ok(
      out.includes('archive-get: plain, one segment per call (archive-async=n in [global:archive-get])'),
      out.join('\n'),
    );
    assert.ok(isKind(e, 'restore-failed') && e.facts.rolledBack, String(e));
    // Named on the newest segment's timeline (the restore followed the newest timeline), at the unreadable position.
    assert.match(
      e.message,
      new RegExp(`^The restore is incomplete: recovery stopped at WAL segment [0-9A-F]{8}${badSegment.slice(8)} `),
    );
    assert.match(e.message, /Rolled back: the previous data is back in/);
    assert.equal(await count(), before, 'the previous data');
    assert.equal(await leftovers(), '');
    writeFileSync(confFile, original);
  });
});
