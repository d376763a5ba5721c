/**
 * pgBackRest through a ToolRuntime (the database container, or this machine): `info --output=json`
 * parsed with zod (bigint-safe `system-id`), backup/check/stanza-create, and errors that keep
 * pgBackRest's own code, message and hints (`ERROR: [055]: … HINT: …`).
 *
 * Every run passes an explicit `--stanza` (the HA image sets PGBACKREST_STANZA=poddb, which would
 * win otherwise) and `--log-level-console=info --log-level-stderr=off`, so the output is the same on
 * every pgBackRest version (2.53 changed the stderr default).
 */
import { posix } from 'node:path';
import { z } from 'zod';
import { toolCancelled, type ToolRuntime } from '../runtime';
import { PgBackRestError, type PgBackRestErrorAction } from '../errors/backups';
import { repoDiskFullOr } from './pgbackrest-disk';
import { postgresStoppedOr } from './pgbackrest-stopped';
import { OpsError } from '../errors/error';

export interface PgBackRestTarget {
  runtime: ToolRuntime;
  stanza: string;
  /** `--config` when not the default (the HA image finds it through PGBACKREST_CONFIG). */
  configPath?: string;
}

export type BackupType = 'full' | 'diff' | 'incr';
export const BACKUP_TYPES: readonly BackupType[] = ['full', 'diff', 'incr'];

export interface BackupSet {
  label: string;
  type: BackupType;
  /** The backup this one was taken against (diff: its full; incr: the previous one). */
  prior?: string;
  /** Every backup this one depends on. */
  reference: string[];
  start: Date;
  stop: Date;
  /** Uncompressed size of the database. */
  sizeBytes: number;
  /** Bytes actually backed up. */
  deltaBytes: number;
  repoSizeBytes: number;
  repoDeltaBytes: number;
  /** WAL needed for consistency (24 hex digits). */
  walStart?: string;
  walStop?: string;
  /** Page checksum errors were found (not a failed backup: those never show up). */
  error: boolean;
  annotations: Record<string, string>;
  lsnStart?: string;
  lsnStop?: string;
  /** The repository holding it (`database.repo-key`; pgBackRest 2.33+). */
  repoKey?: number;
}

export interface StanzaInfo {
  name: string;
  status: { code: number; message: string };
  /** A backup or expire is running. */
  lockHeld: boolean;
  systemId?: bigint;
  pgVersion?: string;
  /** Oldest and newest archived WAL segment. */
  walMin?: string;
  walMax?: string;
  /** Oldest to newest (by stop time). */
  backups: BackupSet[];
  /**
   * Point-in-time window: from the oldest backup's stop to the time of the newest archived WAL.
   * pgBackRest does not report WAL times, so `to` is the `now` given to the parser (the time info ran)
   * when WAL was archived after the newest backup, else the newest backup's stop.
   */
  pitr?: { from: Date; to: Date };
  /** Per-repository status (code 99 puts the real error here) and encryption. */
  repos: { key: number; code: number; message: string; cipher?: string }[];
  /** Archived WAL per repository and PostgreSQL version (`archive[]`). */
  archives?: { repoKey?: number; id: string; min?: string; max?: string }[];
}

export { PgBackRestError, type PgBackRestErrorAction };

// ---------------------------------------------------------------------------------------------
// info --output=json

const nullish = <T extends z.ZodType>(t: T) => t.nullish().transform((v) => v ?? undefined);

const backupSchema = z.object({
  label: z.string(),
  type: z.enum(['full', 'diff', 'incr']),
  prior: nullish(z.string()),
  reference: nullish(z.array(z.string())),
  timestamp: z.object({ start: z.number(), stop: z.number() }),
  archive: nullish(z.object({ start: nullish(z.string()), stop: nullish(z.string()) })),
  lsn: nullish(z.object({ start: nullish(z.string()), stop: nullish(z.string()) })),
  info: z.object({
    size: z.number().optional(),
    delta: z.number().optional(),
    repository: z
      .object({
        size: z.number().optional(),
        delta: z.number().optional(),
        'size-map': z.number().optional(),
        'delta-map': z.number().optional(),
      })
      .optional(),
  }),
  error: z.boolean().optional(),
  annotation: nullish(z.record(z.string(), z.string())),
  database: nullish(z.object({ 'repo-key': z.number().optional() }).passthrough()),
});

