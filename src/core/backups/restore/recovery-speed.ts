/**
 * How fast one restore recovers: the options of THIS restore only (its command line and recovery options,
 * never an edit of the user's pgbackrest.conf), decided from the machine (cores of the engine's host, free
 * space where the archive-get spool can live) and the user's own settings, which win wherever they are set.
 *
 * - The file copy: `restore --process-max=N` (pgBackRest's default is one process).
 * - WAL replay: PostgreSQL asks `restore_command` for one segment at a time. Asynchronous archive-get
 *   (`archive-async`, `spool-path`, `archive-get-queue-max`, `process-max`) prefetches and decompresses
 *   segments ahead of it. pgBackRest 2.45 copies the first three into the `restore_command` it writes, not
 *   `process-max`, so a parallel archive-get needs its own `--recovery-option=restore_command=…`: the
 *   wrapper of recovery-wrapper.ts, which also fetches a segment again the plain way when the async queue
 *   could not give it (only a plain "not in the archive" ends recovery).
 *
 * Pure: the caller measures the machine (`nproc`, `df` of the spool candidates) and reads the config.
 */
import { RECOVERY_WRAPPER_ASYNC_MARK, isShellSafe } from './recovery-wrapper';

/** Options this module may choose; any of them set by the user is kept as is. */
export type SpeedOption = 'archive-async' | 'spool-path' | 'archive-get-queue-max' | 'process-max';

/** Where a user set an option: a config section (`[global:archive-get]`) or an environment variable. */
export interface UserSetting {
  readonly value: string;
  readonly where: string;
}

export interface RecoveryMachine {
  /** Cores of the engine's host as the database container sees them (`nproc`). */
  readonly cores: number;
  /** Folders where a spool can live, in order of preference, with their free bytes (`df`); undefined: unknown. */
  readonly spoolCandidates: readonly { readonly path: string; readonly freeBytes?: number }[];
}

export interface RecoverySpeedInput {
  readonly machine: RecoveryMachine;
  /** The pgbackrest.conf in effect (text); undefined when there is none. */
  readonly conf?: string;
  /** The tools' environment (PGBACKREST_* variables count as the user's settings). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly stanza: string;
  /** Options every pgBackRest call of this stanza takes, as the restore's argv has them (`--config=…`, `--stanza=…`). */
  readonly baseArgs: readonly string[];
  /** Folder for this restore's wrapper and its log (e.g. beside PGDATA, where the restore journal is). */
  readonly workDir: string;
  /** Unique per restore (a stamp): names the wrapper, its log and the spool folder. */
  readonly runId: string;
  /** Bytes of archived WAL the recovery will replay, when known (sizes the queue no larger than needed). */
  readonly walToReplayBytes?: number;
  /** The WAL segment size (16 MiB unless initdb chose another). */
  readonly walSegmentBytes?: number;
  /** Set when the spool could not be created (recovery-run.ts): plain archive-get, for this reason. */
  readonly spoolProblem?: string;
}

export type ArchiveGetMode = 'async' | 'plain' | 'user';

export interface RecoverySpeed {
  /** Options for `pgbackrest … restore` (before the command word). */
  readonly restoreArgs: string[];
  /** `--recovery-option=restore_command=…` when the wrapper is used, else empty. */
  readonly recoveryArgs: string[];
  readonly restoreProcesses: { readonly value?: number; readonly why: string };
  readonly archiveGet: {
    readonly mode: ArchiveGetMode;
    readonly processes?: number;
    readonly queueBytes?: number;
    readonly why: string;
  };
  /** The spool folder this restore creates before and removes after (not one the user configured). */
  readonly spoolDir?: string;
  /** A queue folder inside the user's own spool-path, emptied after (the spool itself stays). */
  readonly spoolQueueDir?: string;
  /** The wrapper script to write before the restore (recovery-wrapper.ts's text), and remove after. */
  readonly wrapperPath?: string;
  /** Its log: one line per segment the async queue could not give (read after recovery, then removed). */
  readonly wrapperLogPath?: string;
  /** One line each, for the restore's output: what was chosen and why. */
  readonly explanation: string[];
}

