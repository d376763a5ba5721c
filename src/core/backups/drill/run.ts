/**
 * Restore drills: proof that a backup restores, without touching the live system.
 *
 * A pgBackRest set (default: the newest, latest state) or a pg_basebackup folder is restored into a
 * **scratch container** of the database service's own image (same image ID): no published ports, no
 * network, its data in an engine volume of its own, the backup repository mounted read-only, WAL
 * archiving off, and labels naming its owner (host, process) so it can always be found and swept.
 * From an object-store or sftp repository (s3, gcs, azure, sftp) the scratch container is instead on a
 * bridge network of its own, made for the drill (labelled like the container, no other container on it,
 * no published ports) and removed with it: it reaches the repository's endpoint, but also whatever the
 * engine host routes to (the engine does not restrict a bridge network to one address; the report says so).
 * Then PostgreSQL is started and checked (leaves recovery, every database connects, pg_amcheck,
 * TimescaleDB, the sqlx history, the user's SQL checks), the RTO of each phase and the recovery
 * point are measured, and the scratch container and volume are removed (also on failure and cancel).
 *
 * The drill is a pipeline of named phases (./phases.ts) run by `runPhases`. `runDrill()` is the
 * function a benchmark times.
 */
import { hostname } from 'node:os';
import { isUnreachable } from '../../docker/unreachable';
import { OpsError } from '../../errors/error';
import { errorText } from '../../format';
import { PhasesFailedError, runPhases, type PhaseTiming } from '../../operations/phases';
import { CancelledError, isCancelled } from '../../operations/cancel';
import type { RestoreContext } from '../restore/run';
import { DRILL_PHASES, REPORTED_PHASES, RTO_PHASES } from './phases';
import { check, newDrillState, type DrillState } from './state';
import { DrillRefusedError, type DrillPhase, type DrillReport, type DrillSource, type DrillTarget } from './types';

const activeProjects = new Set<string>();

/**
 * Runs one drill. Refuses (DrillRefusedError) when another drill of the project runs or the engine
 * has not enough disk. Never throws for a failed check or a failed restore: the report says it.
 * Cancel (ctx.signal) ends it, removes everything and throws a CancelledError.
 */
export async function runDrill(t: DrillTarget, src: DrillSource, ctx: RestoreContext): Promise<DrillReport> {
  if (activeProjects.has(t.project))
    throw new DrillRefusedError(
      `A restore drill of ${t.project} is already running in this window: wait for it to finish.`,
    );
  activeProjects.add(t.project);
  try {
    return await drill(t, src, ctx);
  } finally {
    activeProjects.delete(t.project);
  }
}

async function drill(t: DrillTarget, src: DrillSource, ctx: RestoreContext): Promise<DrillReport> {
  const t0 = Date.now();
  const s = newDrillState(t, src, ctx);
  let timings: PhaseTiming[];
  try {
    timings = await runPhases(DRILL_PHASES, s, ctx, {
      // An unexpected error after the preflight is the drill's finding (said before the scratch container goes).
      onFailure: (e, info) => {
        if (info.phase === 'preflight' || e instanceof DrillRefusedError || info.cancelled) return;
        s.error = engineWentAway(e) ? engineGoneText(e) : errorText(e);
        check(s, 'drill', 'failed', s.error);
      },
    });
  } catch (e) {
    if (!(e instanceof PhasesFailedError)) throw e;
    // A cancel ends as a cancel, also when the tool the abort stopped failed on its own account.
    if (e.cancelled) throw isCancelled(e.cause) ? e.cause : new CancelledError(`Cancelled: ${e.phase}`);
    if (e.phase === 'preflight' || e.cause instanceof DrillRefusedError) throw e.cause;
    timings = [...e.timings];
  }
  const report = drillReport(s, timings);
  ctx.line(
    `Drill ${report.passed ? 'PASSED' : 'FAILED'} in ${Math.round((Date.now() - t0) / 1000)} s: RTO ${Math.round(report.rtoMs / 1000)} s` +
      `${s.recoveryPoint ? `, recovery point ${s.recoveryPoint} (${s.recoveryPointFrom})` : ''}.`,
  );
  ctx.line(`Phases: ${timings.map((p) => `${p.name} ${(p.ms / 1000).toFixed(1)} s`).join(', ')}.`);
  return report;
}

/** The Docker engine went away mid-drill (stopped or restarted): its socket gone or refused, or an exec's stream cut. */
function engineWentAway(e: unknown): boolean {
  for (let x: unknown = e, i = 0; x && i < 8; x = (x as { cause?: unknown }).cause, i++) {
    if (x instanceof OpsError && x.kind === 'connection-lost') return true;
    const where = `${(x as { address?: string }).address ?? ''} ${(x as { message?: string }).message ?? ''}`;
    if (isUnreachable(x) && /docker/i.test(where)) return true;
  }
  return false;
}

const engineGoneText = (e: unknown) =>
  `The Docker engine went away during the drill (it stopped or restarted: ${errorText(e)}). The drill did not touch ` +
  'the live system (it only reads its backups); the engine’s restart may have stopped the stack’s containers: start ' +
  'the stack again once the engine answers, then run the drill again. What the drill made (a scratch container and ' +
  'volume labelled tsdb-ops.drill) is removed by the drill when it reaches the engine, else by the next drill’s sweep.';

function drillReport(s: DrillState, timings: readonly PhaseTiming[]): DrillReport {
  const reported = new Set<string>(REPORTED_PHASES);
  const phases: DrillPhase[] = timings
    .filter((p) => reported.has(p.name))
    .map((p) => ({ name: p.name as DrillPhase['name'], ms: p.ms }));
  const plan = s.plan!;
  return {
    version: 1,
    project: s.t.project,
    source: plan.sourceText,
    sourceKey: plan.sourceKey,
    set: plan.setLabel,
    target: plan.target?.target,
    started: s.started,
    finished: new Date().toISOString(),
    passed: !s.error && s.checks.every((c) => c.status !== 'failed'),
    ...(s.error ? { error: s.error } : {}),
    checks: s.checks,
    phases,
    rtoMs: phases.filter((p) => RTO_PHASES.includes(p.name)).reduce((a, p) => a + p.ms, 0),
    recoveryPoint: s.recoveryPoint,
    recoveryPointFrom: s.recoveryPointFrom,
    image: s.liveInfo!.Image,
    owner: { host: hostname(), pid: process.pid },
    network: s.layout!.networkText,
  };
}
