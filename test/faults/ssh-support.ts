/**
 * The "ssh:// connection cut" column's way to the stack: the stack's engine reached the way a user sets it
 * (DOCKER_HOST=ssh://user@host:port, the key and known_hosts in tsdbOps.docker.sshKeyFile / knownHostsFile)
 * through a real OpenSSH server on loopback (test/support/sshd.ts) whose sessions reach the bench's engine.
 * The cut is real: every sshd session process is killed (the TCP connection drops, the listener stays).
 * Then the user's next step: a window opened again (no SSH connection kept: a fresh stack context, a new
 * connection, the host key checked again) and Recover Interrupted Restore, as tsdbOps.restore.recover
 * { action: 'rollback' } runs it (ui/commands/restore-recover.ts: in place, or in a one-off container).
 */
import type { PhysicalRestoreResult } from '../../src/core/backups/restore/physical';
import { recoverInterruptedRestore, restorePhysical } from '../../src/core/backups/restore/physical';
import { dropHalfRestoredDatabases, restoreDumpAll, rollBackKeptAside } from '../../src/core/backups/restore/logical';
import type { DumpAllRestoreResult } from '../../src/core/backups/restore/logical';
import { recoverInOneOff } from '../../src/core/backups/restore/oneoff';
import type { RestoreContext } from '../../src/core/backups/restore/run';
import { restoreSiteOf, serverConnectionOf } from '../../src/core/backups/restore/stack';
import { disposeSshEngines } from '../../src/core/docker/ssh-engine';
import { sleep } from '../support/proc';
import { sharedSshd, sshdAvailable, sshdInstallHint, type Sshd } from '../support/sshd';
import type { Stack } from '../support/stack';
import { faultOps, type FaultOps } from './ops';

export const quiet: RestoreContext = { step: () => undefined, line: () => undefined };

export interface OverSsh {
  readonly sshd: Sshd;
  /** A stack context whose engine is the ssh:// one (a new one each call, as a window opened again has). */
  ops(): FaultOps;
}

export async function overSsh(stack: Stack): Promise<OverSsh> {
  if (!sshdAvailable()) throw new Error(`the ssh:// column needs an OpenSSH server: ${sshdInstallHint}`);
  const sshd = await sharedSshd(stack.docker.host);
  return {
    sshd,
    ops: () =>
      faultOps(stack, {
        env: { DOCKER_HOST: sshd.url },
        docker: { sshKeyFile: sshd.userKey, knownHostsFile: sshd.knownHosts },
      }),
  };
}

/** Restores → pg_basebackup (as ui/commands/restores.ts: the folder as the tools see it, restorePhysical on the site). */
export async function restoreBaseBackup(
  ops: FaultOps,
  dir: string,
  ctx: RestoreContext,
): Promise<PhysicalRestoreResult> {
  const site = await restoreSiteOf(await ops.context());
  return restorePhysical(
    { rt: site.rt, dataDir: site.dataDir, conn: site.conn },
    { kind: 'baseBackup', dir: site.toolPath(dir) },
    ctx,
  );
}

/** Restores → pg_dumpall (a .sql file on this machine, through psql in the database container). */
export async function restoreDumpAllFile(
  ops: FaultOps,
  file: string,
  ctx: RestoreContext,
): Promise<DumpAllRestoreResult> {
  const site = await restoreSiteOf(await ops.context());
  return restoreDumpAll({ rt: site.rt, conn: site.conn }, { file: site.toolPath(file) }, ctx);
}

/**
 * The user's next step after the cut: the window opened again (the SSH connections of this process closed,
 * a fresh stack context), then Recover Interrupted Restore as tsdbOps.restore.recover { action: 'rollback' }
 * runs it (the journal beside PGDATA, the half-restored databases, the databases kept aside). Returns what it did,
 * in a line ('' when there was nothing to recover).
 */
export async function reconnectAndRecover(ssh: OverSsh): Promise<string> {
  disposeSshEngines();
  const sc = await ssh.ops().context();
  const [place, site, db] = await Promise.all([sc.tools(), sc.site(), sc.database()]);
  const conn = serverConnectionOf(sc);
  if (place.restore.value === 'in-place' && place.tools) {
    const t = { rt: place.tools, dataDir: site.dataDir, conn };
    const j = await recoverInterruptedRestore(t, quiet);
    const dropped = await dropHalfRestoredDatabases(t, quiet).catch(() => []);
    // As tsdbOps.restore.recover's Roll back: the databases an interrupted pg_dumpall restore kept aside go back too.
    const back = await rollBackKeptAside(t, quiet).catch(() => []);
    return [
      j ? `rolled back the restore started ${j.started}` : '',
      dropped.length ? `dropped the half-restored ${dropped.join(', ')}` : '',
      back.length ? `put back the kept-aside ${back.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join('; ');
  }
  const j = await recoverInOneOff(
    { docker: await sc.docker(), containerId: db.id, dataDir: site.dataDir, conn, user: place.user.value },
    quiet,
  );
  return j ? `rolled back the restore started ${j.started} (one-off container)` : '';
}

/** The processes whose command line matches `pattern` (pgrep -af) in the database container: "pid argv" lines. */
export async function toolProcesses(stack: Stack, pattern: string): Promise<string[]> {
  const r = await stack.exec('timescaledb', ['pgrep', '-af', pattern], { user: 'root', reject: false });
  return r.exitCode === 0 ? r.stdout.split('\n').filter(Boolean) : [];
}

export const toolRunning = async (stack: Stack, pattern: string): Promise<boolean> =>
  (await toolProcesses(stack, pattern)).length > 0;

/**
 * Waits (at most `ms`) until no process matching `pattern` runs in the database container: a tool the
 * product started there keeps running when the SSH connection drops. Returns how long it still ran, and
 * which processes those were.
 */
export async function toolEnded(stack: Stack, pattern: string, ms = 300_000): Promise<{ s: number; seen: string[] }> {
  const t0 = Date.now();
  const seen = new Set<string>();
  for (;;) {
    const now = await toolProcesses(stack, pattern).catch(() => []);
    if (!now.length) return { s: (Date.now() - t0) / 1000, seen: [...seen] };
    for (const p of now) seen.add(p.slice(0, 160));
    if (Date.now() - t0 > ms) throw new Error(`"${pattern}" still runs in the container ${ms / 1000} s after the cut`);
    await sleep(500);
  }
}

/** Switches to a new WAL segment and waits until pg_stat_archiver says it is archived. */
export async function archiveNow(stack: Stack): Promise<void> {
  const [w] = await stack.sql<{ wal: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS wal');
  for (let i = 0; i < 240; i++) {
    const [a] = await stack.sql<{ w: string | null }>('SELECT last_archived_wal AS w FROM pg_stat_archiver');
    if (a?.w && a.w >= w!.wal) return;
    await sleep(250);
  }
  throw new Error(`WAL ${w!.wal} was not archived`);
}