const MiB = 1024 * 1024;
/**
 * Queue sizes tried, largest first. A queue that holds the whole WAL to replay is filled by one run of
 * pgBackRest's async worker; a smaller one makes the worker stop when it is full and start again (a new process,
 * its lock and the repository's archive list) each time replay has drained it.
 */
const QUEUES = [4096, 2048, 1024, 512, 256, 128].map((m) => m * MiB);
/** Most processes used for either command (more only contends on 2–8 core hosts). */
const MAX_PROCESSES = 4;

// ---------- The user's settings ----------

/** Sections of a pgbackrest.conf: section name → option → value (the last line of a key wins, as in pgBackRest). */
export function confSections(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let section: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const s = /^\[([^\]]+)\]$/.exec(line);
    if (s) {
      const name = s[1]!.trim();
      section = out.get(name) ?? new Map<string, string>();
      out.set(name, section);
      continue;
    }
    const kv = /^([A-Za-z0-9-]+)\s*=\s*(.*)$/.exec(line);
    if (kv && section) section.set(kv[1]!, kv[2]!.trim());
  }
  return out;
}

/**
 * Where the user set `key` for a command, in pgBackRest's own precedence: the environment, then
 * `[stanza:command]`, `[stanza]`, `[global:command]`, `[global]`. `commands` lists the command sections that
 * count (the archive-get options also count in the restore's sections: a user who put them there meant them).
 */
export function userSetting(
  sections: ReadonlyMap<string, ReadonlyMap<string, string>>,
  env: Readonly<Record<string, string | undefined>> | undefined,
  stanza: string,
  commands: readonly string[],
  key: SpeedOption,
): UserSetting | undefined {
  const envName = `PGBACKREST_${key.toUpperCase().replace(/-/g, '_')}`;
  const e = env?.[envName];
  if (e !== undefined && e !== '') return { value: e, where: `the environment (${envName})` };
  const order = [...commands.map((c) => `${stanza}:${c}`), stanza, ...commands.map((c) => `global:${c}`), 'global'];
  for (const name of order) {
    const v = sections.get(name)?.get(key);
    if (v !== undefined) return { value: v, where: `[${name}]` };
  }
  return undefined;
}

const ARCHIVE_GET_SECTIONS = ['archive-get', 'restore'];

/** The spool-path the user set (config or environment), to measure along with the other candidates. */
export function userSpoolPath(
  conf: string | undefined,
  env: Readonly<Record<string, string | undefined>> | undefined,
  stanza: string,
): string | undefined {
  return userSetting(confSections(conf ?? ''), env, stanza, ARCHIVE_GET_SECTIONS, 'spool-path')?.value;
}
const RESTORE_SECTIONS = ['restore'];

/** pgBackRest's size syntax (bytes, or KiB/MiB/GiB/TiB, KB/MB/GB/TB, K/M/G/T, powers of 1024). */
export function parsePgBackRestSize(v: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\s*$/i.exec(v);
  if (!m) return undefined;
  const power = ' kmgtp'.indexOf((m[2] || ' ').toLowerCase());
  return Math.round(Number(m[1]) * 1024 ** power);
}

const isYes = (v: string) => /^(y|yes|true|1|on)$/i.test(v.trim());

export function formatBytes(n: number): string {
  if (n >= 1024 * MiB) return `${+(n / (1024 * MiB)).toFixed(1)} GB`;
  return `${Math.round(n / MiB)} MB`;
}

// ---------- The decision ----------

/** Where pgBackRest's async archive-get keeps the segments it fetched ahead, in a spool: `<spool>/archive/<stanza>/in`. */
function asyncQueueDir(spool: string, stanza: string): string {
  return `${spool.replace(/\/+$/, '')}/archive/${stanza}/in`;
}

function restoreProcesses(cores: number, user: UserSetting | undefined): RecoverySpeed['restoreProcesses'] {
  if (user) return { why: `restore: process-max=${user.value} as ${user.where} sets it` };
  const n = Math.max(1, Math.min(MAX_PROCESSES, Math.floor(cores)));
  if (n === 1) return { why: 'restore: 1 process (the engine host has 1 core)' };
  return { value: n, why: `restore: ${n} processes (the engine host has ${cores} cores)` };
}

