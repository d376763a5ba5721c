/**
 * The recovery of one pgBackRest restore (a restore of the stack, or a drill's scratch copy): fast, and proven
 * to reach the end of the archive.
 *
 * - Before the restore tool runs: what an interrupted restore left is swept, the machine is measured (cores,
 *   free space of the spool candidates) and the options of THIS restore are chosen (recovery-speed.ts: the
 *   user's own settings win), the spool and the restore_command wrapper are set up, and the restore's output
 *   names each choice and why.
 * - After the server left recovery: a latest-state restore must have replayed into the newest archived WAL
 *   segment noted from `pgbackrest info` before the restore (recovery-proof.ts); short of it, or when the
 *   server stopped because a segment could not be read, the restore is incomplete (RecoveryIncompleteError)
 *   and the caller rolls back (a drill fails with the same words).
 * - Afterwards, success or not: the wrapper, its log and the spool go; a verified server gets pgBackRest's own
 *   restore_command back in postgresql.auto.conf (the wrapper it named is gone).
 */
import type { ToolRuntime } from '../../../runtime';
import { errorText } from '../../../format';
import { RecoveryIncompleteError } from '../../../errors/backups';
import { checkRecoveryEnd } from '../recovery-proof';
import {
  plainRestoreCommand,
  probeRecoveryMachine,
  replayEnd,
  setUpRecoverySpeed,
  sweepRecoveryLeftovers,
  tearDownRecoverySpeed,
} from '../recovery-run';
import { userSpoolPath, type RecoveryMachine, type RecoverySpeed } from '../recovery-speed';
import { parseWrapperLog } from '../recovery-wrapper';
import {
  connEnv,
  psqlArgv,
  psqlQuery,
  runLoggedChecked,
  sqlLiteral,
  type RestoreContext,
  type ServerConnection,
} from '../run';

export { RecoveryIncompleteError };

/** The PGBACKREST_* variables that set what recovery-speed.ts may choose (they count as the user's settings). */
export const SPEED_ENV = [
  'PGBACKREST_ARCHIVE_ASYNC',
  'PGBACKREST_SPOOL_PATH',
  'PGBACKREST_ARCHIVE_GET_QUEUE_MAX',
  'PGBACKREST_PROCESS_MAX',
] as const;

/** The speed variables of an environment list (`Config.Env` of a container). */
export function speedEnvOf(env: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env ?? []) {
    const i = e.indexOf('=');
    const k = e.slice(0, i);
    if ((SPEED_ENV as readonly string[]).includes(k)) out[k] = e.slice(i + 1);
  }
  return out;
}

export interface RecoveryPlace {
  /** Where the restore tool and the restored server run. */
  readonly rt: ToolRuntime;
  readonly dataDir: string;
  readonly stanza: string;
  /** `--config` of the restore (the stack context's), when it passes one. */
  readonly configPath?: string;
  /** `--repo=N` of the restore, when it names one (archive-get reads the same repository). */
  readonly repoArgs?: readonly string[];
  /** The config text in effect (the stack context's); absent: read where the tools run. */
  readonly conf?: string;
  /** The speed variables of the tools' environment; absent: read where the tools run. */
  readonly env?: Readonly<Record<string, string>>;
}

/** What one restore's recovery set up: handed back to prove and to finish. */
export interface RecoveryRun {
  readonly place: RecoveryPlace;
  readonly speed: RecoverySpeed;
  /** What was measured of the machine (cores, spool candidates): a drill sizes its checks from it too. */
  readonly machine: RecoveryMachine;
  readonly baseArgs: string[];
  finished: boolean;
}

