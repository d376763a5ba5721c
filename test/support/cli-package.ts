/**
 * The command line as a user gets it: `npm pack` in cli/ (its `prepack` builds the bundle), the tarball installed
 * into a temporary prefix. Packed and installed once per test process (the suites that run the installed
 * `tsdb-ops` share it); the folder is removed at the end of the run.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { supportDir } from './paths';

export interface InstalledCli {
  /** The installed `tsdb-ops` (prefix/bin/tsdb-ops). */
  readonly bin: string;
  /** A temporary folder outside the repository (the tarball and the prefix are in it). */
  readonly work: string;
}

const ROOT = join(supportDir(), '..', '..');
let installed: InstalledCli | undefined;

export function installedCli(): InstalledCli {
  if (installed) return installed;
  const work = mkdtempSync(join(tmpdir(), 'tsdb-ops-cli-'));
  process.once('exit', () => rmSync(work, { recursive: true, force: true }));
  const packed = execFileSync('npm', ['pack', '--pack-destination', work, '--silent'], {
    cwd: join(ROOT, 'cli'),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 180_000,
  })
    .trim()
    .split('\n')
    .at(-1)!;
  const tarball = join(work, packed);
  const listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
  assert.deepEqual(listing, [
    'package/README.md',
    'package/dist/libpg-query.wasm',
    'package/dist/tsdb-ops.js',
    'package/package.json',
  ]);
  const prefix = join(work, 'prefix');
  execFileSync('npm', ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', tarball], {
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 180_000,
  });
  installed = { bin: join(prefix, 'bin', 'tsdb-ops'), work };
  return installed;
}