/**
 * The queue that fits: at most a quarter of the free space and at least 4 segments; the smallest size that
 * holds the WAL to replay when that is known, else the largest that fits.
 */
export function pickQueue(
  freeBytes: number | undefined,
  walToReplay: number | undefined,
  seg: number,
): number | undefined {
  if (freeBytes === undefined) return undefined;
  const fits = QUEUES.filter((q) => q <= freeBytes / 4 && q >= 4 * seg);
  if (!fits.length) return undefined;
  const holding = walToReplay === undefined ? [] : fits.filter((q) => q >= walToReplay);
  return holding.length ? holding.at(-1) : fits[0];
}

/**
 * The options of one restore. Rules (each a unit test):
 * - restore process-max: the user's (env, `[stanza:restore]`, `[stanza]`, `[global:restore]`, `[global]`), else
 *   min(cores, 4); with 1 core nothing is passed.
 * - archive-get: the user's archive-async (y or n) anywhere → nothing passed for archive-get, pgBackRest's own
 *   restore_command (mode 'user' / 'plain'). Else async, with each of spool-path, archive-get-queue-max and
 *   process-max the user's where set (left out of the command line, so archive-get reads it), else ours: a
 *   spool folder of this restore in the first candidate with room for the queue, the queue a quarter of that
 *   free space at most (4, 2 or 1 GB, 512, 256 or 128 MB), min(cores - 1, 4) processes, at least 1 (one core
 *   stays with the replay). No candidate with room, or a path
 *   or option a restore_command cannot carry safely → plain archive-get, and the reason is said.
 */
