/**
 * The "extension host killed" column for migrations, Revert, the backups and the drill (two-phase,
 * host-killed-support.ts). Phase 1 is killed where a crash hurts most: mid-migration (inside its transaction, or while
 * CREATE INDEX CONCURRENTLY waits), mid-COPY of a dump, while pgBackRest copies files, while the drill restores into its
 * scratch container. The statement or tool the dead window started may still run: phase 2 waits for its end (a
 * generous bound), then asks what the window that opens again shows, runs what it offers, and judges the state.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { sweepDrills } from '../../../src/core/backups/drill';
import { listManualBackups } from '../../../src/core/backups/manual';
import { sweepAbandonedPartials } from '../../../src/core/backups/dump-owner';
import { errorText } from '../../../src/core/format';
import { sleep } from '../../support/proc';
import type { Stack } from '../../support/stack';
import { writeChecksum } from '../check';
import { settle } from '../cell';
import { hostKilledCell, removeBackupFile, sessionEnded, sessionRuns, type Reopened } from '../host-killed-support';
import { faultOps } from '../ops';
import type { Outcome } from '../table';
import { backupLabels } from './backups-full';
import { drillThings, liveState } from './drill';
import { appliedReversible, migrationsFolder, revertState, sqlxRow } from './migrations';
import { backedUp } from '../restore-target-support';

const SLEEP = 'pg_sleep(20)';
const sleeping = (stack: Stack) => sessionRuns(stack, `%${SLEEP}%`);

/** The migration's statement the dead window sent runs on in the server until it ends (then its session sees the client gone). */
async function orphanEnded(stack: Stack, like: string, problems: string[]): Promise<void> {
  if (!(await sessionEnded(stack, like, 300_000)))
    problems.push('the statement of the killed window still runs 5 minutes after the kill');
}

export const migrateTxHostKilled = hostKilledCell({
  row: 'migrate-tx',
  injection:
    'two-phase: phase 1 runs Run Pending (a transactional migration: CREATE TABLE, INSERT 1000 rows, pg_sleep(20)) in a ' +
    'node process of its own and `kill -9`s it once pg_stat_activity shows its pg_sleep (inside its transaction); the ' +
    'server runs the statement on; phase 2, VS Code reopened: the Migrations view’s status (the migration pending), the ' +
    'orphaned statement’s end awaited, then the after-check',
  injected: 'kill -9 of the migrating process while its migration sleeps inside its transaction',
  async prepare(stack) {
    const sum = await writeChecksum(stack, { rows: 20_000 });
    const f = migrationsFolder(
      stack,
      'fault_hk_tx',
      `CREATE TABLE fault_hk_tx (id int);\nINSERT INTO fault_hk_tx SELECT generate_series(1, 1000);\nSELECT ${SLEEP};\n`,
    );
    return {
      params: { dir: f.dir, version: f.version },
      expect: [sum],
      cleanUp: async () => {
        await stack.sql('DROP TABLE IF EXISTS fault_hk_tx');
        await stack.sql('DELETE FROM _sqlx_migrations WHERE version = $1', { params: [f.version] });
        f.remove();
      },
    };
  },
  at: sleeping,
  async reopen(stack, _k, p) {
    const problems: string[] = [];
    const status = await (await faultOps(stack).migrator(p.params['dir']!)).status();
    const at = Date.now();
    await orphanEnded(stack, `%${SLEEP}%`, problems);
    const [tbl] = await stack.sql<{ n: string | null }>("SELECT to_regclass('fault_hk_tx')::text AS n");
    const row = await sqlxRow(stack, p.params['version']!);
    let outcome: Outcome = 'old state';
    if (tbl?.n || row) {
      outcome = tbl?.n && row?.success ? 'new state' : 'FAILED';
      if (outcome === 'FAILED')
        problems.push(`half applied: table ${tbl?.n ?? 'absent'}, _sqlx_migrations row ${JSON.stringify(row)}`);
    }
    const pending = JSON.stringify(status, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)).includes(
      p.params['version']!,
    );
    if (!pending) problems.push('the Migrations view’s status does not list the killed migration');
    return {
      outcome,
      message: `Migrations view: ${p.params['version']} ${outcome === 'old state' ? 'pending (not applied)' : outcome}`,
      at,
      problems,
      note: 'the orphaned transaction ended by itself once its statement finished (the client was gone): rolled back',
    };
  },
});

