/**
 * The command table: one declaration per command (id, strict args schema, mode, the tree nodes it takes,
 * whether it changes the live database or the stack, its result and its handler). register.ts registers
 * every command from it; the production guard and the `confirm` rule are derived from `live` here; the
 * unit layer checks it against package.json and docs/commands.md is generated from it.
 */
import type { z } from 'zod';
import type { CommandId } from '../../ids';
import type { ProductionMatch } from '../../../core/stack/production';
import type { CommandSpec, Live } from './types';
import { argsError } from '../../../core/errors/misc';
import { GENERAL } from './general';
import { CONTAINERS } from './containers';
import { MIGRATIONS } from './migrations';
import { BACKUPS } from './backups';
import { RESTORES } from './restores';
import { OpsError } from '../../../core/errors/error';

export type { CommandSpec, Live, Mode, Args } from './types';

export const COMMAND_TABLE: readonly CommandSpec[] = [
  ...GENERAL,
  ...CONTAINERS,
  ...MIGRATIONS,
  ...BACKUPS,
  ...RESTORES,
];

const BY_ID = new Map<string, CommandSpec>(COMMAND_TABLE.map((s) => [s.id, s]));

export function specOf(id: CommandId | string): CommandSpec {
  const s = BY_ID.get(id);
  if (!s) throw new OpsError('internal', `${id} has no declaration in src/ui/commands/table.`);
  return s;
}

/** The keys a command accepts, for messages and docs. */
export function acceptedKeys(spec: CommandSpec): string[] {
  return Object.keys(spec.args.shape);
}

function describeIssue(spec: CommandSpec, issue: z.core.$ZodIssue, raw: unknown): string {
  const accepts = acceptedKeys(spec);
  const list = accepts.length ? `it accepts ${accepts.join(', ')}` : 'it takes no args';
  if (issue.code === 'unrecognized_keys')
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (${list})`;
  const key = issue.path.map(String).join('.') || '(args)';
  if (issue.code === 'invalid_value') {
    // Name the field, what it accepts and the value given: `target must be one of 'latest', 'set', not "newest"`.
    const given = issue.path.reduce<unknown>((o, k) => (o as Record<PropertyKey, unknown> | undefined)?.[k], raw);
    return `${key} must be one of ${issue.values.map((v) => `'${String(v)}'`).join(', ')}, not ${JSON.stringify(given)}`;
  }
  return `${key}: ${issue.message}`;
}

/**
 * An args call's object checked against the declaration: an unknown key, a wrong type or a bad value
 * is an argsError (kind 'config') naming the key and what the command accepts. Nothing has run yet when it throws.
 */
export function parseArgs(spec: CommandSpec, raw: unknown): Record<string, unknown> {
  const r = spec.args.safeParse(raw);
  if (r.success) return r.data as Record<string, unknown>;
  // Unknown keys first: a typo is the likeliest mistake, and the message says what the command accepts.
  const issues = [...r.error.issues].sort(
    (a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'),
  );
  throw argsError(`${spec.id}: ${issues.map((i) => describeIssue(spec, i, raw)).join('; ')}.`);
}

/** Whether this call changes the live database or the stack (the declaration's `live`, with its `when`). */
export function changesLive(spec: CommandSpec, args: Record<string, unknown>, dbService?: string): boolean {
  const l: Live = spec.live;
  if (!l.changes) return false;
  return l.when ? l.when.test(args, dbService) : true;
}

/**
 * The confirmation an args call of a live command needs, checked before anything runs: `confirm: true`,
 * and on a production stack the typed name (the compose project name for `cluster` scope; for `database`
 * scope a string, checked against the database's name by the handler once it knows the database).
 * Returns the problem, or undefined when the call may go on.
 */
export function confirmProblem(
  spec: CommandSpec,
  confirm: unknown,
  stack: { projectName: string; production?: ProductionMatch },
): string | undefined {
  if (!spec.live.changes) return undefined;
  const scope = spec.live.scope;
  if (!stack.production) {
    if (confirm === true) return undefined;
    return `${spec.id} ${spec.live.why}: pass { confirm: true } (with args it asks nothing)${confirm === undefined ? '' : `; got ${JSON.stringify(confirm)}`}.`;
  }
  const why = `${spec.id} on a production stack (tsdbOps.stacks.production "${stack.production.glob}" matched ${stack.production.matched})`;
  if (scope === 'cluster') {
    if (confirm === stack.projectName) return undefined;
    return (
      `${why} needs { confirm: ${JSON.stringify(stack.projectName)} } (the stack (compose project) name); ` +
      `got ${JSON.stringify(confirm ?? null)}${confirm === true ? ': confirm: true is not enough there' : ''}.`
    );
  }
  if (typeof confirm === 'string' && confirm) return undefined;
  return (
    `${why} needs { confirm: "<database name>" } (the name of the database it changes); ` +
    `got ${JSON.stringify(confirm ?? null)}${confirm === true ? ': confirm: true is not enough there' : ''}.`
  );
}