export function decideRecoverySpeed(i: RecoverySpeedInput): RecoverySpeed {
  const sections = confSections(i.conf ?? '');
  const seg = i.walSegmentBytes ?? 16 * MiB;
  const at = (key: SpeedOption, commands: readonly string[]) => userSetting(sections, i.env, i.stanza, commands, key);
  const rp = restoreProcesses(i.machine.cores, at('process-max', RESTORE_SECTIONS));
  const restoreArgs = rp.value ? [`--process-max=${rp.value}`] : [];
  const base: Omit<RecoverySpeed, 'archiveGet' | 'explanation'> = {
    restoreArgs,
    recoveryArgs: [],
    restoreProcesses: rp,
  };
  const done = (archiveGet: RecoverySpeed['archiveGet'], more: Partial<RecoverySpeed> = {}): RecoverySpeed => ({
    ...base,
    ...more,
    archiveGet,
    explanation: [rp.why, archiveGet.why],
  });

  const userAsync = at('archive-async', ARCHIVE_GET_SECTIONS);
  if (userAsync) {
    const on = isYes(userAsync.value);
    return done({
      mode: on ? 'user' : 'plain',
      why: on
        ? `archive-get: as your config sets it (archive-async=${userAsync.value} in ${userAsync.where})`
        : `archive-get: plain, one segment per call (archive-async=${userAsync.value} in ${userAsync.where})`,
    });
  }
  const plain = (reason: string) =>
    done({ mode: 'plain', why: `archive-get: plain, one segment per call (${reason})` });
  if (i.spoolProblem) return plain(i.spoolProblem);
  const unsafe = [...i.baseArgs, i.workDir, i.runId, i.stanza].find((a) => !isShellSafe(a));
  if (unsafe !== undefined) return plain(`${JSON.stringify(unsafe)} cannot be carried safely in a restore_command`);

  const userProcs = at('process-max', ['archive-get']);
  // One core is left to PostgreSQL's replay, which is one process and the restore's critical path: on the bench
  // machine (2 cores) one archive-get process kept ahead of replay, and two slowed it down (BENCHMARKS.md).
  const procs = userProcs ? undefined : Math.max(1, Math.min(MAX_PROCESSES, Math.floor(i.machine.cores) - 1));
  const userSpool = at('spool-path', ARCHIVE_GET_SECTIONS);
  const userQueue = at('archive-get-queue-max', ARCHIVE_GET_SECTIONS);
  const userQueueBytes = userQueue ? parsePgBackRestSize(userQueue.value) : undefined;
  if (userQueue && userQueueBytes === undefined) {
    return plain(`archive-get-queue-max=${userQueue.value} in ${userQueue.where} is not a size pgBackRest reads`);
  }

  // Where the spool lives, and how big the queue may be there.
  let spoolDir: string | undefined;
  let spoolQueueDir: string | undefined;
  let queue: number | undefined;
  let where: string;
  if (userSpool) {
    if (!isShellSafe(userSpool.value))
      return plain(`spool-path ${userSpool.value} cannot be carried in a restore_command`);
    const free = i.machine.spoolCandidates.find((c) => c.path === userSpool.value)?.freeBytes;
    queue = userQueueBytes ?? pickQueue(free, i.walToReplayBytes, seg);
    if (queue === undefined) {
      return plain(
        free === undefined
          ? `the free space of spool-path ${userSpool.value} (${userSpool.where}) could not be measured`
          : `spool-path ${userSpool.value} (${userSpool.where}) has ${formatBytes(free)} free, too little for a queue`,
      );
    }
    spoolQueueDir = asyncQueueDir(userSpool.value, i.stanza);
    where = `your spool-path ${userSpool.value}`;
  } else {
    const need = userQueueBytes;
    const c = i.machine.spoolCandidates.find((x) =>
      need !== undefined
        ? (x.freeBytes ?? 0) >= need * 2
        : pickQueue(x.freeBytes, i.walToReplayBytes, seg) !== undefined,
    );
    if (!c) {
      const seen = i.machine.spoolCandidates
        .map((x) => `${x.path}: ${x.freeBytes === undefined ? 'not measured' : `${formatBytes(x.freeBytes)} free`}`)
        .join(', ');
      return plain(`no room for a spool (${seen || 'no folder measured'})`);
    }
    if (!isShellSafe(c.path)) return plain(`the spool folder ${c.path} cannot be carried in a restore_command`);
    queue = need ?? pickQueue(c.freeBytes, i.walToReplayBytes, seg)!;
    spoolDir = `${c.path.replace(/\/+$/, '')}/.tsdbops-spool-${i.runId}`;
    where = `spool ${spoolDir}, ${formatBytes(c.freeBytes!)} free`;
  }

  const asyncArgs = [
    '--archive-async',
    ...(spoolDir ? [`--spool-path=${spoolDir}`] : []),
    ...(userQueue ? [] : [`--archive-get-queue-max=${queue}`]),
    ...(procs ? [`--process-max=${procs}`] : []),
  ];
  const dir = i.workDir.replace(/\/+$/, '');
  const wrapperPath = `${dir}/.tsdbops-restore-command-${i.runId}.sh`;
  const wrapperLogPath = `${dir}/.tsdbops-restore-command-${i.runId}.log`;
  // Where pgBackRest's async worker leaves the segments it fetched ahead: the wrapper moves them from there.
  const queueDir = spoolQueueDir ?? asyncQueueDir(spoolDir!, i.stanza);
  const restoreCommand = [
    '/bin/sh',
    wrapperPath,
    '%f',
    '"%p"',
    wrapperLogPath,
    queueDir,
    ...i.baseArgs,
    RECOVERY_WRAPPER_ASYNC_MARK,
    ...asyncArgs,
  ].join(' ');
  const from = (u: UserSetting | undefined, ours: string) => (u ? `${u.value} as ${u.where} sets it` : ours);
  const procText = userProcs
    ? `process-max=${userProcs.value} as ${userProcs.where} sets it`
    : `${procs} process${procs === 1 ? '' : 'es'}`;
  return done(
    {
      mode: 'async',
      processes: procs ?? (Number(userProcs?.value) || undefined),
      queueBytes: queue,
      why:
        `archive-get: async, ${procText}, queue ${from(userQueue, formatBytes(queue))} ` +
        `(${where}; ${i.machine.cores} core${i.machine.cores === 1 ? '' : 's'}; ` +
        'a segment the queue cannot give is fetched again the plain way)',
    },
    {
      recoveryArgs: [`--recovery-option=restore_command=${restoreCommand}`],
      spoolDir,
      spoolQueueDir,
      wrapperPath,
      wrapperLogPath,
    },
  );
}
