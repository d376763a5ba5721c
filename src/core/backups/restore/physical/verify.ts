/** Verifying the backup before touching anything: pgBackRest info and the set, or every archive of a base backup. */
import { posix } from 'node:path';
import type { ToolRuntime } from '../../../runtime';
import { isCancelled } from '../../../operations/cancel';
import { pgbackrestInfo, type StanzaInfo } from '../../pgbackrest';
import { errorText } from '../../../format';
import { newestArchivedSegment } from '../recovery-proof';
import { checkNotFuture, formatTimeTarget, setForTime, type RestorableSet } from '../pitr';
import { restoreTypeOptions, targetOfSource } from '../target';
import { backupInvalid, runLogged, type RestoreContext } from '../run';
import type { PhysicalSource } from './types';

// ---------- Verifying the backup before touching anything ----------

/**
 * The backup sets pgBackRest's info lists (the Backups view's parser), for the restore's own check.
 * With `repo`, only that repository's sets and its status; without, when some repositories fail
 * (unreachable object store …) and others are fine, the sets of the working ones (the others are named).
 */
export async function restorableSets(
  rt: ToolRuntime,
  ctx: RestoreContext,
  stanza: string,
  configPath?: string,
  repo?: number,
): Promise<{
  sets: RestorableSet[];
  lockHeld: boolean;
  status: { code: number; message: string };
  /** More than one repository: the restore names the set's repository (`--repo`). */
  multiRepo: boolean;
  /** The newest archived WAL segment (recovery-proof.ts), noted before the restore. */
  newestWal?: string;
}> {
  ctx.line(`$ pgbackrest --stanza=${stanza}${configPath ? ` --config=${configPath}` : ''} --output=json info`);
  let info: StanzaInfo;
  try {
    info = await pgbackrestInfo({ runtime: rt, stanza, configPath }, ctx.signal);
  } catch (e) {
    if (isCancelled(e)) throw e;
    throw backupInvalid(`pgBackRest info failed: ${errorText(e)}`);
  }
  let status = info.status;
  let usable = (_k: number | undefined) => true;
  if (repo !== undefined) {
    const r = info.repos.find((x) => x.key === repo);
    if (!r && (info.repos.length || repo !== 1))
      throw backupInvalid(
        `There is no repo${repo} in stanza "${stanza}" (repositories: ${info.repos.map((x) => `repo${x.key}`).join(', ') || 'repo1'}).`,
      );
    if (r) status = { code: r.code === 2 ? 0 : r.code, message: r.code === 0 ? 'ok' : `repo${repo}: ${r.message}` };
    usable = (k) => (k ?? 1) === repo;
  } else if (status.code !== 0 && info.repos.some((r) => r.code === 0 || r.code === 2)) {
    const bad = info.repos.filter((r) => r.code !== 0 && r.code !== 2);
    for (const b of bad) ctx.line(`repo${b.key} is not usable (${b.message}): only the other repositories are used.`);
    const good = new Set(info.repos.filter((r) => !bad.includes(r)).map((r) => r.key));
    status = { code: 0, message: 'ok' };
    usable = (k) => good.has(k ?? 1);
  }
  return {
    status,
    lockHeld: info.lockHeld,
    multiRepo: info.repos.length > 1,
    newestWal: newestArchivedSegment(info),
    sets: info.backups
      .filter((b) => usable(b.repoKey))
      .map((b) => ({
        label: b.label,
        type: b.type,
        start: b.start,
        stop: b.stop,
        sizeBytes: b.sizeBytes,
        repoKey: b.repoKey,
      })),
  };
}

export interface VerifiedSource {
  from: string;
  target?: string;
  restoreArgv?: string[];
  /** Base backup: the archives to extract. */
  base?: string;
  wal?: string;
  /** About how many bytes the restored data folder takes (for the free-space check). */
  sizeBytes?: number;
  /** A latest-state restore: the newest archived WAL segment, which recovery must reach. */
  newestWal?: string;
}

async function verifyPgBackRest(
  rt: ToolRuntime,
  src: Extract<PhysicalSource, { kind: 'pgbackrest' }>,
  ctx: RestoreContext,
): Promise<VerifiedSource> {
  const info = await restorableSets(rt, ctx, src.stanza, src.configPath, src.repo);
  if (info.status.code !== 0) {
    throw backupInvalid(
      `pgBackRest stanza "${src.stanza}" is not restorable: ${info.status.message} (status ${info.status.code}).`,
    );
  }
  const repoArg = (set: RestorableSet) => {
    const k = src.repo ?? (info.multiRepo ? set.repoKey : undefined);
    return k !== undefined ? [`--repo=${k}`] : [];
  };
  if (info.lockHeld)
    throw backupInvalid(
      `A pgBackRest backup of stanza "${src.stanza}" is running: wait for it to finish, then restore.`,
    );
  if (!info.sets.length)
    throw backupInvalid(
      `Stanza "${src.stanza}" has no backup set${src.repo ? ` in repo${src.repo}` : ''}: take a full backup first.`,
    );
  const common = [
    'pgbackrest',
    `--stanza=${src.stanza}`,
    ...(src.configPath ? [`--config=${src.configPath}`] : []),
    '--log-level-console=info',
    '--log-level-stderr=off',
  ];
  const t = targetOfSource(src);
  if (t.target === 'time') {
    const time = t.time!;
    checkNotFuture(time);
    let set: RestorableSet;
    try {
      set = setForTime(info.sets, time, src.set);
    } catch (e) {
      throw backupInvalid(errorText(e));
    }
    const target = formatTimeTarget(time);
    ctx.line(`Backup set ${set.label} (${set.type}, ended ${set.stop.toISOString()}) is before ${target}.`);
    return {
      from: set.label,
      target,
      sizeBytes: set.sizeBytes,
      restoreArgv: [...common, ...repoArg(set), `--set=${set.label}`, ...restoreTypeOptions(t, target), 'restore'],
    };
  }
  const set = src.set ? info.sets.find((s) => s.label === src.set) : info.sets[info.sets.length - 1];
  if (!set)
    throw backupInvalid(
      `Backup set ${src.set} is not in stanza "${src.stanza}"${src.repo ? ` repo${src.repo}` : ''} (sets: ${info.sets.map((s) => s.label).join(', ')}).`,
    );
  ctx.line(
    `Backup set ${set.label} (${set.type}, ended ${set.stop.toISOString()}) is in the repository` +
      `${set.repoKey && info.multiRepo ? ` (repo${set.repoKey})` : ''}.`,
  );
  if (t.target === 'latest') ctx.line('Every WAL archived after it is replayed (the latest state).');
  if (t.target === 'latest' && info.newestWal)
    ctx.line(`The archive's newest WAL segment is ${info.newestWal}: recovery must reach it.`);
  return {
    from: set.label,
    target: t.target === 'xid' ? `xid ${t.xid}` : undefined,
    sizeBytes: set.sizeBytes,
    newestWal: t.target === 'latest' ? info.newestWal : undefined,
    restoreArgv: [
      ...common,
      ...repoArg(set),
      `--set=${set.label}`,
      ...restoreTypeOptions({ ...t, set: set.label }),
      'restore',
    ],
  };
}

