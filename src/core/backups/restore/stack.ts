/**
 * What a restore needs to know about a running stack, read from the stack itself: the pgBackRest
 * config (`$PGBACKREST_CONFIG` in the database container), its stanza and `pg1-path` (PGDATA, where
 * a restore must go: the restored cluster's archive-push fails with [032] elsewhere), whether
 * PostgreSQL is PID 1 (then restores run in a one-off container), and how host paths of the backups
 * folder map into the container.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { ContainerRuntime, type ToolRuntime } from '../../runtime';
import type { StackContext } from '../../stack/context';
import type { StackConfig, VolumeMount } from '../../infra';
import { readSite, type Site, type SiteSettings } from '../../stack/site';
import { ONEOFF_LABEL, postgresIsPid1 } from './oneoff';
import { restoreInProgress } from '../../errors/backups';
import { isKind } from '../../errors/error';
import type { ServerConnection } from './run';
import { ownerGone, type RestoreJournal } from './physical';

export { containerPath, hostPath } from '../../stack/site';

export interface StackRestoreSetup {
  readonly containerId: string;
  readonly containerName: string;
  readonly dataDir: string;
  readonly stanza: string;
  /** `--config` for pgBackRest (the setting), when set; else pgBackRest finds site.configFile itself. */
  readonly configPath?: string;
  readonly conn: ServerConnection;
  /** PostgreSQL is the container's main process: physical restores run in a one-off container. */
  readonly postgresIsPid1: boolean;
  /** Whether the container runs (a stopped one after a crashed one-off restore). */
  readonly running: boolean;
  readonly site: Site;
}