/** Reads the speed variables of the tools' environment and, when wanted, the pgBackRest config in effect. */
const SETTINGS_SCRIPT = `want=$1 cfg=$2; shift 2
for k in "$@"; do v=$(printenv "$k") && echo "env $k=$v"; done
[ "$want" = 1 ] || exit 0
if [ -n "$cfg" ]; then set -- "$cfg"
elif [ -n "\${PGBACKREST_CONFIG:-}" ]; then set -- "$PGBACKREST_CONFIG"
else set -- /etc/pgbackrest/pgbackrest.conf /etc/pgbackrest.conf; fi
for f in "$@"; do if [ -r "$f" ]; then echo "conf $f"; cat -- "$f"; exit 0; fi; done
exit 0
`;

async function readToolSettings(
  place: RecoveryPlace,
  signal: AbortSignal | undefined,
): Promise<{ env: Record<string, string>; conf?: string }> {
  const wantConf = place.conf === undefined;
  const r = await place.rt.run(
    ['sh', '-c', SETTINGS_SCRIPT, 'settings', wantConf ? '1' : '0', place.configPath ?? '', ...SPEED_ENV],
    { signal },
  );
  const env: Record<string, string> = {};
  const lines = r.exitCode === 0 ? r.stdoutLines : [];
  const at = lines.findIndex((l) => l.startsWith('conf '));
  for (const l of at < 0 ? lines : lines.slice(0, at)) {
    const m = /^env (PGBACKREST_[A-Z_]+)=(.*)$/.exec(l);
    if (m) env[m[1]!] = m[2]!;
  }
  return { env, conf: at < 0 ? undefined : lines.slice(at + 1).join('\n') };
}

/**
 * Sweeps what an interrupted restore left, measures the machine, chooses and sets up the options of this restore
 * and says them (one line each). Never fails for want of speed: anything that cannot be set up means pgBackRest's
 * plain archive-get, said so.
 */
export async function prepareRecovery(place: RecoveryPlace, ctx: RestoreContext): Promise<RecoveryRun> {
  const { rt, dataDir, stanza } = place;
  ctx.step('Choosing the recovery options of this restore');
  // Two reads side by side (one exec each): the leftovers swept, the tools' settings.
  const [swept, read] = await Promise.all([
    sweepRecoveryLeftovers(rt, dataDir),
    place.conf !== undefined && place.env ? { env: {}, conf: undefined } : readToolSettings(place, ctx.signal),
  ]);
  if (swept.length) ctx.line(`Removed what an interrupted restore left: ${swept.join(', ')}.`);
  const conf = place.conf ?? read.conf;
  const env = place.env ?? read.env;
  const spool = userSpoolPath(conf, env, stanza);
  const machine = await probeRecoveryMachine(rt, dataDir, spool ? [spool] : [], ctx.signal);
  const baseArgs = [
    `--stanza=${stanza}`,
    ...(place.configPath ? [`--config=${place.configPath}`] : []),
    ...(place.repoArgs ?? []),
  ];
  const d = dataDir.replace(/\/+$/, '');
  const workDir = d.slice(0, d.lastIndexOf('/')) || '/';
  const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const speed = await setUpRecoverySpeed(rt, { machine, conf, env, stanza, baseArgs, workDir, runId }, ctx.signal);
  for (const l of speed.explanation) ctx.line(l);
  return { place, speed, machine, baseArgs, finished: false };
}

/** The restore's argv with this restore's options (before the command word `restore`). */
export function withRecoveryOptions(argv: readonly string[], run: RecoveryRun | undefined): string[] {
  if (!run) return [...argv];
  const extra = [...run.speed.restoreArgs, ...run.speed.recoveryArgs];
  return [...argv.slice(0, -1), ...extra, argv[argv.length - 1]!];
}

/**
 * Why the server stopped during recovery, when the wrapper says it: a segment it could not read after every try.
 * Undefined when the wrapper was not used or gave up on nothing.
 */
