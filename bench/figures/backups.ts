/**
 * pg_dump, pg_restore and the pgBackRest restore on the fixture stack: the extension's core call (the
 * Engine API's exec, as the extension runs it) against the infra guide's own commands through the docker
 * CLI, on the same database, interleaved. Both sides do the same work: the same dump format (tar), the
 * same restore into a new database, the same pgBackRest set and `--type`.
 */
import { rmSync } from 'node:fs';
import { join, posix } from 'node:path';
import { connectEngine, resolveEngine } from '../../src/core/docker/engine-address';
import { ContainerRuntime } from '../../src/core/runtime';
import { discoverInfra } from '../../src/core/infra';
import { createDump } from '../../src/core/backups/dump';
import { stackBackupTargets, type StackBackupTargets } from '../../src/core/backups/targets';
import { restoreDump } from '../../src/core/backups/restore/logical';
import { deletePreRestoreCopy, restorePhysical, type PhysicalTarget } from '../../src/core/backups/restore/physical';
import type { RestoreContext } from '../../src/core/backups/restore/run';
import { run, sleep } from '../../test/support/proc';
import type { Stack } from '../../test/support/stack';
import {
  interleaved,
  median,
  peakRssGrowth,
  pick,
  ratios,
  timed,
  fmt,
  StepTimes,
  type BenchContext,
  type Figure,
  guideRestoreArgv,
} from '../lib';

export const DATA = '/home/postgres/pgdata/data';
const RESTORE_DB = 'bench_restore';

export interface Prepared {
  stack: Stack;
  containerId: string;
  targets: StackBackupTargets;
  physical: PhysicalTarget;
  database: string;
  user: string;
  /** Bytes of the database (pg_database_size). */
  dbBytes: number;
  /** `docker exec <id> argv…` through the docker CLI (the guide's way); resolves to its ms. */
  dockerExec(argv: readonly string[]): Promise<void>;
}

let prepared: Promise<Prepared> | undefined;
let keptDump: Promise<string> | undefined;

const quiet: RestoreContext = { step: () => undefined, line: () => undefined };

