/**
 * The realistic restore (issue 28): a 1 GB database whose newest full backup is followed by at least 1 GB of
 * archived WAL (inserts and updates into a hypertable-shaped table, as a day before the next full), restored to
 * the latest state. The extension's restore against the infra guide's raw procedure, interleaved pairs, with the
 * phases of both sides: `pgbackrest restore`, the archive-get calls (count and total time, from pgBackRest's own
 * archive-get log), and the last segment → accepting connections. Then the physical limit of this machine: the
 * engine's disk write and read bandwidth, single-core gzip decompression and single-core WAL apply (the same WAL
 * replayed from a local pg_wal, no restore_command), and the restore time those give.
 *
 * Runs alone with `npm run bench -- --only restore-replay` (`--size small`: 64 MB of WAL, 1 pair: it only proves the figure runs end to end).
 */
import { parsePgBackRestInfo, type BackupSet } from '../../src/core/backups/pgbackrest';
import { deletePreRestoreCopy, restorePhysical } from '../../src/core/backups/restore/physical';
import { newestArchivedSegment, parseWalSegment, walSegmentName } from '../../src/core/backups/restore/recovery-proof';
import { run, sleep } from '../../test/support/proc';
import {
  guideRestoreArgv,
  interleaved,
  median,
  pick,
  ratios,
  timed,
  fmt,
  StepTimes,
  type BenchContext,
  type Figure,
  type Row,
} from '../lib';
import { DATA, prepare, type Prepared } from './backups';
import { limitSeries } from './replay-limit';

const SEG = 16 * 1024 * 1024;

export interface Scenario {
  p: Prepared;
  set: BackupSet;
  /** WAL segments from the set's start to the archive's newest (both included). */
  first: string;
  last: string;
  walBytes: number;
}

let scenario: Promise<Scenario> | undefined;

/** The stack's SQL, with the connection retried (its 5 s connect timeout expires on a machine at load 30). */
async function sql<T = Record<string, unknown>>(p: Prepared, q: string): Promise<T[]> {
  for (let i = 1; ; i++) {
    try {
      return await p.stack.sql<T>(q);
    } catch (e) {
      if (i >= 10 || !/timeout expired|ECONNREFUSED|Connection terminated/.test(String(e))) throw e;
      await sleep(2000);
    }
  }
}

async function waitArchived(ctx: BenchContext, p: Prepared): Promise<void> {
  const [w] = await sql<{ wal: string }>(p, 'SELECT pg_walfile_name(pg_switch_wal()) AS wal');
  ctx.log(`waiting for the archiver to reach ${w!.wal}`);
  for (const t0 = Date.now(); ; await sleep(1000)) {
    const [a] = await sql<{ last: string | null }>(p, 'SELECT last_archived_wal AS last FROM pg_stat_archiver');
    if (a?.last && a.last.slice(8) >= w!.wal.slice(8)) return;
    if (Date.now() - t0 > 3_600_000) throw new Error(`WAL ${w!.wal} not archived within an hour (last ${a?.last})`);
  }
}

