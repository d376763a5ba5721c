/**
 * Helpers for in-host suites (they run inside the extension host, with the full `vscode` API).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import * as vscode from 'vscode';
import { readRunConfig } from './harness.js';

export const EXTENSION_ID = 'tsdb-ops-team.tsdb-ops';
export const OUTPUT_CHANNEL = 'TimescaleDB Ops';
export const VIEW_CONTAINER = 'tsdbOps';
export const VIEWS = ['tsdbOps.containers', 'tsdbOps.migrations', 'tsdbOps.backups'] as const;

/** The API activate() returns (the contract with src/extension.ts). */
export interface Problem {
  file: string;
  line?: number;
  message: string;
}
export interface Stack {
  folder: string;
  infraDir: string;
  projectName: string;
  services: string[];
  problems: Problem[];
}
export interface TsdbOpsApi {
  activationTimeMs: number;
  /** Resolves when the first discovery is done. */
  ready?: Promise<void>;
  stacks(): Stack[];
  refresh(): Promise<void>;
}

export function extension(): vscode.Extension<TsdbOpsApi> {
  const ext = vscode.extensions.getExtension<TsdbOpsApi>(EXTENSION_ID);
  if (!ext) throw new Error(`extension ${EXTENSION_ID} is not installed in this window`);
  return ext;
}

/** Activates the extension (explicitly), waits for its first discovery, and measures how long that took from here. */
export async function activate(): Promise<{ api: TsdbOpsApi; ms: number; wasActive: boolean }> {
  const ext = extension();
  const wasActive = ext.isActive;
  const t0 = performance.now();
  const api = await ext.activate();
  if (api?.ready) await api.ready;
  return { api, ms: performance.now() - t0, wasActive };
}

interface Contributes {
  commands?: Array<{ command: string; title: string; category?: string }>;
  views?: Record<string, Array<{ id: string; name: string }>>;
  viewsContainers?: { activitybar?: Array<{ id: string; title: string }> };
}

export function contributes(): Contributes {
  return ((extension().packageJSON as { contributes?: Contributes }).contributes ?? {}) as Contributes;
}

export function runConfig(): ReturnType<typeof readRunConfig> {
  return readRunConfig();
}

/**
 * The log files of the extension's LogOutputChannel and its log folder, found under the server's
 * data folders: `…/exthost*∕output_logging_*∕N-TimescaleDB Ops.log` and `…/exthost*∕tsdb-ops-team.tsdb-ops/*.log`.
 */
export function extensionLogFiles(): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number): void => {
    if (depth > 8) return;
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of entries) {
      const p = join(dir, name);
      let isDir = false;
      try {
        isDir = statSync(p).isDirectory();
      } catch {
        continue;
      }
      if (isDir) walk(p, depth + 1);
      else if (name.endsWith('.log') && (basename(dir) === EXTENSION_ID || name.includes(OUTPUT_CHANNEL)))
        found.push(p);
    }
  };
  for (const root of runConfig().logsRoots) walk(root, 0);
  return found;
}

/** Lines logged at error level in the extension's log files. */
export function errorLines(files = extensionLogFiles()): string[] {
  const lines: string[] = [];
  for (const f of files) {
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      if (/\[error\]/i.test(line)) lines.push(`${basename(f)}: ${line}`);
    }
  }
  return lines;
}

/** Polls `fn` until it returns a truthy value or the time is up. */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`${what} not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Points the extension at an infra folder (tsdbOps.infraPath, Global) and waits until a refresh reports
 * that folder as the stack, or, with `undefined`, until no suite's temp stack is reported any more. A
 * suite must not act on the stack before this: a setting written in the test's window reaches the
 * extension host as an event, and acting on the previous stack would start the fixture's own compose
 * project on the shared engine (the e2e layer expects it "not created").
 */
export async function useInfra(infraDir: string | undefined): Promise<void> {
  const cfg = vscode.workspace.getConfiguration('tsdbOps');
  const previous = cfg.get<string>('infraPath');
  await cfg.update('infraPath', infraDir, vscode.ConfigurationTarget.Global);
  await waitFor(
    async () => {
      const r = await vscode.commands.executeCommand<{ stacks: Stack[] }>('tsdbOps.refresh');
      const dirs = (r?.stacks ?? []).map((s) => s.infraDir);
      return infraDir ? dirs.includes(infraDir) : !previous || !dirs.includes(previous);
    },
    30_000,
    infraDir ? `the stack in ${infraDir}` : `the stack of ${previous} gone`,
  );
}
