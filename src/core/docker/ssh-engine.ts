/**
 * A Docker Engine reached over SSH (`ssh://user@host[:port]`), the way the docker CLI reaches it: each
 * connection to the engine is an SSH channel running `docker system dial-stdio` on the far side.
 *
 * - One SSH connection carries every channel (dockerode's requests and streams, and the CLIs through a
 *   private local socket), so there is one handshake, one host-key check, one authentication. A
 *   second connection is opened only when the server refuses more channels (OpenSSH's MaxSessions).
 * - The host key is checked against known_hosts (core/docker/known-hosts): an unknown, changed or
 *   revoked key ends the handshake with a HostKeyError. Nothing is accepted silently, nothing written.
 * - Authentication: the SSH agent (`SSH_AUTH_SOCK`), then the key files given (or ~/.ssh/id_ed25519,
 *   id_ecdsa, id_rsa). Keys and passwords are never stored or logged; only the agent socket path and
 *   the key file paths are kept.
 * - Timeouts instead of hangs: the handshake and authentication must finish within `readyTimeoutMs`;
 *   a silent connection is dropped after `keepaliveIntervalMs` × `keepaliveCountMax`, which fails the
 *   requests and streams on it (and the next request connects again).
 * - CLIs (`docker compose`, `docker exec -it` in a terminal) get `DOCKER_HOST=unix://<socket>` of a
 *   local socket in a private (0700) temp folder that forwards to the same verified connection, so
 *   they never run their own unchecked ssh.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Client, ClientChannel, ConnectConfig } from 'ssh2';
import { checkHostKey, defaultKnownHostsFiles, hostKeyError, readKnownHosts, type HostKeyError } from './known-hosts';
import { SshConnectError } from '../errors/docker';
import { isSshChannelRefused, isSshHandshakeTimeout } from '../errors/third-party';
import { OpsError } from '../errors/error';
export { SshConnectError };

export interface SshAddress {
  readonly host: string;
  readonly port: number;
  readonly username: string;
}

export interface SshEngineOptions extends SshAddress {
  /** SSH agent socket (default `SSH_AUTH_SOCK`). */
  readonly agent?: string;
  /** Private key files tried after the agent (default ~/.ssh/id_ed25519, id_ecdsa, id_rsa when present). */
  readonly identityFiles?: readonly string[];
  /** known_hosts files (default ~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts). */
  readonly knownHostsFiles?: readonly string[];
  /** Handshake + authentication limit (default 20 s). */
  readonly readyTimeoutMs?: number;
  /** Keepalive probe interval (default 10 s); the connection is dropped after `keepaliveCountMax` (3) unanswered. */
  readonly keepaliveIntervalMs?: number;
  readonly keepaliveCountMax?: number;
  /** Channels per SSH connection before another connection is opened (default 8; OpenSSH allows 10). */
  readonly maxChannels?: number;
  /** The command run on the far side (default `docker system dial-stdio`). */
  readonly remoteCommand?: string;
  readonly log?: (level: 'info' | 'warn' | 'debug', message: string) => void;
}

/** Reads `ssh://user@host[:port]`; the user defaults to the local one, the port to 22. */
export function parseSshHost(host: string, env: NodeJS.ProcessEnv = process.env): SshAddress {
  const url = new URL(host);
  if (url.protocol !== 'ssh:') throw new OpsError('config', `${host} is not an ssh:// address`);
  if (url.pathname && url.pathname !== '/' && url.pathname !== '')
    throw new OpsError('config', `${host}: an ssh:// Docker host has no path; write ssh://user@host[:port]`);
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : 22,
    username: url.username ? decodeURIComponent(url.username) : env['USER'] || env['LOGNAME'] || 'root',
  };
}

interface Link {
  readonly client: Client;
  readonly ready: Promise<void>;
  channels: number;
  /** Channels this connection accepts (lowered when the server refuses one). */
  limit: number;
  closed: boolean;
  /** Its open channels: ended with it, so no idle keep-alive socket of a dead connection is used again. */
  readonly open: Set<ClientChannel>;
}

/** One SSH engine: connections, channels to `docker system dial-stdio`, an HTTP agent and a CLI socket. */
export class SshEngine {
  private links: Link[] = [];
  private server: { readonly dir: string; readonly path: string; readonly server: Server } | undefined;
  private disposed = false;
  private opening: Promise<Link> | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(readonly opts: SshEngineOptions) {}

  get address(): string {
    const { username, host, port } = this.opts;
    return `ssh://${username}@${host}${port === 22 ? '' : `:${port}`}`;
  }

  /** Connects (when not connected) and checks the host key; throws HostKeyError / SshConnectError. */
  async connect(): Promise<void> {
    await this.link();
  }

