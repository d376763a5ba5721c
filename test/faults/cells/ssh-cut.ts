/**
 * The "ssh:// connection cut" column: one runner (sshCutCell) parameterised by the row's operation and the
 * step at which the SSH connection is cut. The stack's engine is reached through ssh:// (ssh-support.ts);
 * the operation runs through the core functions the command calls; at the named step every sshd session
 * process is killed; a tool the product started in the container may still run then. The user's next step:
 * a window opened again (a fresh stack context, a new SSH connection) and Recover Interrupted Restore; then
 * the harness waits until the tool the product started has ended, judges the state (old or new) and runs
 * the after-check. Migrations never go through the engine: those cells cannot happen (registry.ts).
 */
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pgbackrestBackup } from '../../../src/core/backups/pgbackrest';
import type { RestoreContext } from '../../../src/core/backups/restore/run';
import { errorText } from '../../../src/core/format';
import { startStack, type Stack } from '../../support/stack';
import { disposeSshEngines } from '../../../src/core/docker/ssh-engine';
import { afterCheck, snapshot, writeChecksum, type AfterCheckOptions, type Checksum } from '../check';
import { broken, result, settle, type CellDef, type CellEnv } from '../cell';
import { triggerAt, until } from '../inject';
import { faultOps, type FaultOps } from '../ops';
import {
  archiveNow,
  overSsh,
  reconnectAndRecover,
  restoreBaseBackup,
  restoreDumpAllFile,
  toolEnded,
  toolRunning,
} from '../ssh-support';
import type { Outcome, RowId } from '../table';
import { backupLabels } from './backups-full';
import { drillCell, RESTORING as DRILL_RESTORING } from './drill';
import { backedUp, markerState, PRE_RESTORE } from '../restore-target-support';

type State = 'old state' | 'new state';

/** A row's operation, prepared on the stack (its backup taken, its checksum rows written). */
interface Prepared {
  readonly expect: readonly Checksum[];
  /** The operation, through the ssh:// stack context `ops`. */
  run(ops: FaultOps, ctx: RestoreContext): Promise<unknown>;
  /** Which state the stack is in (undefined: neither, a partial state). */
  state(): Promise<State | undefined>;
  readonly allowNew?: AfterCheckOptions['allowNew'];
  cleanUp?(): Promise<void> | void;
}

interface SshCutRow {
  readonly row: RowId;
  readonly what: string;
  /** The named step, for FAULTS.md. */
  readonly step: string;
  /** The step (`step: …`) or output line at which the cut is armed. */
  readonly at: RegExp;
  /** The tool the operation runs in the container (pgrep -f): the cut waits until it runs, the judge until it ended. */
  readonly tool?: string;
  /** A stack of the row's own (the one-off row); default the shared fixture stack. */
  ownStack?(env: CellEnv): Promise<{ stack: Stack; stop(): Promise<void> }>;
  prepare(stack: Stack): Promise<Prepared>;
}