/** The newest full, then ≥ 1 GB (small: 64 MB) of WAL from inserts and updates, every segment archived. */
export function replayScenario(ctx: BenchContext): Promise<Scenario> {
  scenario ??= (async () => {
    const p = await prepare(ctx);
    ctx.log('replay scenario: the newest full backup');
    await sql(p, 'DROP TABLE IF EXISTS bench_metrics');
    await p.stack.exec(
      'timescaledb',
      ['pgbackrest', '--stanza=db', '--type=full', '--archive-timeout=600', '--log-level-console=warn', 'backup'],
      { timeoutMs: 3_600_000 },
    );
    const want = pick(ctx.size, 64, 1100) * 1024 * 1024;
    await sql(
      p,
      'CREATE TABLE bench_metrics (time timestamptz NOT NULL, device_id int NOT NULL, value double precision, status text)',
    );
    await sql(p, 'CREATE INDEX ON bench_metrics (time DESC)');
    await sql(p, 'CREATE INDEX ON bench_metrics (device_id, time DESC)');
    const [s] = await sql<{ lsn: string }>(p, 'SELECT pg_current_wal_lsn()::text AS lsn');
    const batch = 400_000;
    for (let k = 0; ; k++) {
      const from = `timestamptz '2026-01-01' + ${k * batch} * interval '200 ms'`;
      await sql(
        p,
        `INSERT INTO bench_metrics SELECT ${from} + g * interval '200 ms', g % 1000, random() * 100, 'ok' ` +
          `FROM generate_series(1, ${batch}) g`,
      );
      // A day's corrections: a tenth of the batch's rows updated.
      await sql(
        p,
        `UPDATE bench_metrics SET value = value + 1, status = 'corrected' WHERE time >= ${from} AND device_id % 10 = ${k % 10}`,
      );
      const [d] = await sql<{ b: string }>(p, `SELECT (pg_current_wal_lsn() - '${s!.lsn}'::pg_lsn)::text AS b`);
      ctx.log(`replay scenario: ${fmt(Number(d!.b) / 1e6, 0)} MB of WAL after the backup`);
      if (Number(d!.b) >= want) break;
    }
    // The day's maintenance: the vacuum autovacuum would run on the new rows, done now and waited for, so that no
    // WAL of it comes after the scenario's newest segment (restores would replay it and the limit would not).
    await sql(p, 'VACUUM (ANALYZE) bench_metrics');
    for (const t0 = Date.now(); Date.now() - t0 < 300_000; await sleep(1000)) {
      const [a] = await sql<{ n: string }>(
        p,
        "SELECT count(*)::text AS n FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'",
      );
      if (a?.n === '0') break;
    }
    await waitArchived(ctx, p);
    const r = await p.stack.exec('timescaledb', ['pgbackrest', '--stanza=db', '--output=json', 'info']);
    const info = parsePgBackRestInfo(r.stdout)[0]!;
    const set = info.backups.at(-1)!;
    const last = newestArchivedSegment(info)!;
    const first = set.walStart!;
    const n = Number(parseWalSegment(last)!.number - parseWalSegment(first)!.number) + 1;
    ctx.log(`replay scenario: set ${set.label}, WAL ${first} … ${last} (${n} segments)`);
    return {
      p,
      set,
      first,
      last,
      walBytes: n * SEG,
    };
  })();
  return scenario;
}

// ---------- The server's log ----------

/**
 * What PostgreSQL's log says about one recovery (TZ=UTC in the container): the segments restored from the
 * archive, when the first and the last came, and when the server accepted connections.
 */
export interface ServerRecovery {
  restored: number;
  firstAt?: number;
  lastAt?: number;
  readyAt?: number;
}

const logTime = (line: string) => {
  const m = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) UTC/.exec(line);
  return m ? Date.parse(`${m[1]!.replace(' ', 'T')}Z`) : undefined;
};

export function serverRecovery(text: string): ServerRecovery {
  const out: ServerRecovery = { restored: 0 };
  for (const l of text.split('\n')) {
    if (/restored log file "[0-9A-F]{24}" from archive/.test(l)) {
      out.restored++;
      out.firstAt ??= logTime(l);
      out.lastAt = logTime(l) ?? out.lastAt;
    }
    if (/database system is ready to accept connections/.test(l)) out.readyAt = logTime(l) ?? out.readyAt;
  }
  return out;
}

// ---------- The figure ----------

interface Phases {
  restoreMs: number;
  rec: ServerRecovery;
}

function phaseNote(xs: readonly Phases[], perGetMs: number): string {
  const m = (f: (x: Phases) => number | undefined) => {
    const v = xs.map(f).filter((y): y is number => y !== undefined && Number.isFinite(y));
    return v.length ? median(v) : NaN;
  };
  const segs = m((x) => x.rec.restored);
  return (
    `\`pgbackrest restore\` ${fmt(m((x) => x.restoreMs) / 1000)} s; ${fmt(segs, 0)} segments restored from the archive ` +
    `(≈ ${fmt((segs * perGetMs) / 1000)} s of archive-get at ${fmt(perGetMs, 0)} ms a call); ` +
    `first → last segment ${fmt(m((x) => (x.rec.lastAt ?? NaN) - (x.rec.firstAt ?? NaN)) / 1000)} s; ` +
    `last segment → accepting connections ${fmt(m((x) => (x.rec.readyAt ?? NaN) - (x.rec.lastAt ?? NaN)) / 1000)} s`
  );
}