  /** An HTTP agent for dockerode: every HTTP connection is a dial-stdio channel on the shared SSH connection. */
  httpAgent(): HttpAgent {
    // Keep-alive: an idle channel serves the next request; a new channel costs a `docker system dial-stdio`
    // process on the far side (a few hundred ms on a busy host).
    const agent = new HttpAgent({ keepAlive: true, maxFreeSockets: 3 });
    type Cb = (err: Error | null, socket?: Duplex) => void;
    (agent as unknown as { createConnection: (o: unknown, cb: Cb) => undefined }).createConnection = (_o, cb) => {
      this.channel().then(
        (ch) => cb(null, asSocket(ch)),
        (e: Error) => cb(e),
      );
      return undefined;
    };
    return agent;
  }

  /**
   * `unix://…` of a local socket forwarding to the engine, for CLIs. Connects first, so a refused host
   * key or a failed login is thrown here with its message rather than as a CLI's "cannot connect".
   */
  async cliHost(): Promise<string> {
    await this.connect();
    if (!this.server) {
      const dir = mkdtempSync(join(tmpdir(), 'tsdbops-ssh-'));
      const path = join(dir, 'docker.sock');
      const server = createServer({ allowHalfOpen: true }, (sock) => this.forward(sock));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => resolve());
      });
      chmodSync(path, 0o600);
      this.server = { dir, path, server };
    }
    return `unix://${this.server.path}`;
  }

  /** Drops every SSH connection (the next request connects again); streams on them end with an error. */
  disconnect(): void {
    for (const l of this.links) {
      l.closed = true;
      l.client.end();
    }
    this.links = [];
  }

  /** For tests of a lost connection: destroys the TCP connections underneath at once (no goodbye). */
  killConnections(): void {
    for (const l of this.links) {
      l.closed = true;
      (l.client as unknown as { _sock?: Socket })._sock?.destroy();
    }
    this.links = [];
  }

  get connectionCount(): number {
    return this.links.filter((l) => !l.closed).length;
  }

  dispose(): void {
    this.disposed = true;
    for (const s of this.sockets) s.destroy();
    if (this.server) {
      this.server.server.close();
      rmSync(this.server.dir, { recursive: true, force: true });
      this.server = undefined;
    }
    this.disconnect();
  }

  private forward(sock: Socket): void {
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    sock.pause();
    this.channel().then(
      (ch) => {
        ch.on('error', () => sock.destroy());
        ch.on('close', () => sock.destroy());
        sock.on('close', () => ch.destroy());
        sock.pipe(ch);
        ch.pipe(sock);
        sock.resume();
      },
      (e: Error) => {
        this.opts.log?.('warn', `Docker CLI connection over ${this.address} failed: ${e.message}`);
        sock.destroy();
      },
    );
  }

  /** A new channel running dial-stdio, on a connection with room for it. */
  private async channel(): Promise<ClientChannel> {
    for (let attempt = 0; ; attempt++) {
      const link = await this.link();
      link.channels++; // reserved now, so concurrent requests spread over connections correctly
      try {
        const ch = await new Promise<ClientChannel>((resolve, reject) => {
          link.client.exec(this.opts.remoteCommand ?? 'docker system dial-stdio', (err, stream) =>
            err ? reject(err) : resolve(stream),
          );
        });
        // dial-stdio's own diagnostics (e.g. "docker: command not found") go to the log.
        ch.stderr.on('data', (d: Buffer) => this.opts.log?.('warn', `${this.address}: ${d.toString().trim()}`));
        link.open.add(ch);
        ch.once('close', () => {
          link.open.delete(ch);
          link.channels--;
          this.trim();
        });
        if (link.closed) endChannels(link); // the connection died while the channel opened
        return ch;
      } catch (e) {
        link.channels--;
        // OpenSSH refuses channels beyond MaxSessions: use another connection for the rest.
        if (attempt < 2 && isSshChannelRefused(e) && !link.closed) {
          link.limit = Math.max(1, link.channels);
          continue;
        }
        throw new SshConnectError(
          `${this.address}: could not open a channel to the Docker engine: ${(e as Error).message}`,
        );
      }
    }
  }

  /** Closes idle extra connections (the first one stays). */
  private trim(): void {
    const idle = this.links.filter((l, i) => i > 0 && l.channels === 0);
    for (const l of idle) {
      l.closed = true;
      l.client.end();
    }
    if (idle.length) this.links = this.links.filter((l) => !idle.includes(l));
  }

  private async link(): Promise<Link> {
    if (this.disposed) throw new SshConnectError(`${this.address}: the connection was closed`);
    this.links = this.links.filter((l) => !l.closed);
    const limit = this.opts.maxChannels ?? 8;
    const free = this.links.find((l) => l.channels < Math.min(l.limit, limit));
    if (free) {
      await free.ready;
      return free;
    }
    // Concurrent first requests share one connection attempt (one handshake, one host-key check).
    this.opening ??= this.open().finally(() => (this.opening = undefined));
    return this.opening;
  }

  private async open(): Promise<Link> {
    const { Client: SshClient } = await import('ssh2');
    const client = new SshClient();
    const files = this.opts.knownHostsFiles ?? defaultKnownHostsFiles();
    let refused: HostKeyError | undefined;
    const { host, port, username } = this.opts;
    const config: ConnectConfig = {
      host,
      port,
      username,
      readyTimeout: this.opts.readyTimeoutMs ?? 20_000,
      keepaliveInterval: this.opts.keepaliveIntervalMs ?? 10_000,
      keepaliveCountMax: this.opts.keepaliveCountMax ?? 3,
      hostVerifier: (key: Buffer) => {
        // Read at each handshake, so a key the user just added counts without a reload.
        const verdict = checkHostKey(readKnownHosts(files), host, port, key);
        if (verdict.kind === 'match') return true;
        refused = hostKeyError(verdict, host, port, key, files);
        this.opts.log?.('warn', refused.message);
        return false;
      },
      authHandler: this.authMethods() as ConnectConfig['authHandler'],
    };
    const link: Link = {
      client,
      channels: 0,
      limit: Number.POSITIVE_INFINITY,
      closed: false,
      open: new Set(),
      ready: new Promise<void>((resolve, reject) => {
        client.once('ready', () => {
          this.opts.log?.('info', `Connected to the Docker engine over ${this.address}.`);
          resolve();
        });
        client.once('error', (e: Error & { level?: string; code?: string }) => {
          link.closed = true;
          if (refused) return reject(refused);
          reject(describeConnectError(e, this.address, this.opts.readyTimeoutMs ?? 20_000));
        });
      }),
    };
    client.on('error', (e: Error) => this.opts.log?.('debug', `${this.address}: ${e.message}`));
    // ssh2 closes the connection's channels with it, which ends their HTTP requests and streams.
    client.on('close', () => {
      link.closed = true;
      endChannels(link);
    });
    this.links.push(link);
    client.connect(config);
    try {
      await link.ready;
    } catch (e) {
      this.links = this.links.filter((l) => l !== link);
      throw e;
    }
    return link;
  }

  private authMethods(): unknown[] {
    const { username } = this.opts;
    const methods: unknown[] = [];
    const agent = this.opts.agent ?? process.env['SSH_AUTH_SOCK'];
    if (agent) methods.push({ type: 'agent', username, agent });
    const home = process.env['HOME'] || homedir();
    const files =
      this.opts.identityFiles ??
      ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(home, '.ssh', f)).filter(existsSync);
    for (const f of files) {
      if (!existsSync(f)) throw new SshConnectError(`SSH key file ${f} does not exist (tsdbOps.docker.sshKeyFile).`);
      methods.push({ type: 'publickey', username, key: readFileSync(f) });
    }
    if (!methods.length)
      throw new SshConnectError(
        `No SSH credentials for ${this.address}: start an ssh-agent with your key (SSH_AUTH_SOCK), ` +
          `or set tsdbOps.docker.sshKeyFile to a private key file.`,
      );
    return methods;
  }
}

