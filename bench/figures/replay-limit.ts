/**
 * The physical limit of a restore on this machine (issue 28), measured in the database container on the same
 * disk: the engine's disk write bandwidth (`dd` 1 GB, fdatasync) and read bandwidth (`dd` with O_DIRECT), gzip
 * decompression on one core (`gzip -dc` of the scenario's archived WAL), and WAL apply on one core (the
 * scenario's newest full restored into a scratch folder, its WAL put into pg_wal, the server started with no
 * restore_command: crash recovery replays it from local files). A restore of those bytes at that speed: the
 * copy (the set's bytes at the slowest of disk write, repository read and decompression on every core) plus
 * the WAL apply.
 */
import { posix } from 'node:path';
import { run } from '../../test/support/proc';
import { parseLsn, parseWalSegment } from '../../src/core/backups/restore/recovery-proof';
import { fmt, pick, timed, type BenchContext, type Row } from '../lib';
import type { Scenario } from './replay';

export interface Limit {
  readonly restoreAtLimitMs: number;
  readonly rows: Row[];
}

const SCRATCH = '/home/postgres/pgdata/bench-limit';
const REPO_ARCHIVE = '/var/lib/pgbackrest/archive/db';
const MiB = 2 ** 20;

/**
 * The limit measured beside the pairs (issue 28): the machine's speed moves with its load, so a limit measured
 * once, before the pairs, is no limit for a pair run at another load. The series measures it before the first
 * pair and again after every pair, and a run is compared with the mean of the measurements just before and just
 * after it. The realistic restore and the realistic drill share one series (the drill's first "before" is the
 * restore's last "after").
 */
export class LimitSeries {
  private readonly points: { readonly at: number; readonly limit: Limit }[] = [];
  constructor(
    private readonly ctx: BenchContext,
    private readonly sc: Scenario,
  ) {}

  async measure(): Promise<void> {
    const limit = await measureLimit(this.ctx, this.sc);
    this.points.push({ at: Date.now(), limit });
    this.ctx.log(`physical limit: ${fmt(limit.restoreAtLimitMs / 1000)} s (measurement ${this.points.length})`);
  }

  /** Measured at least once (the first figure to run takes the first measurement). */
  async ready(): Promise<void> {
    if (!this.points.length) await this.measure();
  }

  /** The limit (ms) for a run that ended at `at`: the mean of the measurements just before and just after it. */
  near(at: number): number {
    const before = [...this.points].reverse().find((p) => p.at <= at) ?? this.points[0]!;
    const after = this.points.find((p) => p.at > at) ?? before;
    return (before.limit.restoreAtLimitMs + after.limit.restoreAtLimitMs) / 2;
  }

  /** Each run's time over the limit beside it. */
  fractions(runs: readonly { readonly ms: number; readonly at: number }[]): number[] {
    return runs.map((r) => r.ms / this.near(r.at));
  }

  /** The measurements of a time range (`from` … `to`), every measurement when none falls in it. */
  private between(from: number, to: number): Limit[] {
    const xs = this.points.filter((p) => p.at >= from && p.at <= to).map((p) => p.limit);
    return xs.length ? xs : this.points.map((p) => p.limit);
  }

  /** The limit's rows for the measurements taken from `from` to `to`: each component with every measurement. */
  rows(from: number, to: number): Row[] {
    const limits = this.between(from, to);
    return limits[0]!.rows.map((row, i) => ({
      ...row,
      extension: limits.flatMap((l) => l.rows[i]?.extension ?? []),
      note:
        `${row.note}` +
        (limits.length > 1 ? `; ${limits.length} measurements beside the pairs (this note: the first)` : ''),
    }));
  }
}

let series: LimitSeries | undefined;

/** One series per run: the realistic restore and the realistic drill share it. */
export function limitSeries(ctx: BenchContext, sc: Scenario): LimitSeries {
  series ??= new LimitSeries(ctx, sc);
  return series;
}

