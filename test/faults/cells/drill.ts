/**
 * Cells of the restore drill row. A drill must never change the live system, whatever happens to it: each
 * cell compares the live system before and after (the live container and its start time, the server's
 * start time, the databases, the checksum rows, pgBackRest's list of backups) besides the after-check,
 * and asks that no scratch container, volume or network of a drill is left.
 */
import { runDrill, DRILL_LABEL, type DrillReport } from '../../../src/core/backups/drill';
import { drillCheckFiles } from '../../../src/core/backups/drill-checks';
import { drillTargetOf } from '../../../src/core/backups/drill-target';
import type { RestoreContext } from '../../../src/core/backups/restore/run';
import { run, sleep } from '../../support/proc';
import type { Stack } from '../../support/stack';
import { afterCheck, snapshot, writeChecksum } from '../check';
import { broken, result, settle, type CellDef, type CellEnv, type Ended } from '../cell';
import { stackWithEngineRestart, startAgain } from '../engine';
import { fireOfeliaJob, ofeliaJobs, triggerAt, until } from '../inject';
import { faultOps, type FaultOps } from '../ops';
import type { ColumnId, Outcome } from '../table';
import { backupLabels } from './backups-full';

/** As ui/commands/drills.ts: the target from the stack context, a drill of the newest set to the latest state. */
export async function drill(stack: Stack, ctx: RestoreContext, ops: FaultOps = faultOps(stack)): Promise<DrillReport> {
  const sc = await ops.context();
  const checks = await drillCheckFiles(sc.stack, [...(sc.settings.drill?.checks ?? [])]);
  return runDrill(await drillTargetOf(sc, { pgbackrest: true, checks }), { kind: 'pgbackrest', target: 'latest' }, ctx);
}

/** What the live system is: it must be the same after any drill. */
export async function liveState(stack: Stack): Promise<Record<string, string>> {
  const id = await stack.containerId('timescaledb');
  const started = await run('docker', ['inspect', '--format', '{{.State.StartedAt}} {{.State.Status}}', id], {
    env: stack.dockerEnv,
  });
  const [pm] = await stack.sql<{ t: string; r: boolean }>(
    'SELECT pg_postmaster_start_time()::text AS t, pg_is_in_recovery() AS r',
  );
  const dbs = await stack.sql<{ d: string }>("SELECT string_agg(datname, ',' ORDER BY datname) AS d FROM pg_database");
  return {
    container: `${id} ${started.stdout.trim()}`,
    server: `started ${pm!.t}, in recovery ${pm!.r}`,
    databases: dbs[0]!.d,
  };
}

/** Containers, volumes and networks a drill made (its label) on the stack's engine. */
export async function drillThings(stack: Stack): Promise<string[]> {
  const out: string[] = [];
  for (const [kind, args] of [
    ['container', ['ps', '-a', '-q', '--filter', `label=${DRILL_LABEL}`]],
    ['volume', ['volume', 'ls', '-q', '--filter', `label=${DRILL_LABEL}`]],
    ['network', ['network', 'ls', '-q', '--filter', `label=${DRILL_LABEL}`]],
  ] as const) {
    const r = await run('docker', args, { env: stack.dockerEnv, reject: false });
    for (const x of r.stdout.split('\n').filter(Boolean)) out.push(`drill ${kind} ${x}`);
  }
  return out;
}

/** The full backup every drill cell drills (taken before the fault, after the checksum rows). */
export async function backedUp(stack: Stack) {
  const sum = await writeChecksum(stack, { rows: 20_000 });
  await stack.exec('timescaledb', ['pgbackrest', '--stanza=db', '--type=full', 'backup'], { timeoutMs: 600_000 });
  return sum;
}

interface DrillCell {
  column: ColumnId;
  injection: string;
  injected: string;
  /** The step at which the fault fires. */
  at: RegExp;
  ci?: boolean;
  stack(env: CellEnv): Promise<{
    stack: Stack;
    stop?: () => Promise<void>;
    fault: (log: (m: string) => void) => Promise<unknown>;
    /** The stack context the drill runs through (default the bench's engine; the ssh:// column's own). */
    ops?: () => FaultOps;
  }>;
  recover?(stack: Stack): Promise<void>;
  /** Judges what the fault itself did (a second drill's message, a scheduled job's result); may allow new backup sets. */
  extra?(stack: Stack, ended: Ended<DrillReport>, problems: string[]): Promise<{ note?: string; newSets?: boolean }>;
  /**
   * The outcome when the drill ended with a report: a passed one is the new state; a failed one says why. 'either':
   * the fault does not decide it (an ssh:// cut drops the connection, not the scratch server: the tool there may end
   * its work and the drill carry on over a new connection, and its checks then ran for real).
   */
  expectPass: boolean | 'either';
}

