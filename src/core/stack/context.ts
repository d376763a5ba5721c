/**
 * One stack, one answer: `resolveStack()` returns everything an operation needs to know about a stack,
 * each value with the source it came from (docs/architecture.md, "The stack context", has the precedence
 * table). The settings are a plain object (core/stack/settings), so a command-line program calls it
 * without VS Code.
 *
 * What the compose file, the `.env` file and the settings say is answered at once (the trees show it
 * before the engine answers); what needs the engine (the database container, where the tools run, the
 * pgBackRest config in effect, PGDATA, the stanza) is resolved on first use and kept until `refresh()`.
 */
import type { StackConfig } from '../infra';
import type { StackContext, StackDeps } from './context-types';
import type { StackSettings } from './settings';
import { StackResolver } from './resolve';

export * from './context-types';
export type { RuntimeKind, Sourced, SourceKind, StackSettings } from './settings';

/** The stack context of a stack. Returns at once; what needs the engine is resolved on first use. */
export function resolveStack(stack: StackConfig, settings: StackSettings, deps: StackDeps): StackContext {
  return new StackResolver(stack, settings, deps);
}