export async function measureLimit(ctx: BenchContext, sc: Scenario): Promise<Limit> {
  const p = sc.p;
  const exec = async (argv: readonly string[]) => {
    const r = await run('docker', ['exec', p.containerId, ...argv], {
      env: p.stack.dockerEnv,
      timeoutMs: 3_600_000,
      reject: false,
    });
    if (r.exitCode !== 0)
      throw new Error(`${argv.slice(0, 3).join(' ')} … failed (${r.exitCode}): ${r.stderr.slice(-400)}`);
    return r.stdout;
  };
  const sh = (script: string, ...args: string[]) => exec(['bash', '-c', script, 'bash', ...args]);
  const cores = Number((await exec(['nproc'])).trim()) || 1;

  // Disk bandwidth on the volume that holds PGDATA (and the restore's output).
  const ddMiB = pick(ctx.size, 64, 1024);
  const ddFile = '/home/postgres/pgdata/bench-limit-dd';
  ctx.log(`physical limit: disk write and read (${ddMiB} MiB)`);
  const writeMs = await timed(() =>
    exec(['dd', 'if=/dev/zero', `of=${ddFile}`, 'bs=1M', `count=${ddMiB}`, 'conv=fdatasync', 'status=none']),
  );
  const readMs = await timed(() =>
    exec(['dd', `if=${ddFile}`, 'of=/dev/null', 'bs=1M', 'iflag=direct', 'status=none']),
  );
  await exec(['rm', '-f', ddFile]);
  const writeBps = (ddMiB * MiB) / (writeMs / 1000);
  const readBps = (ddMiB * MiB) / (readMs / 1000);

  // The archived WAL a latest-state restore of the set replays on the set's timeline: every segment from the set's
  // first on, not only the scenario's own (the server's later WAL, say an autovacuum's, is replayed by the restores
  // too, and a limit that applied less WAL than they do would not be their limit).
  const first = parseWalSegment(sc.first)!;
  const names = (await exec(['find', REPO_ARCHIVE, '-type', 'f', '-name', '0*'])).split('\n').filter(Boolean).sort();
  const seen = new Set<string>();
  const files = names.filter((f) => {
    const seg = parseWalSegment(posix.basename(f).slice(0, 24));
    const name = posix.basename(f).slice(0, 24);
    if (!seg || seg.timeline !== first.timeline || seg.number < first.number || seen.has(name)) {
      return false;
    }
    seen.add(name);
    return true;
  });
  const last = parseWalSegment(posix.basename(files.at(-1) ?? sc.last).slice(0, 24))!;
  const gz = files.every((f) => f.endsWith('.gz'));
  ctx.log(`physical limit: gzip -dc of ${files.length} archived segments on one core`);
  const gunzipMs = gz ? await timed(() => sh('gzip -dc -- "$@" > /dev/null', ...files)) : NaN;
  const gunzipBps = (files.length * 16 * MiB) / (gunzipMs / 1000);

  // WAL apply from a local pg_wal: the set restored into a scratch folder, its WAL decompressed beside it.
  ctx.log('physical limit: the set into a scratch folder, its WAL into pg_wal, then crash recovery timed');
  await exec(['rm', '-rf', SCRATCH, `${SCRATCH}.log`]);
  await exec(['mkdir', '-m', '0700', SCRATCH]);
  await exec([
    'pgbackrest',
    '--stanza=db',
    `--pg1-path=${SCRATCH}`,
    `--set=${sc.set.label}`,
    '--log-level-console=warn',
    'restore',
  ]);
  await exec(['rm', '-f', `${SCRATCH}/recovery.signal`]);
  await sh(
    'd=$1; shift; for f in "$@"; do b=${f##*/}; gzip -dc -- "$f" > "$d/${b:0:24}"; done',
    `${SCRATCH}/pg_wal`,
    ...files,
  );
  let applyMs = NaN;
  let redoDone: string | undefined;
  try {
    applyMs = await timed(() =>
      exec([
        'pg_ctl',
        '-D',
        SCRATCH,
        '-l',
        `${SCRATCH}.log`,
        '-w',
        '-t',
        '3600',
        '-o',
        "-c port=5499 -c archive_mode=off -c listen_addresses='' -c unix_socket_directories=/tmp",
        'start',
      ]),
    );
    redoDone = /redo done at ([0-9A-F]+\/[0-9A-F]+)/.exec(await exec(['cat', `${SCRATCH}.log`]))?.[1];
  } finally {
    await run('docker', ['exec', p.containerId, 'pg_ctl', '-D', SCRATCH, '-m', 'immediate', '-w', 'stop'], {
      env: p.stack.dockerEnv,
      reject: false,
    });
    await exec(['rm', '-rf', SCRATCH, `${SCRATCH}.log`]);
  }
  const replayedAll = redoDone !== undefined && parseLsn(redoDone)! / BigInt(16 * MiB) >= last.number;
  const applyBps = (files.length * 16 * MiB) / (applyMs / 1000);

  const size = sc.set.sizeBytes;
  const copyMs = Math.max(size / writeBps, sc.set.repoSizeBytes / readBps, size / (gunzipBps * cores)) * 1000;
  const restoreAtLimitMs = copyMs + applyMs;
  const mbps = (bps: number) => bps / 1e6;
  const walMb = `${fmt((files.length * 16 * MiB) / 1e6, 0)} MB`;
  const rows: Row[] = [
    {
      figure: 'physical limit: engine disk write (dd, fdatasync)',
      unit: 'MB/s',
      extension: [mbps(writeBps)],
      target: '—',
      note: `${ddMiB} MiB of zeros into the PGDATA volume, \`dd conv=fdatasync\` in the database container`,
    },
    {
      figure: 'physical limit: engine disk read (dd, O_DIRECT)',
      unit: 'MB/s',
      extension: [mbps(readBps)],
      target: '—',
      note: 'the same file read back with `dd iflag=direct` (past the page cache)',
    },
    {
      figure: 'physical limit: gzip decompression, one core',
      unit: 'MB/s',
      extension: gz ? [mbps(gunzipBps)] : [],
      target: '—',
      note: gz
        ? `\`gzip -dc\` of the scenario's ${files.length} archived segments (${walMb} out), in the container`
        : 'the archive is not gzip-compressed (compress-type): not measured',
    },
    {
      figure: `physical limit: WAL apply, one core, from a local pg_wal (${walMb})`,
      unit: 's',
      extension: [applyMs / 1000],
      target: '—',
      note:
        `${fmt(mbps(applyBps))} MB/s: the newest full restored into a scratch folder, its ${files.length} segments put into ` +
        `pg_wal, \`pg_ctl -w start\` with no recovery.signal (crash recovery from backup_label, start-up and the end-of-recovery ` +
        `checkpoint included); redo done at ${redoDone ?? '?'}${replayedAll ? ' (the newest segment)' : ' — NOT the newest segment'}`,
    },
    {
      figure: 'physical limit: restore of this set and WAL at those speeds',
      unit: 's',
      extension: [restoreAtLimitMs / 1000],
      target: '—',
      note:
        `the copy ${fmt(copyMs / 1000)} s (${fmt(size / 1e6, 0)} MB at the slowest of disk write, the repository's ` +
        `${fmt(sc.set.repoSizeBytes / 1e6, 0)} MB at disk read, and decompression on ${cores} core${cores === 1 ? '' : 's'}) ` +
        `+ the WAL apply ${fmt(applyMs / 1000)} s`,
    },
  ];
  return { restoreAtLimitMs, rows };
}