export const revertHostKilled = hostKilledCell({
  row: 'revert',
  injection:
    'two-phase: a reversible migration (up: CREATE TABLE, INSERT 1000 rows) is applied; phase 1 runs Revert (down: DROP ' +
    'TABLE, pg_sleep(20)) in a node process of its own and `kill -9`s it once pg_stat_activity shows its pg_sleep; ' +
    'phase 2, VS Code reopened: the orphaned statement’s end awaited, the Migrations view’s status, then the after-check',
  injected: 'kill -9 of the reverting process while the down migration sleeps inside its transaction',
  async prepare(stack) {
    const sum = await writeChecksum(stack, { rows: 20_000 });
    const f = await appliedReversible(stack, 'fault_hk_rev', `DROP TABLE fault_hk_rev;\nSELECT ${SLEEP};\n`);
    return {
      params: { dir: f.dir, version: f.version },
      expect: [sum],
      cleanUp: async () => {
        await stack.sql('DROP TABLE IF EXISTS fault_hk_rev');
        await stack.sql('DELETE FROM _sqlx_migrations WHERE version = $1', { params: [f.version] });
        f.remove();
      },
    };
  },
  at: sleeping,
  async reopen(stack, _k, p) {
    const problems: string[] = [];
    const at = Date.now();
    await orphanEnded(stack, `%${SLEEP}%`, problems);
    const state = await revertState(stack, 'fault_hk_rev', p.params['version']!);
    const outcome: Outcome = state === 'old state' || state === 'new state' ? state : 'FAILED';
    if (outcome === 'FAILED') problems.push(state);
    return {
      outcome,
      message: `Migrations view: ${p.params['version']} ${outcome === 'old state' ? 'applied (the revert did not happen)' : outcome}`,
      at,
      problems,
    };
  },
});

const INDEX = 'fault_hk_notx_idx';
/** The other application's old snapshot that makes CREATE INDEX CONCURRENTLY wait (ended in phase 2). */
const holders = new WeakMap<Stack, Client>();

export const migrateNoTxHostKilled = hostKilledCell({
  row: 'migrate-notx',
  injection:
    'two-phase: phase 1 runs Run Pending (a `-- no-transaction` migration: CREATE INDEX CONCURRENTLY on the checksum ' +
    'table) in a node process of its own while another session holds an old snapshot, so the build waits in its last ' +
    'phase, and `kill -9`s it there; phase 2, VS Code reopened: Run Pending again (what the user does; it waits for the ' +
    'migration lock the orphaned session holds), the old snapshot ends, the orphaned build finishes; what Run Pending ' +
    'says, its way back run, Run Pending once more; then the after-check',
  injected: 'kill -9 of the migrating process while CREATE INDEX CONCURRENTLY waits for old snapshots',
  async prepare(stack) {
    const sum = await writeChecksum(stack, { rows: 20_000 });
    const f = migrationsFolder(
      stack,
      'fault_hk_notx',
      `-- no-transaction\nCREATE INDEX CONCURRENTLY ${INDEX} ON fault_checksum (v);\n`,
    );
    const holder = new Client({ ...stack.connection });
    await holder.connect();
    holder.on('error', () => undefined);
    await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await holder.query('SELECT count(*) FROM fault_checksum');
    holders.set(stack, holder);
    return {
      params: { dir: f.dir, version: f.version },
      expect: [sum],
      cleanUp: async () => {
        await holder.end().catch(() => undefined);
        await stack.sql(`DROP INDEX CONCURRENTLY IF EXISTS ${INDEX}`);
        await stack.sql('DELETE FROM _sqlx_migrations WHERE version = $1', { params: [f.version] });
        f.remove();
      },
    };
  },
  at: async (stack) =>
    (await stack.sql<{ phase: string }>('SELECT phase FROM pg_stat_progress_create_index')).some((x) =>
      /waiting for old snapshots|waiting for writers before validation|waiting for readers/.test(x.phase),
    ),
  async reopen(stack, k, p) {
    const problems: string[] = [];
    const ops = faultOps(stack);
    const dir = p.params['dir']!;
    const lines: string[] = [];
    const again = settle((await ops.migrator(dir)).run({ onLine: (l) => lines.push(l) }), Promise.resolve(k.killedAt));
    await sleep(2000);
    await holders
      .get(stack)
      ?.end()
      .catch(() => undefined);
    const first = await again;
    await orphanEnded(stack, '%CREATE INDEX CONCURRENTLY%', problems);
    const said = first.kind === 'error' ? first.message : first.kind === 'ok' ? 'applied' : 'no answer';
    let outcome: Outcome = 'FAILED';
    let note = `Run Pending at reopen: ${lines.length ? `“${lines[0]}”, then ` : ''}“${said.slice(0, 300)}”`;
    if (first.kind === 'ok') outcome = 'new state';
    else if (first.kind === 'error' && /DROP INDEX CONCURRENTLY/.test(said)) {
      outcome = 'partial, way back offered';
      await stack.sql(`DROP INDEX CONCURRENTLY IF EXISTS ${INDEX}`);
      const third = await settle((await ops.migrator(dir)).run({}), Promise.resolve(Date.now()));
      note +=
        third.kind === 'ok' ? '; after the way back, Run Pending applied it' : `; after the way back: ${third.kind}`;
      if (third.kind !== 'ok') problems.push('after the offered way back Run Pending still failed');
    } else problems.push(`Run Pending after the kill: ${said.slice(0, 300)} (no way back offered)`);
    if (first.kind === 'hung') problems.push('Run Pending at reopen gave no answer within 5 minutes');
    return { outcome, message: said, at: first.at, problems, note };
  },
});

