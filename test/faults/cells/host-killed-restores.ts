/**
 * The "extension host killed" column for the restores (two-phase, host-killed-support.ts): the pgBackRest restores to
 * a point in time and to a transaction id and the pg_basebackup restore are killed while their restore tool runs, then
 * Roll back; the pg_dump restores are killed mid-COPY, then what the window that opens again shows and offers.
 */
import { sleep } from '../../support/proc';
import type { Stack } from '../../support/stack';
import { writeChecksum } from '../check';
import {
  hostKilledCell,
  removeBackupFile,
  rollBack,
  sessionEnded,
  sessionRuns,
  type Prepared,
  type Reopened,
} from '../host-killed-support';
import { faultOps } from '../ops';
import type { Outcome, RowId } from '../table';
import { backedUp, markerState } from '../restore-target-support';

const PRE_RESTORE = { pattern: /\/data\.pre-restore-\d{8}_\d{6}$/, why: 'the pre-restore copy, kept as the way back' };

/** Phase 2 of a physical restore killed mid-copy: the journal is shown; Roll back must give the old data back. */
async function rolledBackPhysical(stack: Stack, killed: { killedAt: number }): Promise<Reopened> {
  const rb = await rollBack(stack, killed.killedAt);
  const problems = [...rb.problems];
  if (rb.journals !== 1)
    problems.push(`after the kill the Backups view would show ${rb.journals} interrupted restores`);
  const state = await markerState(stack).catch(() => undefined);
  if (state !== 'old state') problems.push(`after Roll back the data is the ${state ?? 'unreadable'} one`);
  return {
    outcome: 'old state',
    message: rb.message,
    at: rb.at,
    problems,
    note: `the Backups view showed ${rb.journals} interrupted restore(s); Roll back gave the old data (checksum rows all there)`,
  };
}

function physicalCell(
  row: RowId,
  what: string,
  at: RegExp,
  atName: string,
  prepare: (stack: Stack) => Promise<Prepared>,
) {
  return hostKilledCell({
    row,
    injection:
      `two-phase: phase 1 runs the ${what} in a node process of its own through the core functions the command handler ` +
      `calls and \`kill -9\`s it at the step “${atName}” (the restore tool still running in the container); phase 2, in a ` +
      'fresh stack context (VS Code reopened), finds the journal as the Backups view and the notification do and runs ' +
      'Roll back (tsdbOps.restore.recover { action: "rollback" }); then the after-check',
    injected: `kill -9 of the restoring process at “${atName}”, then Roll back`,
    prepare,
    at,
    reopen: (stack, killed) => rolledBackPhysical(stack, killed),
  });
}

/** After the full backup and the marker: `sql` runs, then the WAL switches so the target is archived. */
async function backedUpThen(
  stack: Stack,
  sql: string,
): Promise<{ sum: Awaited<ReturnType<typeof backedUp>>; v: string }> {
  const sum = await backedUp(stack);
  await sleep(1100); // a time target must be a second past the backup's stop time (pgBackRest [075])
  const [r] = await stack.sql<{ v: string }>(sql);
  await stack.sql('SELECT pg_switch_wal()');
  return { sum, v: r!.v };
}

export const pitrTimeHostKilled = physicalCell(
  'restore-pgbackrest-time',
  'pgBackRest restore to a point in time (a second after the full backup)',
  /^step: Restoring /,
  'Restoring …',
  async (stack) => {
    const { sum, v } = await backedUpThen(
      stack,
      'SELECT to_char(now() AT TIME ZONE \'UTC\', \'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\') AS v',
    );
    return { params: { time: v }, expect: [sum], allowNew: [PRE_RESTORE] };
  },
);

export const pitrXidHostKilled = physicalCell(
  'restore-pgbackrest-xid',
  'pgBackRest restore to a transaction id (an INSERT after the full backup)',
  /^step: Restoring /,
  'Restoring …',
  async (stack) => {
    const { sum, v } = await backedUpThen(
      stack,
      'INSERT INTO fault_marker VALUES (2) RETURNING txid_current()::text AS v',
    );
    return { params: { xid: v }, expect: [sum], allowNew: [PRE_RESTORE] };
  },
);

