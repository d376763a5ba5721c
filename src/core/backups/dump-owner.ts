/**
 * Whose `.partial` is it: a backup being written (pg_dump, pg_dumpall, pg_basebackup) has a hidden owner file beside it
 * in the manual backups folder on this machine, `.<name>.partial.owner` (machine, process, start), from before the tool
 * starts until its file was renamed or removed. When the window that ran it died (killed, crashed), the partial file
 * and its owner file stay; `sweepAbandonedPartials` (the Backups view's load, and the next backup) removes the partial
 * files whose owner process is gone, where they were written (through the runtime: the tool's user owns them), so a
 * half-written backup never stays in the folder.
 */
import { hostname } from 'node:os';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { ToolRuntime } from '../runtime';

interface Owner {
  readonly host: string;
  readonly pid: number;
  readonly started: string;
}

const ownerName = (name: string) => `.${name}.partial.owner`;

/**
 * Where the tool runs: TERM to every process whose command line names the partial file (the path comes in the
 * environment, so this shell's own command line does not), KILL after 10 s, then the file goes.
 */
const END_WRITERS_THEN_REMOVE = [
  'f=$TSDBOPS_PARTIAL',
  // One grep over every command line (the glob is expanded before grep starts: it never lists itself).
  'hits() { grep -lsF -- "$f" /proc/[0-9]*/cmdline | sed "s#^/proc/##; s#/cmdline\\$##"; }',
  'for q in $(hits); do kill -TERM "$q" 2>/dev/null; done',
  'i=0; while [ -n "$(hits)" ] && [ $i -lt 20 ]; do sleep 0.5; i=$((i+1)); done',
  'for q in $(hits); do kill -KILL "$q" 2>/dev/null; done',
  'rm -rf -- "$f"',
].join('\n');

/** Records this process as the writer of `<name>.partial`; the returned function forgets it (call once it is gone). */
export async function claimPartial(hostDir: string, name: string): Promise<() => Promise<void>> {
  const file = join(hostDir, ownerName(name));
  const owner: Owner = { host: hostname(), pid: process.pid, started: new Date().toISOString() };
  await writeFile(file, JSON.stringify(owner)).catch(() => undefined);
  return () => rm(file, { force: true }).catch(() => undefined);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the `.partial` files of backups whose writer (a process of this machine) is gone; returns their names. */
export async function sweepAbandonedPartials(
  t: { readonly runtime: ToolRuntime; readonly hostDir: string; readonly runtimeDir?: string },
  log: (line: string) => void = () => undefined,
): Promise<string[]> {
  const removed: string[] = [];
  const names = await readdir(t.hostDir).catch(() => [] as string[]);
  for (const n of names) {
    const m = /^\.(.+)\.partial\.owner$/.exec(n);
    if (!m) continue;
    let owner: Owner;
    try {
      owner = JSON.parse(await readFile(join(t.hostDir, n), 'utf8')) as Owner;
    } catch {
      continue; // being written
    }
    // Another machine's writer cannot be asked; this process's own are running now.
    if (owner.host !== hostname() || owner.pid === process.pid || alive(owner.pid)) continue;
    const partial = `${m[1]!}.partial`;
    // The tool it started may still write (pg_dumpall reopens its file for each database): ended first, then removed.
    await t.runtime
      .run(['sh', '-c', END_WRITERS_THEN_REMOVE], {
        env: { TSDBOPS_PARTIAL: posix.join(t.runtimeDir ?? t.hostDir, partial) },
      })
      .catch(() => undefined);
    await rm(join(t.hostDir, partial), { recursive: true, force: true }).catch(() => undefined);
    await rm(join(t.hostDir, n), { force: true }).catch(() => undefined);
    removed.push(partial);
    log(`Removed ${partial}: its backup (started ${owner.started}) never finished, its process ${owner.pid} is gone.`);
  }
  return removed;
}
