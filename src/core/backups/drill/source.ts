/**
 * The drill's preflight on the live side, before anything is created: what exactly is restored (the
 * pgBackRest set and repository, the dump file, the base backup folder), how big it is, and whether the
 * scratch container needs a network of its own (an object-store or sftp repository).
 */
import { posix } from 'node:path';
import type { ToolRuntime } from '../../runtime';
import { repositoriesInConf } from '../repositories';
import { restorableSets } from '../restore/physical';
import type { RestoreTarget } from '../restore/target';
import { runLogged, type RestoreContext } from '../restore/run';
import { DrillRefusedError, type DrillSource, type DrillTarget } from './types';

export interface SourcePlan {
  readonly sourceText: string;
  readonly sourceKey: string;
  readonly setLabel?: string;
  readonly setStop?: Date;
  /** About what the restored data takes on disk. */
  readonly sizeBytes?: number;
  /** The live pgBackRest config's text (written into the scratch container; may hold repository keys). */
  readonly conf?: string;
  readonly target?: RestoreTarget;
  readonly repoArgs: string[];
  /** Set when the set is read from an object store or sftp: the scratch container gets a network of its own. */
  readonly storeEndpoint?: string;
  /** Latest state: the newest archived WAL segment, which the scratch copy's recovery must reach. */
  readonly newestWal?: string;
}

export async function planSource(
  t: DrillTarget,
  src: DrillSource,
  live: ToolRuntime,
  ctx: RestoreContext,
): Promise<SourcePlan> {
  if (src.kind === 'pgbackrest') return planPgBackRest(t, src, live, ctx);
  if (src.kind === 'baseBackup') return planBaseBackup(src, live, ctx);
  return planDump(src, live, ctx);
}

async function planPgBackRest(
  t: DrillTarget,
  src: Extract<DrillSource, { kind: 'pgbackrest' }>,
  live: ToolRuntime,
  ctx: RestoreContext,
): Promise<SourcePlan> {
  const conf = t.conf ?? (await readConf(live, ctx, t.configPath ?? '/etc/pgbackrest.conf'));
  // A repository on a mounted file system is read with no network; an object store through a network of the drill's own.
  const repoConfs = repositoriesInConf(conf, t.stanza);
  const objectStore = (key: number | undefined) => {
    const rc = repoConfs.find((x) => x.key === (key ?? 1));
    return rc && rc.type !== 'posix' && rc.type !== 'cifs' ? rc : undefined;
  };
  ctx.step('Checking the backup set in pgBackRest info');
  const info = await restorableSets(live, ctx, t.stanza, t.configPath, src.repo);
  if (info.status.code !== 0)
    throw new DrillRefusedError(`pgBackRest stanza "${t.stanza}" is not restorable: ${info.status.message}.`);
  // Without a repository named, the newest set, preferring a repository on disk (no network needed).
  const onDisk = info.sets.filter((x) => !objectStore(x.repoKey));
  const sets = src.repo === undefined && !src.set && onDisk.length ? onDisk : info.sets;
  const set = src.set ? sets.find((s) => s.label === src.set) : sets[sets.length - 1];
  if (!set)
    throw new DrillRefusedError(
      src.set
        ? `Backup set ${src.set} is not in stanza "${t.stanza}" (sets: ${info.sets.map((s) => s.label).join(', ') || 'none'}).`
        : `Stanza "${t.stanza}" has no backup set: take a full backup first.`,
    );
  let storeEndpoint: string | undefined;
  const inStore = objectStore(src.repo ?? set.repoKey);
  if (inStore) {
    if (!inStore.endpoint) {
      const option = inStore.type === 's3' ? 's3-endpoint' : `${inStore.type}-host`;
      throw new DrillRefusedError(
        `repo${inStore.key} (${inStore.type}) has no endpoint or host in ${t.configPath ?? 'the pgBackRest config'}: ` +
          `set repo${inStore.key}-${option} so the drill knows where the repository is.`,
      );
    }
    storeEndpoint = `${inStore.type} endpoint ${inStore.endpoint}`;
  }
  const target: RestoreTarget = { target: src.target ?? 'latest', set: set.label };
  const repo = src.repo ?? (info.multiRepo ? set.repoKey : undefined);
  const fromRepo = repo !== undefined && info.multiRepo ? ` from repo${repo}` : '';
  return {
    sourceText: `pgbackrest ${set.label}${fromRepo} (${target.target === 'latest' ? 'latest state' : 'exactly the set'})`,
    sourceKey: `pgbackrest:${t.stanza}${src.repo !== undefined ? `:repo${src.repo}` : ''}`,
    setLabel: set.label,
    setStop: set.stop,
    sizeBytes: set.sizeBytes,
    conf,
    target,
    repoArgs: repo !== undefined ? [`--repo=${repo}`] : [],
    storeEndpoint,
    newestWal: target.target === 'latest' ? info.newestWal : undefined,
  };
}

async function planDump(
  src: Extract<DrillSource, { kind: 'dump' | 'dumpAll' }>,
  live: ToolRuntime,
  ctx: RestoreContext,
): Promise<SourcePlan> {
  const r = await runLogged(live, ctx, ['stat', '-c', '%s %Y', '--', src.file], { quietStdout: true });
  if (r.exitCode !== 0)
    throw new DrillRefusedError(`Cannot read the backup file ${src.file}: ${r.stderrTail.join(' ')}`);
  const [size, mtime] = (r.stdoutLines[0] ?? '').split(' ').map(Number);
  return {
    sourceText: `${src.kind === 'dump' ? 'pg_dump' : 'pg_dumpall'} ${posix.basename(src.file)}`,
    sourceKey: `${src.kind}:${src.file}`,
    sizeBytes: (size ?? 0) * 5, // indexes are rebuilt: several times the dump
    setStop: mtime ? new Date(mtime * 1000) : undefined,
    repoArgs: [],
  };
}

async function planBaseBackup(
  src: Extract<DrillSource, { kind: 'baseBackup' }>,
  live: ToolRuntime,
  ctx: RestoreContext,
): Promise<SourcePlan> {
  const dir = src.dir;
  const r = await runLogged(live, ctx, ['du', '-s', '-k', '--', dir], { quietStdout: true });
  if (r.exitCode !== 0)
    throw new DrillRefusedError(`Cannot read the base backup folder ${dir}: ${r.stderrTail.join(' ')}`);
  return {
    sourceText: `pg_basebackup ${posix.basename(dir)}`,
    sourceKey: `baseBackup:${dir}`,
    sizeBytes: Number(r.stdoutLines[0]?.split(/\s+/)[0]) * 1024 * 4, // compressed archives: about 4× once extracted
    repoArgs: [],
  };
}

/** The config text when the stack context did not hand it down (a caller of runDrill without the context). */
async function readConf(live: ToolRuntime, ctx: RestoreContext, file: string): Promise<string | undefined> {
  const c = await runLogged(live, ctx, ['cat', file], { quietStdout: true });
  return c.exitCode === 0 ? c.stdoutLines.join('\n') : undefined;
}
