/**
 * What a restore needs to know about a running stack, read from the stack itself: the pgBackRest
 * config (`$PGBACKREST_CONFIG` in the database container), its stanza and `pg1-path` (PGDATA, where
 * a restore must go: the restored cluster's archive-push fails with [032] elsewhere), whether
 * PostgreSQL is PID 1 (then restores run in a one-off container), and how host paths of the backups
 * folder map into the container.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, posix, relative, isAbsolute, sep } from 'node:path';
import type Dockerode from 'dockerode';
import { ContainerRuntime } from '../../runtime';
import type { VolumeMount } from '../../infra';
import { confOption, resolveStanza } from '../pgbackrest';
import { postgresIsPid1 } from './oneoff';
import type { ServerConnection } from './run';
import type { RestoreJournal } from './physical';

export const DEFAULT_PGDATA = '/home/postgres/pgdata/data';

export interface StackRestoreSetup {
  readonly containerId: string;
  readonly containerName: string;
  readonly dataDir: string;
  readonly stanza: string;
  /** pgBackRest config path in the container (from PGBACKREST_CONFIG), when set. */
  readonly configPath?: string;
  readonly conn: ServerConnection;
  /** PostgreSQL is the container's main process: physical restores run in a one-off container. */
  readonly postgresIsPid1: boolean;
}

function envOf(list: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list ?? []) {
    const i = kv.indexOf('=');
    if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

export async function readRestoreSetup(opts: {
  docker: Dockerode;
  containerId: string;
  user: string;
  password?: string;
  database?: string;
  /** tsdbOps.backups.stanza, when set. */
  stanzaSetting?: string;
}): Promise<StackRestoreSetup> {
  const info = await opts.docker.getContainer(opts.containerId).inspect();
  const name = info.Name.replace(/^\//, '');
  const env = envOf(info.Config.Env);
  const rt = new ContainerRuntime(opts.docker, opts.containerId, `container ${name}`);
  const configPath = env['PGBACKREST_CONFIG'];
  const confFile = configPath ?? '/etc/pgbackrest.conf';
  const r = await rt.run(['cat', confFile]);
  const conf = r.exitCode === 0 ? r.stdoutLines.join('\n') : undefined;
  const stanza = resolveStanza(opts.stanzaSetting, conf);
  const dataDir = (conf && confOption(conf, stanza, 'pg1-path')) || env['PGDATA'] || DEFAULT_PGDATA;
  return {
    containerId: opts.containerId,
    containerName: name,
    dataDir,
    stanza,
    configPath,
    conn: { user: opts.user, password: opts.password, database: opts.database },
    postgresIsPid1: await postgresIsPid1(rt),
  };
}

/**
 * A path as the database container sees it: a host path under a bind mount of the service becomes
 * the mount's target (`<infra>/backups/manual_backup/x.tar` → `/var/lib/pgbackrest/manual_backup/x.tar`);
 * a path already under a mount target is kept. Anything else is refused with the mounts named.
 */
export function containerPath(volumes: readonly VolumeMount[], path: string): string {
  const binds = volumes.filter((v) => v.type === 'bind' && v.source);
  let best: { v: VolumeMount; rel: string } | undefined;
  for (const v of binds) {
    const rel = relative(v.source!, path);
    if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
      if (!best || v.source!.length > best.v.source!.length) best = { v, rel };
    }
  }
  if (best) return best.rel ? posix.join(best.v.target, best.rel.split(sep).join('/')) : best.v.target;
  if (volumes.some((v) => path === v.target || path.startsWith(`${v.target.replace(/\/+$/, '')}/`))) return path;
  throw new Error(
    `${path} is not inside a folder the database container mounts ` +
      `(${binds.map((v) => `${v.source} → ${v.target}`).join(', ') || 'none'})` +
      `: copy the backup into the backups folder first.`,
  );
}

/** The reverse of containerPath: where a container path of a bind mount is on this machine (undefined if not bind-mounted). */
export function hostPath(volumes: readonly VolumeMount[], path: string): string | undefined {
  let best: VolumeMount | undefined;
  for (const v of volumes) {
    if (v.type !== 'bind' || !v.source) continue;
    const t = v.target.replace(/\/+$/, '');
    if ((path === t || path.startsWith(`${t}/`)) && (!best || t.length > best.target.length)) best = v;
  }
  if (!best) return undefined;
  const rest = path.slice(best.target.replace(/\/+$/, '').length).replace(/^\//, '');
  return rest ? join(best.source!, ...rest.split('/')) : best.source;
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
