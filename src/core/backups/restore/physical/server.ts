/** PostgreSQL control in the runtime (pg_ctl, one exec per step's script), the probe before a restore, free space. */
import { posix } from 'node:path';
import { ToolFailedError } from '../../../runtime';
import { maskSecrets } from '../../../operations/queue';
import { backupInvalid, connEnv, psqlArgv, runLogged, type RestoreContext } from '../run';
import type { PhysicalSource, PhysicalTarget } from './types';
import { OpsError } from '../../../errors/error';
import { replayProgressLine } from '../recovery-proof';

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

export function pidPath(dataDir: string): string {
  const d = dataDir.replace(/\/+$/, '');
  return posix.join(posix.dirname(d), `.tsdbops-restore-${posix.basename(d)}.pid`);
}

/** A context without the cancel signal: rollback steps must run after a cancel. */
export function uncancellable(ctx: RestoreContext): RestoreContext {
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

export const SCRIPT_PRELUDE = 'run() { printf "$ %s\\n" "$*"; "$@"; }\n';

/**
 * psql's loop until the server accepts connections and has left recovery. Polls every 100 ms for the first
 * 2 s (a restart with little WAL is ready at once), then every 0.5 s, and from 10 s on every second: a long
 * replay is one core applying WAL, and a psql every 100 ms for minutes takes CPU from it on a small machine.
 * With `$d` (PGDATA) set and its recovery.signal there, archive recovery still runs: only the file is looked at
 * (a shell test every 100 ms, no psql) with one full check a second; PostgreSQL removes the file when redo is
 * done, before its end-of-recovery checkpoint, and from then on the server is asked every 100 ms again, so the
 * end of a long replay is seen within about 100 ms of the server's ready, not up to a second later.
 * While the server replays it prints `tsdbops:replayed <lsn>` at most every 5 s when replay moved.
 */
export const WAIT_READY = `
end=$(( $(date +%s) + timeout ))
sql="SELECT CASE WHEN pg_is_in_recovery() THEN 't' ELSE 'f' END || '|' ||
  coalesce((SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datallowconn), '') ||
  CASE WHEN pg_is_in_recovery() THEN '|' || coalesce(pg_last_wal_replay_lsn()::text, '') ELSE '' END"
i=0 said=0 last='' w=0 sig=
while :; do
  if [ -n "\${d:-}" ] && [ -e "$d/recovery.signal" ]; then
    sig=1
    if [ $w -lt 10 ]; then w=$((w + 1)); sleep 0.1; continue; fi
  elif [ -n "$sig" ]; then sig= i=0
  fi
  w=0
  r=$("$@" -c "$sql" 2>&1) && case $r in f\\|*) break ;; esac
  case $r in t\\|*\\|?*)
    lsn=\${r##*|}; now=$(date +%s)
    if [ "$lsn" != "$last" ] && [ $((now - said)) -ge 5 ]; then echo "tsdbops:replayed $lsn"; said=$now last=$lsn; fi ;;
  esac
  # The server stopped (a restore_command that failed fatally during recovery): no use waiting.
  if [ -n "\${d:-}" ] && ! pg_ctl -D "$d" status >/dev/null 2>&1; then echo "PostgreSQL stopped during recovery: $r" >&2; exit 98; fi
  if [ "$(date +%s)" -ge "$end" ]; then echo "PostgreSQL did not become ready in $timeout s: $r" >&2; exit 96; fi
  i=$((i + 1))
  [ -n "$sig" ] && continue
  if [ $i -le 20 ]; then sleep 0.1; elif [ $i -le 36 ]; then sleep 0.5; else sleep 1; fi
done
echo "tsdbops:ready $r"
`;

/**
 * pg_ctl stop, fast (else immediate, crash-safe: recovery runs at the next start), then one status
 * check that it stopped (step "Checking PostgreSQL stopped"). Uses $d.
 */
export const STOP = `if ! run pg_ctl -D "$d" -m fast -w -t 120 stop; then
  # A fast shutdown that did not finish in time: immediate.
  pg_ctl -D "$d" status >/dev/null 2>&1 && { run pg_ctl -D "$d" -m immediate -w -t 60 stop || exit 91; }
fi
echo "tsdbops:step Checking PostgreSQL stopped"
run pg_ctl -D "$d" status
if [ $? = 0 ]; then echo "PostgreSQL in $d is still running after pg_ctl stop." >&2; exit 92; fi
`;

/** Where a script runs and the server it may ask (its password is masked in what the script prints). */
export type ScriptPlace = Pick<PhysicalTarget, 'rt' | 'conn'>;

export interface ScriptResult {
  readonly exitCode: number;
  readonly stderrTail: string[];
  /** `tsdbops:<key> <value>` lines. */
  readonly marks: Map<string, string>;
}

/** Runs a fixed script (`sh -c`) with positional arguments; its steps and lines go to the context, secrets masked. */
export async function runScript(
  t: ScriptPlace,
  ctx: RestoreContext,
  what: string,
  script: string,
  args: readonly string[],
  opts: { env?: Record<string, string>; quiet?: boolean; newestWal?: string } = {},
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
      else if (m[1] === 'replayed') ctx.line(replayProgressLine(m[2] ?? '', opts.newestWal) ?? l);
      else marks.set(m[1]!, m[2] ?? '');
    },
    onStderrLine: (l) => (opts.quiet ? undefined : ctx.line(mask(l))),
  });
  return { exitCode: r.exitCode, stderrTail: r.stderrTail.map(mask), marks };
}

