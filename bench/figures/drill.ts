/**
 * Restore drill of the newest pgBackRest set (latest state) via `runDrill` ÷ the same done raw through the docker
 * CLI: a scratch container of the service's image (no network, a volume for the data, the repository read-only),
 * the same `pgbackrest … restore` into it, `pg_ctl -w start` with archiving off, psql until it has left recovery,
 * and the container removed. The drill also checks the copy (every database, pg_amcheck, TimescaleDB, sqlx
 * history): the raw side does not, so a second row gives the drill without its checks phase.
 */
import { connectEngine, resolveEngine } from '../../src/core/docker/engine-address';
import { runDrill, type DrillReport, type DrillTarget } from '../../src/core/backups/drill';
import { run, sleep } from '../../test/support/proc';
import {
  guideRestoreArgv,
  interleaved,
  median,
  pick,
  ratios,
  timed,
  fmt,
  type BenchContext,
  type Figure,
} from '../lib';
import { DATA, prepare, type Prepared } from './backups';

const CONFIG = '/home/postgres/pgdata/backup/pgbackrest.conf';
const DATA_MOUNT = '/home/postgres/pgdata';
const REPO = '/var/lib/pgbackrest';

/** The drill's pairs against the raw scratch restore, on a prepared stack (shared with the realistic scenario). */
export interface DrillPairs {
  r: { a: number[]; b: number[] };
  reports: DrillReport[];
}

export async function drillPairs(
  ctx: BenchContext,
  p: Prepared,
  pairs: number,
  label: string,
  opts: { afterPair?: () => Promise<void>; ends?: { ext: number[]; raw: number[] } } = {},
): Promise<DrillPairs> {
  const docker = await connectEngine(resolveEngine(undefined, { DOCKER_HOST: p.stack.docker.host }));
  const target: DrillTarget = {
    docker,
    containerId: p.containerId,
    project: p.stack.projectName,
    stanza: 'db',
    configPath: CONFIG,
    dataDir: DATA,
    conn: { user: p.user, password: p.stack.env.POSTGRES_PASSWORD, database: p.database },
  };
  const live = await docker.getContainer(p.containerId).inspect();
  const user = live.Config.User || 'postgres';
  const source = (dst: string) => {
    const m = (live.Mounts ?? []).find((x) => x.Destination === dst);
    if (!m?.Source) throw new Error(`the live container has no mount at ${dst}`);
    return m.Source;
  };
  const confSource = source(CONFIG);
  const repoSource = source(REPO);

  let restoreArgv: string[] | undefined;
  const reports: DrillReport[] = [];
  const ext = () =>
    timed(async () => {
      const r = await runDrill(
        target,
        { kind: 'pgbackrest' },
        {
          step: () => undefined,
          line: (l) => {
            if (l.startsWith('$ pgbackrest ') && l.endsWith(' restore')) restoreArgv ??= guideRestoreArgv(l);
          },
        },
      );
      if (!r.passed)
        throw new Error(
          `the drill failed: ${r.error ?? JSON.stringify(r.checks.filter((c) => c.status === 'failed'))}`,
        );
      reports.push(r);
    });

  const docker_ = (args: readonly string[], reject = true) =>
    run('docker', args, {
      env: { ...p.stack.dockerEnv, PGPASSWORD: p.stack.env.POSTGRES_PASSWORD },
      reject,
      timeoutMs: 3_600_000,
    });
  let n = 0;
  const raw = () => {
    const name = `tsdbops-bench-raw-drill-${process.pid}-${++n}`;
    return timed(async () => {
      await docker_([
        'run',
        '-d',
        '--name',
        name,
        '--network',
        'none',
        '--user',
        user,
        '--mount',
        `type=volume,dst=${DATA_MOUNT}`,
        '--mount',
        `type=bind,src=${confSource},dst=${CONFIG},readonly`,
        '--mount',
        `type=bind,src=${repoSource},dst=${REPO},readonly`,
        '--entrypoint',
        'sleep',
        live.Image,
        'infinity',
      ]);
      try {
        await docker_(['exec', name, 'mkdir', '-m', '0700', DATA]);
        await docker_(['exec', name, ...restoreArgv!]);
        await docker_([
          'exec',
          name,
          'pg_ctl',
          '-D',
          DATA,
          '-l',
          `${DATA_MOUNT}/raw-start.log`,
          '-w',
          '-t',
          '600',
          '-o',
          "-c archive_mode=off -c listen_addresses='' -c unix_socket_directories=/tmp -c port=5432",
          'start',
        ]);
        // Ready: has left recovery (polled every 100 ms, as fast as a person could).
        for (;;) {
          const r = await docker_(
            [
              'exec',
              '-e',
              'PGPASSWORD',
              name,
              'psql',
              '-X',
              '-At',
              '-h',
              '/tmp',
              '-U',
              p.user,
              '-d',
              p.database,
              '-c',
              'SELECT pg_is_in_recovery()',
            ],
            false,
          );
          if (r.exitCode === 0 && r.stdout.trim() === 'f') break;
          await sleep(100);
        }
      } finally {
        await docker_(['rm', '-f', '-v', name], false);
      }
    });
  };

  // Pair 1 runs the drill first, which also gives the raw side the very same pgbackrest argv.
  let sides = 0;
  const between = async () => {
    if (++sides % 2 === 0) await opts.afterPair?.();
  };
  const r = await interleaved(
    pairs,
    () => ext().finally(() => opts.ends?.ext.push(Date.now())),
    () => raw().finally(() => opts.ends?.raw.push(Date.now())),
    { log: ctx.log, label, between },
  );
  return { r, reports };
}

