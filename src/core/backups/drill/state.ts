/** What the phases of one drill share: the target, the live container, the plan, the scratch container, the findings. */
import { hostname } from 'node:os';
import { posix } from 'node:path';
import type Dockerode from 'dockerode';
import type { ContainerRuntime, ToolRuntime } from '../../runtime';
import type { RestoreContext, ServerConnection } from '../restore/run';
import type { RecoveryRun } from '../restore/physical/recovery';
import type { SourcePlan } from './source';
import { DRILL_HOST_LABEL, DRILL_LABEL, DRILL_PID_LABEL, DRILL_PROJECT_LABEL, DRILL_STARTED_LABEL } from './sweep';
import type { DrillCheck, DrillCheckStatus, DrillReport, DrillSource, DrillTarget } from './types';

/** Where things are in the scratch container; decided once the live container is known. */
export interface ScratchLayout {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly dataMountPoint: string;
  readonly carried: { type: 'bind' | 'volume'; source: string; target: string }[];
  readonly drillConf: string;
  readonly drillLog: string;
  readonly pgLog: string;
  readonly scratchConn: ServerConnection;
  readonly networkText: string;
  /** `pg_ctl start` of the scratch server (no archiving, no TCP, the socket in /tmp). */
  readonly startArgv: string[];
}

export interface DrillState {
  readonly t: DrillTarget;
  readonly src: DrillSource;
  readonly ctx: RestoreContext;
  readonly started: string;
  readonly dataDir: string;
  readonly checks: DrillCheck[];
  /** Preflight: the live container (read only) and the plan. */
  liveInfo?: Dockerode.ContainerInspectInfo;
  live?: ContainerRuntime;
  user?: string;
  plan?: SourcePlan;
  layout?: ScratchLayout;
  /** Scratch container phase: what exists now (removed by its undo, or by teardown). */
  container?: Dockerode.Container;
  volume?: string;
  network?: string;
  heartbeat?: NodeJS.Timeout;
  rt?: ToolRuntime;
  /** pgBackRest: the scratch restore's recovery options and what they set up. */
  recovery?: RecoveryRun;
  /** Findings. */
  restored: boolean;
  up: boolean;
  error?: string;
  recoveryPoint?: string;
  recoveryPointFrom?: DrillReport['recoveryPointFrom'];
}

export function newDrillState(t: DrillTarget, src: DrillSource, ctx: RestoreContext): DrillState {
  return {
    t,
    src,
    ctx,
    started: new Date().toISOString(),
    dataDir: t.dataDir.replace(/\/+$/, ''),
    checks: [],
    restored: false,
    up: false,
  };
}

/** Records a check and says it in the log. */
export function check(s: DrillState, name: string, status: DrillCheckStatus, message: string): void {
  s.checks.push({ name, status, message });
  s.ctx.line(`${status === 'passed' ? '✔' : status === 'failed' ? '✖' : '–'} ${name}: ${message}`);
}

export function scratchLayout(
  s: DrillState,
  mounts: { dataMountPoint: string; carried: ScratchLayout['carried'] },
): ScratchLayout {
  const { t } = s;
  const stamp = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const name = `tsdbops-drill-${t.project}-${stamp}`.replace(/[^a-zA-Z0-9_.-]/g, '-');
  const { dataMountPoint } = mounts;
  const pgLog = posix.join(dataMountPoint, '.tsdbops-drill', 'postgresql.log');
  const sock = '/tmp';
  const storeEndpoint = s.plan?.storeEndpoint;
  return {
    name,
    labels: {
      [DRILL_LABEL]: '1',
      [DRILL_PROJECT_LABEL]: t.project,
      [DRILL_HOST_LABEL]: hostname(),
      [DRILL_PID_LABEL]: String(process.pid),
      [DRILL_STARTED_LABEL]: s.started,
    },
    dataMountPoint,
    carried: mounts.carried,
    drillConf: posix.join(dataMountPoint, '.tsdbops-drill', 'pgbackrest.conf'),
    drillLog: posix.join(dataMountPoint, '.tsdbops-drill', 'log'),
    pgLog,
    scratchConn: { ...t.conn, host: sock, port: 5432 },
    networkText: storeEndpoint
      ? `a bridge network of the drill's own (${name}), to reach the repository's ${storeEndpoint}; no other container ` +
        `is on it and no port is published, but it can reach whatever the Docker engine's host routes to, not only the endpoint`
      : 'none',
    startArgv: [
      'pg_ctl',
      '-D',
      s.dataDir,
      '-l',
      pgLog,
      '-w',
      '-t',
      String(t.startTimeoutSec ?? 600),
      '-o',
      `-c archive_mode=off -c listen_addresses='' -c unix_socket_directories=${sock} -c port=5432`,
      'start',
    ],
  };
}
