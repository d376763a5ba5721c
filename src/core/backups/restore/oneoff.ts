/**
 * Physical restores when PostgreSQL is the database container's main process (PID 1: the image's
 * own entrypoint, no custom one): stopping PostgreSQL ends the container, so the restore runs in a
 * one-off container of the same image with the same volumes (`VolumesFrom`) and environment, no
 * network; the service container is started again afterwards (success, failure or cancel alike).
 */
import { errorText } from '../../format';
import type Dockerode from 'dockerode';
import { ContainerRuntime } from '../../runtime';
import {
  journalPath,
  readJournal,
  recoverInterruptedRestore,
  restorePhysical,
  verifySource,
  waitReady,
  type PhysicalRestoreResult,
  type PhysicalSource,
  type RestoreJournal,
} from './physical';
import { type RestoreContext, type ServerConnection } from './run';
import { OpsError } from '../../errors/error';

export const ONEOFF_LABEL = 'tsdb-ops.restore-oneoff';

export { postgresIsPid1 } from '../../runtime';

export interface OneOffTarget {
  readonly docker: Dockerode;
  /** The database service's container. */
  readonly containerId: string;
  readonly dataDir: string;
  readonly conn: ServerConnection;
  /** The tools' OS user (the stack context's `tools().user`): the one-off container runs as it. */
  readonly user: string;
  /** Seconds `docker stop` waits before killing (default 120; the image's stop signal is used). */
  readonly stopTimeoutSec?: number;
  readonly startTimeoutSec?: number;
  /** The pgBackRest config text in effect (the stack context's), for the restore's recovery options. */
  readonly conf?: string;
}

async function stopService(o: OneOffTarget, ctx: RestoreContext): Promise<void> {
  const c = o.docker.getContainer(o.containerId);
  const info = await c.inspect();
  if (!info.State.Running) return;
  ctx.step('Stopping the database container (PostgreSQL is its main process)');
  ctx.line(`$ docker stop --time ${o.stopTimeoutSec ?? 120} ${info.Name.replace(/^\//, '')}`);
  await c.stop({ t: o.stopTimeoutSec ?? 120 }).catch((e: { statusCode?: number }) => {
    if (e.statusCode !== 304) throw e; // 304: already stopped
  });
  const after = await c.inspect();
  if (after.State.Running)
    throw new OpsError('tool-failed', `The database container ${info.Name} is still running after docker stop.`);
}

async function startService(o: OneOffTarget, ctx: RestoreContext): Promise<void> {
  const c = o.docker.getContainer(o.containerId);
  const info = await c.inspect();
  ctx.step('Starting the database container');
  if (!info.State.Running) {
    ctx.line(`$ docker start ${info.Name.replace(/^\//, '')}`);
    await c.start().catch((e: { statusCode?: number }) => {
      if (e.statusCode !== 304) throw e;
    });
  }
  ctx.step('Waiting until PostgreSQL accepts connections');
  const rt = new ContainerRuntime(o.docker, o.containerId, `container ${info.Name.replace(/^\//, '')}`);
  await waitReady(
    { rt, dataDir: o.dataDir, conn: o.conn, startTimeoutSec: o.startTimeoutSec },
    { step: ctx.step, line: ctx.line },
  );
}

/** A stopped-PID-1 one-off: same image and env, the tools' user, the service's volumes, no network, sleeping. */
async function createOneOff(o: OneOffTarget, ctx: RestoreContext): Promise<Dockerode.Container> {
  const info = await o.docker.getContainer(o.containerId).inspect();
  ctx.step('Creating a one-off restore container with the same volumes');
  ctx.line(
    `$ docker run -d --volumes-from ${info.Name.replace(/^\//, '')} --network none --entrypoint sleep ${info.Config.Image} infinity`,
  );
  const c = await o.docker.createContainer({
    Image: info.Image,
    Entrypoint: ['sleep', 'infinity'],
    Cmd: [],
    User: o.user,
    Env: info.Config.Env,
    WorkingDir: info.Config.WorkingDir || undefined,
    Labels: { [ONEOFF_LABEL]: o.containerId },
    HostConfig: { VolumesFrom: [o.containerId], NetworkMode: 'none' },
  });
  await c.start();
  return c;
}

async function removeOneOffs(o: OneOffTarget, ctx: RestoreContext): Promise<void> {
  const list = await o.docker.listContainers({ all: true, filters: { label: [`${ONEOFF_LABEL}=${o.containerId}`] } });
  for (const c of list) {
    ctx.line(`$ docker rm -f ${c.Id.slice(0, 12)}`);
    await o.docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => undefined);
  }
}

/**
 * Verify (in the running service container, before anything is touched), stop the service, restore
 * in a one-off container (stop/verify/move aside/restore/start/verify/stop, rollback on failure),
 * remove it, start the service and wait until it accepts connections.
 */
export async function restoreInOneOff(
  o: OneOffTarget,
  src: PhysicalSource,
  ctx: RestoreContext,
): Promise<PhysicalRestoreResult> {
  const live = new ContainerRuntime(o.docker, o.containerId, 'database container');
  ctx.step('Verifying the backup');
  await verifySource(live, src, ctx);
  ctx.signal?.throwIfAborted();
  await removeOneOffs(o, ctx);
  await stopService(o, ctx);
  let result: PhysicalRestoreResult | undefined;
  let failure: unknown;
  try {
    const oneoff = await createOneOff(o, ctx);
    try {
      const rt = new ContainerRuntime(o.docker, oneoff.id, 'one-off restore container');
      result = await restorePhysical(
        { rt, dataDir: o.dataDir, conn: o.conn, leaveRunning: false, startTimeoutSec: o.startTimeoutSec, conf: o.conf },
        src,
        ctx,
      );
    } finally {
      ctx.step('Removing the one-off container');
      await oneoff
        .remove({ force: true })
        .catch((e: unknown) => ctx.line(`Could not remove the one-off container: ${errorText(e)}`));
    }
  } catch (e) {
    failure = e;
  }
  // Success, failure or cancel: the service comes back (on the restored or the previous data).
  await startService(o, ctx);
  if (failure) throw failure;
  return result!;
}

/**
 * Rolls back a one-off restore that never finished (the journal is on the volume): removes leftover
 * one-off containers, stops the service if it runs on half-restored data, rolls back in a new one-off,
 * starts the service. Returns the journal it acted on, or undefined when there was none.
 */
export async function recoverInOneOff(o: OneOffTarget, ctx: RestoreContext): Promise<RestoreJournal | undefined> {
  await removeOneOffs(o, ctx);
  const info = await o.docker.getContainer(o.containerId).inspect();
  if (info.State.Running) {
    const live = new ContainerRuntime(o.docker, o.containerId, 'database container');
    const has = await live.run(['test', '-e', journalPath(o.dataDir)]);
    if (has.exitCode !== 0) return undefined;
    await stopService(o, ctx);
  }
  let journal: RestoreJournal | undefined;
  const oneoff = await createOneOff(o, ctx);
  try {
    const rt = new ContainerRuntime(o.docker, oneoff.id, 'one-off restore container');
    const t = { rt, dataDir: o.dataDir, conn: o.conn, leaveRunning: false };
    journal = await readJournal(t, ctx);
    if (journal) await recoverInterruptedRestore(t, ctx);
  } finally {
    await oneoff.remove({ force: true }).catch(() => undefined);
    await startService(o, ctx);
  }
  return journal;
}