const stanzaSchema = z.object({
  name: z.string(),
  status: z.object({
    code: z.number(),
    message: z.string(),
    lock: z
      .object({ backup: z.object({ held: z.boolean() }).optional() })
      .partial()
      .optional(),
  }),
  db: z.array(z.object({ id: z.number(), 'system-id': z.string().regex(/^\d+$/), version: z.string() })).default([]),
  archive: z
    .array(
      z.object({
        id: z.string(),
        min: nullish(z.string()),
        max: nullish(z.string()),
        database: nullish(z.object({ 'repo-key': z.number().optional() }).passthrough()),
      }),
    )
    .default([]),
  backup: z.array(backupSchema).default([]),
  repo: z
    .array(
      z.object({
        key: z.number(),
        cipher: z.string().optional(),
        status: z.object({ code: z.number(), message: z.string() }),
      }),
    )
    .default([]),
});

/** Quotes `system-id` values (uint64 > 2^53) so JSON.parse keeps every digit. */
function quoteSystemIds(json: string): string {
  return json.replace(/("system-id"\s*:\s*)(\d+)/g, '$1"$2"');
}

/** Parses `pgbackrest info --output=json`. Throws a message naming the field on an unexpected shape. */
export function parsePgBackRestInfo(json: string, now: Date = new Date()): StanzaInfo[] {
  let raw: unknown;
  try {
    raw = JSON.parse(quoteSystemIds(json));
  } catch (e) {
    throw new OpsError(
      'tool-failed',
      `pgbackrest info did not print JSON (${(e as Error).message}): ${json.slice(0, 200)}`,
    );
  }
  const parsed = z.array(stanzaSchema).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new OpsError(
      'tool-failed',
      `Unexpected pgbackrest info JSON at ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? parsed.error.message}`,
    );
  }
  return parsed.data.map((s) => {
    const backups: BackupSet[] = s.backup.map((b) => ({
      label: b.label,
      type: b.type,
      prior: b.prior,
      reference: b.reference ?? [],
      start: new Date(b.timestamp.start * 1000),
      stop: new Date(b.timestamp.stop * 1000),
      sizeBytes: b.info.size ?? 0,
      deltaBytes: b.info.delta ?? 0,
      repoSizeBytes: b.info.repository?.size ?? b.info.repository?.['size-map'] ?? 0,
      repoDeltaBytes: b.info.repository?.delta ?? b.info.repository?.['delta-map'] ?? 0,
      walStart: b.archive?.start,
      walStop: b.archive?.stop,
      error: b.error === true,
      annotations: b.annotation ?? {},
      lsnStart: b.lsn?.start,
      lsnStop: b.lsn?.stop,
      repoKey: b.database?.['repo-key'],
    }));
    backups.sort((a, b) => a.stop.getTime() - b.stop.getTime());
    const db = s.db[s.db.length - 1];
    const archive = s.archive.length ? s.archive[s.archive.length - 1] : undefined;
    const walMin = s.archive.map((a) => a.min).find((m): m is string => Boolean(m));
    const walMax = archive?.max ?? undefined;
    const oldest = backups[0];
    const newest = backups[backups.length - 1];
    let pitr: StanzaInfo['pitr'];
    if (oldest && newest) {
      const walAfterNewest = walMax !== undefined && newest.walStop !== undefined && walMax > newest.walStop;
      const to = walAfterNewest && now > newest.stop ? now : newest.stop;
      pitr = { from: oldest.stop, to };
    }
    return {
      name: s.name,
      status: { code: s.status.code, message: s.status.message },
      lockHeld: s.status.lock?.backup?.held === true,
      systemId: db ? BigInt(db['system-id']) : undefined,
      pgVersion: db?.version,
      walMin,
      walMax,
      backups,
      pitr,
      repos: s.repo.map((r) => ({ key: r.key, code: r.status.code, message: r.status.message, cipher: r.cipher })),
      archives: s.archive.map((a) => ({ repoKey: a.database?.['repo-key'], id: a.id, min: a.min, max: a.max })),
    };
  });
}

/** Full backups with their diff/incr children (a child goes under the full it references first). */
export function groupBackupSets(backups: readonly BackupSet[]): { full: BackupSet; children: BackupSet[] }[] {
  const groups = new Map<string, { full: BackupSet; children: BackupSet[] }>();
  for (const b of backups) if (b.type === 'full') groups.set(b.label, { full: b, children: [] });
  for (const b of backups) {
    if (b.type === 'full') continue;
    const fullLabel = b.reference.find((r) => groups.has(r)) ?? b.label.split('_')[0]!;
    groups.get(fullLabel)?.children.push(b);
  }
  return [...groups.values()];
}

// ---------------------------------------------------------------------------------------------
// Running pgBackRest

