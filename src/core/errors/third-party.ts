/**
 * The one place where errors are told apart by their message: errors of third-party libraries and tools that carry
 * no code to branch on. Everything else is told apart by `kind` (or `instanceof` for the classes of error.ts); a new
 * message match belongs here, with the library that writes it and why there is no code.
 */

const text = (e: unknown): string => {
  const m = (e as { message?: unknown } | null | undefined)?.message;
  return typeof m === 'string' ? m : String(e);
};

/** ssh2: the server did not finish the SSH handshake within `readyTimeout` (ssh2 sets no `code` or `level`). */
export function isSshHandshakeTimeout(e: unknown): boolean {
  return /Timed out while waiting for handshake/i.test(text(e));
}

/**
 * ssh2: the server refused to open a channel, as OpenSSH does beyond its MaxSessions ("(SSH) Channel open failure:
 * open failed"); ssh2 gives the SSH reason code only in the message.
 */
export function isSshChannelRefused(e: unknown): boolean {
  return /open failed|Channel open failure/i.test(text(e));
}

/**
 * pg: the server asked for a password and none was given. pg throws this before sending anything ("client password
 * must be a string", no SQLSTATE); a server's own refusal without a password may come as a plain message too.
 */
export function isPgPasswordMissing(e: unknown): boolean {
  return /client password must be a string|password authentication failed/i.test(text(e));
}

/** pg: the connection attempt timed out (pg's "Connection terminated due to connection timeout" has no code). */
export function isPgTimeout(e: unknown): boolean {
  return /timeout/i.test(text(e));
}

/**
 * The disk is full, as a tool says it on stderr (pg_dump, PostgreSQL's "could not extend file", a shell's "No space
 * left on device") or as a Node error's message: one line of text, or an error.
 */
export function isDiskFullText(e: unknown): boolean {
  return /No space left on device|ENOSPC|could not extend file|disk quota exceeded/i.test(text(e));
}
