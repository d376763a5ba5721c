/**
 * Physical restores (pgBackRest, pg_basebackup) done the guide's way, but safely:
 *
 *   verify the backup → write a journal beside PGDATA → stop PostgreSQL → check it stopped
 *   → move PGDATA aside (`<PGDATA>.pre-restore-<stamp>`) → restore into a fresh PGDATA → start
 *   → wait until it accepts connections (and left recovery) → verify → drop the journal.
 *
 * Nothing is deleted: the old data folder is kept until the user deletes it. On any failure or
 * cancel the restore rolls back (stop, drop the half-restored folder, move the old one back, start).
 * The journal (`.tsdbops-restore-<name>.json` next to PGDATA, on the same volume) makes a crash of
 * the extension itself recoverable: `recoverInterruptedRestore` (run before every restore and by the
 * recovery command) finds it and rolls back the same way.
 */
import { posix } from 'node:path';
import type { ToolRuntime } from '../../runtime';
import { ToolFailedError } from '../../runtime';
import { isCancelled } from '../../operations/cancel';
import { pgbackrestInfo, type StanzaInfo } from '../pgbackrest';
import { errorText } from '../../format';
import { preRestoreName } from './pre-restore';
import { checkNotFuture, formatTimeTarget, setForTime, type RestorableSet } from './pitr';
import { restoreTypeOptions, targetOfSource, type RestoreTargetKind } from './target';
import { maskSecrets } from '../../operations/queue';
import {
  BackupVerifyError,
  connEnv,
  displayArgv,
  psqlArgv,
  RestoreError,
  runLogged,
  runLoggedChecked,
  type RestoreContext,
  type ServerConnection,
} from './run';

export interface PhysicalTarget {
  /** Where pg_ctl, mv, tar and pgbackrest run: a runtime that sees PGDATA. */
  readonly rt: ToolRuntime;
  /** PGDATA as the runtime sees it (the fixture and timescaledb-ha: /home/postgres/pgdata/data). */
  readonly dataDir: string;
  /** psql's way to the server from the runtime, to verify it. */
  readonly conn: ServerConnection;
  /**
   * Leave PostgreSQL running at the end (default true). False in a one-off restore container:
   * the restored server is verified there, stopped, and the service container starts it.
   */
  readonly leaveRunning?: boolean;
  /** How long to wait for PostgreSQL to start and finish recovery (default 600 s). */
  readonly startTimeoutSec?: number;
  /** Free space to keep on PGDATA's file system beyond the restored data (default 64 MiB). */
  readonly reserveBytes?: number;
}

export type PhysicalSource =
  | {
      readonly kind: 'pgbackrest';
      readonly stanza: string;
      readonly configPath?: string;
      /** A backup set label (default: the newest). */
      readonly set?: string;
      /** Point in time (`--type=time --target=… --target-action=promote`). */
      readonly time?: Date;
      /** Transaction id target (`--type=xid`). */
      readonly xid?: string;
      /** `--target-exclusive` for a time or xid target. */
      readonly exclusive?: boolean;
      /**
       * What to restore (see restore-target.ts). Default: time → 'time', xid → 'xid', set → 'set'
       * (exactly that set, `--type=immediate`), neither → 'latest' (newest set + every archived WAL).
       */
      readonly target?: RestoreTargetKind;
      /** Alias: with `set`, that set plus every archived WAL after it (target 'latest'). */
      readonly replayWal?: boolean;
      /** The repository to restore from (`--repo=N`); default: the chosen set's. */
      readonly repo?: number;
    }
  | {
      readonly kind: 'baseBackup';
      /** A `pg_basebackup -F t` folder (base.tar[.gz], pg_wal.tar[.gz]) as the runtime sees it. */
      readonly dir: string;
    };

export interface PhysicalRestoreResult {
  readonly kind: PhysicalSource['kind'];
  /** The old data folder, kept (delete it with tsdbOps.restore.deletePreRestoreCopy). */
  readonly preRestoreCopy?: string;
  /** pgBackRest: the set restored from; base backup: the folder. */
  readonly from: string;
  /** pgBackRest's --target for a point-in-time restore. */
  readonly target?: string;
  /** Set when an interrupted earlier restore was rolled back first. */
  readonly recoveredEarlier?: string;
  readonly databases: string[];
  readonly durationMs: number;
}

/** What the journal beside PGDATA says about a restore in flight. */
export interface RestoreJournal {
  readonly version: 1;
  readonly dataDir: string;
  readonly aside: string;
  readonly wasRunning: boolean;
  readonly leaveRunning: boolean;
  readonly started: string;
  readonly source: string;
  /** Process id file of the restore tool (pgbackrest / tar), to end it on recovery. */
  readonly pidFile: string;
  /**
   * pgBackRest: `pgbackrest start` for the stanza, stopped during the restore so no scheduled backup
   * races it; run as soon as the restore tool returned, at the start of a rollback, or on recovery.
   */
  readonly stanzaStart?: string[];
}

