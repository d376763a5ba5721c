/** `npm run build` once per bench run (dist/extension.js and dist/timeline.js, as users get them). */
import { runProcess } from '../../test/support/vscode/processes.js';
import { REPO_ROOT } from '../../test/support/vscode/bundle.js';

let built: Promise<void> | undefined;

export function ensureBuilt(log: (m: string) => void): Promise<void> {
  return (built ??= (async () => {
    log('building the extension (npm run build)…');
    const b = await runProcess(['npm', 'run', '--silent', 'build'], { cwd: REPO_ROOT, timeoutMs: 300_000 });
    if (b.code !== 0) throw new Error(`npm run build failed (exit ${b.code}):\n${b.output}`);
  })());
}
