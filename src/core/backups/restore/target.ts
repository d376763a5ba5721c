/**
 * The one args schema of `tsdbOps.restore.pgbackrest` (also used by the timeline and production-guard
 * work) and the pgBackRest restore options each target maps to:
 *
 *   { target?: 'latest' | 'set' | 'time' | 'xid', set?, time?, xid?, exclusive?, replayWal?, repo?, confirm }
 *
 * Without `target`: `time` given → 'time'; `xid` given → 'xid'; `set` given → 'set' (exactly that set,
 * `--type=immediate`); neither → 'latest' (the newest set plus every archived WAL: the guide's plain
 * `pgbackrest --stanza=db restore`). `replayWal: true` is an alias for "this set plus every archived WAL"
 * (target 'latest' from the given set). `exclusive` maps to `--target-exclusive` (time and xid only).
 * `repo` (a number: 2 for repo2) restores from that pgBackRest repository (`--repo=2`); default: the
 * repository of the chosen set.
 */
import { parseTimeTarget, TimeTargetError } from './pitr';
import { parseRepoArg } from '../repositories';
import { restoreArgsError } from '../../errors/backups';

export type RestoreTargetKind = 'latest' | 'set' | 'time' | 'xid';
export const RESTORE_TARGET_KINDS: readonly RestoreTargetKind[] = ['latest', 'set', 'time', 'xid'];

/** A validated restore target. */
export interface RestoreTarget {
  readonly target: RestoreTargetKind;
  /** 'set': the set restored exactly; 'latest': the set WAL replay starts from (default the newest); time/xid: optional start set. */
  readonly set?: string;
  readonly time?: Date;
  readonly xid?: string;
  readonly exclusive?: boolean;
  /** The pgBackRest repository (`--repo`). */
  readonly repo?: number;
}

const ID = 'tsdbOps.restore.pgbackrest';
const shown = (v: unknown) => (typeof v === 'bigint' ? `${v}n` : (JSON.stringify(v) ?? String(v)));