/** One plain `pgbackrest archive-get` (the guide's restore_command) per segment of the scenario, in a row: ms a call. */
async function timeArchiveGets(p: Prepared, sc: Scenario, count: number): Promise<number> {
  const first = parseWalSegment(sc.first)!;
  const names = Array.from({ length: count }, (_, i) =>
    walSegmentName({ timeline: first.timeline, number: first.number + BigInt(i) }),
  );
  const ms = await timed(() =>
    p.dockerExec([
      'sh',
      '-c',
      'for f in "$@"; do pgbackrest --stanza=db archive-get "$f" /tmp/bench-archive-get || exit 1; done; rm -f /tmp/bench-archive-get',
      'get',
      ...names,
    ]),
  );
  return ms / count;
}

export const restoreReplayFigure: Figure = {
  id: 'restore-replay',
  title: 'pgBackRest restore, realistic: newest full + ≥ 1 GB of WAL',
  async run(ctx) {
    const sc = await replayScenario(ctx);
    const p = sc.p;
    const limits = limitSeries(ctx, sc);
    const t0 = Date.now();
    await limits.ready();
    const extRuns: { ms: number; at: number }[] = [];
    const rawRuns: { ms: number; at: number }[] = [];
    let extArgv: string[] | undefined;
    const asides: string[] = [];
    const extSteps = new StepTimes();
    const extPhases: Phases[] = [];
    const rawPhases: Phases[] = [];
    const chosen = new Set<string>();
    const ext = async () => {
      const since = Math.floor(Date.now() / 1000) - 1;
      let restoreMs = 0;
      let t0 = 0;
      const ms = await timed(async () => {
        const r = await restorePhysical(
          p.physical,
          { kind: 'pgbackrest', stanza: 'db' },
          {
            step: (title) => {
              if (t0) restoreMs += performance.now() - t0;
              t0 = title.startsWith('Restoring ') ? performance.now() : 0;
              extSteps.mark(
                title.startsWith('Restoring ')
                  ? '`pgbackrest restore`'
                  : title.replace(/ to \S*\.pre-restore-\S+$/, ''),
              );
            },
            line: (l) => {
              if (l.startsWith('$ pgbackrest ') && l.endsWith(' restore')) extArgv ??= guideRestoreArgv(l);
              if (l.startsWith('archive-get: ') || l.startsWith('restore: ')) chosen.add(l);
            },
          },
        );
        extSteps.end();
        if (r.preRestoreCopy) asides.push(r.preRestoreCopy);
      });
      // The restored server logs to the container's own output (PID 1's stdout).
      const logs = await run('docker', ['logs', '--since', String(since), p.containerId], { env: p.stack.dockerEnv });
      extPhases.push({ restoreMs, rec: serverRecovery(`${logs.stdout}\n${logs.stderr}`) });
      extRuns.push({ ms, at: Date.now() });
      return ms;
    };
    let n = 0;
    const raw = async () => {
      const aside = `${DATA}.bench-replay-raw-${++n}`;
      // The guide's own command: without the options the extension adds for speed (guideRestoreArgv).
      const argv = extArgv!;
      const rawLog = '/home/postgres/pgdata/bench-raw-start.log';
      const size = await run(
        'docker',
        ['exec', p.containerId, 'sh', '-c', 'stat -c %s "$1" 2>/dev/null || echo 0', 'size', rawLog],
        {
          env: p.stack.dockerEnv,
        },
      );
      const off = Number(size.stdout.trim()) || 0;
      let restoreMs = 0;
      const ms = await timed(async () => {
        await p.dockerExec(['pg_ctl', '-D', DATA, '-m', 'fast', '-w', 'stop']);
        await run('docker', ['exec', p.containerId, 'pg_ctl', '-D', DATA, 'status'], {
          env: p.stack.dockerEnv,
          reject: false,
        });
        await p.dockerExec(['mv', DATA, aside]);
        await p.dockerExec(['mkdir', '-m', '0700', DATA]);
        restoreMs = await timed(() => p.dockerExec(argv));
        await p.dockerExec([
          'pg_ctl',
          '-D',
          DATA,
          '-l',
          '/home/postgres/pgdata/bench-raw-start.log',
          '-w',
          '-t',
          '3600',
          'start',
        ]);
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
      }).finally(() => asides.push(aside));
      const text = await run('docker', ['exec', p.containerId, 'tail', '-c', `+${off + 1}`, rawLog], {
        env: p.stack.dockerEnv,
      });
      rawPhases.push({ restoreMs, rec: serverRecovery(text.stdout) });
      rawRuns.push({ ms, at: Date.now() });
      return ms;
    };
    const cleanup = async () => {
      for (const a of asides.splice(0)) {
        if (a.includes('.pre-restore-'))
          await deletePreRestoreCopy(p.physical, a, { step: () => undefined, line: () => undefined });
        else await p.dockerExec(['rm', '-rf', '--', a]);
      }
      await sleep(1100);
    };
    // After each pair (both sides ran): the limit measured again, beside it.
    let sides = 0;
    const between = async () => {
      await cleanup();
      if (++sides % 2 === 0) await limits.measure();
    };
    const r = await interleaved(ctx.pairs ?? pick(ctx.size, 1, 5), ext, raw, {
      between,
      log: ctx.log,
      label: 'replay restore',
    });
    ctx.log('replay restore: timing the plain archive-get calls');
    const perGetMs = await timeArchiveGets(p, sc, Math.min(16, Math.round(sc.walBytes / SEG)));
    const rs = ratios(r.a, r.b);
    const extOfLimit = limits.fractions(extRuns);
    const rawOfLimit = limits.fractions(rawRuns);
    const limitS = median(extRuns.map((x) => limits.near(x.at))) / 1000;
    const met = median(rs) <= 0.5 || median(extOfLimit) <= 1.25;
    const walMb = `${fmt(sc.walBytes / 2 ** 20, 0)} MB`;
    const rows: Row[] = [
      {
        figure: `pgBackRest restore, latest state: ${fmt(p.dbBytes / 1e6, 0)} MB database, newest full + ${walMb} of archived WAL`,
        unit: 's',
        extension: r.a.map((x) => x / 1000),
        raw: r.b.map((x) => x / 1000),
        rawLabel:
          'docker exec: `pg_ctl stop`, `pg_ctl status`, `mv data aside`, `mkdir`, the same `pgbackrest … restore` without ' +
          'speed options (the guide: one process, plain archive-get), `pg_ctl -w start`, `psql` until not in recovery (100 ms)',
        ratio: { kind: 'ext/raw', values: rs },
        target: '≤ 0.5, or ≤ 1.25× the physical limit',
        met,
        note:
          `per phase (medians), extension: ${phaseNote(extPhases, perGetMs)}; raw: ${phaseNote(rawPhases, perGetMs)}; ` +
          `extension ${fmt(median(extOfLimit), 2)}× (${fmt(Math.min(...extOfLimit), 2)}–${fmt(Math.max(...extOfLimit), 2)}) ` +
          `and raw ${fmt(median(rawOfLimit), 2)}× the physical limit measured beside each pair (median ${fmt(limitS)} s, ` +
          `rows below; each run over the mean of the measurements just before and after it)` +
          (chosen.size
            ? `; the extension chose: ${[...chosen].join(' / ')}`
            : '; the extension passed no speed option') +
          `; its steps (medians): ${extSteps.summary()}`,
        cause: met
          ? undefined
          : 'one process copies and decompresses the set, and PostgreSQL waits for one `pgbackrest archive-get` process per ' +
            'WAL segment (each opens the repository, decompresses 16 MB and exits) while replay stands still',
      },
      ...limits.rows(t0, Date.now()),
    ];
    return rows;
  },
};