/** Runs inside the database container whose command line matches `re` (/proc, as the after-check reads locks). */
async function toolRuns(stack: Stack, re: string): Promise<boolean> {
  const r = await stack.exec(
    'timescaledb',
    [
      'sh',
      '-c',
      'for p in /proc/[0-9]*; do tr "\\0" " " < "$p/cmdline" 2>/dev/null; echo; done | grep -Ec "$0" || true',
      re,
    ],
    { user: 'root', reject: false },
  );
  return Number(r.stdout.trim()) > 0;
}

async function toolEnded(stack: Stack, re: string, ms: number): Promise<boolean> {
  const t0 = Date.now();
  while (await toolRuns(stack, re)) {
    if (Date.now() - t0 > ms) return false;
    await sleep(500);
  }
  return true;
}

export const fullBackupHostKilled = hostKilledCell({
  row: 'backup-full',
  injection:
    'two-phase: phase 1 runs Backups → pgBackRest full backup in a node process of its own and `kill -9`s it at ' +
    'pgBackRest’s “backup start archive = …” (it copies files); pgbackrest goes on in the container; phase 2, VS Code ' +
    'reopened: the tool’s end awaited (at most 5 minutes), then the list of backups (what the Backups view shows), a full ' +
    'backup afterwards must work; then the after-check (stanza started, no lock held)',
  injected: 'kill -9 of the backing-up process at “backup start archive = …”',
  async prepare(stack) {
    const sum = await writeChecksum(stack, { rows: 200_000, padBytes: 256 });
    return { params: { labels: (await backupLabels(stack)).join(',') }, expect: [sum] };
  },
  at: /backup start archive = /,
  async reopen(stack, _k, p) {
    const problems: string[] = [];
    const ended = await toolEnded(stack, '^pgbackrest .*backup', 300_000);
    if (!ended) problems.push('pgbackrest backup of the killed window still runs 5 minutes after the kill');
    const at = Date.now();
    const had = new Set(p.params['labels']!.split(',').filter(Boolean));
    const fresh = (await backupLabels(stack)).filter((l) => !had.has(l));
    const outcome: Outcome = fresh.length === 1 ? 'new state' : fresh.length === 0 ? 'old state' : 'FAILED';
    if (outcome === 'FAILED') problems.push(`${fresh.length} new backup sets`);
    const next = await settle(
      (async () => {
        const { pgbackrestBackup } = await import('../../../src/core/backups/pgbackrest');
        return pgbackrestBackup((await faultOps(stack).targets()).pgbackrest, 'full', {});
      })(),
      Promise.resolve(Date.now()),
    );
    if (next.kind !== 'ok')
      problems.push(`a full backup after the kill: ${next.kind === 'error' ? next.message : next.kind}`);
    return {
      outcome,
      message: `Backups view: ${fresh.length ? `the set ${fresh.join(', ')} (pgbackrest finished it after the window died)` : 'no new set'}`,
      at,
      problems,
      note: `the next full backup ${next.kind === 'ok' ? 'worked' : 'failed'}`,
    };
  },
});

const TOOL: Record<'backup-dump' | 'backup-dumpall' | 'backup-basebackup', string> = {
  'backup-dump': 'pg_dump',
  'backup-dumpall': 'pg_dumpall',
  'backup-basebackup': 'pg_basebackup',
};

