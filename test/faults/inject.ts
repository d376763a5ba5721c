/**
 * How the faults are injected, for real: a size-limited tmpfs mounted over a folder of the stack (root
 * only; always unmounted again, also on failure), a filler file that takes a mount's free space midway,
 * `kill -9` of the postmaster, the Ofelia job's own command run from the compose labels, and a trigger
 * that fires the fault when the operation reaches a named step (its progress steps and output lines).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { join } from 'node:path';
import type { RestoreContext } from '../../src/core/backups/restore/run';
import { registerCleanup } from '../support/cleanup';
import { isRoot, run, sleep } from '../support/proc';
import type { Stack } from '../support/stack';

export const canMount = isRoot;

/** A mounted tmpfs of `sizeMb` at `dir` (created), owned by uid/gid 1000 (the container's postgres). */
export interface Mount {
  readonly dir: string;
  /** Unmounts (lazily when busy) and removes nothing else. Idempotent. */
  unmount(): void;
}

export function mountTmpfs(dir: string, sizeMb: number): Mount {
  if (!canMount) throw new Error('a size-limited mount needs root');
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0755,uid=1000,gid=1000`, 'tmpfs', dir], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`mount tmpfs at ${dir}: ${r.stderr.trim()}`);
  let mounted = true;
  const unmount = () => {
    if (!mounted) return;
    mounted = false;
    const u = spawnSync('umount', [dir], { encoding: 'utf8' });
    if (u.status !== 0) spawnSync('umount', ['-l', dir]);
    unregister();
  };
  const unregister = registerCleanup({ name: `tmpfs ${dir}`, run: async () => unmount(), runSync: unmount });
  return { dir, unmount };
}

/** Free bytes of the file system holding `dir` (on this machine). */
export function freeBytes(dir: string): number {
  const r = spawnSync('df', ['-P', '-B1', dir], { encoding: 'utf8' });
  const cols = r.stdout.trim().split('\n')[1]?.trim().split(/\s+/);
  return Number(cols?.[3] ?? NaN);
}

/** Fills `dir`'s file system up to `leaveBytes` free with one file (returned, so the harness removes it). */
export function fillDisk(dir: string, leaveBytes: number): string {
  const file = join(dir, '.fault-filler');
  const want = Math.max(0, freeBytes(dir) - leaveBytes);
  const r = spawnSync('fallocate', ['-l', String(want), file], { encoding: 'utf8' });
  if (r.status !== 0) spawnSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${Math.floor(want / 2 ** 20)}`]);
  return file;
}

export function removeFiller(file: string): void {
  rmSync(file, { force: true });
}

/** `kill -9` of the postmaster (its pid from postmaster.pid), as root in the database container. */
export async function killPostmaster(stack: Stack): Promise<string> {
  const r = await stack.exec(
    'timescaledb',
    ['sh', '-c', 'p=$(head -1 /home/postgres/pgdata/data/postmaster.pid) && kill -9 "$p" && echo "$p"'],
    { user: 'root', reject: false },
  );
  if (r.exitCode !== 0) throw new Error(`kill -9 of the postmaster failed: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** What a user does after PostgreSQL died: restart the service (the Containers view's Restart), and wait. */
export async function restartDatabaseService(stack: Stack): Promise<void> {
  await stack.compose(['restart', '--timeout', '20', 'timescaledb']);
  await stack.waitForPostgres(180_000);
}

/** The Ofelia job-exec jobs of the database service: name, command, user (from the compose labels). */
export function ofeliaJobs(stack: Stack): Array<{ name: string; command: string; user?: string }> {
  const doc = parseYaml(readFileSync(join(stack.infraDir, 'docker-compose.yaml'), 'utf8')) as {
    services: Record<string, { labels?: Record<string, string> }>;
  };
  const labels = doc.services['timescaledb']?.labels ?? {};
  const jobs = new Map<string, { name: string; command: string; user?: string }>();
  for (const [k, v] of Object.entries(labels)) {
    const m = /^ofelia\.job-exec\.([^.]+)\.(command|user)$/.exec(k);
    if (!m) continue;
    const j = jobs.get(m[1]!) ?? { name: m[1]!, command: '' };
    if (m[2] === 'command') j.command = v;
    else j.user = v;
    jobs.set(m[1]!, j);
  }
  return [...jobs.values()].filter((j) => j.command);
}

/** Runs an Ofelia job the way Ofelia's job-exec does (exec in the container, the command split on spaces, as its user). */
export function fireOfeliaJob(
  stack: Stack,
  job: { command: string; user?: string },
): Promise<{ exitCode: number; output: string }> {
  return stack
    .exec('timescaledb', job.command.split(/\s+/).filter(Boolean), {
      user: job.user,
      reject: false,
      timeoutMs: 600_000,
    })
    .then((r) => ({ exitCode: r.exitCode, output: `${r.stdout}${r.stderr}`.trim() }));
}

/**
 * A RestoreContext (also a BackupRunContext's onLine) that fires `fault` once, when a step or a line
 * matches `at`. `fired` resolves with the time of the fault; `log` keeps every step and line.
 */
export function triggerAt(
  at: RegExp,
  fault: () => Promise<unknown>,
  signal?: AbortSignal,
): { ctx: RestoreContext; fired: Promise<number>; log: string[]; faultDone: Promise<unknown> } {
  const log: string[] = [];
  let fire!: (t: number) => void;
  const fired = new Promise<number>((r) => (fire = r));
  let done: Promise<unknown> = fired.then(() => undefined);
  let armed = true;
  const seen = (s: string) => {
    log.push(s);
    if (armed && at.test(s)) {
      armed = false;
      fire(Date.now());
      done = fault();
      done.catch(() => undefined);
    }
  };
  const ctx: RestoreContext = { signal, step: (s) => seen(`step: ${s}`), line: (l) => seen(l) };
  return {
    ctx,
    fired,
    log,
    get faultDone() {
      return done;
    },
  };
}

/** Polls `probe` every 200 ms until it is true (or `timeoutMs`), for faults timed on the server's state. */
export async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!(await probe().catch(() => false))) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not seen within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

export { run };

/**
 * A fixture stack of its own with a tmpfs of `sizeMb` mounted at `<infra>/<subdir>` before its first
 * start (so the container's bind mount of the parent shows it). `stop()` takes the stack down, unmounts,
 * and removes the stack; it runs however the cell ended.
 */
export async function stackWithMount(
  subdir: string,
  sizeMb: number,
): Promise<{ stack: Stack; mount: Mount; stop(): Promise<void> }> {
  const { startStack } = await import('../support/stack');
  let mount: Mount | undefined;
  let stack: Stack;
  try {
    stack = await startStack({ prepare: (infraDir) => void (mount = mountTmpfs(join(infraDir, subdir), sizeMb)) });
  } catch (e) {
    mount?.unmount();
    throw e;
  }
  const m = mount!;
  return {
    stack,
    mount: m,
    async stop() {
      await stack.compose(['--profile', 'full', 'down', '-v', '--remove-orphans', '--timeout', '10'], {
        reject: false,
      });
      m.unmount();
      await stack.stop();
    },
  };
}
