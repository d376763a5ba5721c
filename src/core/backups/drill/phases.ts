/**
 * The phases of a restore drill, in order, each with its undo next to it:
 *
 *   preflight → prepare (the scratch container; undo: remove it) → restore → replay and start
 *   → checks → teardown (remove the scratch container)
 *
 * A failed restore or start is a finding, not an error: the phase records it (a failed check and
 * `s.error`) and the phases after it are skipped. Only an unexpected error, a refusal or a cancel
 * fails the pipeline, which then undoes "prepare" (the scratch container always goes).
 */
import { posix } from 'node:path';
import { ContainerRuntime } from '../../runtime';
import type { Phase } from '../../operations/phases';
import { confOption } from '../pgbackrest';
import { restoreTypeOptions } from '../restore/target';
import { displayArgv, psqlQuery, runLogged } from '../restore/run';
import { waitLeftRecovery } from '../restore/physical/server';
import { REPLAY_MEMORY_PROBE, decideReplayMemory } from '../restore/replay-memory';
import {
  finishRecovery,
  prepareRecovery,
  proveRecoveryEnd,
  recoveryStopped,
  speedEnvOf,
  withRecoveryOptions,
} from '../restore/physical/recovery';
import { errorText } from '../../format';
import { damagedRepoFiles, runChecks } from './checks';
import { loadLogical } from './logical';
import { checkScratchDisk, createScratch, prepareScratchFolders, removeScratch } from './scratch';
import { planSource } from './source';
import { check, scratchLayout, type DrillState } from './state';
import { scratchMounts, sweepDrills } from './sweep';
import { DrillRefusedError, type DrillSource } from './types';

/** Looks for other drills of the project, reads the live container and checks the source; creates nothing. */
const preflight: Phase<DrillState> = {
  name: 'preflight',
  run: async (s) => {
    const { t, ctx } = s;
    ctx.step('Looking for other drills');
    const sweep = await sweepDrills(t.docker, ctx.line);
    const busy = sweep.running.find((r) => r.project === t.project);
    if (busy)
      throw new DrillRefusedError(
        `A restore drill of ${t.project} is already running (container ${busy.id.slice(0, 12)}, started ${busy.started ?? '?'} ` +
          `by process ${busy.owner.pid} on ${busy.owner.host}): wait for it to finish.`,
      );
    const liveInfo = await t.docker.getContainer(t.containerId).inspect();
    s.liveInfo = liveInfo;
    s.live = new ContainerRuntime(t.docker, t.containerId, `container ${liveInfo.Name.replace(/^\//, '')}`);
    s.user = t.toolUser ?? (liveInfo.Config.User || 'postgres');
    // What to restore, checked on the live side before anything is created.
    s.plan = await planSource(t, s.src, s.live, ctx);
    s.layout = scratchLayout(s, scratchMounts(liveInfo.Mounts ?? [], s.dataDir));
  },
};

/** The scratch container, its folders and the disk check; undone (removed) on any failure, its own too. */
const prepare: Phase<DrillState> = {
  name: 'prepare',
  run: async (s) => {
    await createScratch(s);
    await prepareScratchFolders(s);
    await checkScratchDisk(s);
  },
  undo: removeScratch,
  undoWhenFailed: true,
};

const restore: Phase<DrillState> = {
  name: 'restore',
  run: async (s) => {
    s.ctx.step(`Restoring ${s.plan!.sourceText} into the scratch container`);
    if (s.src.kind === 'dump' || s.src.kind === 'dumpAll') return restoreLogical(s, s.src);
    return restorePhysicalCopy(s);
  },
};

async function restoreLogical(s: DrillState, src: Extract<DrillSource, { kind: 'dump' | 'dumpAll' }>): Promise<void> {
  const L = s.layout!;
  const ok = await loadLogical(s.t, s.rt!, src, s.dataDir, L.startArgv, L.scratchConn, s.ctx);
  if (ok !== true) {
    s.error = ok;
    check(s, 'restore', 'failed', ok);
    return;
  }
  check(s, 'PostgreSQL starts', 'passed', 'a new cluster (initdb) started');
  check(s, 'restore', 'passed', `${s.plan!.sourceText} loaded`);
  s.restored = s.up = true;
}