export function scriptFailed(t: ScriptPlace, what: string, r: ScriptResult): Error {
  const tail = r.stderrTail.slice(-5).join(' ').trim();
  return new OpsError(
    'tool-failed',
    `${what} failed in ${t.rt.description} (exit ${r.exitCode})${tail ? `: ${tail}` : ''}`,
  );
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
export async function startAndVerify(
  t: PhysicalTarget,
  ctx: RestoreContext,
  opts: { removePidFile?: string; removeOnSuccess?: string; newestWal?: string } = {},
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
  const r = await runScript(t, ctx, 'start-postgresql', script, args, {
    env: connEnv(t.conn),
    newestWal: opts.newestWal,
  });
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

/**
 * Waits, in one exec, until the server accepts connections and has left recovery (WAIT_READY). With `dataDir` (a
 * server this process started: a drill's scratch copy) the end of redo is seen at once and a server that stopped
 * ends the wait with exit 98; no readiness in `timeoutSec` ends it with exit 96. `quiet`: the script's stderr is
 * not said (the caller words the failure).
 */
export function waitLeftRecovery(
  place: ScriptPlace,
  ctx: RestoreContext,
  opts: { dataDir?: string; timeoutSec: number; newestWal?: string; quiet?: boolean },
): Promise<ScriptResult> {
  const script = `d=$1 timeout=$2; shift 2
${WAIT_READY}`;
  const args = [opts.dataDir ?? '', String(opts.timeoutSec), ...psqlArgv(place.conn)];
  return runScript(place, ctx, 'wait-ready', script, args, {
    env: connEnv(place.conn),
    newestWal: opts.newestWal,
    quiet: opts.quiet,
  });
}

/** Waits until the server accepts connections and has left recovery (WAIT_READY's polling, inside the runtime, one exec). */
export async function waitReady(t: PhysicalTarget, ctx: RestoreContext, newestWal?: string): Promise<void> {
  const r = await waitLeftRecovery(t, ctx, { timeoutSec: t.startTimeoutSec ?? 600, newestWal });
  if (r.exitCode !== 0) throw scriptFailed(t, 'Waiting for PostgreSQL', r);
}

export async function exists(
  t: PhysicalTarget,
  ctx: RestoreContext,
  path: string,
  flag: '-e' | '-d' | '-f' = '-e',
): Promise<boolean> {
  return (await runLogged(t.rt, ctx, ['test', flag, path])).exitCode === 0;
}

/** `df -P -k DIR`: the available bytes on DIR's file system. */
export function parseDfAvailable(lines: readonly string[]): number | undefined {
  const row = lines.slice(1).find((l) => l.trim());
  const cols = row?.trim().split(/\s+/);
  const kb = cols && cols.length >= 4 ? Number(cols[3]) : NaN;
  return Number.isFinite(kb) ? kb * 1024 : undefined;
}

/** Refuses a restore that would fill the disk: the old folder stays (moved aside), the new one needs room too. */
export function checkFreeSpace(
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
    throw backupInvalid(
      `Not enough free space in ${parent}: the restore needs about ${mb(wanted)} ` +
        `(the data of the backup, while the current data folder is kept aside), ${mb(free)} are free. ` +
        `Free some space (e.g. delete an old pre-restore copy); nothing was changed.`,
    );
  }
}

/** What one exec tells before a restore: an unfinished restore's journal, the server's state, free space, the aside name taken. */
export interface ServerProbe {
  readonly journal: boolean;
  readonly state: ServerState;
  readonly freeBytes?: number;
  readonly asideExists: boolean;
}

export async function probeServer(t: PhysicalTarget, ctx: RestoreContext, aside: string): Promise<ServerProbe> {
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