function optString(args: Record<string, unknown>, key: string): string | undefined {
  const v = args[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw restoreArgsError(`${ID}: ${key} must be a string, not ${shown(v)}.`);
  return v.trim();
}

function optBool(args: Record<string, unknown>, key: string): boolean | undefined {
  const v = args[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw restoreArgsError(`${ID}: ${key} must be true or false, not ${shown(v)}.`);
  return v;
}

/**
 * Reads the restore part of the args object (other keys such as `confirm`, `folder` are ignored here).
 * Every error names the field, the value and the fix.
 */
export function parseRestoreTarget(args: Record<string, unknown> = {}): RestoreTarget {
  const rawTarget = args['target'];
  if (rawTarget !== undefined && !RESTORE_TARGET_KINDS.includes(rawTarget as RestoreTargetKind)) {
    throw restoreArgsError(
      `${ID}: target must be one of ${RESTORE_TARGET_KINDS.map((k) => `'${k}'`).join(', ')}, not ${shown(rawTarget)}.`,
    );
  }
  const set = optString(args, 'set');
  if (set !== undefined && !/^\d{8}-\d{6}F(_\d{8}-\d{6}[DI])?$/.test(set)) {
    throw restoreArgsError(
      `${ID}: set "${set}" is not a pgBackRest backup label (e.g. "20261124-000001F" or "20261124-000001F_20261124-201500D").`,
    );
  }
  const rawTime = args['time'];
  let time: Date | undefined;
  if (rawTime !== undefined && rawTime !== null && rawTime !== '') {
    try {
      time = parseTimeTarget(rawTime, 'time');
    } catch (e) {
      throw restoreArgsError(`${ID}: ${e instanceof TimeTargetError ? e.message : String(e)}`);
    }
  }
  let xid: string | undefined;
  const rawXid = args['xid'];
  if (rawXid !== undefined && rawXid !== null && rawXid !== '') {
    xid = typeof rawXid === 'number' && Number.isInteger(rawXid) ? String(rawXid) : optString(args, 'xid');
    if (!xid || !/^\d+$/.test(xid) || xid === '0')
      throw restoreArgsError(`${ID}: xid must be a transaction id such as "1234", not ${shown(rawXid)}.`);
  }
  const exclusive = optBool(args, 'exclusive');
  const replayWal = optBool(args, 'replayWal');
  let repo: number | undefined;
  try {
    repo = parseRepoArg(args['repo'], ID);
  } catch (e) {
    throw restoreArgsError((e as Error).message);
  }

  const target: RestoreTargetKind =
    (rawTarget as RestoreTargetKind | undefined) ??
    (time ? 'time' : xid ? 'xid' : set && replayWal !== true ? 'set' : 'latest');

  if (time && xid) throw restoreArgsError(`${ID}: give either time or xid, not both.`);
  if (target === 'time' && !time)
    throw restoreArgsError(`${ID}: target 'time' needs time, e.g. { target: 'time', time: '2026-11-24T19:54:50Z' }.`);
  if (target === 'xid' && !xid)
    throw restoreArgsError(`${ID}: target 'xid' needs xid, e.g. { target: 'xid', xid: '1234' }.`);
  if ((target === 'latest' || target === 'set') && (time || xid))
    throw restoreArgsError(
      `${ID}: target '${target}' takes no ${time ? 'time' : 'xid'}; use target '${time ? 'time' : 'xid'}'.`,
    );
  if (target === 'set' && replayWal === true)
    throw restoreArgsError(
      `${ID}: target 'set' restores exactly the set; replayWal: true means "plus every archived WAL": use target 'latest' with set.`,
    );
  if (exclusive !== undefined && target !== 'time' && target !== 'xid')
    throw restoreArgsError(`${ID}: exclusive applies to target 'time' or 'xid' only (it is --target-exclusive).`);
  return {
    target,
    ...(set ? { set } : {}),
    ...(time ? { time } : {}),
    ...(xid ? { xid } : {}),
    ...(exclusive !== undefined ? { exclusive } : {}),
    ...(repo !== undefined ? { repo } : {}),
  };
}

/**
 * The `pgbackrest restore` options of a target (after the set is chosen: `set` is the label passed
 * as `--set`, or undefined for pgBackRest's own choice). 'latest' uses pgBackRest's default type
 * (replay every archived WAL, then promote); 'set' stops at the set's consistency point.
 */
export function restoreTypeOptions(t: RestoreTarget, formattedTime?: string): string[] {
  switch (t.target) {
    case 'latest':
      return [];
    case 'set':
      return ['--type=immediate', '--target-action=promote'];
    case 'time':
      return [
        '--type=time',
        `--target=${formattedTime}`,
        ...(t.exclusive ? ['--target-exclusive'] : []),
        '--target-action=promote',
      ];
    case 'xid':
      return [
        '--type=xid',
        `--target=${t.xid}`,
        ...(t.exclusive ? ['--target-exclusive'] : []),
        '--target-action=promote',
      ];
  }
}

/** In words, for confirmations, progress titles and reports. */
export function describeRestoreTarget(t: RestoreTarget): string {
  const what = describeTarget(t);
  return t.repo !== undefined ? `${what}, from repo${t.repo}` : what;
}

function describeTarget(t: RestoreTarget): string {
  switch (t.target) {
    case 'latest':
      return t.set
        ? `backup set ${t.set} plus every archived WAL after it (the latest state)`
        : 'the latest state (newest backup set plus every archived WAL)';
    case 'set':
      return `exactly backup set ${t.set ?? '(the newest)'} (no WAL after it)`;
    case 'time':
      return `the state at ${t.time!.toISOString()}${t.exclusive ? ' (exclusive)' : ''} (point-in-time recovery)`;
    case 'xid':
      return `the state at transaction ${t.xid}${t.exclusive ? ' (exclusive)' : ''}`;
  }
}

/** The target of a core restore source (already typed: no label check, so an unknown set is reported by the restore). */
export function targetOfSource(src: {
  target?: RestoreTargetKind;
  set?: string;
  time?: Date;
  xid?: string;
  exclusive?: boolean;
  replayWal?: boolean;
  repo?: number;
}): RestoreTarget {
  const target = src.target ?? (src.time ? 'time' : src.xid ? 'xid' : src.set && !src.replayWal ? 'set' : 'latest');
  return {
    target,
    set: src.set,
    time: src.time,
    xid: src.xid,
    exclusive: src.exclusive,
    ...(src.repo !== undefined ? { repo: src.repo } : {}),
  };
}
