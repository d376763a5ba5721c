/**
 * SSH host-key checks the way OpenSSH does them: the key a server offers is looked up in known_hosts
 * (`~/.ssh/known_hosts`, then `/etc/ssh/ssh_known_hosts`, or the files given). A host that is not
 * listed, or listed with a different key, is refused with a message that names the file, the
 * fingerprints and the fix. Nothing is ever written to known_hosts: the user adds a key themselves
 * after checking its fingerprint.
 *
 * Understood: plain and hashed (`|1|salt|hash`) host patterns, `[host]:port` for ports other than 22,
 * comma-separated names, `*`/`?` wildcards, negation (`!pattern`), and the `@revoked` marker.
 * `@cert-authority` lines are skipped (host certificates are not supported; the host's own key must
 * be listed).
 */
import { createHash, createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { HostKeyError } from '../errors/docker';
export { HostKeyError };

export interface KnownHostEntry {
  readonly file: string;
  readonly line: number;
  readonly marker?: 'revoked' | 'cert-authority';
  readonly patterns: string;
  readonly keyType: string;
  /** The key blob (the base64 part, decoded). */
  readonly key: Buffer;
}

export type HostKeyVerdict =
  | { readonly kind: 'match'; readonly entry: KnownHostEntry }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'changed'; readonly entries: readonly KnownHostEntry[] }
  | { readonly kind: 'revoked'; readonly entry: KnownHostEntry };

/** The files OpenSSH reads by default. */
export function defaultKnownHostsFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  return [join(env['HOME'] || homedir(), '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'];
}

/** The name a host has in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** `SHA256:…` as `ssh-keygen -l` prints it. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The key type written in a key blob (its first string). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const n = key.readUInt32BE(0);
  return key.subarray(4, 4 + n).toString('latin1');
}

export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]?.startsWith('@')) {
      const m = fields.shift()!;
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else return;
    }
    const [patterns, keyType, b64] = fields;
    if (!patterns || !keyType || !b64) return;
    const key = Buffer.from(b64, 'base64');
    if (!key.length) return;
    out.push({ file, line: i + 1, marker, patterns, keyType, key });
  });
  return out;
}

export function readKnownHosts(files: readonly string[]): KnownHostEntry[] {
  return files.flatMap((f) => (existsSync(f) ? parseKnownHosts(readFileSync(f, 'utf8'), f) : []));
}

function wildcard(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return re.test(name);
}

function hashedMatch(pattern: string, name: string): boolean {
  // |1|base64(salt)|base64(HMAC-SHA1(salt, name))
  const [, kind, salt, hash] = pattern.split('|');
  if (kind !== '1' || !salt || !hash) return false;
  return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
}

/** Whether an entry's host patterns name the host (OpenSSH's rules: any positive match, no negated match). */
export function entryNamesHost(patterns: string, name: string): boolean {
  if (patterns.startsWith('|')) return hashedMatch(patterns, name);
  let matched = false;
  for (const p of patterns.split(',')) {
    if (p.startsWith('!')) {
      if (wildcard(p.slice(1), name)) return false;
    } else if (wildcard(p, name)) matched = true;
  }
  return matched;
}

/** Looks the offered key up: a match, unknown host, a changed key, or a revoked key. */
export function checkHostKey(
  entries: readonly KnownHostEntry[],
  host: string,
  port: number,
  key: Buffer,
): HostKeyVerdict {
  const name = knownHostName(host, port);
  const revoked = entries.find((e) => e.marker === 'revoked' && e.key.equals(key));
  if (revoked) return { kind: 'revoked', entry: revoked };
  const forHost = entries.filter((e) => !e.marker && entryNamesHost(e.patterns, name));
  const match = forHost.find((e) => e.key.equals(key));
  if (match) return { kind: 'match', entry: match };
  // Like OpenSSH: only a listed key of the same type counts as "changed"; another type is unknown.
  const sameType = forHost.filter((e) => e.keyType === keyTypeOf(key));
  return sameType.length ? { kind: 'changed', entries: sameType } : { kind: 'unknown' };
}

/** The error for a refused key: what happened, the fingerprints, where to look, and the fix. */
export function hostKeyError(
  verdict: Exclude<HostKeyVerdict, { kind: 'match' }>,
  host: string,
  port: number,
  key: Buffer,
  files: readonly string[],
): HostKeyError {
  const name = knownHostName(host, port);
  const fp = fingerprint(key);
  const type = keyTypeOf(key);
  const portArg = port === 22 ? '' : ` -p ${port}`;
  switch (verdict.kind) {
    case 'unknown':
      return new HostKeyError(
        `SSH host key of ${name} is unknown (${type} ${fp}), so the connection was refused: it is not in ` +
          `${files.join(' or ')}. Check the fingerprint with the host's administrator, then add it, for example ` +
          `with "ssh${portArg} ${host}" (answer yes) or "ssh-keyscan${portArg} ${host} >> ${files[0]}".`,
        'unknown',
        name,
        fp,
      );
    case 'changed': {
      const where = verdict.entries.map((e) => `${e.file}:${e.line} (${fingerprint(e.key)})`).join(', ');
      return new HostKeyError(
        `SSH host key of ${name} has CHANGED (the server offers ${type} ${fp}; known_hosts has ${where}), ` +
          `so the connection was refused: someone may be intercepting it. If the host was reinstalled, remove the ` +
          `old key with "ssh-keygen -R '${name}'" and add the new one after checking its fingerprint.`,
        'changed',
        name,
        fp,
      );
    }
    case 'revoked':
      return new HostKeyError(
        `SSH host key of ${name} (${type} ${fp}) is marked @revoked in ${verdict.entry.file}:${verdict.entry.line}, ` +
          `so the connection was refused.`,
        'revoked',
        name,
        fp,
      );
  }
}
