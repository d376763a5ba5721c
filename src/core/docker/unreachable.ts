/**
 * Whether an error means the Docker engine could not be reached. A module of its own, with no engine client behind
 * it, so that code which only reads errors (the drill's messages) does not load the ssh:// client (ssh2).
 */
import { HostKeyError, SshConnectError } from '../errors/docker';

/** True when an error means "the engine is not there" (socket missing, refused, timed out), not a bad request. */
export function isUnreachable(e: unknown): boolean {
  const code = (e as { code?: string } | undefined)?.code;
  if (e instanceof HostKeyError || e instanceof SshConnectError) return true;
  return ['ECONNREFUSED', 'ENOENT', 'EACCES', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET', 'EPIPE', 'ENOTFOUND'].includes(
    code ?? '',
  );
}