export function drillCell(c: DrillCell): CellDef {
  return {
    row: 'drill',
    column: c.column,
    ci: c.ci,
    injection: c.injection,
    async run(env) {
      const t0 = Date.now();
      let stop: (() => Promise<void>) | undefined;
      let running: Promise<unknown> | undefined;
      try {
        const s = await c.stack(env);
        stop = s.stop;
        const { stack } = s;
        const sum = await backedUp(stack);
        const labels = await backupLabels(stack);
        const live = await liveState(stack);
        const things = await drillThings(stack);
        const before = await snapshot(stack);
        const trig = triggerAt(c.at, () => s.fault(env.log));
        const op = drill(stack, trig.ctx, s.ops?.());
        running = op.catch(() => undefined);
        const ended = await settle(op, trig.fired);
        const faultAt = await Promise.race([trig.fired, Promise.resolve(undefined)]);
        if (faultAt === undefined) throw new Error(`the drill never reached the step ${String(c.at)}`);
        await trig.faultDone;
        await c.recover?.(stack);
        const problems: string[] = [];
        let outcome: Outcome;
        let message: string;
        if (ended.kind === 'hung') {
          outcome = 'FAILED';
          message = '';
          problems.push('no message within 5 minutes of the fault');
        } else if (ended.kind === 'ok') {
          const r = ended.value;
          const failed = r.checks.filter((x) => x.status === 'failed');
          message = r.passed
            ? `Drill PASSED (RTO ${Math.round(r.rtoMs / 1000)} s)`
            : `Drill FAILED: ${r.error ?? failed.map((x) => `${x.name}: ${x.message}`).join('; ')}`;
          // A drill's new state is its report; the live system is the old state either way.
          outcome = r.passed ? 'new state' : 'old state';
          if (r.passed && c.expectPass === false)
            problems.push('the drill passed although its restored server was killed');
          if (!r.passed && c.expectPass === true)
            problems.push('the drill failed although nothing touched its restore');
        } else {
          message = ended.message;
          outcome = 'old state';
          if (c.expectPass === true && !/already running/i.test(message)) problems.push('the drill ended in an error');
        }
        const ex = (await c.extra?.(stack, ended, problems)) ?? {};
        // The live system, compared.
        const liveAfter = await liveState(stack);
        for (const k of Object.keys(live))
          if (
            live[k] !== liveAfter[k] &&
            !(
              (c.column === 'engine-restarted' && k === 'container') ||
              (c.column === 'engine-restarted' && k === 'server')
            )
          )
            problems.push(`the drill changed the live system: ${k} was “${live[k]}”, is “${liveAfter[k]}”`);
        const labelsAfter = await backupLabels(stack);
        const gone = labels.filter((l) => !labelsAfter.includes(l));
        const fresh = labelsAfter.filter((l) => !labels.includes(l));
        if (gone.length) problems.push(`backup sets gone from pgBackRest's list: ${gone.join(', ')}`);
        if (fresh.length && !ex.newSets) problems.push(`backup sets the drill made: ${fresh.join(', ')}`);
        const left = (await drillThings(stack)).filter((x) => !things.includes(x));
        if (left.length) problems.push(`drill leftovers: ${left.join(', ')}`);
        const check = await afterCheck(stack, before, { expect: [sum] });
        return result({
          row: 'drill',
          column: c.column,
          outcome,
          message,
          injected: c.injected,
          check: { ...check, leftovers: [...check.leftovers, ...left] },
          faultAt,
          messageAt: ended.at,
          t0,
          problems,
          note: ex.note,
        });
      } catch (e) {
        return broken('drill', c.column, c.injected, t0, e);
      } finally {
        // A broken cell still waits (a while) for its drill, so the next cell starts on a quiet stack.
        await Promise.race([running, sleep(120_000)]);
        await stop?.();
      }
    },
  };
}

export const RESTORING = /^step: Restoring .* into the scratch container/;
const STARTING = /^step: Starting PostgreSQL in the scratch container/;

/** `kill -9` of the oldest postgres process (the postmaster) in the drill's scratch container, once there is one. */
async function killScratchPostmaster(stack: Stack): Promise<string> {
  let pid = '';
  // The oldest postgres process once it has children (a short-lived `postgres -C` of pg_ctl is not the
  // postmaster); retried until the kill lands.
  await until(
    'the scratch container’s postmaster',
    async () => {
      const ps = await run('docker', ['ps', '-q', '--filter', `label=${DRILL_LABEL}`], { env: stack.dockerEnv });
      const id = ps.stdout.split('\n').find(Boolean);
      if (!id) return false;
      const r = await run(
        'docker',
        [
          'exec',
          '-u',
          'root',
          id,
          'sh',
          '-c',
          'p=$(pgrep -o -x postgres) && pgrep -P "$p" >/dev/null && kill -9 "$p" && echo "$p"',
        ],
        { env: stack.dockerEnv, reject: false },
      );
      pid = r.stdout.trim();
      return r.exitCode === 0 && pid.length > 0;
    },
    120_000,
  );
  return pid;
}

