/**
 * Migrations on a throwaway PostgreSQL 15 on this machine: applying many small migrations with the
 * built-in sqlx-compatible engine against a `psql -f` per file with sqlx's bookkeeping row (what a
 * script without sqlx would do), and the status of 2,000 files with 1,000 applied, cold and warm.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Migrator } from '../../src/core/migrations/migrator';
import { SQL } from '../../src/core/migrations/sqlx';
import { sha384 } from '../../src/core/migrations/checksum';
import { loadMigrations } from '../../src/core/migrations/source';
import { connect, type ConnectionTarget } from '../../src/core/postgres/connection';
import { PG_BIN } from '../../test/support/cluster';
import { run } from '../../test/support/proc';
import { fmt, interleaved, median, pick, ratios, timed, type Figure } from '../lib';

const payload = (i: number) =>
  `CREATE TABLE IF NOT EXISTS t_${i} (id bigint primary key, payload text);\n-- ${'x'.repeat(200)}\n`;

function folder(count: number): { dir: string; files: { name: string; version: number; content: string }[] } {
  const dir = mkdtempSync(join(tmpdir(), 'tsdbops-bench-mig-'));
  const files = [];
  for (let i = 1; i <= count; i++) {
    const name = `${String(i).padStart(5, '0')}_step_${i}.sql`;
    const content = payload(i);
    writeFileSync(join(dir, name), content);
    files.push({ name, version: i, content });
  }
  return { dir, files };
}

export const migrationsApplyFigure: Figure = {
  id: 'migrations-apply',
  title: 'apply migrations',
  async run(ctx) {
    const cluster = await ctx.cluster();
    const count = pick(ctx.size, 50, 1000);
    const { dir, files } = folder(count);
    let seq = 0;
    let db = '';
    const target = (): ConnectionTarget => ({
      host: '127.0.0.1',
      port: cluster.port,
      user: cluster.user,
      database: db,
      params: {},
      source: 'bench',
    });
    const fresh = async () => {
      db = `bench_mig_${++seq}`;
      await cluster.psql(`CREATE DATABASE ${db}`);
    };
    const psqlEnv = { PGHOST: '127.0.0.1', PGPORT: String(cluster.port), PGUSER: cluster.user };
    try {
      await fresh();
      const r = await interleaved(
        pick(ctx.size, 2, 5),
        () =>
          timed(async () => {
            const res = await new Migrator(dir, () => connect(target())).run();
            if (res.applied.length !== count) throw new Error(`applied ${res.applied.length} of ${count}`);
          }),
        () =>
          timed(async () => {
            await run(join(PG_BIN, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', db, '-c', SQL.ensureTable], {
              env: psqlEnv,
            });
            for (const f of files) {
              const row =
                `INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) ` +
                `VALUES (${f.version}, 'step ${f.version}', true, '\\x${sha384(f.content).toString('hex')}', 0)`;
              await run(
                join(PG_BIN, 'psql'),
                ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-1', '-d', db, '-f', join(dir, f.name), '-c', row],
                { env: psqlEnv },
              );
            }
          }),
        { between: fresh, log: ctx.log, label: `${count} migrations` },
      );
      const speedups = ratios(r.b, r.a);
      const met = median(speedups) >= 3;
      return [
        {
          figure: `apply ${count.toLocaleString('en')} small migrations`,
          unit: 's',
          extension: r.a.map((x) => x / 1000),
          raw: r.b.map((x) => x / 1000),
          rawLabel: '`psql -1 -f <file> -c "INSERT INTO _sqlx_migrations …"` per file',
          ratio: { kind: 'raw/ext', values: speedups },
          target: '≥ 3× faster',
          met,
          cause: met ? undefined : 'one transaction and round trips per migration cost more than a process per file',
        },
      ];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

export const migrationStatusFigure: Figure = {
  id: 'migrations-status',
  title: 'migration status',
  async run(ctx) {
    const cluster = await ctx.cluster();
    const { dir, files } = folder(2000);
    const db = 'bench_status';
    try {
      await cluster.psql(`DROP DATABASE IF EXISTS ${db}`);
      await cluster.psql(`CREATE DATABASE ${db}`);
      const t: ConnectionTarget = {
        host: '127.0.0.1',
        port: cluster.port,
        user: cluster.user,
        database: db,
        params: {},
        source: 'bench',
      };
      const client = await connect(t);
      await client.query(SQL.ensureTable);
      const applied = files.slice(0, 1000);
      await client.query(
        'INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) ' +
          'SELECT v, d, true, c, 1000 FROM unnest($1::bigint[], $2::text[], $3::bytea[]) AS t(v, d, c)',
        [
          applied.map((f) => String(f.version)),
          applied.map((f) => `step ${f.version}`),
          applied.map((f) => sha384(f.content)),
        ],
      );
      await client.end();
      const check = (s: Awaited<ReturnType<Migrator['status']>>) => {
        if (s.summary.applied !== 1000 || s.summary.pending !== 1000)
          throw new Error(`status counted ${s.summary.applied} applied / ${s.summary.pending} pending`);
      };
      // The process's first status (module loading, JIT) is not counted.
      check(await new Migrator(dir, () => connect(t)).status());
      const runs = pick(ctx.size, 5, 15);
      const cold: number[] = [];
      const warm: number[] = [];
      for (let i = 0; i < runs; i++) {
        // Cold: a new Migrator (nothing cached between refreshes); warm: the same one asked again.
        const m = new Migrator(dir, () => connect(t));
        cold.push(await timed(async () => check(await m.status())));
        warm.push(await timed(async () => check(await m.status())));
      }
      ctx.log(`status: cold ${median(cold).toFixed(0)} ms, warm ${median(warm).toFixed(0)} ms`);
      // What the files alone cost (list + read + decode + SHA-384 of the 2,000 files), to name the cause of a miss.
      const filesOnly: number[] = [];
      for (let i = 0; i < runs; i++) filesOnly.push(await timed(() => loadMigrations(dir)));
      const filesNote = `the files alone (\`loadMigrations\`: list, read, decode, SHA-384): ${fmt(median(filesOnly))} ms median`;
      const cause =
        `since issue 18 the files are read in one synchronous loop (${filesNote}); the rest is the connection, the ` +
        'query of _sqlx_migrations and the comparison, on a machine shared with other work (see the load below)';
      return [
        {
          figure: 'migration status, 2,000 files / 1,000 applied (cold: a new Migrator)',
          unit: 'ms',
          extension: cold,
          target: '≤ 250 ms median',
          met: median(cold) <= 250,
          note: filesNote,
          cause: median(cold) <= 250 ? undefined : cause,
        },
        {
          figure: 'migration status, same (warm: the same Migrator again)',
          unit: 'ms',
          extension: warm,
          target: '≤ 250 ms median',
          met: median(warm) <= 250,
          cause: median(warm) <= 250 ? undefined : cause,
        },
      ];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
