/**
 * The extension-host bench's runner (`extensionTestsPath`): measures the first tree items (first-items.ts) before
 * it loads the in-host test runner (test/vscode/index.ts: mocha and the suite), then runs the suite as that runner
 * does. Loading mocha first took the host's thread right after activation and delayed what it measured.
 */
import { keep, probeFirstItems } from './first-items';

export async function run(): Promise<void> {
  const startedAt = performance.now();
  keep(await probeFirstItems(startedAt));
  // Loaded only now (esbuild keeps a dynamic import's module, and mocha with it, uninitialised until here).
  const { run: runSuites } = await import('../../test/vscode/index');
  await runSuites();
}
