/**
 * One cancel (issue 26), run inside the drills suite on its stack (test/vscode/workspace/drills.test.ts calls
 * `describeOneCancel`), so it starts no stack of its own. A drill, a dump (pg_dump), a migration run, a revert and a
 * restore, each started through its public command and cancelled while it waits (on a lock the test holds, or in a
 * query that sleeps) through `tsdbOps.cancelOperation` (the same abort as the progress notification's Cancel): each ends
 * as Cancelled (a CancelledError, kind 'cancelled', never an error) and leaves nothing behind: no scratch
 * container, no partial file, no half-applied migration, no lock, no stray server process.
 */
import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { DRILL_PROJECT_LABEL } from '../../../src/core/backups/drill';
import { run } from '../../support/proc';
import type { Stack } from '../../support/stack';
import { waitFor } from '../extension.js';

interface Outcome {
  value?: unknown;
  error?: { kind?: string; message?: string };
}

/** The four cancels, on the stack of the suite that calls it (infra in use, docker.host set, a pgBackRest stanza). */
export function describeOneCancel(stackOf: () => Stack): void {
  describe('One cancel: a drill, a dump, a migration run and a restore end as Cancelled and leave nothing', function () {
    this.timeout(300_000);
    let stack: Stack;
    let migrations: string;
    const cfg = () => vscode.workspace.getConfiguration('tsdbOps');
    const db = () => stack.env.POSTGRES_DB!;
    const hostMB = () => join(stack.infraDir, 'backups', 'manual_backup');
    const count = async (q: string, database?: string) =>
      Number((await stack.sql<{ n: string }>(q, { database }))[0]?.n ?? 0);

    before(async () => {
      stack = stackOf();
      migrations = mkdtempSync(join(tmpdir(), 'tsdbops-cancel-mig-'));
      await cfg().update('migrations.path', migrations, vscode.ConfigurationTarget.Global);
      await stack.sql('CREATE TABLE cancel_t (v int)');
      await stack.sql('INSERT INTO cancel_t VALUES (1), (2)');
    });

    after(async () => {
      await cfg().update('migrations.path', undefined, vscode.ConfigurationTarget.Global);
      if (migrations) rmSync(migrations, { recursive: true, force: true });
      await stack?.sql(
        'DROP TABLE IF EXISTS cancel_t; DROP TABLE IF EXISTS revert_wait; DROP TABLE IF EXISTS _sqlx_migrations',
      );
    });

    /** Starts a command with args and keeps its outcome (a rejection is the outcome, not a failure of the test). */
    function start(id: string, args: Record<string, unknown>): Promise<Outcome> {
      return Promise.resolve(vscode.commands.executeCommand(id, args)).then(
        (value) => ({ value }),
        (e: { kind?: string; message?: string }) => ({ error: e }),
      );
    }

    /** Cancels the running operation as a user would (Cancel Running Operation) and says what it cancelled. */
    async function cancelRunning(): Promise<string> {
      const r = await vscode.commands.executeCommand<{ cancelled: string | null }>('tsdbOps.cancelOperation', {});
      assert.ok(r.cancelled, 'an operation was running');
      return r.cancelled;
    }

    function assertCancelled(o: Outcome, what: string): void {
      assert.equal(o.error?.kind, 'cancelled', `${what} ends as Cancelled, not ${JSON.stringify(o.error ?? o.value)}`);
      assert.match(o.error?.message ?? '', /cancel/i);
    }

    /** A session that holds `lock` on table cancel_t (in one open transaction) until it is ended. */
    async function holdLock(lock: string): Promise<{ release: () => Promise<void> }> {
      const tag = `tsdbops_cancel_${Math.random().toString(36).slice(2, 8)}`;
      const session = run(
        'docker',
        [
          'exec',
          '-e',
          `PGAPPNAME=${tag}`,
          await stack.containerId('timescaledb'),
          'psql',
          '-U',
          stack.env.POSTGRES_USER!,
          '-d',
          db(),
          '-c',
          `BEGIN; ${lock}; SELECT pg_sleep(600);`,
        ],
        { env: stack.dockerEnv, reject: false },
      );
      await waitFor(
        async () =>
          (await count(
            `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = '${tag}' AND query LIKE '%pg_sleep%'`,
          )) > 0 || undefined,
        30_000,
        'the lock holder',
      );
      return {
        release: async () => {
          await stack.sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '${tag}'`);
          await session;
        },
      };
    }

    const waitingOnLock = (app: string) => async () =>
      (await count(
        `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = '${app}' AND wait_event_type = 'Lock'`,
      )) > 0 || undefined;

    const noServerProcessOf = (app: string) =>
      waitFor(
        async () =>
          (await count(`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = '${app}'`)) === 0 ||
          undefined,
        60_000,
        `no ${app} session left`,
      );

    it('a dump (pg_dump) waiting for a table lock: Cancelled, no partial or new file, no pg_dump session', async () => {
      mkdirSync(hostMB(), { recursive: true });
      const before = readdirSync(hostMB()).sort();
      const lock = await holdLock('LOCK TABLE cancel_t IN ACCESS EXCLUSIVE MODE');
      let outcome: Outcome;
      try {
        const dump = start('tsdbOps.backup.dump', {});
        await waitFor(waitingOnLock('pg_dump'), 60_000, 'pg_dump waiting for the lock on cancel_t');
        assert.match(await cancelRunning(), /pg_dump/i);
        outcome = await dump;
      } finally {
        await lock.release();
      }
      assertCancelled(outcome, 'the dump');
      await noServerProcessOf('pg_dump');
      assert.deepEqual(readdirSync(hostMB()).sort(), before, 'manual_backup is as before (no .partial, no dump)');
    });

    it('a restore (pg_restore --clean, single transaction) waiting for a table lock: Cancelled, the database unchanged', async () => {
      const made = await vscode.commands.executeCommand<{ path: string; name: string }>('tsdbOps.backup.dump', {});
      await stack.sql('INSERT INTO cancel_t VALUES (3)');
      const lock = await holdLock('SELECT count(*) FROM cancel_t');
      let outcome: Outcome;
      try {
        const restore = start('tsdbOps.restore.dump', {
          file: made.path,
          database: db(),
          clean: true,
          singleTransaction: true,
          confirm: true,
        });
        await waitFor(waitingOnLock('pg_restore'), 60_000, 'pg_restore waiting for the lock on cancel_t');
        await cancelRunning();
        outcome = await restore;
      } finally {
        await lock.release();
      }
      assertCancelled(outcome, 'the restore');
      assert.match(outcome.error?.message ?? '', /was cancelled; .* is unchanged \(single transaction\)/);
      await noServerProcessOf('pg_restore');
      assert.deepEqual(
        (await stack.sql<{ v: number }>('SELECT v FROM cancel_t ORDER BY v')).map((r) => r.v),
        [1, 2, 3],
        'the rows written after the dump are still there',
      );
      rmSync(made.path, { force: true });
      rmSync(`${made.path}.meta.json`, { force: true });
    });

    it('a migration run in a query that waits: Cancelled, nothing applied, no migration lock left', async () => {
      writeFileSync(
        join(migrations, '20260101000000_cancel_wait.sql'),
        'CREATE TABLE cancel_wait (id int);\nSELECT pg_sleep(600);\n',
      );
      await vscode.commands.executeCommand('tsdbOps.migrations.refresh');
      const running = start('tsdbOps.migrations.runPending', { confirm: true, force: true });
      await waitFor(
        async () =>
          (await count(
            `SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE '%cancel_wait%' AND query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()`,
          )) > 0 || undefined,
        60_000,
        'the migration waiting in its query',
      );
      assert.equal(await cancelRunning(), 'Running migrations');
      const outcome = await running;
      assertCancelled(outcome, 'the migration run');
      assert.equal(
        await count(`SELECT count(*) AS n FROM pg_tables WHERE tablename = 'cancel_wait'`),
        0,
        'rolled back',
      );
      const ledger = await count(`SELECT count(*) AS n FROM pg_tables WHERE tablename = '_sqlx_migrations'`);
      if (ledger) assert.equal(await count('SELECT count(*) AS n FROM _sqlx_migrations'), 0, 'nothing recorded');
      await waitFor(
        async () => (await count(`SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory'`)) === 0 || undefined,
        30_000,
        'no migration lock left',
      );
      rmSync(join(migrations, '20260101000000_cancel_wait.sql'));
    });

    it('a revert whose down migration waits: it runs in the queue (Cancel Running Operation names it), Cancelled, still applied', async () => {
      const base = join(migrations, '20260102000000_revert_wait');
      writeFileSync(`${base}.up.sql`, 'CREATE TABLE revert_wait (id int);\n');
      writeFileSync(`${base}.down.sql`, 'SELECT pg_sleep(600);\nDROP TABLE revert_wait;\n');
      await vscode.commands.executeCommand('tsdbOps.migrations.refresh');
      await vscode.commands.executeCommand('tsdbOps.migrations.runPending', { confirm: true, force: true });
      assert.equal(await count(`SELECT count(*) AS n FROM pg_tables WHERE tablename = 'revert_wait'`), 1, 'applied');
      const reverting = start('tsdbOps.migrations.revert', { confirm: true });
      await waitFor(
        async () =>
          (await count(
            `SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE '%DROP TABLE revert_wait%' ` +
              `AND query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()`,
          )) > 0 || undefined,
        60_000,
        'the revert waiting in its down migration',
      );
      assert.equal(await cancelRunning(), 'Reverting a migration');
      assertCancelled(await reverting, 'the revert');
      assert.equal(
        await count(`SELECT count(*) AS n FROM pg_tables WHERE tablename = 'revert_wait'`),
        1,
        'not reverted',
      );
      assert.equal(
        await count('SELECT count(*) AS n FROM _sqlx_migrations WHERE version = 20260102000000'),
        1,
        'still recorded as applied',
      );
      await waitFor(
        async () => (await count(`SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory'`)) === 0 || undefined,
        30_000,
        'no migration lock left',
      );
      rmSync(`${base}.up.sql`);
      rmSync(`${base}.down.sql`);
    });

    it('a drill in a check that waits: Cancelled, its scratch container, volumes and network removed, no report', async () => {
      await stack.exec('timescaledb', ['pgbackrest', '--stanza=db', '--type=full', 'backup']);
      const checksDir = join(stack.infraDir, 'drill-checks');
      mkdirSync(checksDir, { recursive: true });
      writeFileSync(join(checksDir, 'wait.sql'), 'SELECT pg_sleep(600) IS NULL AS waited;\n');
      const docker = (args: string[]) => run('docker', args, { env: stack.dockerEnv, reject: false });
      const label = `label=${DRILL_PROJECT_LABEL}=${stack.projectName}`;
      const drillsDir = join(stack.infraDir, 'backups', 'drills');
      const reports = () => {
        try {
          return readdirSync(drillsDir).sort();
        } catch {
          return [];
        }
      };
      const reportsBefore = reports();
      let outcome: Outcome;
      try {
        const drill = start('tsdbOps.backup.drill', {});
        await waitFor(
          async () => {
            const id = (await docker(['ps', '-q', '--filter', label])).stdout.trim().split('\n')[0];
            if (!id) return undefined;
            const r = await docker([
              'exec',
              id,
              'psql',
              '-h',
              '/tmp', // the scratch server listens on a socket in /tmp only (no TCP)
              '-U',
              stack.env.POSTGRES_USER!,
              '-d',
              'postgres',
              '-Atc',
              `SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()`,
            ]);
            return Number(r.stdout.trim()) > 0 || undefined;
          },
          240_000,
          'the drill waiting in its check wait.sql',
        );
        assert.match(await cancelRunning(), /drill/i);
        outcome = await drill;
      } finally {
        rmSync(checksDir, { recursive: true, force: true });
      }
      assertCancelled(outcome, 'the drill');
      for (const what of [
        ['ps', '-aq'],
        ['volume', 'ls', '-q'],
        ['network', 'ls', '-q'],
      ])
        assert.equal((await docker([...what, '--filter', label])).stdout.trim(), '', `no drill ${what[0]} left`);
      assert.deepEqual(reports(), reportsBefore, 'no drill report for a cancelled drill');
    });
  });
}
