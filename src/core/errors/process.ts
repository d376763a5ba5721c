/**
 * Errors of a program run in the database container (docker exec) or through a `ToolRuntime`: one of each idea
 * (cancelled, output closed, input broken, failed), wherever the program ran. The classes code branches on
 * (ToolOutputClosedError, ToolInputBrokenError, ToolFailedError) are in error.ts.
 */
import { CancelledError, OpsError } from './error';

export { ToolFailedError, ToolInputBrokenError, ToolOutputClosedError } from './error';

/** A cancelled program (docker exec, a `ToolRuntime`, compose): "Cancelled: <shown>", kind 'cancelled'. */
export function toolCancelled(argv: readonly string[], shown = argv.join(' ')): CancelledError {
  return new CancelledError(`Cancelled: ${shown}`, { facts: { tool: argv[0], argv } });
}

/** The connection to the engine dropped while a tool ran in the container (its output stream ended early). */
export function connectionLost(argv: readonly string[], detail: string): OpsError {
  return new OpsError(
    'connection-lost',
    `The connection to the Docker engine was lost while "${argv[0] ?? ''}" ran in the container (${detail}). ` +
      `Its result is unknown: check the state once the engine is reachable again.`,
    { facts: { tool: argv[0], argv } },
  );
}