export async function recoveryStopped(run: RecoveryRun | undefined): Promise<RecoveryIncompleteError | undefined> {
  const logPath = run?.speed.wrapperLogPath;
  if (!logPath) return undefined;
  const r = await run.place.rt.run(['sh', '-c', '[ ! -f "$1" ] || cat "$1"', 'read', logPath]).catch(() => undefined);
  const failed = r?.exitCode === 0 ? parseWrapperLog(r.stdoutLines.join('\n')).failed[0] : undefined;
  if (!failed) return undefined;
  return new RecoveryIncompleteError(
    `The restore is incomplete: recovery stopped at WAL segment ${failed.file}, which could not be read from the ` +
      `repository (pgBackRest exit ${failed.code}, 3 tries); PostgreSQL was stopped there instead of promoting ` +
      `early, which would have lost every change from ${failed.file} on.`,
    failed.file,
  );
}

/**
 * The proof: the restored server (out of recovery) replayed into `newest` or past it. Says it, or throws
 * RecoveryIncompleteError naming the segment it stopped at.
 */
export async function proveRecoveryEnd(
  rt: ToolRuntime,
  conn: ServerConnection,
  ctx: RestoreContext,
  newest: string,
): Promise<void> {
  ctx.step('Checking that recovery reached the end of the archive');
  const quiet = { ...ctx, line: () => undefined };
  const end = await replayEnd(async (sql) => (await psqlQuery(rt, quiet, conn, sql, { signal: null }))[0]?.split('|'));
  if (!end)
    throw new RecoveryIncompleteError(
      `The restore is incomplete: the restored server does not say where its recovery ended ` +
        `(pg_last_wal_replay_lsn() is empty), so reaching the archive's newest WAL segment ${newest} is not proven.`,
    );
  // By position on the newest segment's timeline: recovery follows the newest timeline of the archive.
  const r = checkRecoveryEnd({ newest, replayLsn: end.lsn });
  if (!r.complete) throw new RecoveryIncompleteError(r.message, r.stoppedAt);
  ctx.line(r.message);
}

/**
 * Removes the wrapper, its log and the spool (what the async queue could not give is said first). With `conn`
 * (a verified, running server) pgBackRest's own restore_command goes back into postgresql.auto.conf, since the
 * wrapper it named is gone; the two run side by side (the server is out of recovery: nothing calls the
 * wrapper any more). With `filesGoWith` (a folder about to be removed whole, a drill's scratch volume) files that all
 * lie inside it are left to go with it. Never throws; runs once.
 */
export async function finishRecovery(
  run: RecoveryRun | undefined,
  ctx: RestoreContext,
  conn?: ServerConnection,
  opts: { filesGoWith?: string } = {},
): Promise<void> {
  if (!run || run.finished) return;
  run.finished = true;
  const [said, back] = await Promise.all([
    tearDownRecoverySpeed(run.place.rt, run.speed, opts),
    conn && run.speed.wrapperPath
      ? putRestoreCommandBack(run.place.rt, ctx, conn, plainRestoreCommand(run.baseArgs))
      : undefined,
  ]);
  for (const l of said) ctx.line(l);
  if (back) ctx.line(back);
}

/**
 * ALTER SYSTEM SET restore_command to pgBackRest's own (`cmd`) and a reload, in one psql (two -c: ALTER SYSTEM
 * cannot run inside the one transaction a single multi-statement -c would be). Never throws: returns the line to
 * say, what was done or what to run by hand.
 */
export async function putRestoreCommandBack(
  rt: ToolRuntime,
  ctx: RestoreContext,
  conn: ServerConnection,
  cmd: string,
): Promise<string> {
  try {
    await runLoggedChecked(
      rt,
      { step: ctx.step, line: () => undefined },
      [
        ...psqlArgv(conn),
        '-c',
        `ALTER SYSTEM SET restore_command = ${sqlLiteral(cmd)}`,
        '-c',
        'SELECT pg_reload_conf()',
      ],
      { env: connEnv(conn), secrets: [conn.password], quietStdout: true },
    );
    return `restore_command is pgBackRest's own again: ${cmd}`;
  } catch (e) {
    return (
      `Could not set restore_command back to pgBackRest's own (${errorText(e)}): ` +
      `run ALTER SYSTEM SET restore_command = '${cmd}' before using this data folder as a standby.`
    );
  }
}