/** Every archive of a `pg_basebackup -F t` folder must list cleanly; base.tar must hold a cluster. */
export async function verifyBaseBackup(
  rt: ToolRuntime,
  dir: string,
  ctx: RestoreContext,
): Promise<{ base: string; wal?: string; archives: string[]; sizeBytes: number }> {
  const r = await runLogged(
    rt,
    ctx,
    ['find', dir, '-mindepth', '1', '-maxdepth', '1', '-type', 'f', '-name', '*.tar*'],
    { quietStdout: true },
  );
  if (r.exitCode !== 0)
    throw backupInvalid(
      `Cannot read the base backup folder ${dir}: ${r.stderrTail.join(' ') || `find exited ${r.exitCode}`}.`,
    );
  const archives = r.stdoutLines.filter(Boolean).sort();
  const byName = (re: RegExp) => archives.find((a) => re.test(posix.basename(a)));
  const base = byName(/^base\.tar(\.(gz|bz2|lz4|zst|xz))?$/);
  if (!base) throw backupInvalid(`${dir} holds no base.tar[.gz]: it is not a pg_basebackup -F t folder.`);
  const tablespaces = archives.filter((a) => /^\d+\.tar/.test(posix.basename(a)));
  if (tablespaces.length) {
    throw backupInvalid(
      `${dir} holds tablespace archives (${tablespaces.map((a) => posix.basename(a)).join(', ')}); restoring tablespaces is not supported: restore it by hand.`,
    );
  }
  let total = 0;
  for (const a of archives) {
    ctx.step(`Checking ${posix.basename(a)}`);
    // Every line is read as it comes (a big cluster lists far more than the 10,000 lines kept, and
    // pg_basebackup writes global/pg_control last).
    let entries = 0;
    let bytes = 0;
    let hasVersion = false;
    let hasControl = false;
    const l = await runLogged(rt, ctx, ['tar', '-tvf', a], {
      quietStdout: true,
      onStdout: (line) => {
        const e = parseTarVerboseLine(line);
        if (!e) return;
        entries++;
        bytes += e.size;
        if (e.name === 'PG_VERSION') hasVersion = true;
        if (e.name === 'global/pg_control') hasControl = true;
      },
    });
    if (l.exitCode !== 0) {
      throw backupInvalid(
        `The archive ${a} does not list cleanly (tar exited ${l.exitCode}: ${l.stderrTail.slice(-3).join(' ')}): the backup is damaged; nothing was changed.`,
      );
    }
    ctx.line(`${posix.basename(a)}: ${entries} entries, ${Math.round(bytes / 1024 / 1024)} MB, lists cleanly.`);
    total += bytes;
    if (a === base) {
      if (!hasVersion)
        throw backupInvalid(`${a} has no PG_VERSION: it is not a PostgreSQL base backup; nothing was changed.`);
      if (!hasControl)
        throw backupInvalid(
          `${a} has no global/pg_control: it is not a complete PostgreSQL base backup; nothing was changed.`,
        );
    }
  }
  return { base, wal: byName(/^pg_wal\.tar(\.(gz|bz2|lz4|zst|xz))?$/), archives, sizeBytes: total };
}

/** Checks the backup (set in pgBackRest info / every archive lists cleanly); throws a backupInvalid error (kind 'backup-invalid'). */
export async function verifySource(rt: ToolRuntime, src: PhysicalSource, ctx: RestoreContext): Promise<VerifiedSource> {
  if (src.kind === 'pgbackrest') return verifyPgBackRest(rt, src, ctx);
  const b = await verifyBaseBackup(rt, src.dir, ctx);
  return { from: src.dir, base: b.base, wal: b.wal, sizeBytes: b.sizeBytes };
}

/** One line of GNU `tar -tv`: `-rw------- postgres/postgres 8192 2026-11-24 21:00 ./global/pg_control`. */
export function parseTarVerboseLine(line: string): { name: string; size: number } | undefined {
  const m = /^\S+\s+\S+\s+(\d+)\s+\d{4}-\d{2}-\d{2}\s+\d{2}:\d{2}(?::\d{2})?\s+(.+)$/.exec(line);
  if (!m) return undefined;
  const name = m[2]!.replace(/ -> .*$/, '').replace(/^\.\//, '');
  return { name, size: Number(m[1]) };
}