function restoreArgv(s: DrillState): string[] {
  const { src, t, plan } = s;
  if (src.kind === 'pgbackrest')
    return [
      'pgbackrest',
      `--stanza=${t.stanza}`,
      '--log-level-console=info',
      '--log-level-stderr=off',
      ...plan!.repoArgs,
      `--set=${plan!.setLabel}`,
      ...restoreTypeOptions(plan!.target!),
      'restore',
    ];
  return [
    'sh',
    '-c',
    'tar -xf "$0"/base.tar* -C "$1" && { [ ! -e "$0"/pg_wal.tar* ] || tar -xf "$0"/pg_wal.tar* -C "$1/pg_wal"; }',
    (src as Extract<DrillSource, { kind: 'baseBackup' }>).dir,
    s.dataDir,
  ];
}

/** pgBackRest restore or the base backup's archives extracted; a failure names a damaged repository file when it finds one. */
async function restorePhysicalCopy(s: DrillState): Promise<void> {
  const { ctx, t, plan } = s;
  const rt = s.rt!;
  if (s.src.kind === 'pgbackrest') {
    // This restore's options from the scratch container's machine; the live container's settings are the user's
    // (the scratch container's own PGBACKREST_* variables are the drill's).
    s.recovery = await prepareRecovery(
      {
        rt,
        dataDir: s.dataDir,
        stanza: t.stanza,
        repoArgs: plan!.repoArgs,
        conf: plan!.conf ?? '',
        env: speedEnvOf(s.liveInfo?.Config.Env),
      },
      ctx,
    );
  }
  const argv = withRecoveryOptions(restoreArgv(s), s.recovery);
  ctx.line(`$ ${displayArgv(argv)}`);
  const errors: string[] = [];
  const r = await rt.run(argv, {
    signal: ctx.signal,
    onStdoutLine: (l) => {
      ctx.line(l);
      if (/ERROR:|WARN:/.test(l)) errors.push(l.trim());
    },
    onStderrLine: (l) => {
      ctx.line(l);
      errors.push(l.trim());
    },
  });
  if (r.exitCode !== 0) {
    let error = `The restore failed (exit ${r.exitCode}): ${(errors.length ? errors : r.stderrTail).join(' ') || 'no message'}`;
    if (s.src.kind === 'pgbackrest' && !plan!.storeEndpoint) {
      // pgBackRest names the error, not always the file: find damaged compressed files of the stanza's sets.
      const repoPath = (plan!.conf && confOption(plan!.conf, t.stanza, 'repo1-path')) || '/var/lib/pgbackrest';
      const damaged = await damagedRepoFiles(rt, posix.join(repoPath, 'backup', t.stanza), ctx);
      if (damaged.length) error += ` Damaged repository file${damaged.length > 1 ? 's' : ''}: ${damaged.join(', ')}.`;
    }
    s.error = error;
    check(s, 'restore', 'failed', error);
    return;
  }
  check(s, 'restore', 'passed', `${plan!.sourceText} restored`);
  s.restored = true;
}

