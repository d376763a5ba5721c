/**
 * The shape of one command declaration (see ./index.ts). Free of `vscode`: the unit layer, the docs
 * generator and the in-host tests read the same table the extension registers from.
 */
import { z } from 'zod';
import type { CommandId } from '../../ids';

/**
 * Whether a command changes the live database or the stack. `scope` says what a production stack's typed
 * confirmation names: `database` the database's name, `cluster` the compose project name. `when` narrows
 * it (Stop / Restart Container change the stack only for the database service).
 */
export type Live =
  | { readonly changes: false; readonly why: string }
  | {
      readonly changes: true;
      readonly scope: 'database' | 'cluster';
      readonly why: string;
      /** Only when this holds for the (validated) args and the stack's database service name. */
      readonly when?: {
        readonly text: string;
        readonly test: (args: Record<string, unknown>, dbService?: string) => boolean;
      };
    };

/**
 * How a call is read. `interactive`: from the palette, a view or the status bar (asks for what is missing).
 * `automation`: an args object was passed: it asks nothing, and a missing value is an error naming it.
 * Every command has both; `palette` marks the few with nothing to automate (they only open something).
 */
export type Mode = 'both' | 'palette';

export interface CommandSpec {
  readonly id: CommandId;
  /** The args object's schema: strict, so an unknown key is refused with the key named. */
  readonly args: z.ZodObject;
  readonly mode: Mode;
  /** The tree item kinds (`viewItem` context values, up to the first dot) the command takes as its node. */
  readonly nodes: readonly string[];
  readonly live: Live;
  /** What a call with args returns (for docs/commands.md). */
  readonly result: string;
  /** The named handler function and the file it lives in (for the handler-size house rule). */
  readonly handler: { readonly file: string; readonly name: string };
}

/** The args call's values once the schema accepted them. */
export type Args = Record<string, unknown> | undefined;

/** The stack a command acts on (args.ts pickStack): a workspace folder path or name, or an infra folder. */
export const folder = z.string().min(1).optional();
/** `true`, or on a production stack the typed name (core/stack/production). */
export const confirm = z.union([z.literal(true), z.string()]).optional();

export const notLive = (why: string): Live => ({ changes: false, why });
export const live = (
  scope: 'database' | 'cluster',
  why: string,
  when?: Extract<Live, { changes: true }>['when'],
): Live => ({
  changes: true,
  scope,
  why,
  when,
});
