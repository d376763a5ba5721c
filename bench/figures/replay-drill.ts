/**
 * The realistic drill (issue 28): the restore drill of the latest state on the realistic scenario of
 * restore-replay (the newest full followed by ≥ 1 GB of archived WAL), against the same done raw in a scratch
 * container (bench/figures/drill.ts: the guide's `pgbackrest … restore` without speed options, `pg_ctl -w start`,
 * psql until out of recovery). Interleaved pairs; compared with the physical limit measured beside each pair
 * (replay-limit.ts, one series shared with restore-replay). Run with the restore: `npm run bench -- --only restore-replay,restore-replay-drill`.
 */
import { fmt, median, pick, ratios, type Figure, type Row } from '../lib';
import { drillPairs } from './drill';
import { replayScenario } from './replay';
import { limitSeries } from './replay-limit';

export const restoreReplayDrillFigure: Figure = {
  id: 'restore-replay-drill',
  title: 'restore drill, realistic: newest full + ≥ 1 GB of WAL',
  async run(ctx) {
    const sc = await replayScenario(ctx);
    const limits = limitSeries(ctx, sc);
    const t0 = Date.now();
    await limits.ready();
    const ends = { ext: [] as number[], raw: [] as number[] };
    const { r, reports } = await drillPairs(ctx, sc.p, ctx.pairs ?? pick(ctx.size, 1, 5), 'replay drill', {
      afterPair: () => limits.measure(),
      ends,
    });
    const rs = ratios(r.a, r.b);
    const checksMs = reports.map((x) => x.phases.find((ph) => ph.name === 'checks')?.ms ?? 0);
    const noChecks = r.a.map((a, i) => a - checksMs[i]!);
    // Each run over the limit measured beside it (the mean of the measurements just before and after it).
    const ofLimit = (xs: number[], at: number[]) => median(limits.fractions(xs.map((ms, i) => ({ ms, at: at[i]! }))));
    const limitS = median(ends.ext.map((at) => limits.near(at))) / 1000;
    const met = median(rs) <= 0.55 || ofLimit(r.a, ends.ext) <= 1.25;
    const phaseNote = (['prepare', 'restore', 'replay and start', 'checks'] as const)
      .map(
        (name) =>
          `${name} ${fmt(median(reports.map((x) => x.phases.find((ph) => ph.name === name)?.ms ?? 0)) / 1000)} s`,
      )
      .join(', ');
    const walMb = `${fmt(sc.walBytes / 2 ** 20, 0)} MB`;
    const rows: Row[] = [
      {
        figure:
          `restore drill, latest state: ${fmt(sc.p.dbBytes / 1e6, 0)} MB database, newest full + ${walMb} of WAL ` +
          '÷ raw restore into a scratch container + start',
        unit: 's',
        extension: r.a.map((x) => x / 1000),
        raw: r.b.map((x) => x / 1000),
        rawLabel:
          '`docker run -d --network none` of the service’s image (a volume for the data, config and repository ' +
          'read-only), then docker exec: `mkdir`, the same `pgbackrest … restore` without speed options, ' +
          '`pg_ctl -w start` (archiving off), `psql` until not in recovery (100 ms), `docker rm -f -v`',
        ratio: { kind: 'ext/raw', values: rs },
        target: '≤ 0.55, or ≤ 1.25× the physical limit',
        met,
        note:
          `the drill’s phases (medians): ${phaseNote}; drill ${fmt(ofLimit(r.a, ends.ext), 2)}× and raw ${fmt(ofLimit(r.b, ends.raw), 2)}× ` +
          `the physical limit measured beside each pair (median ${fmt(limitS)} s; rows below)`,
        cause: met
          ? undefined
          : `the drill also checks the copy (every database, pg_amcheck of the whole database, TimescaleDB, sqlx ` +
            `history: ${fmt(median(checksMs) / 1000)} s) and the raw side does not; without it ` +
            `${fmt(ofLimit(noChecks, ends.ext), 2)}× the limit (next row)`,
      },
      {
        figure: 'same, the drill without its checks phase',
        unit: 's',
        extension: noChecks.map((x) => x / 1000),
        raw: r.b.map((x) => x / 1000),
        ratio: { kind: 'ext/raw', values: ratios(noChecks, r.b) },
        target: '≤ 1.25× the physical limit',
        met: ofLimit(noChecks, ends.ext) <= 1.25,
        note: `the drill’s time minus the checks phase of its own report; ${fmt(ofLimit(noChecks, ends.ext), 2)}× the physical limit`,
      },
      ...limits.rows(t0, Date.now()).map((row) => ({ ...row, figure: `${row.figure} (beside the drill pairs)` })),
    ];
    return rows;
  },
};