/** The database container of a stack, inspected (running or stopped), and where its things are (core/stack/site). */
export async function readRestoreSetup(opts: {
  stack: StackConfig;
  docker: Dockerode;
  containerId: string;
  user: string;
  password?: string;
  database?: string;
  /** tsdbOps.backups.stanza / pgbackrestConfig, when set. */
  settings?: SiteSettings;
}): Promise<StackRestoreSetup> {
  const info = await opts.docker.getContainer(opts.containerId).inspect();
  const name = info.Name.replace(/^\//, '');
  const running = info.State.Running;
  const rt = new ContainerRuntime(opts.docker, opts.containerId, `container ${name}`);
  const site = await readSite(opts.stack, {
    settings: { ...opts.settings, runtime: 'container' },
    runtime: running ? rt : undefined,
    container: { name, env: info.Config.Env },
  });
  return {
    containerId: opts.containerId,
    containerName: name,
    dataDir: site.dataDir,
    stanza: site.stanza,
    configPath: site.configOption,
    conn: { user: opts.user, password: opts.password, database: opts.database },
    postgresIsPid1: running ? await postgresIsPid1(rt) : false,
    running,
    site,
  };
}

/** Where a restore of a stack runs and what it needs, from the stack context (every fact decided there). */
export interface RestoreSite {
  readonly mode: 'container' | 'host';
  /** The tools (docker exec into the running database container, or this machine), as the tools' OS user. */
  readonly rt: ToolRuntime;
  readonly dataDir: string;
  readonly stanza: string;
  /** `--config` for pgBackRest (the setting), when set. */
  readonly configPath?: string;
  readonly conn: ServerConnection;
  /** A physical restore runs in a one-off container (PostgreSQL is PID 1 of the database container). */
  readonly postgresIsPid1: boolean;
  readonly containerId?: string;
  readonly containerName?: string;
  /** The OS user the tools run as. */
  readonly toolUser: string;
  /** "container <name>" or "this machine". */
  readonly where: string;
  /** A backup path as the tools see it. */
  toolPath(path: string): string;
  readonly site: Site;
}

/** The server connection of the tools, from the stack context's one rule. */
export function serverConnectionOf(ctx: StackContext): ServerConnection {
  const c = ctx.toolConnection;
  return {
    user: c.user.value,
    database: c.database.value,
    password: c.password.value,
    ...(c.host ? { host: c.host.value } : {}),
    ...(c.port ? { port: c.port.value } : {}),
  };
}

/**
 * The database container is stopped because another window restores in a one-off container on its data (PostgreSQL
 * is PID 1): that is said, instead of "start it first", which would start PostgreSQL on the half-restored data.
 */
async function refuseWhileOneOffRestores(ctx: StackContext): Promise<void> {
  const db = await ctx.database();
  const docker = await ctx.docker();
  const running = await docker.listContainers({ filters: { label: [`${ONEOFF_LABEL}=${db.id}`] } });
  if (!running.length) return;
  const id = running[0]!.Id.slice(0, 12);
  // The window that started it may be gone (its one-off container outlives it): then waiting would never end.
  const j = (await findRestoreJournals(ctx.dbService?.volumes ?? []).catch(() => []))[0]?.journal;
  // Another machine's process cannot be asked: that one is still waited for.
  if (j && ownerGone(j)) {
    const who = j.owner ? `${j.owner.pid} on ${j.owner.host}` : 'unknown';
    throw restoreInProgress(
      `A restore of ${db.name}'s data started ${j.started} (${j.source}) did not finish: its process (${who}) ` +
        'no longer runs here, ' +
        `its one-off restore container ${id} is still there and ${db.name} is stopped. Nothing was changed. Run ` +
        '"TimescaleDB Ops: Recover Interrupted Restore" (Roll back) first; do not start the container before it.',
    );
  }
  throw restoreInProgress(
    `A restore of ${db.name}'s data is in progress in another window (one-off restore container ` +
      `${id}; ${db.name} is stopped meanwhile): nothing was changed. Wait for it to ` +
      'finish; do not start the container before it has.',
  );
}

/** Where a restore of the stack runs (the database container must be running, or the host runtime set). */
export async function restoreSiteOf(ctx: StackContext): Promise<RestoreSite> {
  if (ctx.runtimeKind.value === 'container')
    await ctx.runningDatabase().catch(async (e: unknown) => {
      if (isKind(e, 'not-running')) await refuseWhileOneOffRestores(ctx);
      throw e;
    });
  const place = await ctx.tools();
  const site = await ctx.site();
  const db = place.runtime === 'container' ? await ctx.database() : undefined;
  return {
    mode: place.runtime,
    rt: place.tools!,
    dataDir: site.dataDir,
    stanza: site.stanza,
    configPath: site.configOption,
    conn: serverConnectionOf(ctx),
    postgresIsPid1: place.restore.value === 'one-off',
    ...(db ? { containerId: db.id, containerName: db.name } : {}),
    toolUser: place.user.value,
    where: place.where,
    toolPath: (p) => place.toolPath(p),
    site,
  };
}

/**
 * Whether Finish of an interrupted physical restore runs for the stack (tsdbOps.restore.recover): only where the tools
 * see the data folder in place (this machine, or a running container whose main process is not PostgreSQL). A stack
 * that restores in a one-off container (PostgreSQL is PID 1, or the container is stopped) has Roll back only.
 */
export async function finishApplies(ctx: StackContext): Promise<boolean> {
  if (ctx.runtimeKind.value === 'host') return true;
  const place = await ctx.tools();
  return place.restore.value === 'in-place' && Boolean(place.tools);
}

/**
 * Journals of unfinished physical restores, read on this machine from the service's bind-mounted
 * folders (PGDATA's parent is one: `${PG_DATA}` → /home/postgres/pgdata). No Docker needed, so it can
 * run when the extension starts, even while the database container is stopped.
 */
export async function findRestoreJournals(
  volumes: readonly VolumeMount[],
): Promise<{ file: string; journal: RestoreJournal }[]> {
  const out: { file: string; journal: RestoreJournal }[] = [];
  for (const v of volumes) {
    if (v.type !== 'bind' || !v.source) continue;
    const names = await readdir(v.source).catch(() => [] as string[]);
    for (const n of names) {
      if (!/^\.tsdbops-restore-.+\.json$/.test(n)) continue;
      const file = join(v.source, n);
      try {
        const journal = JSON.parse(await readFile(file, 'utf8')) as RestoreJournal;
        if (journal.version === 1 && journal.dataDir) out.push({ file, journal });
      } catch {
        // Being written or unreadable: the next check sees it.
      }
    }
  }
  return out;
}
