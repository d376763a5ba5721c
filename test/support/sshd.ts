/**
 * A real OpenSSH server (Debian's openssh-server) on a loopback port whose user reaches a Docker
 * engine, as in shared/notes/test-bench.md: a generated ed25519 host key and user key, an
 * sshd_config with `SetEnv DOCKER_HOST=<engine>` so the far side's `docker system dial-stdio` finds
 * the bench's private engine. One server per test process is shared by the suites that need it
 * (`sharedSshd()`), so it starts once (well under a second) and stops at exit.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { registerCleanup } from './cleanup';
import { pidAlive } from './docker';
import { freePort, isRoot, run, sleep, waitFor } from './proc';

export const SSHD = '/usr/sbin/sshd';

export function sshdAvailable(): boolean {
  return isRoot && existsSync(SSHD) && existsSync('/usr/bin/ssh-keygen');
}

export const sshdInstallHint = 'apt-get install -y openssh-server (and run the tests as root)';

export interface Sshd {
  readonly port: number;
  readonly user: string;
  /** `ssh://root@127.0.0.1:<port>` */
  readonly url: string;
  readonly dir: string;
  /** The client's private key file (no passphrase). */
  readonly userKey: string;
  /** A known_hosts file listing this server's real host key. */
  readonly knownHosts: string;
  /** A known_hosts file listing another ed25519 key for this host (a changed key). */
  readonly changedKnownHosts: string;
  /** An empty known_hosts file (an unknown host). */
  readonly emptyKnownHosts: string;
  /** Kills every sshd session process (the connections drop; the listener stays). */
  killSessions(): Promise<void>;
  stop(): Promise<void>;
}

function keygen(file: string): string {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'tsdbops-test', '-f', file]);
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr.toString()}`);
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

/** Starts an sshd whose sessions reach the engine at `dockerHost` (unix://…). */
export async function startSshd(dockerHost: string): Promise<Sshd> {
  const dir = mkdtempSync(join(tmpdir(), 'tsdbops-sshd-'));
  const port = await freePort();
  const hostPub = keygen(join(dir, 'host_key'));
  const userPub = keygen(join(dir, 'user_key'));
  const otherPub = keygen(join(dir, 'other_host_key'));
  writeFileSync(join(dir, 'authorized_keys'), `${userPub}\n`, { mode: 0o600 });
  const name = `[127.0.0.1]:${port}`;
  const [hostType, hostB64] = hostPub.split(/\s+/);
  const [otherType, otherB64] = otherPub.split(/\s+/);
  writeFileSync(join(dir, 'known_hosts'), `${name} ${hostType} ${hostB64}\n`);
  writeFileSync(join(dir, 'changed_known_hosts'), `${name} ${otherType} ${otherB64}\n`);
  writeFileSync(join(dir, 'empty_known_hosts'), '');
  const pidFile = join(dir, 'sshd.pid');
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'UsePAM no',
      `PidFile ${pidFile}`,
      `SetEnv DOCKER_HOST=${dockerHost}`,
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  mkdirSync('/run/sshd', { recursive: true });
  await run(SSHD, ['-f', join(dir, 'sshd_config')]);
  await waitFor('sshd pid file', async () => (existsSync(pidFile) ? true : undefined), 10_000);
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const killSync = (): void => {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone
    }
  };
  const unregister = registerCleanup({
    name: `sshd on port ${port}`,
    run: async () => killSync(),
    runSync: () => {
      killSync();
      rmSync(dir, { recursive: true, force: true });
    },
  });
  const user = userInfo().username;
  return {
    port,
    user,
    url: `ssh://${user}@127.0.0.1:${port}`,
    dir,
    userKey: join(dir, 'user_key'),
    knownHosts: join(dir, 'known_hosts'),
    changedKnownHosts: join(dir, 'changed_known_hosts'),
    emptyKnownHosts: join(dir, 'empty_known_hosts'),
    async killSessions() {
      // Session processes descend from the listener (`sshd: root [priv]`, then `sshd: root@notty` and the
      // far side's `docker system dial-stdio`): kill the whole tree below it, so the TCP connections drop.
      const descendants = async (parent: number): Promise<number[]> => {
        const r = await run('pgrep', ['-P', String(parent)], { reject: false });
        const kids = r.stdout.split(/\s+/).filter(Boolean).map(Number);
        return [...kids, ...(await Promise.all(kids.map(descendants))).flat()];
      };
      for (const child of await descendants(pid)) {
        try {
          process.kill(child, 'SIGKILL');
        } catch {
          // gone
        }
      }
    },
    async stop() {
      unregister();
      killSync();
      for (let i = 0; i < 50 && pidAlive(pid); i++) await sleep(50);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let shared: Promise<Sshd> | undefined;

/** One sshd per test process for every suite that needs one (stopped at exit by the cleanup hook). */
export function sharedSshd(dockerHost: string): Promise<Sshd> {
  shared ??= startSshd(dockerHost);
  return shared;
}

/** Stops the shared sshd (a suite's after hook); the next sharedSshd() starts a new one. */
export async function stopSharedSshd(): Promise<void> {
  const s = shared;
  shared = undefined;
  if (s) await (await s).stop();
}
