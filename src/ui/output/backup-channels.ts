/**
 * Output channels "pgBackRest" (follows the infra's logs/pgbackrest files: new lines as they are
 * written, read incrementally) and "Ofelia" (the saved runs of ofelia_logs as they appear, else, on
 * request, the Ofelia container's log). A pgBackRest command end or a new Ofelia run reloads the
 * Backups view. Secrets (the .env password) are masked before anything is printed.
 */
import * as vscode from 'vscode';
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { StackConfig } from '../../core/infra';
import { LogFollower } from '../../core/logs/follower';
import { formatSavedRun, listSavedRuns, readSavedRun } from '../../core/logs/ofelia-runs';
import { streamLogs } from '../../core/docker/logs';
import { runningServiceContainer } from '../../core/docker/find';
import { ofeliaService } from '../../core/schedule/ofelia';
import { maskSecrets } from '../../core/operations/queue';
import { CancelledError } from '../../core/operations/cancel';
import type { StackRegistry } from '../stacks';
import type { DockerService } from '../docker-service';
import type { BackupsController } from '../backups/controller';

export class PgBackRestChannel implements vscode.Disposable {
  readonly channel = vscode.window.createOutputChannel('pgBackRest');
  private followers: LogFollower[] = [];
  private lastFile: string | undefined;
  private readonly subs: vscode.Disposable[] = [];

  constructor(
    private readonly registry: StackRegistry,
    private readonly controller: BackupsController,
  ) {
    this.subs.push(
      registry.onDidChange(() => void this.renew()),
      // A folder that did not exist yet (a fresh stack) is picked up after the next reload.
      controller.onDidChange(() => {
        if (this.followers.some((f) => !f.watching)) void this.renew();
      }),
    );
    void this.renew();
  }

  /** Lines printed so far for a stack (tests read the channel through this). */
  readonly printed: string[] = [];

  append(line: string, stack?: StackConfig): void {
    const text = maskSecrets(line, [stack?.env.password]);
    this.printed.push(text);
    if (this.printed.length > 5000) this.printed.splice(0, 1000);
    this.channel.appendLine(text);
  }

  /** One follower per log folder: kept while its stack stays (no replay), made for new ones or ones that could not watch yet. */
  private async renew(): Promise<void> {
    await this.registry.ready;
    const stacks = this.registry.stacks;
    const keep: LogFollower[] = [];
    for (const f of this.followers) {
      if (f.watching && stacks.some((s) => s.pgbackrestLogDir === f.dir)) keep.push(f);
      else f.dispose();
    }
    this.followers = keep;
    for (const stack of stacks) {
      if (this.followers.some((f) => f.dir === stack.pgbackrestLogDir)) continue;
      const f = new LogFollower(
        stack.pgbackrestLogDir,
        ({ file, line }) => {
          if (file !== this.lastFile) {
            this.lastFile = file;
            this.append(`==> ${join(stack.pgbackrestLogDir, file)} <==`, stack);
          }
          this.append(line, stack);
        },
        { initialTailBytes: 8 * 1024 },
      );
      this.followers.push(f);
      await f.start();
    }
  }

  dispose(): void {
    for (const f of this.followers) f.dispose();
    for (const s of this.subs) s.dispose();
    this.channel.dispose();
  }
}

export class OfeliaChannel implements vscode.Disposable {
  readonly channel = vscode.window.createOutputChannel('Ofelia');
  readonly printed: string[] = [];
  private watchers: FSWatcher[] = [];
  private readonly seen = new Set<string>();
  private readonly subs: vscode.Disposable[] = [];
  private containerLog: AbortController | undefined;

  constructor(
    private readonly registry: StackRegistry,
    private readonly engine: DockerService,
  ) {
    this.subs.push(registry.onDidChange(() => void this.renew()));
    void this.renew();
  }

  private append(line: string, stack?: StackConfig): void {
    const text = maskSecrets(line, [stack?.env.password]);
    this.printed.push(text);
    if (this.printed.length > 5000) this.printed.splice(0, 1000);
    this.channel.appendLine(text);
  }

  private async printRun(stack: StackConfig, jsonPath: string, retry = true): Promise<void> {
    if (this.seen.has(jsonPath)) return;
    this.seen.add(jsonPath);
    try {
      const run = await readSavedRun(jsonPath);
      for (const l of await formatSavedRun(run)) this.append(l, stack);
    } catch (e) {
      // Ofelia may still be writing it: the write's own event or one retry reads it.
      this.seen.delete(jsonPath);
      if (retry) setTimeout(() => void this.printRun(stack, jsonPath, false), 1000);
      else this.append(`(could not read ${jsonPath}: ${(e as Error).message})`, stack);
    }
  }

  private async renew(): Promise<void> {
    await this.registry.ready;
    for (const w of this.watchers) w.close();
    this.watchers = [];
    for (const stack of this.registry.stacks) {
      const dir = stack.ofeliaLogDir;
      const { runs } = await listSavedRuns(dir);
      for (const r of runs.slice(0, 20).reverse()) if (r.base) await this.printRun(stack, `${r.base}.json`);
      for (const r of runs) if (r.base) this.seen.add(`${r.base}.json`);
      try {
        const w = watch(dir, { persistent: false }, (_e, name) => {
          const n = name?.toString();
          if (n && /^\d{8}_\d{6}_.+\.json$/.test(n)) {
            void this.printRun(stack, join(dir, n));
          }
        });
        w.on('error', () => undefined);
        this.watchers.push(w);
      } catch {
        // No ofelia_logs folder.
      }
    }
  }

  /** Shows the channel; with no saved runs, follows the Ofelia container's log (Docker) until disposed. */
  async show(
    stack: StackConfig | undefined,
  ): Promise<{ source: 'savedRuns' | 'container' | 'none'; folder?: string; container?: string }> {
    this.channel.show(true);
    if (!stack) return { source: 'none' };
    const { runs } = await listSavedRuns(stack.ofeliaLogDir);
    if (runs.length) return { source: 'savedRuns', folder: stack.ofeliaLogDir };
    const svc = ofeliaService(stack.compose);
    if (!svc) {
      this.append(`No Ofelia service in ${stack.composeFile} and no saved runs in ${stack.ofeliaLogDir}.`, stack);
      return { source: 'none' };
    }
    this.containerLog?.abort(new CancelledError());
    const abort = (this.containerLog = new AbortController());
    const docker = await this.engine.docker(stack);
    const c = await runningServiceContainer(docker, stack.projectName, svc.name);
    const name = c.Names[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12);
    this.append(`==> log of container ${name} (no saved runs in ${stack.ofeliaLogDir}) <==`, stack);
    const onLine = (l: string) => this.append(l, stack);
    void streamLogs(docker, c.Id, { follow: true, tail: 200, signal: abort.signal, onLine }).catch((e: Error) =>
      this.append(`(container log ended: ${e.message})`, stack),
    );
    return { source: 'container', container: name };
  }

  dispose(): void {
    this.containerLog?.abort(new CancelledError());
    for (const w of this.watchers) w.close();
    for (const s of this.subs) s.dispose();
    this.channel.dispose();
  }
}