export const drillKilled = drillCell({
  column: 'postgres-killed',
  at: STARTING,
  expectPass: false,
  injection:
    'a restore drill of the newest full backup (latest state) runs as Backups → Restore Drill does; at its step “Starting ' +
    'PostgreSQL in the scratch container (WAL replay)”, `kill -9` of the scratch server’s postmaster (the oldest postgres ' +
    'process there) once it runs; the live server is left alone (the drill must not touch it)',
  injected: 'kill -9 of the drill’s postmaster at the step “Starting PostgreSQL in the scratch container”',
  async stack(env) {
    const stack = await env.sharedStack();
    return { stack, fault: () => killScratchPostmaster(stack) };
  },
});

export const drillLocked = drillCell({
  column: 'pgbackrest-lock',
  at: RESTORING,
  expectPass: true,
  injection:
    'a restore drill runs; at its step “Restoring … into the scratch container” the Ofelia diff-backup job’s own command ' +
    '(from the compose labels, as its user) runs in the live container, the way Ofelia’s job-exec fires it: it takes the ' +
    'backup lock and writes a new set into the repository the drill restores from',
  injected: 'the pgbackrest-diff-backup job fired at the drill’s step “Restoring …”',
  async stack(env) {
    const stack = await env.sharedStack();
    const job = ofeliaJobs(stack).find((j) => /--type=diff/.test(j.command));
    if (!job) throw new Error('no Ofelia diff-backup job in the compose labels');
    const p: { b?: Promise<{ exitCode: number; output: string }> } = {};
    jobs.set(stack, p);
    return { stack, fault: async () => (p.b = fireOfeliaJob(stack, job)) };
  },
  async extra(stack) {
    const b = await jobs.get(stack)?.b;
    if (!b) return { note: 'the scheduled backup never fired' };
    const last = b.output.split('\n').filter(Boolean).slice(-1)[0] ?? '';
    return { note: `the scheduled diff backup exited ${b.exitCode}: ${last}`, newSets: b.exitCode === 0 };
  },
});
const jobs = new WeakMap<Stack, { b?: Promise<{ exitCode: number; output: string }> }>();

export const drillSecondWindow = drillCell({
  column: 'second-window',
  at: RESTORING,
  expectPass: true,
  injection:
    'a restore drill runs in window A; at its step “Restoring … into the scratch container” window B (a second stack ' +
    'context, as a second VS Code window has) starts a restore drill of the same stack',
  injected: 'a second drill started at window A’s step “Restoring …”',
  async stack(env) {
    const stack = await env.sharedStack();
    const p: { b?: Promise<Ended<DrillReport>> } = {};
    seconds.set(stack, p);
    return {
      stack,
      fault: async () => {
        p.b = settle(drill(stack, { step: () => undefined, line: () => undefined }), Promise.resolve(Date.now()));
        await p.b;
      },
    };
  },
  async extra(stack, ended, problems) {
    const b = await seconds.get(stack)?.b;
    if (!b) return { note: 'window B never started' };
    const said =
      b.kind === 'ok' ? `Drill ${b.value.passed ? 'PASSED' : 'FAILED'}` : b.kind === 'error' ? b.message : 'hung';
    if (b.kind === 'hung') problems.push('window B got no message within 5 minutes');
    if (b.kind === 'ok' && ended.kind === 'ok') problems.push('two drills of one stack ran at once');
    if (b.kind === 'error' && !/already running/i.test(b.message))
      problems.push('window B’s message does not say a drill is already running');
    return { note: `window B: ${said}` };
  },
});
const seconds = new WeakMap<Stack, { b?: Promise<Ended<DrillReport>> }>();

export const drillEngineRestarted = drillCell({
  column: 'engine-restarted',
  at: RESTORING,
  expectPass: false,
  injection:
    'the stack runs on a throwaway Docker engine of its own (the test image loaded into it); a restore drill runs; at its ' +
    'step “Restoring … into the scratch container” the engine is restarted (SIGTERM to dockerd, which stops its containers, ' +
    'then dockerd again); then the stack is started again (the user’s Start). The live container restarts with the engine ' +
    '(the engine’s doing, not the drill’s): its data, databases and backups are compared',
  injected: 'the engine restarted at the drill’s step “Restoring …”',
  stack: (env) => stackWithEngineRestart(env.log),
  recover: startAgain,
});
