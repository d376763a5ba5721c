/**
 * Preview of the recovery speed-up before it is wired into the extension's restores (issue 28): on a throwaway
 * PostgreSQL 15 cluster on this machine (no Docker), the same latest-state pgBackRest restore of a full backup
 * followed by WAL of inserts and updates, run plain (the guide: one process, pgBackRest's own restore_command)
 * and with the options recovery-speed.ts decides from this machine (restore --process-max, async archive-get
 * through the wrapper), interleaved pairs. Runs alone with `npm run bench -- --only restore-replay-preview`.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startCluster, type Cluster } from '../../test/support/cluster';
import { sleep } from '../../test/support/proc';
import { HostRuntime } from '../../src/core/runtime';
import { userSpoolPath } from '../../src/core/backups/restore/recovery-speed';
import {
  probeRecoveryMachine,
  setUpRecoverySpeed,
  tearDownRecoverySpeed,
} from '../../src/core/backups/restore/recovery-run';
import { interleaved, median, pick, ratios, timed, fmt, type Figure } from '../lib';

async function untilPromoted(c: Cluster): Promise<void> {
  for (const t0 = Date.now(); ; await sleep(100)) {
    if ((await c.psql('SELECT pg_is_in_recovery()').catch(() => '')) === 'f') return;
    if (Date.now() - t0 > 3_600_000) throw new Error('recovery did not end within an hour');
  }
}

export const restoreReplayPreviewFigure: Figure = {
  id: 'restore-replay-preview',
  title: 'recovery speed-up preview (host cluster)',
  async run(ctx) {
    const c = await startCluster({ stanza: true });
    try {
      await c.psql('CREATE TABLE m (time timestamptz NOT NULL, device_id int NOT NULL, value float8, status text)');
      await c.psql('CREATE INDEX ON m (device_id, time DESC)');
      await c.psql(
        "INSERT INTO m SELECT now() + g * interval '1 s', g % 1000, random(), 'ok' FROM generate_series(1, 200000) g",
      );
      await c.pgbackrest(['--type=full', 'backup']);
      const want = pick(ctx.size, 64, 1100) * 2 ** 20;
      const start = await c.psql('SELECT pg_current_wal_lsn()');
      for (let k = 0; ; k++) {
        await c.psql(
          `INSERT INTO m SELECT now() + (${k} * 400000 + g) * interval '200 ms', g % 1000, random(), 'ok' FROM generate_series(1, 400000) g`,
        );
        await c.psql(`UPDATE m SET value = value + 1, status = 'corrected' WHERE device_id % 10 = ${k % 10}`);
        const d = Number(await c.psql(`SELECT pg_current_wal_lsn() - '${start}'::pg_lsn`));
        ctx.log(`preview: ${fmt(d / 1e6, 0)} MB of WAL after the backup`);
        if (d >= want) break;
      }
      const last = await c.psql('SELECT pg_walfile_name(pg_switch_wal())');
      for (const t0 = Date.now(); ; await sleep(500)) {
        if ((await c.psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")) >= last) break;
        if (Date.now() - t0 > 3_600_000) throw new Error('WAL not archived within an hour');
      }
      const rt = new HostRuntime([], 'postgres');
      const conf = readFileSync(c.pgbackrestConf, 'utf8');
      const chosen = new Set<string>();
      const restore = (fast: boolean) =>
        timed(async () => {
          await c.stopServer();
          for (const f of readdirSync(c.dataDir)) rmSync(join(c.dataDir, f), { recursive: true, force: true });
          const spool = userSpoolPath(conf, {}, c.stanza);
          const speed = fast
            ? await setUpRecoverySpeed(rt, {
                machine: await probeRecoveryMachine(rt, c.dataDir, spool ? [spool] : []),
                conf,
                stanza: c.stanza,
                baseArgs: [`--config=${c.pgbackrestConf}`, `--stanza=${c.stanza}`],
                workDir: c.baseDir,
                runId: `preview${Date.now()}`,
              })
            : undefined;
          speed?.explanation.forEach((l) => chosen.add(l));
          try {
            await c.pgbackrest([...(speed?.restoreArgs ?? []), ...(speed?.recoveryArgs ?? []), 'restore'], {
              timeoutMs: 3_600_000,
            });
            await c.pgBin('pg_ctl', [
              '-D',
              c.dataDir,
              '-l',
              join(c.baseDir, 'postgresql.log'),
              '-w',
              '-t',
              '3600',
              'start',
            ]);
            await untilPromoted(c);
          } finally {
            if (speed) await tearDownRecoverySpeed(rt, speed);
          }
        });
      const r = await interleaved(
        ctx.pairs ?? pick(ctx.size, 1, 5),
        () => restore(true),
        () => restore(false),
        {
          log: ctx.log,
          label: 'preview',
        },
      );
      const rs = ratios(r.a, r.b);
      return [
        {
          figure: `preview: latest-state restore with the decided options ÷ plain (host cluster, ${fmt(want / 2 ** 20, 0)}+ MB of WAL)`,
          unit: 's',
          extension: r.a.map((x) => x / 1000),
          raw: r.b.map((x) => x / 1000),
          rawLabel:
            '`pgbackrest restore` (one process, its own restore_command), `pg_ctl -w start`, psql until out of recovery',
          ratio: { kind: 'ext/raw', values: rs },
          target: '—',
          note: `not the extension's restore yet: the same steps with ${[...chosen].join('; ')}; median ratio ${fmt(median(rs), 2)}`,
        },
      ];
    } finally {
      await c.stop();
    }
  },
};
