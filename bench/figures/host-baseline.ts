/**
 * The baseline of the extension-host figure: the extension as it was at an old commit (BASELINE), built in a
 * temp folder so its windows can run beside this tree's in the same bench run, interleaved (issue 28: the
 * gain is measured against the old code on the same machine at the same time, not against an old table).
 *
 * `git archive` of the commit into a temp folder (no worktree is registered, so nothing is left in .git),
 * this tree's node_modules linked into it, and the old commit's own esbuild.mjs run there (its
 * dist/extension.js, as a user of that commit got it). remove() deletes the folder.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess } from '../../test/support/vscode/processes.js';
import { REPO_ROOT } from '../../test/support/vscode/bundle.js';

/** The commit before issue 28's first-tree-items work (the last full bench run, BENCHMARKS.md, measured it). */
export const BASELINE = '5c1209c';

export interface Baseline {
  readonly commit: string;
  /** The extension folder (package.json + dist/) to load as extensionDevelopmentPath. */
  readonly dir: string;
  remove(): void;
}

export async function buildBaseline(log: (m: string) => void, commit = BASELINE): Promise<Baseline> {
  const root = mkdtempSync(join(tmpdir(), 'tsdb-ops-bench-baseline-'));
  const remove = () => rmSync(root, { recursive: true, force: true });
  try {
    log(`building the baseline extension of ${commit} in ${root}…`);
    const tar = join(root, 'src.tar');
    const a = await runProcess(['git', 'archive', '--format=tar', '-o', tar, commit], {
      cwd: REPO_ROOT,
      timeoutMs: 120_000,
    });
    if (a.code !== 0) throw new Error(`git archive ${commit} failed (exit ${a.code}):\n${a.output}`);
    const dir = join(root, 'ext');
    mkdirSync(dir);
    const t = await runProcess(['tar', '-x', '-f', tar, '-C', dir], { cwd: root, timeoutMs: 120_000 });
    if (t.code !== 0) throw new Error(`extracting ${commit} failed (exit ${t.code}):\n${t.output}`);
    rmSync(tar);
    // Its dependencies are this tree's (the same versions for what the bundle holds; a link, not a copy).
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const b = await runProcess(['node', 'esbuild.mjs'], { cwd: dir, timeoutMs: 300_000 });
    if (b.code !== 0) throw new Error(`building ${commit} (node esbuild.mjs) failed (exit ${b.code}):\n${b.output}`);
    return { commit, dir, remove };
  } catch (e) {
    remove();
    throw e;
  }
}
