/**
 * Where the bench's own files are (test/support, test/fixtures), also when a suite is bundled
 * elsewhere (the in-host suites run from out/test/vscode/suites/…, where __dirname is the bundle's).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository's test/support folder. */
export function supportDir(): string {
  if (existsSync(join(__dirname, 'image')) && existsSync(join(__dirname, 'stack.ts'))) return __dirname;
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, 'test', 'support');
    if (existsSync(join(candidate, 'stack.ts'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`test/support not found above ${__dirname}`);
  }
}