/** pg_ctl start on the restored data, then waits until recovery (WAL replay) finished. */
const replayAndStart: Phase<DrillState> = {
  name: 'replay and start',
  when: (s) => s.restored && !s.up,
  run: async (s) => {
    const { ctx, t } = s;
    const rt = s.rt!;
    const L = s.layout!;
    // The scratch server is thrown away: its replay may use more memory than the restored config gives it.
    const probe = await rt.run(['sh', '-c', REPLAY_MEMORY_PROBE, 'probe', s.dataDir]).catch(() => undefined);
    const memory = decideReplayMemory(probe?.stdoutLines ?? []);
    ctx.line(memory.said);
    const startArgv = memory.sharedBuffers
      ? L.startArgv.map((a, i) => (L.startArgv[i - 1] === '-o' ? `${a} -c shared_buffers=${memory.sharedBuffers}` : a))
      : L.startArgv;
    ctx.step('Starting PostgreSQL in the scratch container (WAL replay)');
    const r = await runLogged(rt, ctx, startArgv);
    const logTail = async () =>
      (await rt.run(['tail', '-n', '15', L.pgLog]).catch(() => undefined))?.stdoutLines.join('\n') ?? '';
    const fail = (error: string) => {
      s.error = error;
      check(s, 'PostgreSQL starts and leaves recovery', 'failed', error);
    };
    const stopped = async () => (await recoveryStopped(s.recovery))?.message;
    if (r.exitCode !== 0)
      return fail((await stopped()) ?? `PostgreSQL did not start on the restored data: ${await logTail()}`);
    // One exec in the scratch container waits (WAIT_READY: the end of redo seen at once, progress every 5 s).
    const timeoutSec = t.startTimeoutSec ?? 600;
    const w = await waitLeftRecovery({ rt, conn: L.scratchConn }, ctx, {
      dataDir: s.dataDir,
      timeoutSec,
      newestWal: s.plan?.newestWal,
      quiet: true,
    });
    if (w.exitCode === 98)
      // The server stopped during recovery (a segment the wrapper could not read): no use waiting.
      return fail((await stopped()) ?? `PostgreSQL stopped during recovery: ${await logTail()}`);
    if (w.exitCode === 96) return fail(`PostgreSQL did not leave recovery in ${timeoutSec} s: ${await logTail()}`);
    if (w.exitCode !== 0)
      return fail(
        `Waiting for PostgreSQL to leave recovery failed (exit ${w.exitCode}): ${w.stderrTail.join(' ') || (await logTail())}`,
      );
    if (s.plan?.newestWal) {
      try {
        await proveRecoveryEnd(rt, L.scratchConn, ctx, s.plan.newestWal);
      } catch (e) {
        return fail(errorText(e));
      }
    }
    check(s, 'PostgreSQL starts and leaves recovery', 'passed', 'started, recovery finished, promoted');
    s.up = true;
    // The wrapper and spool lie in the scratch volume, which the teardown removes whole.
    await finishRecovery(s.recovery, ctx, undefined, { filesGoWith: L.dataMountPoint });
  },
};

/** The recovery point, then every check of the restored copy. */
const checks: Phase<DrillState> = {
  name: 'checks',
  when: (s) => s.up,
  run: async (s) => {
    const { ctx } = s;
    const L = s.layout!;
    ctx.step('Checking the restored copy');
    const [rp] = await psqlQuery(
      s.rt!,
      ctx,
      L.scratchConn,
      "SELECT coalesce(to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), '')",
    );
    if (rp) {
      s.recoveryPoint = rp;
      s.recoveryPointFrom = 'last replayed commit';
    } else if (s.plan!.setStop) {
      s.recoveryPoint = s.plan!.setStop.toISOString();
      s.recoveryPointFrom = 'backup stop time';
    }
    await runChecks(
      s.t,
      s.live!,
      s.rt!,
      L.scratchConn,
      ctx,
      (name, status, message) => check(s, name, status, message),
      { cores: s.recovery?.machine.cores },
    );
  },
};

/** The scratch container, its volume and network go: the end of every drill (on a failure, prepare's undo). */
const teardown: Phase<DrillState> = {
  name: 'teardown',
  run: async (s) => {
    await finishRecovery(s.recovery, s.ctx);
    await removeScratch(s);
  },
};

export const DRILL_PHASES: readonly Phase<DrillState>[] = [
  preflight,
  prepare,
  restore,
  replayAndStart,
  checks,
  teardown,
];

/** The phases the report lists (prepare and the RTO's three). */
export const REPORTED_PHASES = ['prepare', 'restore', 'replay and start', 'checks'] as const;
/** The phases of the RTO. */
export const RTO_PHASES: readonly string[] = ['restore', 'replay and start', 'checks'];