/** pg_dump / pg_dumpall killed mid-COPY of the checksum table, pg_basebackup while it streams: the file must not stay half written. */
function manualBackupHostKilled(row: 'backup-dump' | 'backup-dumpall' | 'backup-basebackup') {
  const tool = TOOL[row];
  const copying = (stack: Stack) =>
    row === 'backup-basebackup'
      ? stack.sql('SELECT 1 FROM pg_stat_progress_basebackup').then((r) => r.length > 0)
      : sessionRuns(stack, 'COPY public.fault_checksum%');
  const when =
    row === 'backup-basebackup'
      ? 'while pg_basebackup streams (pg_stat_progress_basebackup)'
      : 'during its COPY of the checksum table (pg_stat_activity)';
  return hostKilledCell({
    row,
    injection:
      `two-phase: phase 1 runs Backups → ${tool} (the database holds 200,000 rows with 512-byte pads) in a node process ` +
      `of its own and \`kill -9\`s it ${when}; ` +
      `${tool} goes on in the container; phase 2, VS Code reopened: the tool’s end awaited (at most 5 minutes), then ` +
      'what the Backups view lists in manual_backup; then the after-check (no partial file left)',
    injected: `kill -9 of the backing-up process while ${tool} writes`,
    async prepare(stack) {
      const sum = await writeChecksum(stack, { rows: 200_000, padBytes: 512 });
      const folder = join(stack.infraDir, 'backups', 'manual_backup');
      const had = readdirSync(folder);
      return {
        params: { database: stack.env.POSTGRES_DB!, had: had.join('\n') },
        expect: [sum],
        cleanUp: () => {
          for (const f of readdirSync(folder)) if (!had.includes(f)) removeBackupFile(join(folder, f));
        },
      };
    },
    at: copying,
    async reopen(stack, k, p): Promise<Reopened> {
      const problems: string[] = [];
      // VS Code reopened at once (the tool may still write): the Backups view's load sweeps abandoned partial files.
      const swept = await settle(
        faultOps(stack)
          .targets()
          .then((t) => sweepAbandonedPartials(t.manual)),
        Promise.resolve(k.killedAt),
      );
      const at = swept.at;
      if (swept.kind !== 'ok') problems.push(`the sweep: ${swept.kind === 'error' ? swept.message : 'no answer'}`);
      if (!(await toolEnded(stack, `^${tool} `, 300_000)))
        problems.push(`${tool} of the killed window still runs 5 minutes after the kill`);
      const had = new Set(p.params['had']!.split('\n'));
      const folder = join(stack.infraDir, 'backups', 'manual_backup');
      const listed = (await listManualBackups(folder)).filter((b) => !had.has(b.name));
      const half = listed.filter((b) => /\.partial$/.test(b.name));
      const outcome: Outcome = listed.length ? 'FAILED' : 'old state';
      if (half.length)
        problems.push(`the Backups view lists the half-written ${half.map((b) => b.name).join(', ')} after the sweep`);
      else if (listed.length) problems.push(`new in manual_backup: ${listed.map((b) => b.name).join(', ')}`);
      return {
        outcome,
        message:
          `the activation's sweep removed ${swept.kind === 'ok' ? swept.value.join(', ') || 'nothing' : '?'}; ` +
          `Backups view: ${listed.length ? listed.map((b) => b.name).join(', ') : 'no new backup, no partial file'}`,
        at,
        problems,
      };
    },
  });
}

export const dumpHostKilled = manualBackupHostKilled('backup-dump');
export const dumpAllHostKilled = manualBackupHostKilled('backup-dumpall');
export const baseBackupHostKilled = manualBackupHostKilled('backup-basebackup');

export const drillHostKilled = hostKilledCell({
  row: 'drill',
  injection:
    'two-phase: a full backup is taken; phase 1 runs a restore drill in a node process of its own and `kill -9`s it at ' +
    '“Restoring … into the scratch container” (the restore still running there); phase 2, VS Code reopened: the ' +
    'activation’s sweep of drills whose window is gone (ui/commands/drills.ts → sweepDrills), then the live system must ' +
    'be the same as before and no scratch container, volume or network left; then the after-check',
  injected: 'kill -9 of the drilling process at “Restoring … into the scratch container”, then the activation’s sweep',
  async prepare(stack) {
    const sum = await backedUp(stack);
    return {
      params: { live: JSON.stringify(await liveState(stack)), things: (await drillThings(stack)).join('\n') },
      expect: [sum],
    };
  },
  at: /^step: Restoring .* into the scratch container/,
  async reopen(stack, k, p) {
    const problems: string[] = [];
    const sc = await faultOps(stack).context();
    const swept = await settle(sweepDrills(await sc.docker()), Promise.resolve(k.killedAt));
    const was = new Set(p.params['things']!.split('\n').filter(Boolean));
    const left = (await drillThings(stack)).filter((x) => !was.has(x));
    if (left.length) problems.push(`left by the drill after the sweep: ${left.join(', ')}`);
    const live = JSON.stringify(await liveState(stack));
    if (live !== p.params['live']) problems.push(`the live system changed: ${p.params['live']} → ${live}`);
    if (swept.kind !== 'ok')
      problems.push(`the sweep: ${swept.kind === 'error' ? errorText(swept.error) : 'no answer'}`);
    const s = swept.kind === 'ok' ? swept.value : undefined;
    return {
      outcome: 'old state',
      message: s
        ? `the sweep at activation removed ${s.containers.length} container(s), ${s.volumes.length} volume(s), ${s.networks.length} network(s)`
        : 'no sweep',
      at: swept.at,
      problems,
    };
  },
});