function baseArgs(t: PgBackRestTarget): string[] {
  if (!/^[A-Za-z0-9_.-]+$/.test(t.stanza))
    throw new OpsError(
      'config',
      `Invalid pgBackRest stanza name "${t.stanza}" (letters, digits, _ . - only): check the tsdbOps.backups.stanza setting.`,
    );
  return ['pgbackrest', ...(t.configPath ? [`--config=${t.configPath}`] : []), `--stanza=${t.stanza}`];
}

const LOG_LINE = /^(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} )?P\d\d\s+(ERROR|WARN|INFO|DETAIL|DEBUG|TRACE):\s?(.*)$/;
const BARE_LINE = /^(ERROR|WARN|INFO|DETAIL|DEBUG|TRACE):\s?(.*)$/;

/** Finds the first `ERROR: [NNN]: …` in pgBackRest's output, with its continuation and HINT lines. */
export function parsePgBackRestError(
  lines: readonly string[],
): { code: number; message: string; hints: string[] } | undefined {
  for (let i = 0; i < lines.length; i++) {
    const m = LOG_LINE.exec(lines[i]!) ?? BARE_LINE.exec(lines[i]!);
    if (!m || m[1] !== 'ERROR') continue;
    const e = /^\[(\d+)\]:\s?(.*)$/.exec(m[2]!);
    if (!e) continue;
    const message = [e[2]!];
    const hints: string[] = [];
    for (let j = i + 1; j < lines.length; j++) {
      const l = lines[j]!;
      if (!/^\s+\S/.test(l) || LOG_LINE.test(l)) break;
      const t = l.trim();
      if (t.startsWith('HINT:')) hints.push(t);
      else message.push(t);
    }
    return { code: Number(e[1]), message: message.join('\n'), hints };
  }
  return undefined;
}

/**
 * Runs `pgbackrest [--config] --stanza=S --log-level-console=info --log-level-stderr=off <args> <command>`,
 * streaming each output line to `onLine`. Throws PgBackRestError (pgBackRest's code, message, hints)
 * on a non-zero exit, a toolCancelled CancelledError when cancelled.
 */
export async function runPgBackRest(
  t: PgBackRestTarget,
  command: string,
  args: string[],
  ctx: { signal?: AbortSignal; onLine?: (line: string) => void; env?: Record<string, string> } = {},
): Promise<{ lines: string[] }> {
  const argv = [...baseArgs(t), '--log-level-console=info', '--log-level-stderr=off', ...args, command];
  const lines: string[] = [];
  const keep = (l: string) => {
    lines.push(l);
    if (lines.length > 5000) lines.splice(0, lines.length - 5000);
    ctx.onLine?.(l);
  };
  const r = await t.runtime.run(argv, { signal: ctx.signal, env: ctx.env, onStdoutLine: keep, onStderrLine: keep });
  if (ctx.signal?.aborted) throw toolCancelled(argv);
  if (r.exitCode !== 0) {
    const err = parsePgBackRestError(lines) ?? parsePgBackRestError(r.stderrTail);
    if (err) throw new PgBackRestError(err.code, err.message, err.hints, command, t.runtime.description);
    const tail = (r.stderrTail.length ? r.stderrTail : lines).slice(-5).join('\n');
    throw new PgBackRestError(r.exitCode, tail || `exited with code ${r.exitCode}`, [], command, t.runtime.description);
  }
  return { lines };
}

/** `info --output=json` for the target's stanza. */
export async function pgbackrestInfo(t: PgBackRestTarget, signal?: AbortSignal, now?: Date): Promise<StanzaInfo> {
  // JSON goes to stdout: keep log lines off stdout, errors on stderr.
  const argv = [...baseArgs(t), '--log-level-console=off', '--log-level-stderr=error', '--output=json', 'info'];
  const r = await t.runtime.run(argv, { signal });
  if (r.exitCode !== 0) {
    const err = parsePgBackRestError(r.stderrTail) ?? parsePgBackRestError(r.stdoutLines);
    if (err) throw new PgBackRestError(err.code, err.message, err.hints, 'info', t.runtime.description);
    throw new PgBackRestError(
      r.exitCode,
      r.stderrTail.slice(-5).join('\n') || `exited with code ${r.exitCode}`,
      [],
      'info',
      t.runtime.description,
    );
  }
  const all = parsePgBackRestInfo(r.stdoutLines.join('\n'), now ?? new Date());
  const s = all.find((x) => x.name === t.stanza) ?? all[0];
  if (!s)
    throw new PgBackRestError(
      r.exitCode,
      `no stanza "${t.stanza}" in pgbackrest info`,
      [],
      'info',
      t.runtime.description,
    );
  return s;
}