function sshCutCell(r: SshCutRow): CellDef {
  const injection =
    'the stack’s Docker engine is reached through ssh:// (DOCKER_HOST=ssh://root@127.0.0.1:<port>: a real OpenSSH ' +
    'server on loopback whose sessions reach the engine; key and known_hosts in tsdbOps.docker.sshKeyFile / ' +
    `knownHostsFile); the ${r.what} runs through the core functions the command calls; at ${r.step}` +
    `${r.tool ? ' (once the tool runs in the container)' : ''} every sshd session process is killed (SIGKILL: the ` +
    'connection drops, the listener stays); then the user’s next step: the window opened again (a fresh stack context, ' +
    'a new SSH connection) and Recover Interrupted Restore (tsdbOps.restore.recover { action: "rollback" }); the ' +
    'harness waits until the tool started in the container has ended, then the after-check';
  return {
    row: r.row,
    column: 'ssh-cut',
    injection,
    async run(env) {
      const t0 = Date.now();
      const injected = `the SSH connection cut (sshd sessions killed) at ${r.step}`;
      let own: { stack: Stack; stop(): Promise<void> } | undefined;
      let prepared: Prepared | undefined;
      try {
        own = await r.ownStack?.(env);
        const stack = own?.stack ?? (await env.sharedStack());
        const ssh = await overSsh(stack);
        prepared = await r.prepare(stack);
        const before = await snapshot(stack);
        let cutAt: number | undefined;
        let toolAtCut = false;
        const trig = triggerAt(r.at, async () => {
          if (r.tool) await until(`${r.tool} in the container`, () => toolRunning(stack, r.tool!), 60_000);
          toolAtCut = r.tool ? await toolRunning(stack, r.tool) : false;
          cutAt = Date.now();
          await ssh.sshd.killSessions();
        });
        const ended = await settle(prepared.run(ssh.ops(), trig.ctx), trig.fired);
        if ((await Promise.race([trig.fired, Promise.resolve(undefined)])) === undefined)
          throw new Error(
            `the operation never reached ${r.step}: ${ended.kind === 'error' ? ended.message : ended.kind} ` +
              `(${trig.log.filter((l) => l.startsWith('step: ')).join(' / ')})`,
          );
        await trig.faultDone;
        const problems: string[] = [];
        const bugs: string[] = [];
        const message = ended.kind === 'error' ? ended.message : ended.kind === 'ok' ? 'done' : '';
        // The user's next step: reconnect, and recover what is left.
        const rec = await settle(reconnectAndRecover(ssh), Promise.resolve(Date.now()));
        if (rec.kind !== 'ok')
          problems.push(
            `Recover Interrupted Restore after reconnecting: ${rec.kind === 'error' ? rec.message : 'hung'}`,
          );
        const ranOn = r.tool ? await toolEnded(stack, r.tool) : { s: 0, seen: [] };
        await stack.waitForPostgres(180_000).catch(() => undefined);
        const state = await prepared.state().catch(() => undefined);
        let outcome: Outcome = 'FAILED';
        if (ended.kind === 'hung') problems.push('no message within 5 minutes of the cut');
        else if (!state)
          problems.push(`the ${r.what} ${ended.kind === 'ok' ? 'said done' : 'failed'} and left a partial state`);
        else if (ended.kind === 'ok') {
          outcome = state;
          if (state !== 'new state') problems.push(`the ${r.what} said done but the old state is there`);
        } else {
          outcome = state;
          // A new state after an error is right only when the message said the result is unknown (what to check).
          if (state === 'new state' && !/result is unknown/i.test(message))
            problems.push(`the ${r.what} failed but its new state is there: the message says otherwise`);
          // “Result unknown” and then a claim that nothing changed: the claim must hold.
          else if (
            state === 'new state' &&
            /is unchanged \(|dropped again|previous data is back|nothing was changed/.test(message)
          )
            problems.push(
              `the message says the old state is there, but the ${r.what}'s new state is (the tool ran on)`,
            );
          if (!/connection|ssh|engine/i.test(message)) bugs.push('the message does not say the connection was lost');
          if (/unknown/i.test(message) && !/check/i.test(message)) bugs.push('“result unknown” without what to check');
        }
        const check = await afterCheck(stack, before, {
          expect: prepared.expect,
          allowNew: [PRE_RESTORE, ...(prepared.allowNew ?? [])],
        });
        const notes = [
          rec.kind === 'ok' && rec.value ? `after reconnecting, Recover Interrupted Restore ${rec.value}` : '',
          rec.kind === 'ok' && !rec.value ? 'after reconnecting there was nothing to recover' : '',
          r.tool
            ? `${r.tool} ${toolAtCut ? 'ran in the container at the cut' : 'had ended at the cut'}` +
              (ranOn.seen.length
                ? ` and ran on ${ranOn.s.toFixed(1)} s after the recovery (${ranOn.seen.join('; ')})`
                : '')
            : '',
        ].filter(Boolean);
        return result({
          row: r.row,
          column: 'ssh-cut',
          outcome,
          message,
          injected,
          check,
          faultAt: cutAt,
          messageAt: ended.at,
          t0,
          problems,
          bugs,
          note: notes.join('; '),
        });
      } catch (e) {
        return broken(r.row, 'ssh-cut', injected, t0, errorText(e));
      } finally {
        await Promise.resolve(prepared?.cleanUp?.()).catch(() => undefined);
        await own?.stop();
      }
    },
  };
}

// ---- restores ----

const RESTORING = /^step: Restoring /;
const SERVER_START = /^step: (Starting PostgreSQL|Waiting until PostgreSQL accepts connections)/;

/** A pgBackRest restore of the backed-up state (the marker row tells old from new); `more` sets the target. */
async function pgbackrestPrepared(
  stack: Stack,
  target: (stack: Stack) => Promise<Parameters<FaultOps['restorePgbackrest']>[0]>,
): Promise<Prepared> {
  const sum = await backedUp(stack);
  const src = await target(stack);
  return {
    expect: [sum],
    run: (ops, ctx) => ops.restorePgbackrest(src, ctx),
    state: () => markerState(stack),
  };
}

export const restoreLatestSshCut = sshCutCell({
  row: 'restore-pgbackrest-latest',
  what: 'pgBackRest restore (latest)',
  step: 'the step “Restoring …” (pgbackrest restore writing PGDATA)',
  at: RESTORING,
  tool: 'pgbackrest.* restore',
  prepare: (stack) => pgbackrestPrepared(stack, async () => ({ target: 'latest' })),
});

/** A point after the backup (and after the marker), with WAL past it archived. */
async function pointAfterBackup(stack: Stack): Promise<Date> {
  await new Promise((r) => setTimeout(r, 1100));
  const [n] = await stack.sql<{ t: Date }>('SELECT now() AS t');
  await new Promise((r) => setTimeout(r, 1100));
  await stack.sql('CREATE TABLE IF NOT EXISTS fault_after (x int)');
  await stack.sql('INSERT INTO fault_after VALUES (1)');
  await archiveNow(stack);
  return new Date(n!.t);
}

export const restoreTimeSshCut = sshCutCell({
  row: 'restore-pgbackrest-time',
  what: 'pgBackRest restore (point in time)',
  step: 'the step “Restoring … to …” (pgbackrest restore writing PGDATA)',
  at: RESTORING,
  tool: 'pgbackrest.* restore',
  prepare: async (stack) => {
    const p = await pgbackrestPrepared(stack, async (s) => ({ target: 'time', time: await pointAfterBackup(s) }));
    return { ...p, cleanUp: () => stack.sql('DROP TABLE IF EXISTS fault_after').then(() => undefined) };
  },
});

export const restoreXidSshCut = sshCutCell({
  row: 'restore-pgbackrest-xid',
  what: 'pgBackRest restore (transaction id)',
  step: 'the restored server’s start (“Starting PostgreSQL” / “Waiting until PostgreSQL accepts connections”: WAL replay to the xid)',
  at: SERVER_START,
  prepare: async (stack) => {
    const p = await pgbackrestPrepared(stack, async (s) => {
      await s.sql('CREATE TABLE IF NOT EXISTS fault_after (x int)');
      const [x] = await s.sql<{ x: string }>('INSERT INTO fault_after VALUES (1) RETURNING txid_current()::text AS x');
      await s.sql('INSERT INTO fault_after VALUES (2)');
      await archiveNow(s);
      return { target: 'xid', xid: x!.x };
    });
    return { ...p, cleanUp: () => stack.sql('DROP TABLE IF EXISTS fault_after').then(() => undefined) };
  },
});

export const baseBackupRestoreSshCut = sshCutCell({
  row: 'restore-basebackup',
  what: 'pg_basebackup restore',
  step: 'the step “Extracting …” (tar extracting the base backup into PGDATA)',
  at: /^step: Extracting /,
  tool: 'tar -xf',
  prepare: async (stack) => {
    const sum = await writeChecksum(stack, { rows: 150_000, padBytes: 256 });
    const b = await faultOps(stack).baseBackup({});
    await stack.sql('DROP TABLE IF EXISTS fault_marker');
    await stack.sql('CREATE UNLOGGED TABLE fault_marker AS SELECT 1 AS x');
    return {
      expect: [sum],
      run: (ops, ctx) => restoreBaseBackup(ops, b.path, ctx),
      state: () => markerState(stack),
      cleanUp: () => {
        rmSync(b.path, { recursive: true, force: true });
        rmSync(b.sidecarPath, { force: true });
      },
    };
  },
});

/** A pg_dump of the stack's database (the checksum table, big enough that pg_restore's COPY is seen). */
async function dumped(stack: Stack): Promise<{ sum: Checksum; path: string; rm(): void }> {
  const sum = await writeChecksum(stack, { rows: 200_000, padBytes: 256 });
  const d = await faultOps(stack).dump(stack.env.POSTGRES_DB!, {});
  return {
    sum,
    path: d.path,
    rm: () => {
      for (const f of [d.path, `${d.path}.meta.json`, `${d.path}.json`, d.sidecarPath]) rmSync(f, { force: true });
    },
  };
}

/** The checksum table in `db` complete: the new state; `db` without it: the old. */
async function tableState(stack: Stack, db: string, sum: Checksum, oldHasIt: boolean): Promise<State | undefined> {
  const [e] = await stack.sql<{ d: string }>(`SELECT datname AS d FROM pg_database WHERE datname = '${db}'`);
  if (!e) return oldHasIt ? undefined : 'old state';
  const [t] = await stack.sql<{ n: string | null }>(`SELECT to_regclass('${sum.table}')::text AS n`, { database: db });
  if (!t?.n) return oldHasIt ? undefined : 'old state';
  const [c] = await stack.sql<{ n: string; s: string }>(
    `SELECT count(*)::text AS n, sum(v)::text AS s FROM ${sum.table}`,
    {
      database: db,
    },
  );
  return Number(c!.n) === sum.rows && c!.s === sum.sum ? 'new state' : undefined;
}

const COPY_INTO = (db: string) => `pg_restore.*${db}`;

export const dumpRestoreNewSshCut = sshCutCell({
  row: 'restore-dump-new',
  what: 'pg_dump restore into a new database',
  step: 'the step “Restoring into fault_ssh_new” (pg_restore running)',
  at: /^step: Restoring into fault_ssh_new/,
  tool: COPY_INTO('fault_ssh_new'),
  prepare: async (stack) => {
    const d = await dumped(stack);
    return {
      expect: [d.sum],
      run: (ops, ctx) => ops.restoreDumpFile(d.path, 'fault_ssh_new', ctx),
      state: () => tableState(stack, 'fault_ssh_new', d.sum, false),
      cleanUp: async () => {
        d.rm();
        await stack.sql('DROP DATABASE IF EXISTS fault_ssh_new WITH (FORCE)');
      },
    };
  },
});

export const dumpRestoreOverSshCut = sshCutCell({
  row: 'restore-dump-over',
  what: 'pg_dump restore over an existing database',
  step: 'the step “Restoring into fault_ssh_over” (pg_restore running, one transaction)',
  at: /^step: Restoring into fault_ssh_over/,
  tool: COPY_INTO('fault_ssh_over'),
  prepare: async (stack) => {
    const d = await dumped(stack);
    await stack.sql('DROP TABLE IF EXISTS fault_checksum');
    await stack.sql('DROP DATABASE IF EXISTS fault_ssh_over WITH (FORCE)');
    await stack.sql('CREATE DATABASE fault_ssh_over');
    const mine = await writeChecksum(stack, { rows: 5_000, database: 'fault_ssh_over', table: 'fault_own' });
    return {
      expect: [mine],
      run: (ops, ctx) => ops.restoreDumpFile(d.path, 'fault_ssh_over', ctx),
      state: async () => {
        const [t] = await stack.sql<{ n: string | null }>("SELECT to_regclass('fault_checksum')::text AS n", {
          database: 'fault_ssh_over',
        });
        return t?.n ? tableState(stack, 'fault_ssh_over', d.sum, true) : 'old state';
      },
      cleanUp: async () => {
        d.rm();
        await stack.sql('DROP DATABASE IF EXISTS fault_ssh_over WITH (FORCE)');
      },
    };
  },
});

export const dumpAllRestoreSshCut = sshCutCell({
  row: 'restore-dumpall',
  what: 'pg_dumpall restore',
  step: 'the step “Running the dump through psql (ON_ERROR_STOP)” (psql restoring)',
  at: /^step: Running the dump through psql/,
  tool: '^psql .*-f -$',
  // A stack of its own: the restore renames every database of the dump aside (the shared stack's too).
  ownStack: async (env) => {
    env.log('restore-dumpall × ssh-cut: a stack of its own');
    const stack = await startStack();
    return { stack, stop: () => stack.stop() };
  },
  prepare: async (stack) => {
    // A database of its own in the dump (renamed aside by the restore, the way back), with the checksum rows.
    await stack.sql('DROP DATABASE IF EXISTS fault_ssh_all WITH (FORCE)');
    await stack.sql('CREATE DATABASE fault_ssh_all');
    const sum = await writeChecksum(stack, { rows: 200_000, padBytes: 256, database: 'fault_ssh_all' });
    const d = await faultOps(stack).dumpAll({});
    await stack.sql("INSERT INTO fault_checksum VALUES (0, 0, 'after the dump')", { database: 'fault_ssh_all' });
    const rows = async () =>
      (
        await stack.sql<{ n: string }>('SELECT count(*)::text AS n FROM fault_checksum', { database: 'fault_ssh_all' })
      )[0]!.n;
    return {
      // The old state has one row more (written after the dump); the new one has the dump's rows exactly.
      expect: [],
      run: (ops, ctx) => restoreDumpAllFile(ops, d.path, ctx),
      state: async () => {
        const n = Number(await rows());
        return n === sum.rows + 1 ? 'old state' : n === sum.rows ? 'new state' : undefined;
      },
      allowNew: [
        { pattern: /^database \w+_pre_restore_\d{8}_\d{6}$/, why: 'a database renamed aside, kept as the way back' },
      ],
      cleanUp: async () => {
        rmSync(d.path, { force: true });
        rmSync(d.sidecarPath, { force: true });
        const aside = await stack.sql<{ d: string }>(
          "SELECT datname AS d FROM pg_database WHERE datname LIKE '%\\_pre\\_restore\\_%'",
        );
        for (const a of aside) await stack.sql(`DROP DATABASE IF EXISTS "${a.d}" WITH (FORCE)`);
        await stack.sql('DROP DATABASE IF EXISTS fault_ssh_all WITH (FORCE)');
      },
    };
  },
});

// ---- backups ----

type ManualRun = (ops: FaultOps, stack: Stack, onLine: (l: string) => void) => Promise<unknown>;

/** A manual backup (pg_dump, pg_dumpall, pg_basebackup): old state no new backup, new state the complete one. */
function manualPrepared(run: ManualRun) {
  return async (stack: Stack): Promise<Prepared> => {
    const sum = await writeChecksum(stack, { rows: 100_000, padBytes: 512 });
    const folder = join(stack.infraDir, 'backups', 'manual_backup');
    const had = new Set(readdirSync(folder));
    const fresh = () => readdirSync(folder).filter((f) => !had.has(f));
    return {
      expect: [sum],
      run: (ops, ctx) => run(ops, stack, (l) => ctx.line(l)),
      state: async () => (fresh().some((f) => !/\.partial$/.test(f)) ? 'new state' : 'old state'),
      // A complete backup is the new state; a `.partial` file is not allowed (the after-check reports it).
      allowNew: [{ pattern: /^file backups\/manual_backup\/(?!.*\.partial(\/|$))/, why: 'the new backup' }],
      cleanUp: () => {
        for (const f of fresh()) rmSync(join(folder, f), { recursive: true, force: true });
      },
    };
  };
}

export const dumpSshCut = sshCutCell({
  row: 'backup-dump',
  what: 'pg_dump backup',
  step: 'pg_dump’s command line (the tool writing the dump)',
  at: /^\$ pg_dump /,
  tool: '^pg_dump ',
  prepare: manualPrepared((ops, stack, onLine) => ops.dump(stack.env.POSTGRES_DB!, { onLine })),
});

export const dumpAllSshCut = sshCutCell({
  row: 'backup-dumpall',
  what: 'pg_dumpall backup',
  step: 'pg_dumpall’s command line (the tool writing the dump)',
  at: /^\$ pg_dumpall /,
  tool: '^pg_dumpall ',
  prepare: manualPrepared((ops, _stack, onLine) => ops.dumpAll({ onLine })),
});

export const baseBackupSshCut = sshCutCell({
  row: 'backup-basebackup',
  what: 'pg_basebackup backup',
  step: 'pg_basebackup’s command line (the tool copying the cluster)',
  at: /^\$ pg_basebackup /,
  tool: '^pg_basebackup ',
  prepare: manualPrepared((ops, _stack, onLine) => ops.baseBackup({ onLine })),
});

export const fullBackupSshCut = sshCutCell({
  row: 'backup-full',
  what: 'pgBackRest full backup',
  step: 'pgBackRest’s “backup start archive = …” line (the backup copying files)',
  at: /backup start archive = /,
  tool: 'pgbackrest.* backup',
  prepare: async (stack) => {
    const sum = await writeChecksum(stack, { rows: 150_000, padBytes: 256 });
    const labels = await backupLabels(stack);
    return {
      expect: [sum],
      run: async (ops, ctx) =>
        pgbackrestBackup((await ops.targets()).pgbackrest, 'full', { onLine: (l) => ctx.line(l) }),
      // repo1-retention-full may expire the oldest set after a new full one: a new label is the new state.
      state: async () => ((await backupLabels(stack)).some((l) => !labels.includes(l)) ? 'new state' : 'old state'),
    };
  },
});

// ---- the one-off container restore and the drill ----

/** The stack without the guide's entrypoint (a compose override, as test/integration/restore-oneoff.test.ts): PostgreSQL is PID 1. */
async function pid1Stack(env: CellEnv): Promise<{ stack: Stack; stop(): Promise<void> }> {
  env.log('restore-oneoff × ssh-cut: a stack whose PostgreSQL is PID 1');
  const stack = await startStack();
  try {
    writeFileSync(
      join(stack.infraDir, 'docker-compose.override.yml'),
      'services:\n  timescaledb:\n    entrypoint: ["/docker-entrypoint.sh"]\n    command: ["postgres"]\n',
    );
    await stack.compose(['up', '-d', 'timescaledb']);
    await stack.waitForPostgres(180_000);
  } catch (e) {
    await stack.stop();
    throw e;
  }
  return { stack, stop: () => stack.stop() };
}

export const oneOffRestoreSshCut = sshCutCell({
  row: 'restore-oneoff',
  what: 'one-off container restore (pgBackRest latest, PostgreSQL PID 1)',
  step: 'the step “Restoring …” in the one-off container (pgbackrest restore writing PGDATA, the service stopped)',
  at: RESTORING,
  ownStack: pid1Stack,
  prepare: (stack) => pgbackrestPrepared(stack, async () => ({ target: 'latest' })),
});

export const drillSshCut = drillCell({
  column: 'ssh-cut',
  at: DRILL_RESTORING,
  // The cut ends the drill's connection, not its scratch server: a failed report naming the lost connection, or a
  // passed one whose restore completed in the scratch container and whose checks then ran over a new connection.
  expectPass: 'either',
  injection:
    'the stack’s Docker engine is reached through ssh:// (DOCKER_HOST=ssh://…, a real OpenSSH server on loopback); a ' +
    'restore drill runs as Backups → Restore Drill does; at its step “Restoring … into the scratch container” every sshd ' +
    'session process is killed (the connection drops); then the window opened again (a fresh stack context, a new SSH ' +
    'connection); the live system is compared and no scratch container, volume or network may be left',
  injected: 'the SSH connection cut (sshd sessions killed) at the drill’s step “Restoring …”',
  async stack(env) {
    const stack = await env.sharedStack();
    const ssh = await overSsh(stack);
    return { stack, ops: ssh.ops, fault: () => ssh.sshd.killSessions() };
  },
  recover: async () => disposeSshEngines(),
});
