import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(__dirname, '..', '..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('house rules', () => {
  it('no file under src/core imports vscode', () => {
    const files = tsFiles(join(root, 'src', 'core'));
    assert.ok(files.length > 5, 'src/core has files');
    const offenders = files.filter((f) =>
      /(?:from\s+|require\(\s*|import\(\s*)['"]vscode['"]/.test(readFileSync(f, 'utf8')),
    );
    assert.deepEqual(
      offenders.map((f) => relative(root, f)),
      [],
    );
  });

  it('no source file starts a process through a shell', () => {
    const offenders = tsFiles(join(root, 'src')).filter((f) =>
      /shell:\s*true|execaCommand|execSync\(/.test(readFileSync(f, 'utf8')),
    );
    assert.deepEqual(
      offenders.map((f) => relative(root, f)),
      [],
    );
  });
});