/** Takes a backup and returns pgBackRest's new label (`new backup label = …`). */
export async function pgbackrestBackup(
  t: PgBackRestTarget,
  type: BackupType,
  ctx: {
    signal?: AbortSignal;
    onLine?: (line: string) => void;
    annotations?: Record<string, string>;
    /** `--repo=N`: the repository to back up to (default: pgBackRest's, repo1). */
    repo?: number;
  } = {},
): Promise<{ label: string }> {
  if (!BACKUP_TYPES.includes(type))
    throw new OpsError('config', `Unknown pgBackRest backup type "${String(type)}": use full, diff or incr.`);
  if (ctx.repo !== undefined && !(Number.isInteger(ctx.repo) && ctx.repo >= 1 && ctx.repo <= 256))
    throw new OpsError(
      'config',
      `pgBackRest repository must be a number from 1 to 256 (repo1, repo2 …), not ${String(ctx.repo)}.`,
    );
  const annotations = Object.entries(ctx.annotations ?? {}).map(([k, v]) => `--annotation=${k}=${v}`);
  const repoArg = ctx.repo !== undefined ? [`--repo=${ctx.repo}`] : [];
  let label: string | undefined;
  await runPgBackRest(t, 'backup', [`--type=${type}`, ...repoArg, ...annotations], {
    signal: ctx.signal,
    onLine: (l) => {
      const m = /new backup label = (\S+)/.exec(l);
      if (m) label = m[1];
      ctx.onLine?.(l);
    },
  }).catch(async (e: unknown) => {
    const what = `pgBackRest ${type} backup`;
    throw await postgresStoppedOr(t.runtime, await repoDiskFullOr(t, e, what, ctx.repo), what);
  });
  if (!label) {
    // Older versions log the label at detail level only: take the newest from info.
    const info = await pgbackrestInfo(t, ctx.signal);
    label = info.backups.filter((b) => ctx.repo === undefined || b.repoKey === ctx.repo).pop()?.label;
  }
  if (!label) throw new OpsError('tool-failed', 'pgBackRest reported success but no backup label was found.');
  return { label };
}

export async function pgbackrestCheck(
  t: PgBackRestTarget,
  ctx: { signal?: AbortSignal; onLine?: (line: string) => void } = {},
): Promise<void> {
  await runPgBackRest(t, 'check', [], ctx);
}

export async function pgbackrestStanzaCreate(
  t: PgBackRestTarget,
  ctx: { signal?: AbortSignal; onLine?: (line: string) => void; offline?: boolean } = {},
): Promise<void> {
  await runPgBackRest(t, 'stanza-create', ctx.offline ? ['--no-online'] : [], ctx);
}

/**
 * The stop file `pgbackrest stop` left for the stanza (`<lock-path>/<stanza>.stop`, or `all.stop`), if any:
 * while it exists every backup, expire and archive-push/get of the stanza fails fast with [062] (a restore
 * stops the stanza until `pgbackrest restore` has returned). The lock path is pgBackRest's own
 * (`help start lock-path` resolves the config file and the PGBACKREST_* environment).
 */
export async function pgbackrestStopFile(t: PgBackRestTarget, signal?: AbortSignal): Promise<string | undefined> {
  const help = await t.runtime.run([...baseArgs(t), 'help', 'start', 'lock-path'], { signal });
  if (help.exitCode !== 0)
    throw new PgBackRestError(
      help.exitCode,
      help.stderrTail.slice(-3).join('\n') || `exited with code ${help.exitCode}`,
      [],
      'help',
      t.runtime.description,
    );
  const value = (key: string) =>
    help.stdoutLines.map((l) => new RegExp(`^${key}: (.+)$`).exec(l.trim())?.[1]).find((v) => v !== undefined);
  const lockPath = value('current') ?? value('default') ?? '/tmp/pgbackrest';
  for (const f of [posix.join(lockPath, `${t.stanza}.stop`), posix.join(lockPath, 'all.stop')]) {
    const r = await t.runtime.run(['test', '-e', f], { signal });
    if (r.exitCode === 0) return f;
  }
  return undefined;
}

/** `pgbackrest start`: removes the stanza's stop file so backups run again (a warning only when none existed). */
export async function pgbackrestStart(
  t: PgBackRestTarget,
  ctx: { signal?: AbortSignal; onLine?: (line: string) => void } = {},
): Promise<void> {
  await runPgBackRest(t, 'start', [], ctx);
}

export { confOption, stanzasInConf } from '../stack/pgbackrest-conf';
