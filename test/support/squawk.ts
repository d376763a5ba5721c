/**
 * squawk (the reference Postgres migration linter) for the lint comparison test, installed on demand into
 * the cache folder with npm, not as a devDependency: its package names optional binaries for every
 * platform, and a lock file that lists only the ones a registry mirror has breaks `npm ci`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from './docker';

export const SQUAWK_VERSION = '2.66.0';

/** The squawk binary, installing `squawk-cli@SQUAWK_VERSION` into `<cache>/squawk-<version>` first if needed. */
export function ensureSquawk(log: (line: string) => void = console.log): string {
  const dir = join(cacheDir(), `squawk-${SQUAWK_VERSION}`);
  const bin = join(dir, 'node_modules', '.bin', 'squawk');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  log(`      installing squawk-cli@${SQUAWK_VERSION} into ${dir}…`);
  execFileSync(
    'npm',
    [
      'install',
      '--prefix',
      dir,
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--no-package-lock',
      `squawk-cli@${SQUAWK_VERSION}`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 },
  );
  if (!existsSync(bin)) throw new Error(`npm installed squawk-cli into ${dir} but ${bin} is missing`);
  return bin;
}