/** `pgbackrest … stop|start` for the source's stanza (no scheduled backup or expire while a restore runs). */
export function stanzaControlArgv(
  src: Extract<PhysicalSource, { kind: 'pgbackrest' }>,
  command: 'stop' | 'start',
): string[] {
  return [
    'pgbackrest',
    `--stanza=${src.stanza}`,
    ...(src.configPath ? [`--config=${src.configPath}`] : []),
    '--log-level-console=info',
    '--log-level-stderr=off',
    command,
  ];
}

export function journalPath(dataDir: string): string {
  const d = dataDir.replace(/\/+$/, '');
  return posix.join(posix.dirname(d), `.tsdbops-restore-${posix.basename(d)}.json`);
}

function pidPath(dataDir: string): string {
  const d = dataDir.replace(/\/+$/, '');
  return posix.join(posix.dirname(d), `.tsdbops-restore-${posix.basename(d)}.pid`);
}

/** A context without the cancel signal: rollback steps must run after a cancel. */
function uncancellable(ctx: RestoreContext): RestoreContext {
  return { step: ctx.step, line: ctx.line };
}

// ---------- PostgreSQL control (pg_ctl in the runtime) ----------

export type ServerState = 'running' | 'stopped' | 'noData';

export async function serverState(t: PhysicalTarget, ctx: RestoreContext): Promise<ServerState> {
  const r = await runLogged(t.rt, ctx, ['pg_ctl', '-D', t.dataDir, 'status']);
  if (r.exitCode === 0) return 'running';
  if (r.exitCode === 3) return 'stopped';
  if (r.exitCode === 4) return 'noData';
  throw new ToolFailedError(['pg_ctl', '-D', t.dataDir, 'status'], r.exitCode, r.stderrTail, t.rt.description);
}

/** Stops PostgreSQL: fast, else immediate; then checks it stopped. One exec. */
export async function stopServer(t: PhysicalTarget, ctx: RestoreContext): Promise<void> {
  const r = await runScript(t, ctx, 'stop-postgresql', `d=$1\n${STOP}`, [t.dataDir]);
  if (r.exitCode !== 0) throw scriptFailed(t, 'Stopping PostgreSQL', r);
}

// ---------- Scripts: several steps in one exec ----------
//
// Each exec costs a round trip through the Engine (about 60 ms), so the steps of a phase run as one
// fixed script. Every value (folders, the journal, psql's argv) is a positional argument, never part
// of the script text. A script reports on stdout: `tsdbops:step <title>` starts a progress step,
// `$ <argv>` is a command it runs (the `run` function), other lines are the tools' output.

const SCRIPT_PRELUDE = 'run() { printf "$ %s\\n" "$*"; "$@"; }\n';

/** psql's loop until the server accepts connections and has left recovery: polls every 100 ms inside the runtime. */
const WAIT_READY = `
end=$(( $(date +%s) + timeout ))
sql="SELECT CASE WHEN pg_is_in_recovery() THEN 't' ELSE 'f' END || '|' ||
  coalesce((SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datallowconn), '')"
while :; do
  r=$("$@" -c "$sql" 2>&1) && case $r in f\\|*) break ;; esac
  if [ "$(date +%s)" -ge "$end" ]; then echo "PostgreSQL did not become ready in $timeout s: $r" >&2; exit 96; fi
  sleep 0.1
done
echo "tsdbops:ready $r"
`;

/**
 * pg_ctl stop, fast (else immediate, crash-safe: recovery runs at the next start), then one status
 * check that it stopped (step "Checking PostgreSQL stopped"). Uses $d.
 */
const STOP = `if ! run pg_ctl -D "$d" -m fast -w -t 120 stop; then
  # A fast shutdown that did not finish in time: immediate.
  pg_ctl -D "$d" status >/dev/null 2>&1 && { run pg_ctl -D "$d" -m immediate -w -t 60 stop || exit 91; }
fi
echo "tsdbops:step Checking PostgreSQL stopped"
run pg_ctl -D "$d" status
if [ $? = 0 ]; then echo "PostgreSQL in $d is still running after pg_ctl stop." >&2; exit 92; fi
`;

interface ScriptResult {
  readonly exitCode: number;
  readonly stderrTail: string[];
  /** `tsdbops:<key> <value>` lines. */
  readonly marks: Map<string, string>;
}