export const baseBackupRestoreHostKilled = physicalCell(
  'restore-basebackup',
  'pg_basebackup restore',
  /^step: Extracting /,
  'Extracting …',
  async (stack) => {
    const sum = await writeChecksum(stack, { rows: 20_000 });
    const b = await faultOps(stack).baseBackup({});
    await stack.sql('DROP TABLE IF EXISTS fault_marker');
    await stack.sql('CREATE UNLOGGED TABLE fault_marker AS SELECT 1 AS x');
    return {
      params: { path: b.path },
      expect: [sum],
      allowNew: [PRE_RESTORE],
      cleanUp: () => removeBackupFile(b.path),
    };
  },
);

/** A pg_dump of the stack's database with a 200,000-row table in it (so pg_restore's COPY takes a while). */
async function bigDump(stack: Stack): Promise<{ path: string }> {
  await stack.sql('DROP TABLE IF EXISTS fault_big');
  await stack.sql(
    'CREATE TABLE fault_big AS SELECT g AS id, repeat(md5(g::text), 8) AS pad FROM generate_series(1, 200000) g',
  );
  const dump = await faultOps(stack).dump(stack.env.POSTGRES_DB!, {});
  await stack.sql('DROP TABLE IF EXISTS fault_big');
  return dump;
}

const copyInto = (db: string) => (stack: Stack) => sessionRuns(stack, 'COPY%', db);
const dbExists = async (stack: Stack, db: string) =>
  (await stack.sql('SELECT 1 FROM pg_database WHERE datname = $1', { params: [db] })).length > 0;

export const dumpNewHostKilled = hostKilledCell({
  row: 'restore-dump-new',
  injection:
    'two-phase: phase 1 restores a pg_dump (a 200,000-row table) into a NEW database in a node process of its own and ' +
    '`kill -9`s it once pg_stat_activity shows pg_restore’s COPY (pg_restore still running in the container); phase 2, ' +
    'VS Code reopened: what the Backups view shows, then Roll back (tsdbOps.restore.recover { action: "rollback" }, which ' +
    'drops a new database marked half-restored whose process is gone); then the after-check',
  injected: 'kill -9 of the restoring process during pg_restore’s COPY into the new database, then Roll back',
  async prepare(stack) {
    const sum = await writeChecksum(stack, { rows: 20_000 });
    const dump = await bigDump(stack);
    await stack.sql('DROP DATABASE IF EXISTS fault_hk_new WITH (FORCE)');
    return {
      params: { file: dump.path, database: 'fault_hk_new' },
      expect: [sum],
      cleanUp: async () => {
        await stack.sql('DROP DATABASE IF EXISTS fault_hk_new WITH (FORCE)');
        removeBackupFile(dump.path);
      },
    };
  },
  at: copyInto('fault_hk_new'),
  async reopen(stack, killed) {
    const problems: string[] = [];
    const leftAfterKill = await dbExists(stack, 'fault_hk_new');
    const rb = await rollBack(stack, killed.killedAt);
    problems.push(...rb.problems);
    if (leftAfterKill && rb.logical !== 1)
      problems.push(
        `VS Code reopened finds ${rb.logical} interrupted logical restores (the notification and the status bar ` +
          'read the half-restored mark), not the one half-restored new database',
      );
    const left = await dbExists(stack, 'fault_hk_new');
    if (left) problems.push('the half-restored new database fault_hk_new is left after Roll back');
    return {
      outcome: left ? 'FAILED' : 'old state',
      message: rb.message,
      at: rb.at,
      problems,
      note:
        `the activation found ${rb.logical} interrupted logical restore(s); after the kill fault_hk_new ` +
        (leftAfterKill ? 'was there (half restored)' : 'was already gone'),
    };
  },
});