/** The stack with one big table in POSTGRES_DB (about 1 GB at full size), prepared once per run. */
export function prepare(ctx: BenchContext): Promise<Prepared> {
  prepared ??= (async () => {
    const stack = await ctx.stack();
    const rows = pick(ctx.size, 300_000, 9_500_000);
    const database = stack.env.POSTGRES_DB!;
    const user = stack.env.POSTGRES_USER!;
    ctx.log(`generating ${rows.toLocaleString('en')} rows in ${database}.bench_big`);
    await stack.sql('DROP TABLE IF EXISTS bench_big');
    await stack.sql(
      `CREATE TABLE bench_big AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) AS payload, ` +
        `timestamptz '2026-01-01' + g * interval '1 second' AS at FROM generate_series(1, ${rows}) g`,
    );
    await stack.sql('CHECKPOINT');
    const [size] = await stack.sql<{ b: string }>('SELECT pg_database_size(current_database())::text AS b');
    const dbBytes = Number(size!.b);
    ctx.log(`database ${database}: ${fmt(dbBytes / 1e6)} MB`);
    // A full pgBackRest backup now (the set the restore figure restores): it also waits until the WAL of the
    // generated table is archived, so no archiver runs behind the timed work.
    // The archiver (gzip, one process) is far behind after a 1 GB write on a loaded machine: wait for it
    // first, or the backup's own 60 s archive timeout ([082]) ends it.
    const [w] = await stack.sql<{ wal: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS wal');
    ctx.log(`waiting for the archiver to reach ${w!.wal}`);
    for (const t0 = Date.now(); ; await sleep(1000)) {
      const [a] = await stack.sql<{ last: string | null }>('SELECT last_archived_wal AS last FROM pg_stat_archiver');
      if (a?.last && a.last >= w!.wal) break;
      if (Date.now() - t0 > 3_600_000) throw new Error(`WAL ${w!.wal} not archived within an hour (last ${a?.last})`);
    }
    ctx.log('pgBackRest: full backup of the prepared database');
    await stack.exec(
      'timescaledb',
      ['pgbackrest', '--stanza=db', '--type=full', '--archive-timeout=600', '--log-level-console=warn', 'backup'],
      { timeoutMs: 3_600_000 },
    );
    const client = await connectEngine(resolveEngine(undefined, { DOCKER_HOST: stack.docker.host }));
    const containerId = await stack.containerId('timescaledb');
    const rt = new ContainerRuntime(client, containerId, 'container timescaledb');
    const d = await discoverInfra({ workspaceFolder: stack.infraDir, infraPath: stack.infraDir });
    if (d.kind !== 'found') throw new Error(`the fixture stack was not discovered: ${d.kind}`);
    const targets = await stackBackupTargets(d.stack, rt);
    const physical: PhysicalTarget = {
      rt,
      dataDir: DATA,
      conn: { user, password: stack.env.POSTGRES_PASSWORD, database },
    };
    const dockerExec = async (argv: readonly string[]): Promise<void> => {
      await run('docker', ['exec', containerId, ...argv], { env: stack.dockerEnv, timeoutMs: 3_600_000 });
    };
    return { stack, containerId, targets, physical, database, user, dbBytes, dockerExec };
  })();
  return prepared;
}

const mb = (bytes: number) => `${fmt(bytes / 1e6, 0)} MB`;

/** pg_dump via the extension ÷ the guide's `docker exec … pg_dump -F t -f /var/lib/pgbackrest/manual_backup/…`, and RSS growth. */
export const dumpFigure: Figure = {
  id: 'dump',
  title: 'pg_dump',
  async run(ctx) {
    const p = await prepare(ctx);
    const hostDir = p.targets.manual.hostDir;
    const rawName = 'bench_raw_pg_dump.tar';
    const extFiles: string[] = [];
    const ways = new Set<string>();
    const ext = async (): Promise<{ ms: number; rss: number }> => {
      let path = '';
      let ms = 0;
      const { growthMb } = await peakRssGrowth(async () => {
        ms = await timed(async () => {
          const d = await createDump(p.targets.manual, { database: p.database, format: 'tar' });
          path = d.path;
          ways.add(d.wroteIn ?? '?');
        });
      });
      extFiles.push(path);
      return { ms, rss: growthMb };
    };
    const cleanup = async () => {
      for (const f of extFiles.splice(0)) {
        rmSync(f, { force: true });
        rmSync(`${f}.json`, { force: true });
      }
      rmSync(join(hostDir, rawName), { force: true });
    };
    // Warm-up (not counted): module loading and the first exec, which the RSS figure must not count.
    ctx.log('dump: warm-up');
    await ext();
    await cleanup();
    await sleep(1100); // dump names carry the second
    const rss: number[] = [];
    const pairs = pick(ctx.size, 2, 5);
    const r = await interleaved(
      pairs,
      async () => {
        const x = await ext();
        rss.push(x.rss);
        return x.ms;
      },
      () =>
        timed(() =>
          p.dockerExec([
            'pg_dump',
            '-U',
            p.user,
            '-F',
            't',
            '-d',
            p.database,
            '-f',
            posix.join(p.targets.manual.runtimeDir!, rawName),
          ]),
        ),
      {
        between: async () => {
          await cleanup();
          await sleep(1100);
        },
        log: ctx.log,
        label: 'dump',
      },
    );
    const rs = ratios(r.a, r.b);
    const met = median(rs) <= 1.02;
    return [
      {
        figure: `pg_dump of a ${mb(p.dbBytes)} database (tar)`,
        unit: 's',
        extension: r.a.map((x) => x / 1000),
        raw: r.b.map((x) => x / 1000),
        rawLabel: '`docker exec … pg_dump -F t -f /var/lib/pgbackrest/manual_backup/…` (the guide)',
        ratio: { kind: 'ext/raw', values: rs },
        target: '≤ 1.02',
        met,
        note: `the extension's pg_dump ${ways.has('here') ? 'streamed to this machine' : 'wrote in the container'} (wroteIn: ${[...ways].join(', ')})`,
        cause: met
          ? undefined
          : ways.has('here')
            ? 'the dump streams through dockerd, docker-modem and Node to this machine while the raw command writes in the container ' +
              'to the mounted folder (issue 18, cause 1)'
            : `the extension runs the same pg_dump in the container into the mounted folder; what it adds: the probe of the ` +
              `mounted folder, the version query alongside, the rename of the .partial file and the sidecar, ` +
              `${fmt(median(r.a) - median(r.b), 0)} ms per run (medians)`,
      },
      {
        figure: 'Node RSS growth during that dump',
        unit: 'MB',
        extension: rss,
        target: '≤ 50 MB',
        met: Math.max(...rss) <= 50,
        note: 'peak RSS during the dump minus RSS before it, after a warm-up dump (module loading not counted)',
        cause: Math.max(...rss) <= 50 ? undefined : 'the dump is buffered in Node (backpressure lost)',
      },
    ];
  },
};

/** A dump file (tar) kept for the pg_restore figure, as the container sees it. */
function dumpForRestore(ctx: BenchContext, p: Prepared): Promise<string> {
  keptDump ??= (async () => {
    const name = 'bench_restore_source.tar';
    await p.dockerExec([
      'pg_dump',
      '-U',
      p.user,
      '-F',
      't',
      '-d',
      p.database,
      '-f',
      posix.join(p.targets.manual.runtimeDir!, name),
    ]);
    ctx.log(`pg_restore: source dump ${name} written`);
    return posix.join(p.targets.manual.runtimeDir!, name);
  })();
  return keptDump;
}

/** pg_restore of that dump into a new database via the extension ÷ raw createdb + `pg_restore -Ft` in the container. */
export const pgRestoreFigure: Figure = {
  id: 'pg-restore',
  title: 'pg_restore',
  async run(ctx) {
    const p = await prepare(ctx);
    const file = await dumpForRestore(ctx, p);
    const drop = async () => {
      await p.stack.sql(`DROP DATABASE IF EXISTS ${RESTORE_DB} WITH (FORCE)`);
    };
    await drop();
    const r = await interleaved(
      pick(ctx.size, 1, 5),
      () =>
        timed(() =>
          restoreDump(
            {
              rt: p.physical.rt,
              conn: { user: p.user, password: p.stack.env.POSTGRES_PASSWORD, database: p.database },
            },
            { file, database: RESTORE_DB },
            quiet,
          ),
        ),
      () =>
        timed(async () => {
          await p.dockerExec([
            'psql',
            '-X',
            '-q',
            '-U',
            p.user,
            '-d',
            p.database,
            '-c',
            `CREATE DATABASE ${RESTORE_DB}`,
          ]);
          await p.dockerExec(['pg_restore', '-U', p.user, '-Ft', '-d', RESTORE_DB, '--exit-on-error', file]);
        }),
      { between: drop, log: ctx.log, label: 'pg_restore' },
    );
    rmSync(join(p.targets.manual.hostDir, posix.basename(file)), { force: true });
    const rs = ratios(r.a, r.b);
    const met = median(rs) <= 1.05;
    return [
      {
        figure: `pg_restore of that dump into a new database`,
        unit: 's',
        extension: r.a.map((x) => x / 1000),
        raw: r.b.map((x) => x / 1000),
        rawLabel: '`docker exec … psql -c "CREATE DATABASE …"` then `docker exec … pg_restore -Ft -d … <file>`',
        ratio: { kind: 'ext/raw', values: rs },
        target: '≤ 1.05',
        met,
        cause: met
          ? undefined
          : 'the extension adds pg_restore -l (verify), two version queries and the existence check before the restore',
      },
    ];
  },
};

/** pgBackRest restore (newest set, `--type=immediate`) via the extension ÷ the guide's manual steps run raw. */
export const pgbackrestRestoreFigure: Figure = {
  id: 'pgbackrest-restore',
  title: 'pgBackRest restore',
  async run(ctx) {
    const p = await prepare(ctx);
    let restoreArgv: string[] | undefined;
    const asides: string[] = [];
    const extSteps = new StepTimes();
    const rawSteps = new StepTimes();
    const ext = () =>
      timed(async () => {
        const r = await restorePhysical(
          p.physical,
          { kind: 'pgbackrest', stanza: 'db' },
          {
            step: (title) =>
              extSteps.mark(
                title.startsWith('Restoring ')
                  ? '`pgbackrest restore`'
                  : title.replace(/ to \S*\.pre-restore-\S+$/, ''),
              ),
            line: (l) => {
              if (l.startsWith('$ pgbackrest ') && l.endsWith(' restore')) restoreArgv ??= guideRestoreArgv(l);
            },
          },
        );
        extSteps.end();
        if (r.preRestoreCopy) asides.push(r.preRestoreCopy);
      });
    let n = 0;
    const raw = () => {
      const aside = `${DATA}.bench-raw-${++n}`;
      return timed(async () => {
        rawSteps.mark('`pg_ctl stop`');
        await p.dockerExec(['pg_ctl', '-D', DATA, '-m', 'fast', '-w', 'stop']);
        // The guide: check it stopped (exit 3: no server running).
        rawSteps.mark('`pg_ctl status`, `mv`, `mkdir`');
        await run('docker', ['exec', p.containerId, 'pg_ctl', '-D', DATA, 'status'], {
          env: p.stack.dockerEnv,
          reject: false,
        });
        await p.dockerExec(['mv', DATA, aside]);
        await p.dockerExec(['mkdir', '-m', '0700', DATA]);
        rawSteps.mark('`pgbackrest restore`');
        await p.dockerExec(restoreArgv!);
        rawSteps.mark('`pg_ctl -w start` and psql until ready');
        await p.dockerExec(['pg_ctl', '-D', DATA, '-l', '/home/postgres/pgdata/bench-raw-start.log', '-w', 'start']);
        // Ready: accepts connections and has left recovery (polled every 100 ms, as fast as a person could).
        for (;;) {
          const r = await run(
            'docker',
            [
              'exec',
              p.containerId,
              'psql',
              '-X',
              '-At',
              '-U',
              p.user,
              '-d',
              p.database,
              '-c',
              'SELECT pg_is_in_recovery()',
            ],
            { env: p.stack.dockerEnv, reject: false },
          );
          if (r.exitCode === 0 && r.stdout.trim() === 'f') break;
          await sleep(100);
        }
        rawSteps.end();
      }).finally(() => asides.push(aside));
    };
    const cleanup = async () => {
      for (const a of asides.splice(0)) {
        if (a.includes('.pre-restore-')) await deletePreRestoreCopy(p.physical, a, quiet);
        else await p.dockerExec(['rm', '-rf', '--', a]);
      }
      await sleep(1100); // pre-restore copies are named by the second
    };
    // Pair 1 runs the extension first, which also gives the raw side the very same pgbackrest argv.
    const r = await interleaved(pick(ctx.size, 1, 5), ext, raw, { between: cleanup, log: ctx.log, label: 'restore' });
    const rs = ratios(r.a, r.b);
    const met = median(rs) <= 1.05;
    return [
      {
        figure: `pgBackRest restore (newest set, ${mb(p.dbBytes)} database, ${
          restoreArgv?.some((a) => a.startsWith('--type='))
            ? restoreArgv.filter((a) => a.startsWith('--type=')).join(' ')
            : 'latest state'
        })`,
        unit: 's',
        extension: r.a.map((x) => x / 1000),
        raw: r.b.map((x) => x / 1000),
        rawLabel:
          'docker exec: `pg_ctl stop`, `pg_ctl status`, `mv data aside`, `mkdir`, the same `pgbackrest … restore`, ' +
          '`pg_ctl -w start`, `psql` until not in recovery (100 ms)',
        ratio: { kind: 'ext/raw', values: rs },
        target: '≤ 1.05',
        met,
        note: `the extension's steps (medians): ${extSteps.summary()}; the raw side's: ${rawSteps.summary()}`,
        cause: met
          ? undefined
          : `extra per run ${fmt(median(r.a) - median(r.b), 0)} ms (medians) for the steps the guide lacks: pgBackRest info ` +
            `and the server probe (side by side) before the stop, the journal written with the take-down, ` +
            `\`pgbackrest stop\`/\`start\` around the restore (no scheduled backup meanwhile), and the verification in the ` +
            `start exec (issue 18 folded the rest: four round trips plus the stanza's two)`,
      },
    ];
  },
};