/** Runs a fixed script (`sh -c`) with positional arguments; its steps and lines go to the context, secrets masked. */
async function runScript(
  t: PhysicalTarget,
  ctx: RestoreContext,
  what: string,
  script: string,
  args: readonly string[],
  opts: { env?: Record<string, string>; quiet?: boolean } = {},
): Promise<ScriptResult> {
  const mask = (l: string) => maskSecrets(l, [t.conn.password]);
  const marks = new Map<string, string>();
  const r = await t.rt.run(['sh', '-c', SCRIPT_PRELUDE + script, what, ...args], {
    env: opts.env,
    signal: ctx.signal,
    onStdoutLine: (l) => {
      const m = /^tsdbops:(\w+)(?: (.*))?$/.exec(l);
      if (!m) return ctx.line(mask(l));
      if (m[1] === 'step') ctx.step(m[2] ?? '');
      else marks.set(m[1]!, m[2] ?? '');
    },
    onStderrLine: (l) => (opts.quiet ? undefined : ctx.line(mask(l))),
  });
  return { exitCode: r.exitCode, stderrTail: r.stderrTail.map(mask), marks };
}

function scriptFailed(t: PhysicalTarget, what: string, r: ScriptResult): Error {
  const tail = r.stderrTail.slice(-5).join(' ').trim();
  return new Error(`${what} failed in ${t.rt.description} (exit ${r.exitCode})${tail ? `: ${tail}` : ''}`);
}

/** Where the started server logs: the container's own log (PID 1's stdout) when writable, else a file beside PGDATA. */
function serverLogArgs(t: PhysicalTarget): [string, string] {
  const beside = posix.join(posix.dirname(t.dataDir.replace(/\/+$/, '')), 'tsdbops-restore-postgresql.log');
  return [t.rt.kind === 'container' ? '/proc/1/fd/1' : '', beside];
}

/**
 * Starts PostgreSQL (`pg_ctl start -w`), waits until it accepts connections and has left recovery
 * (a PITR promotes at its target) and lists its databases, all in one exec; optionally removes a
 * file (the journal) once that check passed. Returns the databases.
 */
async function startAndVerify(
  t: PhysicalTarget,
  ctx: RestoreContext,
  opts: { removePidFile?: string; removeOnSuccess?: string } = {},
): Promise<string[]> {
  const timeout = String(t.startTimeoutSec ?? 600);
  const [log, beside] = serverLogArgs(t);
  const script = `d=$1 log=$2 alt=$3 timeout=$4 pidf=$5 done=$6; shift 6
[ -n "$pidf" ] && rm -f -- "$pidf"
{ [ -n "$log" ] && [ -w "$log" ]; } || log=$alt
echo "tsdbops:step Starting PostgreSQL"
run pg_ctl -D "$d" -l "$log" -w -t "$timeout" start || exit 95
echo "tsdbops:step Waiting until PostgreSQL accepts connections"
${WAIT_READY}
[ -n "\${r#f|}" ] || { echo "The restored server lists no databases." >&2; exit 97; }
[ -z "$done" ] || rm -f -- "$done"
`;
  const args = [
    t.dataDir,
    log,
    beside,
    timeout,
    opts.removePidFile ?? '',
    opts.removeOnSuccess ?? '',
    ...psqlArgv(t.conn),
  ];
  const r = await runScript(t, ctx, 'start-postgresql', script, args, { env: connEnv(t.conn) });
  if (r.exitCode !== 0) throw scriptFailed(t, 'Starting PostgreSQL', r);
  return databasesOf(r);
}

function databasesOf(r: ScriptResult): string[] {
  const ready = r.marks.get('ready') ?? '';
  return ready.replace(/^f\|/, '').split(',').filter(Boolean);
}

export async function startServer(t: PhysicalTarget, ctx: RestoreContext): Promise<void> {
  await startAndVerify(t, ctx);
}

/** Waits until the server accepts connections and has left recovery (polled every 100 ms inside the runtime, one exec). */
export async function waitReady(t: PhysicalTarget, ctx: RestoreContext): Promise<void> {
  const script = `timeout=$1; shift 1
${WAIT_READY}`;
  const args = [String(t.startTimeoutSec ?? 600), ...psqlArgv(t.conn)];
  const r = await runScript(t, ctx, 'wait-ready', script, args, { env: connEnv(t.conn) });
  if (r.exitCode !== 0) throw scriptFailed(t, 'Waiting for PostgreSQL', r);
}

