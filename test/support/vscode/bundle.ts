/**
 * Bundles the in-host runner and suite files (TypeScript, anywhere on disk) into CommonJS the
 * extension host can load: out/test/vscode/index.js and out/test/vscode/suites/*.js. `vscode` and
 * `mocha` stay external (mocha resolves from the repository's node_modules, since the bundles live
 * inside the repository).
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { build } from 'esbuild';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..');
export const OUT_DIR = join(REPO_ROOT, 'out', 'test', 'vscode');
export const RUNNER_SOURCE = join(REPO_ROOT, 'test', 'vscode', 'index.ts');

const common = {
  bundle: true,
  format: 'cjs' as const,
  platform: 'node' as const,
  target: 'node20',
  external: ['vscode', 'mocha'],
  sourcemap: 'inline' as const,
  logLevel: 'warning' as const,
};

/** Bundles the runner; returns the path of out/test/vscode/index.js (another runner `source`: out/test/vscode/<name>.js). */
export async function bundleRunner(source = RUNNER_SOURCE, name = 'index'): Promise<string> {
  const outfile = join(OUT_DIR, `${name}.js`);
  await build({ ...common, entryPoints: [source], outfile });
  return outfile;
}

/**
 * Bundles each suite file on its own into `<OUT_DIR>/suites/<group>/`; returns the bundled paths
 * in the order given.
 */
export async function bundleSuites(files: string[], group: string): Promise<string[]> {
  const outdir = join(OUT_DIR, 'suites', group);
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const entryPoints: Record<string, string> = {};
  const out: string[] = [];
  files.forEach((file, i) => {
    const name = `${String(i).padStart(2, '0')}-${basename(file)
      .replace(/\.[cm]?[jt]s$/, '')
      .replace(/[^\w.-]/g, '_')}`;
    entryPoints[name] = file;
    out.push(join(outdir, `${name}.js`));
  });
  // The extension host pins console.*; the runner hands the suites a capturing console instead.
  const banner = { js: 'var console = globalThis.__tsdbOpsConsole || globalThis.console;' };
  if (files.length) await build({ ...common, entryPoints, outdir, banner });
  return out;
}

/**
 * Expands a file path or a glob (`*`, `**`, `?`; relative to the current folder) to the matching
 * files, sorted. A plain path must exist.
 */
export function expandTests(pattern: string, cwd = process.cwd()): string[] {
  const abs = isAbsolute(pattern) ? pattern : join(cwd, pattern);
  if (!/[*?[]/.test(abs)) {
    if (!existsSync(abs)) throw new Error(`no such test file: ${abs}`);
    if (statSync(abs).isDirectory()) return expandTests(join(abs, '**', '*.test.ts'));
    return [abs];
  }
  const parts = abs.split(sep);
  const firstWild = parts.findIndex((p) => /[*?[]/.test(p));
  const base = parts.slice(0, firstWild).join(sep) || sep;
  const re = globToRegExp(parts.slice(firstWild).join('/'));
  const found: string[] = [];
  const walk = (dir: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of entries) {
      if (name === 'node_modules' || name === '.git') continue;
      const p = join(dir, name);
      let st;
      try {
        st = statSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(p);
      else if (re.test(relative(base, p).split(sep).join('/'))) found.push(p);
    }
  };
  walk(base);
  return found.sort();
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` matches zero or more folders
      if (glob[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The repository's own suites, grouped by the workspace they need (test/vscode/<group>/*.test.ts). */
export function repoSuites(): { fixture: string[]; empty: string[]; untrusted: string[]; multiroot: string[] } {
  const dir = join(REPO_ROOT, 'test', 'vscode');
  return {
    multiroot: expandTests(join(dir, 'multiroot', '**', '*.test.ts')),
    fixture: expandTests(join(dir, 'workspace', '**', '*.test.ts')),
    empty: expandTests(join(dir, 'empty', '**', '*.test.ts')),
    untrusted: expandTests(join(dir, 'untrusted', '**', '*.test.ts')),
  };
}

export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return !!rel && !rel.startsWith('..') && !isAbsolute(rel);
}
