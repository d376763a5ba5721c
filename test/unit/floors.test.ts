/**
 * The floors of src (docs/architecture.md, "Floors") are held by `npm run lint` (dependency-cruiser with
 * .dependency-cruiser.cjs). Here the same config lints small trees written for the test: a backwards import
 * (also a type-only one) and a circle fail, an import down a floor passes, and src itself passes.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { stripVTControlCharacters } from 'node:util';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const root = join(__dirname, '..', '..');
const bin = join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const config = join(root, '.dependency-cruiser.cjs');

function cruise(cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, 'src', '--config', config, '--output-type', 'err'],
      // Under CI=true the reporter colours its output (supports-color): read it as plain text.
      { cwd, timeout: 60_000, env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } },
      (err, stdout, stderr) =>
        resolve({
          code: err ? ((err as { code?: number }).code ?? 1) : 0,
          out: stripVTControlCharacters(`${stdout}${stderr}`),
        }),
    );
  });
}

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsdbops-floors-'));
  copyFileSync(join(root, 'tsconfig.json'), join(dir, 'tsconfig.json'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('floors (npm run lint)', function () {
  this.timeout(120_000);
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const lint = (files: Record<string, string>) => {
    const d = tree(files);
    dirs.push(d);
    return cruise(d);
  };

  it('fails on a backwards import (core/docker importing core/stack), naming the rule and the files', async () => {
    const r = await lint({
      'src/core/stack/site.ts': 'export const DEFAULT_STANZA = "db";\n',
      'src/core/docker/backwards.ts':
        "import { DEFAULT_STANZA } from '../stack/site';\nexport const s = DEFAULT_STANZA;\n",
    });
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, /floors: core\/docker/);
    assert.match(r.out, /src\/core\/docker\/backwards\.ts → src\/core\/stack\/site\.ts/);
  });

  it('fails on a type-only backwards import too', async () => {
    const r = await lint({
      'src/core/backups/targets.ts': 'export interface T { a: string }\n',
      'src/core/stack/typed.ts':
        "import type { T } from '../backups/targets';\nexport const t: T | undefined = undefined;\n",
    });
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, /floors: core\/stack/);
  });

  it('fails on a circle', async () => {
    const r = await lint({
      'src/ui/a.ts': "import { b } from './b';\nexport const a = () => b;\n",
      'src/ui/b.ts': "import { a } from './a';\nexport const b = () => a;\n",
    });
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, /no-circular/);
  });

  it('passes an import down a floor', async () => {
    const r = await lint({
      'src/core/docker/engine.ts': 'export const E = 1;\n',
      'src/core/stack/uses.ts': "import { E } from '../docker/engine';\nexport const u = E;\n",
    });
    assert.equal(r.code, 0, r.out);
  });

  it('src itself passes', async () => {
    const r = await cruise(root);
    assert.equal(r.code, 0, r.out);
  });
});
