/**
 * Mocha global fixtures for the integration layer (required from test/mocharc.integration.json):
 * the private Docker engine (if one is started) stays up across suites, so images and the engine
 * start only once; at the end every registered teardown runs and the engine is stopped.
 */
import { pendingCleanups, runAllCleanups } from './cleanup';
import { holdDocker, shutdownDocker } from './docker';

export function mochaGlobalSetup(): void {
  holdDocker();
}

export async function mochaGlobalTeardown(): Promise<void> {
  const pending = pendingCleanups().filter((n) => !n.startsWith('private dockerd'));
  if (pending.length > 0) console.warn(`      [bench] still running at the end, stopping: ${pending.join(', ')}`);
  await runAllCleanups();
  await shutdownDocker();
  if (pendingCleanups().length > 0) throw new Error('bench teardown left resources behind');
}
