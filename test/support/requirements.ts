/**
 * What a test layer needs from the machine, and what happens when it is missing:
 * locally the tests skip with a printed reason and the command that installs the part;
 * with CI=true a missing part is a failure (CI must never skip).
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export const isCI = /^(1|true|yes)$/i.test(process.env.CI ?? '');

/** Absolute path of an executable found on PATH (or in the extra dirs), or undefined. */
export function which(name: string, extraDirs: string[] = []): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...extraDirs].filter(Boolean);
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export class MissingPartError extends Error {
  constructor(
    readonly part: string,
    readonly installHint: string,
  ) {
    super(`${part} is missing. Install it with: ${installHint}`);
    this.name = 'MissingPartError';
  }
}

/**
 * Call in a mocha `before` hook (function, not arrow, so `this` is the context):
 * skips the suite locally, fails it under CI.
 */
export function requirePart(ctx: Mocha.Context, available: boolean, part: string, installHint: string): void {
  if (available) return;
  const err = new MissingPartError(part, installHint);
  if (isCI) throw err;
  console.log(`      skipped: ${err.message}`);
  ctx.skip();
}