export const dumpOverHostKilled = hostKilledCell({
  row: 'restore-dump-over',
  injection:
    'two-phase: phase 1 restores a pg_dump (a 200,000-row table) over an existing database holding a checksum table (one ' +
    'transaction, the default there) in a node process of its own and `kill -9`s it once pg_stat_activity shows ' +
    'pg_restore’s COPY; pg_restore goes on in the container; phase 2, VS Code reopened: what it shows, the tool’s end ' +
    'awaited (at most 5 minutes), then the database is the old one or the restored one, whole; then the after-check',
  injected: 'kill -9 of the restoring process during pg_restore’s COPY over the existing database',
  async prepare(stack) {
    const dump = await bigDump(stack);
    await stack.sql('DROP DATABASE IF EXISTS fault_hk_over WITH (FORCE)');
    await stack.sql('CREATE DATABASE fault_hk_over');
    const sum = await writeChecksum(stack, { rows: 5_000, database: 'fault_hk_over', table: 'fault_over_sum' });
    return {
      params: { file: dump.path, database: 'fault_hk_over' },
      expect: [sum],
      cleanUp: async () => {
        await stack.sql('DROP DATABASE IF EXISTS fault_hk_over WITH (FORCE)');
        removeBackupFile(dump.path);
      },
    };
  },
  at: copyInto('fault_hk_over'),
  async reopen(stack, killed) {
    const problems: string[] = [];
    const rb = await rollBack(stack, killed.killedAt);
    problems.push(...rb.problems);
    // pg_restore runs on in the container after its window died: the state is known once it ended.
    const ended = await sessionEnded(stack, '%', 300_000, 'fault_hk_over');
    if (!ended) problems.push('pg_restore of the killed window still runs 5 minutes after the kill');
    const [big] = await stack.sql<{ n: string | null }>("SELECT to_regclass('fault_big')::text AS n", {
      database: 'fault_hk_over',
    });
    let outcome: Outcome = 'old state';
    if (big?.n) {
      const [c] = await stack.sql<{ n: string }>('SELECT count(*)::text AS n FROM fault_big', {
        database: 'fault_hk_over',
      });
      outcome = Number(c!.n) === 200_000 ? 'new state' : 'FAILED';
      if (outcome === 'FAILED') problems.push(`fault_big holds ${c!.n} of 200000 rows: a half restore`);
    }
    return {
      outcome,
      message: `${rb.message}; fault_hk_over is ${outcome === 'new state' ? 'the restored one (pg_restore finished after the window died)' : 'unchanged'}`,
      at: rb.at,
      problems,
      note: `pg_restore ${ended ? 'ended' : 'did not end'} after the kill; its one transaction made the database whole either way`,
    };
  },
});

export const dumpAllRestoreHostKilled = hostKilledCell({
  row: 'restore-dumpall',
  injection:
    'two-phase: a pg_dumpall of the stack (its database with a 200,000-row table) is restored in a node process of its ' +
    'own, which renames the existing database aside (the way back) and replays the script through psql; `kill -9` once ' +
    'pg_stat_activity shows the COPY of that table into the recreated database; phase 2, VS Code reopened: Roll back ' +
    '(tsdbOps.restore.recover { action: "rollback" }: what the restore made under the old name dropped, the copy kept ' +
    'aside renamed back, found by its mark); then the after-check (no database left aside)',
  injected: 'kill -9 of the restoring process during psql’s COPY into the recreated database, then Roll back',
  async prepare(stack) {
    const sum = await writeChecksum(stack, { rows: 20_000 });
    await stack.sql('DROP TABLE IF EXISTS fault_big');
    await stack.sql(
      'CREATE TABLE fault_big AS SELECT g AS id, repeat(md5(g::text), 8) AS pad FROM generate_series(1, 200000) g',
    );
    const dump = await faultOps(stack).dumpAll({});
    await stack.sql('DROP TABLE IF EXISTS fault_big');
    return { params: { file: dump.path }, expect: [sum], cleanUp: () => removeBackupFile(dump.path) };
  },
  at: (stack) => sessionRuns(stack, 'COPY public.fault_big%', stack.env.POSTGRES_DB!),
  async reopen(stack, killed) {
    const rb = await rollBack(stack, killed.killedAt);
    const problems = [...rb.problems];
    if (rb.logical < 1) problems.push('VS Code reopened finds no interrupted pg_dumpall restore (no kept-aside mark)');
    const db = stack.env.POSTGRES_DB!;
    const [big] = await stack
      .sql<{ n: string | null }>("SELECT to_regclass('fault_big')::text AS n")
      .catch(() => [{ n: 'unreadable' }]);
    const aside = await stack.sql<{ d: string }>(
      "SELECT datname AS d FROM pg_database WHERE datname LIKE '%_pre_restore_%'",
    );
    if (big?.n) problems.push(`${db} is not the old one after Roll back (fault_big: ${big.n})`);
    if (aside.length) problems.push(`kept aside after Roll back: ${aside.map((r) => r.d).join(', ')}`);
    return {
      outcome: 'old state',
      message: rb.message,
      at: rb.at,
      problems,
      note:
        `the activation found ${rb.logical} interrupted logical restore(s); roles that existed had their ALTER ROLE ` +
        'applied (the named partial case); the databases are the old ones',
    };
  },
});