function describeConnectError(e: Error & { level?: string; code?: string }, address: string, readyMs: number): Error {
  if (e.level === 'client-authentication')
    return new SshConnectError(
      `${address}: SSH login refused (${e.message}): add your public key to the user's ~/.ssh/authorized_keys ` +
        `on the host, or load the right key into your ssh-agent.`,
      'EAUTH',
    );
  if (isSshHandshakeTimeout(e))
    return new SshConnectError(
      `${address}: no SSH handshake within ${readyMs / 1000} s; is sshd listening there?`,
      'ETIMEDOUT',
    );
  return new SshConnectError(`${address}: ${e.message}`, e.code ?? 'ECONNREFUSED');
}

/** ssh2 channels lack the few net.Socket methods Node's HTTP client may call. */
/**
 * Ends every channel of a connection that died: an idle keep-alive channel in the HTTP agent's pool would
 * otherwise serve the next request and never answer (a hang); destroyed, it leaves the pool at once.
 */
function endChannels(link: Link): void {
  for (const ch of [...link.open]) {
    try {
      ch.destroy();
    } catch {
      // already gone
    }
  }
}

function asSocket(ch: ClientChannel): Duplex {
  const s = ch as unknown as Record<string, unknown>;
  for (const m of ['setTimeout', 'setNoDelay', 'setKeepAlive', 'ref', 'unref'])
    if (typeof s[m] !== 'function') s[m] = () => ch;
  return ch;
}

const engines = new Map<string, SshEngine>();

/** The shared SshEngine of an address (one per address and options), created on first use. */
export function sshEngineFor(opts: SshEngineOptions): SshEngine {
  const key = JSON.stringify([
    opts.username,
    opts.host,
    opts.port,
    opts.identityFiles,
    opts.knownHostsFiles,
    opts.agent,
  ]);
  let e = engines.get(key);
  if (!e) engines.set(key, (e = new SshEngine(opts)));
  return e;
}

/** Closes every shared SSH engine (on a settings change and at deactivation). */
export function disposeSshEngines(): void {
  for (const e of engines.values()) e.dispose();
  engines.clear();
}