async function exists(
  t: PhysicalTarget,
  ctx: RestoreContext,
  path: string,
  flag: '-e' | '-d' | '-f' = '-e',
): Promise<boolean> {
  return (await runLogged(t.rt, ctx, ['test', flag, path])).exitCode === 0;
}

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
}> {
  ctx.line(`$ pgbackrest --stanza=${stanza}${configPath ? ` --config=${configPath}` : ''} --output=json info`);
  let info: StanzaInfo;
  try {
    info = await pgbackrestInfo({ runtime: rt, stanza, configPath }, ctx.signal);
  } catch (e) {
    if (isCancelled(e)) throw e;
    throw new BackupVerifyError(`pgBackRest info failed: ${errorText(e)}`);
  }
  let status = info.status;
  let usable = (_k: number | undefined) => true;
  if (repo !== undefined) {
    const r = info.repos.find((x) => x.key === repo);
    if (!r && (info.repos.length || repo !== 1))
      throw new BackupVerifyError(
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
}

async function verifyPgBackRest(
  rt: ToolRuntime,
  src: Extract<PhysicalSource, { kind: 'pgbackrest' }>,
  ctx: RestoreContext,
): Promise<VerifiedSource> {
  const info = await restorableSets(rt, ctx, src.stanza, src.configPath, src.repo);
  if (info.status.code !== 0) {
    throw new BackupVerifyError(
      `pgBackRest stanza "${src.stanza}" is not restorable: ${info.status.message} (status ${info.status.code}).`,
    );
  }
  const repoArg = (set: RestorableSet) => {
    const k = src.repo ?? (info.multiRepo ? set.repoKey : undefined);
    return k !== undefined ? [`--repo=${k}`] : [];
  };
  if (info.lockHeld)
    throw new BackupVerifyError(
      `A pgBackRest backup of stanza "${src.stanza}" is running: wait for it to finish, then restore.`,
    );
  if (!info.sets.length)
    throw new BackupVerifyError(
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
      throw new BackupVerifyError(errorText(e));
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
    throw new BackupVerifyError(
      `Backup set ${src.set} is not in stanza "${src.stanza}"${src.repo ? ` repo${src.repo}` : ''} (sets: ${info.sets.map((s) => s.label).join(', ')}).`,
    );
  ctx.line(
    `Backup set ${set.label} (${set.type}, ended ${set.stop.toISOString()}) is in the repository` +
      `${set.repoKey && info.multiRepo ? ` (repo${set.repoKey})` : ''}.`,
  );
  if (t.target === 'latest') ctx.line('Every WAL archived after it is replayed (the latest state).');
  return {
    from: set.label,
    target: t.target === 'xid' ? `xid ${t.xid}` : undefined,
    sizeBytes: set.sizeBytes,
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
    throw new BackupVerifyError(
      `Cannot read the base backup folder ${dir}: ${r.stderrTail.join(' ') || `find exited ${r.exitCode}`}.`,
    );
  const archives = r.stdoutLines.filter(Boolean).sort();
  const byName = (re: RegExp) => archives.find((a) => re.test(posix.basename(a)));
  const base = byName(/^base\.tar(\.(gz|bz2|lz4|zst|xz))?$/);
  if (!base) throw new BackupVerifyError(`${dir} holds no base.tar[.gz]: it is not a pg_basebackup -F t folder.`);
  const tablespaces = archives.filter((a) => /^\d+\.tar/.test(posix.basename(a)));
  if (tablespaces.length) {
    throw new BackupVerifyError(
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
      throw new BackupVerifyError(
        `The archive ${a} does not list cleanly (tar exited ${l.exitCode}: ${l.stderrTail.slice(-3).join(' ')}): the backup is damaged; nothing was changed.`,
      );
    }
    ctx.line(`${posix.basename(a)}: ${entries} entries, ${Math.round(bytes / 1024 / 1024)} MB, lists cleanly.`);
    total += bytes;
    if (a === base) {
      if (!hasVersion)
        throw new BackupVerifyError(`${a} has no PG_VERSION: it is not a PostgreSQL base backup; nothing was changed.`);
      if (!hasControl)
        throw new BackupVerifyError(
          `${a} has no global/pg_control: it is not a complete PostgreSQL base backup; nothing was changed.`,
        );
    }
  }
  return { base, wal: byName(/^pg_wal\.tar(\.(gz|bz2|lz4|zst|xz))?$/), archives, sizeBytes: total };
}

/** Checks the backup (set in pgBackRest info / every archive lists cleanly); throws BackupVerifyError. */
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

/** `df -P -k DIR`: the available bytes on DIR's file system. */
export function parseDfAvailable(lines: readonly string[]): number | undefined {
  const row = lines.slice(1).find((l) => l.trim());
  const cols = row?.trim().split(/\s+/);
  const kb = cols && cols.length >= 4 ? Number(cols[3]) : NaN;
  return Number.isFinite(kb) ? kb * 1024 : undefined;
}

/** Refuses a restore that would fill the disk: the old folder stays (moved aside), the new one needs room too. */
function checkFreeSpace(
  t: PhysicalTarget,
  ctx: RestoreContext,
  free: number | undefined,
  need: number | undefined,
): void {
  if (!need || free === undefined) return;
  const parent = posix.dirname(t.dataDir);
  const mb = (n: number) => `${Math.ceil(n / 1024 / 1024)} MB`;
  const wanted = Math.ceil(need * 1.1) + (t.reserveBytes ?? 64 * 1024 * 1024);
  ctx.line(`Free space in ${parent}: ${mb(free)}; the restored data needs about ${mb(need)}.`);
  if (free < wanted) {
    throw new BackupVerifyError(
      `Not enough free space in ${parent}: the restore needs about ${mb(wanted)} ` +
        `(the data of the backup, while the current data folder is kept aside), ${mb(free)} are free. ` +
        `Free some space (e.g. delete an old pre-restore copy); nothing was changed.`,
    );
  }
}

/** What one exec tells before a restore: an unfinished restore's journal, the server's state, free space, the aside name taken. */
interface ServerProbe {
  readonly journal: boolean;
  readonly state: ServerState;
  readonly freeBytes?: number;
  readonly asideExists: boolean;
}

async function probeServer(t: PhysicalTarget, ctx: RestoreContext, aside: string): Promise<ServerProbe> {
  const script = `d=$1 journal=$2 aside=$3 parent=$4
[ -e "$journal" ] && echo "tsdbops:journal"
run pg_ctl -D "$d" status; echo "tsdbops:state $?"
df -P -k "$parent" 2>/dev/null | { read -r h; read -r l && echo "tsdbops:df $l"; }
[ -e "$aside" ] && echo "tsdbops:aside"
exit 0
`;
  const r = await runScript(t, ctx, 'probe', script, [
    t.dataDir,
    journalPath(t.dataDir),
    aside,
    posix.dirname(t.dataDir),
  ]);
  if (r.exitCode !== 0) throw scriptFailed(t, 'Checking the server', r);
  const code = Number(r.marks.get('state'));
  const state = code === 0 ? 'running' : code === 3 ? 'stopped' : code === 4 ? 'noData' : undefined;
  if (!state) throw new ToolFailedError(['pg_ctl', '-D', t.dataDir, 'status'], code, r.stderrTail, t.rt.description);
  const df = r.marks.get('df');
  return {
    journal: r.marks.has('journal'),
    state,
    freeBytes: df === undefined ? undefined : parseDfAvailable(['header', df]),
    asideExists: r.marks.has('aside'),
  };
}

// ---------- Journal, rollback, recovery ----------

export async function readJournal(t: PhysicalTarget, ctx: RestoreContext): Promise<RestoreJournal | undefined> {
  const file = journalPath(t.dataDir);
  const r = await runLogged(t.rt, ctx, ['cat', file], { quietStdout: true });
  if (r.exitCode !== 0) return undefined;
  try {
    const j = JSON.parse(r.stdoutLines.join('\n')) as RestoreJournal;
    if (j.version !== 1 || !j.dataDir || !j.aside) throw new Error('unknown journal');
    return j;
  } catch (e) {
    throw new Error(
      `The restore journal ${file} cannot be read (${errorText(e)}): check ${posix.dirname(file)} by hand (see the README, "Rolling back by hand").`,
    );
  }
}

/** Sends a signal with the shell's own kill (minimal images have no procps, so no /bin/kill). */
function killArgv(signal: 'TERM' | 'KILL', pid: string): string[] {
  return ['sh', '-c', `kill -${signal} "$0"`, pid];
}

/** The process still runs the restore tool (its cmdline; a zombie or a reused pid does not count). */
async function toolRunning(t: PhysicalTarget, ctx: RestoreContext, pid: string): Promise<boolean> {
  const cmd = await runLogged(t.rt, { ...ctx, line: () => undefined }, ['cat', `/proc/${pid}/cmdline`], {
    quietStdout: true,
  });
  return cmd.exitCode === 0 && /pgbackrest|tar/.test(cmd.stdoutLines.join(' '));
}

/** Ends the restore tool of an interrupted restore (by the pid it recorded), if it still runs: TERM, then KILL after 10 s. */
async function endRestoreTool(t: PhysicalTarget, ctx: RestoreContext, pidFile: string): Promise<void> {
  const r = await runLogged(t.rt, ctx, ['cat', pidFile], { quietStdout: true });
  const pid = r.exitCode === 0 ? r.stdoutLines[0]?.trim() : undefined;
  if (pid && /^\d+$/.test(pid) && (await toolRunning(t, ctx, pid))) {
    ctx.line(`The restore tool (pid ${pid}) is still running: ending it.`);
    await runLogged(t.rt, ctx, killArgv('TERM', pid));
    for (let i = 1; await toolRunning(t, ctx, pid); i++) {
      if (i === 40) await runLogged(t.rt, ctx, killArgv('KILL', pid));
      if (i > 200)
        throw new Error(
          `The restore tool (pid ${pid}) does not end: stop it, then run Recover Interrupted Restore again.`,
        );
      await new Promise((res) => setTimeout(res, 250));
    }
  }
  await runLogged(t.rt, ctx, ['rm', '-f', pidFile]);
}

/**
 * rm -rf, retried: the workers of an ended restore tool (pgBackRest's local processes) may still
 * write a file or two for a moment.
 */
async function removeDir(t: PhysicalTarget, ctx: RestoreContext, dir: string): Promise<void> {
  for (let i = 0; ; i++) {
    const r = await runLogged(t.rt, ctx, ['rm', '-rf', '--', dir]);
    if (r.exitCode === 0) return;
    if (i >= 20) throw new ToolFailedError(['rm', '-rf', '--', dir], r.exitCode, r.stderrTail, t.rt.description);
    await new Promise((res) => setTimeout(res, 500));
  }
}

/**
 * Puts the data folder a journal names back: ends the restore tool, stops a server running on the
 * half-restored folder, removes it, moves the old one back, starts PostgreSQL (when it ran before
 * and the target leaves it running), and drops the journal.
 */
async function rollBack(t: PhysicalTarget, ctx0: RestoreContext, j: RestoreJournal): Promise<void> {
  const ctx = uncancellable(ctx0);
  await endRestoreTool(t, ctx, j.pidFile);
  if (j.stanzaStart) {
    ctx.step('Starting the pgBackRest stanza again');
    await runLogged(t.rt, ctx, j.stanzaStart);
  }
  if (await exists(t, ctx, j.aside, '-d')) {
    if ((await serverState(t, ctx).catch(() => 'stopped' as const)) === 'running') {
      ctx.step('Stopping the restored PostgreSQL');
      await stopServer(t, ctx);
    }
    ctx.step(`Putting ${j.dataDir} back`);
    await removeDir(t, ctx, j.dataDir);
    await runLoggedChecked(t.rt, ctx, ['mv', '--', j.aside, j.dataDir]);
  }
  if (j.wasRunning && j.leaveRunning && (await serverState(t, ctx)) !== 'running') {
    ctx.step('Starting PostgreSQL on the previous data');
    await startServer(t, ctx);
  }
  await runLoggedChecked(t.rt, ctx, ['rm', '-f', '--', journalPath(t.dataDir)]);
  ctx.line(`Rolled back: ${j.dataDir} holds the data from before the restore again.`);
}

/**
 * Finds the journal of a restore that never finished (VS Code died, the container restarted …)
 * and rolls it back. Returns the journal it acted on, or undefined when there was none.
 */
export async function recoverInterruptedRestore(
  t: PhysicalTarget,
  ctx: RestoreContext,
): Promise<RestoreJournal | undefined> {
  const j = await readJournal(t, ctx);
  if (!j) return undefined;
  ctx.step('Rolling back an interrupted restore');
  ctx.line(`Found ${journalPath(t.dataDir)}: a restore started ${j.started} (${j.source}) did not finish.`);
  await rollBack(t, ctx, j);
  return j;
}

// ---------- The restore ----------

function describeSource(src: PhysicalSource): string {
  if (src.kind === 'baseBackup') return `pg_basebackup ${src.dir}`;
  const t = targetOfSource(src);
  const at = src.time ? ` time ${formatTimeTarget(src.time)}` : src.xid ? ` xid ${src.xid}` : '';
  return `pgBackRest stanza ${src.stanza}${src.repo ? ` repo${src.repo}` : ''} ${t.target}${src.set ? ` set ${src.set}` : ''}${at}`;
}

/** Runs a restore tool with its pid recorded (a fixed wrapper; the tool's argv stays separate). */
async function runTool(
  t: PhysicalTarget,
  ctx: RestoreContext,
  pidFile: string,
  argv: readonly string[],
): Promise<void> {
  ctx.line(`$ ${displayArgv(argv)}`);
  const r = await t.rt.run(['sh', '-c', 'echo $$ > "$0"; exec "$@"', pidFile, ...argv], {
    signal: ctx.signal,
    onStdoutLine: (l) => ctx.line(l),
    onStderrLine: (l) => ctx.line(l),
  });
  if (r.exitCode !== 0) throw new ToolFailedError(argv, r.exitCode, r.stderrTail, t.rt.description);
}

/** Exit code of the take-down script when the journal could not be written: nothing was changed. */
const JOURNAL_FAILED = 90;

/**
 * Writes the journal, stops PostgreSQL (fast, else immediate), checks it stopped, moves PGDATA aside
 * and creates the empty one, in one exec (not cancellable: a half-done shutdown is no state to roll
 * back from; a cancel acts right after). Says whether the old folder was moved aside.
 */
async function takeDown(t: PhysicalTarget, ctx: RestoreContext, j: RestoreJournal): Promise<{ moved: boolean }> {
  const script = `d=$1 aside=$2 journal=$3 json=$4 running=$5
{ printf "%s\\n" "$json" > "$journal.tmp" && mv "$journal.tmp" "$journal"; } || exit ${JOURNAL_FAILED}
if [ "$running" = 1 ]; then
  echo "tsdbops:step Stopping PostgreSQL"
  ${STOP}
else
  echo "tsdbops:step Checking PostgreSQL stopped"
  run pg_ctl -D "$d" status
  if [ $? = 0 ]; then echo "PostgreSQL in $d is running: nothing was changed." >&2; exit 92; fi
fi
if [ -d "$d" ]; then
  echo "tsdbops:step Moving \${d##*/} aside to \${aside##*/}"
  run mv -- "$d" "$aside" || exit 93
  echo "tsdbops:moved"
fi
run mkdir -m 0700 -- "$d" || exit 94
`;
  const r = await runScript(t, uncancellable(ctx), 'take-down', script, [
    t.dataDir,
    j.aside,
    journalPath(t.dataDir),
    JSON.stringify(j),
    j.wasRunning ? '1' : '0',
  ]);
  if (r.exitCode === JOURNAL_FAILED)
    throw new JournalError(
      `Could not write the restore journal ${journalPath(t.dataDir)} (${r.stderrTail.join(' ')}): nothing was changed.`,
    );
  if (r.exitCode !== 0) throw scriptFailed(t, 'Stopping PostgreSQL and moving the data folder aside', r);
  return { moved: r.marks.has('moved') };
}

class JournalError extends Error {}

export async function restorePhysical(
  t: PhysicalTarget,
  src: PhysicalSource,
  ctx: RestoreContext,
): Promise<PhysicalRestoreResult> {
  const t0 = Date.now();
  const dataDir = t.dataDir.replace(/\/+$/, '');
  const target: PhysicalTarget = { ...t, dataDir };
  const leaveRunning = t.leaveRunning ?? true;
  const aside = preRestoreName(dataDir, new Date());

  // Read-only checks side by side: the backup (pgBackRest info / every archive lists) and, in one
  // exec, the server (an unfinished restore's journal, its state, free space, the aside name).
  ctx.step('Verifying the backup');
  const [probed, verified] = await Promise.allSettled([
    probeServer(target, ctx, aside),
    verifySource(target.rt, src, ctx),
  ]);
  if (probed.status === 'rejected') throw probed.reason;
  let probe = probed.value;
  let earlier: RestoreJournal | undefined;
  if (probe.journal) {
    earlier = await recoverInterruptedRestore(target, ctx);
    probe = await probeServer(target, ctx, aside);
  }
  if (verified.status === 'rejected') throw verified.reason;
  const v = verified.value;
  checkFreeSpace(target, ctx, probe.freeBytes, v.sizeBytes);
  ctx.signal?.throwIfAborted();
  if (probe.asideExists) throw new Error(`${aside} already exists: wait a second and try again.`);

  const journal: RestoreJournal = {
    version: 1,
    dataDir,
    aside,
    wasRunning: probe.state === 'running',
    leaveRunning,
    started: new Date().toISOString(),
    source: describeSource(src),
    pidFile: pidPath(dataDir),
    ...(src.kind === 'pgbackrest' ? { stanzaStart: stanzaControlArgv(src, 'start') } : {}),
  };
  let databases: string[] = [];
  let moved = false;
  let stanzaStopped = false;
  try {
    moved = (await takeDown(target, ctx, journal)).moved;
    if (src.kind === 'pgbackrest') {
      // Right after PostgreSQL's shutdown (which archives its last WAL: the stop file makes archive-push
      // refuse too): a scheduled backup that fires during the restore fails fast with [062].
      ctx.step(`Stopping pgBackRest stanza ${src.stanza} (no backup during the restore)`);
      await runLoggedChecked(target.rt, uncancellable(ctx), stanzaControlArgv(src, 'stop'));
      stanzaStopped = true;
    }
    ctx.signal?.throwIfAborted();

    if (src.kind === 'pgbackrest') {
      ctx.step(v.target ? `Restoring ${v.from} to ${v.target}` : `Restoring ${v.from}`);
      await runTool(target, ctx, journal.pidFile, v.restoreArgv!);
      // Before PostgreSQL starts: while the stanza is stopped archive-get refuses ([062]) and recovery would end early.
      ctx.step(`Starting pgBackRest stanza ${src.stanza} again`);
      await runLoggedChecked(target.rt, uncancellable(ctx), stanzaControlArgv(src, 'start'));
      stanzaStopped = false;
    } else {
      ctx.step(`Extracting ${posix.basename(v.base!)}`);
      await runTool(target, ctx, journal.pidFile, ['tar', '-xf', v.base!, '-C', dataDir]);
      if (v.wal) {
        ctx.step(`Extracting ${posix.basename(v.wal)}`);
        await runLoggedChecked(target.rt, ctx, ['mkdir', '-p', '-m', '0700', '--', posix.join(dataDir, 'pg_wal')]);
        await runTool(target, ctx, journal.pidFile, ['tar', '-xf', v.wal, '-C', posix.join(dataDir, 'pg_wal')]);
      }
      await runLoggedChecked(target.rt, ctx, ['chmod', '0700', '--', dataDir]);
    }
    ctx.signal?.throwIfAborted();

    // Start, wait until it accepts connections and left recovery, verify (databases listed, not in
    // recovery), and, when it stays running, drop the journal once verified: one exec.
    databases = await startAndVerify(target, ctx, {
      removePidFile: journal.pidFile,
      removeOnSuccess: leaveRunning ? journalPath(dataDir) : undefined,
    });
    ctx.line(`Databases: ${databases.join(', ')}`);
    if (!leaveRunning) {
      ctx.step('Stopping the restored PostgreSQL (the service starts it)');
      await stopServer(target, uncancellable(ctx));
    }
  } catch (e) {
    if (e instanceof JournalError) throw e;
    const cancelled = isCancelled(e) || ctx.signal?.aborted;
    ctx.line(cancelled ? 'Cancelled: rolling back.' : `Failed: ${errorText(e)}. Rolling back.`);
    ctx.step('Rolling back');
    try {
      await rollBack(target, ctx, stanzaStopped ? journal : { ...journal, stanzaStart: undefined });
    } catch (rb) {
      throw new RestoreError(
        `The restore ${cancelled ? 'was cancelled' : `failed (${errorText(e)})`} and the rollback failed too (${errorText(rb)}). ` +
          `The previous data folder is kept at ${aside}; the journal ${journalPath(dataDir)} is still there: ` +
          `run "TimescaleDB Ops: Recover Interrupted Restore" or roll back by hand (README).`,
        false,
        e,
        aside,
      );
    }
    throw new RestoreError(
      cancelled
        ? `The restore was cancelled; the previous data is back in ${dataDir} and PostgreSQL runs on it.`
        : `The restore failed (${errorText(e)}); the previous data is back in ${dataDir}.`,
      true,
      e,
    );
  }
  // Done: the new data is verified, so the journal goes (the moved-aside copy stays).
  if (!leaveRunning) await runLoggedChecked(target.rt, uncancellable(ctx), ['rm', '-f', '--', journalPath(dataDir)]);
  ctx.line(
    `Restored ${v.from}${v.target ? ` to ${v.target}` : ''}.${moved ? ` The previous data folder is kept at ${aside}.` : ''}`,
  );
  return {
    kind: src.kind,
    preRestoreCopy: moved ? aside : undefined,
    from: v.from,
    target: v.target,
    recoveredEarlier: earlier?.started,
    databases,
    durationMs: Date.now() - t0,
  };
}

/** Deletes a moved-aside copy (only a `<PGDATA>.pre-restore-<stamp>` folder next to PGDATA, never PGDATA itself). */
export async function deletePreRestoreCopy(t: PhysicalTarget, path: string, ctx: RestoreContext): Promise<void> {
  const dataDir = t.dataDir.replace(/\/+$/, '');
  const p = path.replace(/\/+$/, '');
  const ok =
    posix.dirname(p) === posix.dirname(dataDir) &&
    /\.pre-restore-\d{8}_\d{6}$/.test(p) &&
    posix.basename(p).startsWith(`${posix.basename(dataDir)}.pre-restore-`);
  if (!ok)
    throw new Error(
      `${path} is not a pre-restore copy of ${dataDir} (expected ${dataDir}.pre-restore-YYYYmmdd_HHMMSS).`,
    );
  const j = await readJournal(t, ctx);
  if (j?.aside === p)
    throw new Error(
      `${p} is the way back of a restore that has not finished: recover it first (TimescaleDB Ops: Recover Interrupted Restore).`,
    );
  if (!(await exists(t, ctx, p, '-d'))) throw new Error(`${p} does not exist.`);
  await runLoggedChecked(t.rt, ctx, ['rm', '-rf', '--', p]);
}