export const restoreDrillFigure: Figure = {
  id: 'restore-drill',
  title: 'restore drill',
  async run(ctx) {
    const p = await prepare(ctx);
    const { r, reports } = await drillPairs(ctx, p, pick(ctx.size, 1, 5), 'drill');
    const rs = ratios(r.a, r.b);
    const checksMs = reports.map((x) => x.phases.find((ph) => ph.name === 'checks')?.ms ?? 0);
    const noChecks = r.a.map((a, i) => a - checksMs[i]!);
    const rsNoChecks = ratios(noChecks, r.b);
    const phaseNote = (['prepare', 'restore', 'replay and start', 'checks'] as const)
      .map(
        (name) =>
          `${name} ${fmt(median(reports.map((x) => x.phases.find((ph) => ph.name === name)?.ms ?? 0)) / 1000)} s`,
      )
      .join(', ');
    const met = median(rs) <= 1.2;
    const metNoChecks = median(rsNoChecks) <= 1.2;
    const mb = `${fmt(p.dbBytes / 1e6, 0)} MB`;
    return [
      {
        figure: `restore drill of the newest set (latest state, ${mb} database) ÷ raw restore into a scratch container + start`,
        unit: 's',
        extension: r.a.map((x) => x / 1000),
        raw: r.b.map((x) => x / 1000),
        rawLabel:
          '`docker run -d --network none` (a volume for the data, the config and the repository read-only) of the ' +
          'service’s image, then docker exec: `mkdir`, the same `pgbackrest … restore`, `pg_ctl -w start` (archiving off), ' +
          '`psql` until not in recovery (100 ms), `docker rm -f -v`',
        ratio: { kind: 'ext/raw', values: rs },
        target: '≤ 1.2',
        met,
        note: `the drill’s own phases (medians): ${phaseNote}`,
        cause: met
          ? undefined
          : `the drill checks the copy and the raw side does not: its checks phase (every database, pg_amcheck of heap ` +
            `and B-tree over the whole ${mb}, TimescaleDB, sqlx history) took ${fmt(median(checksMs) / 1000)} s of ` +
            `${fmt(median(r.a) / 1000)} s; without it the ratio is ${fmt(median(rsNoChecks), 2)} (next row)`,
      },
      {
        figure: 'same, the drill without its checks phase (prepare, restore, replay and start, clean-up)',
        unit: 's',
        extension: noChecks.map((x) => x / 1000),
        raw: r.b.map((x) => x / 1000),
        ratio: { kind: 'ext/raw', values: rsNoChecks },
        target: '≤ 1.2',
        met: metNoChecks,
        note: 'diagnostic: the drill’s time minus the checks phase of its own report',
        cause: metNoChecks
          ? undefined
          : 'the drill’s preparation (sweep of old drills, pgBackRest info on the live container, config copy, ' +
            'chown, disk check) and its 250 ms readiness poll',
      },
    ];
  },
};
