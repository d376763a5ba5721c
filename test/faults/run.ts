/**
 * `npm run faults [-- --only <row|column|row:column>[,…]] [--results <file>]` (`row:column`: that one cell)
 * `npm run faults -- --merge <file>[,…] [--results <file>]`: runs no cell; merges other runs' results files (each
 * cell's newest result wins) into the results file and writes FAULTS.md from it (runs made in other checkouts
 * or on other machines of the same kind).
 *
 * Runs the cells of the fault matrix (registry.ts) on the real parts of the test bench, prints each
 * outcome, merges them into the results file (test-results/faults.json: a later `--only` run adds its
 * cells, a rerun replaces them) and writes FAULTS.md from everything merged. Exit code: 1 when a cell ran
 * FAILED (a product bug or a broken cell), else 0.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { runAllCleanups } from '../support/cleanup';
import { startStack, type Stack } from '../support/stack';
import type { CellDef, CellEnv } from './cell';
import { stopThrowawayEngine } from './engine';
import { CELLS, IMPOSSIBLE } from './registry';
import { markdown, mergeResults, readResults, writeResults, type ResultsFile } from './report';
import { COLUMNS, ROWS, type CellResult } from './table';

const ROOT = resolve(__dirname, '..', '..');

function usage(problem: string): never {
  console.error(
    `${problem}\nusage: npm run faults -- [--only <row|column|row:column>[,…]] [--results <file>]\n` +
      '       npm run faults -- --merge <results.json>[,…] [--results <file>]',
  );
  console.error(`rows: ${ROWS.map((r) => r.id).join(', ')}\ncolumns: ${COLUMNS.map((c) => c.id).join(', ')}`);
  process.exit(2);
}

const DEFAULT_RESULTS = resolve(ROOT, 'test-results', 'faults.json');

function parseArgs(argv: string[]): { only?: string[]; merge?: string[]; results: string } {
  let only: string[] | undefined;
  let merge: string[] | undefined;
  let results = DEFAULT_RESULTS;
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = argv[i + 1];
    if (k === '--only') {
      if (!v) usage('--only needs a row or column id');
      only = v.split(',').map((s) => s.trim());
      const known = new Set<string>([...ROWS.map((r) => r.id), ...COLUMNS.map((c) => c.id)]);
      // `<row>:<column>` picks one cell.
      const unknown = only.filter((o) => !o.split(':').every((p) => known.has(p)) || o.split(':').length > 2);
      if (unknown.length) usage(`--only: no row or column ${unknown.join(', ')}`);
      i++;
    } else if (k === '--merge') {
      if (!v) usage('--merge needs one or more results files');
      merge = v.split(',').map((f) => resolve(f.trim()));
      const missing = merge.filter((f) => !existsSync(f));
      if (missing.length) usage(`--merge: no results file ${missing.join(', ')}`);
      i++;
    } else if (k === '--results') {
      if (!v) usage('--results needs a file name');
      results = resolve(v);
      i++;
    } else usage(`unknown argument ${JSON.stringify(k)}`);
  }
  if (merge && only) usage('--merge runs no cell: it cannot be combined with --only');
  return { only, merge, results };
}

const version = (file: string, args: string[], env?: NodeJS.ProcessEnv) => {
  const r = spawnSync(file, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  return r.status === 0 ? r.stdout.trim().split('\n')[0]! : 'unavailable';
};

function machine(dockerHost: string | undefined): Record<string, string> {
  const env = dockerHost ? { DOCKER_HOST: dockerHost } : undefined;
  return {
    cores: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    docker: dockerHost
      ? `engine ${version('docker', ['version', '--format', '{{.Server.Version}}'], env)}`
      : 'not used',
    'docker-compose': version('docker-compose', ['version', '--short']),
    pgBackRest: version('pgbackrest', ['version']),
    kernel: version('uname', ['-sr']),
  };
}

/** Runs `cells` in order, sharing one fixture stack between the cells that borrow it; stops it at the end. */
export async function runCells(
  cells: readonly CellDef[],
  log: (m: string) => void,
  onResult?: (r: CellResult) => void,
): Promise<{ results: CellResult[]; machine: Record<string, string> }> {
  let shared: Promise<Stack> | undefined;
  const env: CellEnv = {
    sharedStack: () => (shared ??= startStack()),
    log,
  };
  const results: CellResult[] = [];
  let dockerHost: string | undefined;
  try {
    for (const c of cells) {
      log(`— ${c.row} × ${c.column}`);
      const r = await c.run(env);
      results.push(r);
      // A cell that left the shared stack broken (a FAILED cell) does not spoil the next ones: a fresh stack.
      const s = shared ? await shared.catch(() => undefined) : undefined;
      if (
        shared &&
        !(
          s &&
          (await s.waitForPostgres(30_000).then(
            () => true,
            () => false,
          ))
        )
      ) {
        log('  the shared stack does not answer after this cell: it is replaced by a fresh one');
        await s?.stop();
        shared = undefined;
      }
      onResult?.(r);
      log(
        `  ${r.outcome}; lost ${r.rowsLost}; message ${r.secondsToMessage?.toFixed(1) ?? '—'} s; ${r.problems.join(' / ')}`,
      );
    }
  } finally {
    const s = shared ? await shared.catch(() => undefined) : undefined;
    dockerHost = s?.docker.host ?? process.env.DOCKER_HOST;
    await s?.stop();
    await stopThrowawayEngine();
  }
  return { results, machine: machine(dockerHost) };
}

/** Each cell's newest result (by when it ran) over the results file and the given ones. */
function mergeFiles(results: string, files: readonly string[]): void {
  let merged = readResults(results);
  for (const f of files) {
    const other = readResults(f);
    const newer = other.cells.filter((c) => {
      const mine = merged.cells.find((m) => m.row === c.row && m.column === c.column);
      return !mine || Date.parse(c.ranAt) >= Date.parse(mine.ranAt);
    });
    merged = mergeResults(merged, newer, {});
  }
  writeResults(results, merged);
  const command = 'npm run faults -- --only … (merged from the results of several --only runs)';
  const written = writeFaultsMd(results, merged, command);
  const unknown = merged.cells.filter((c) => !CELLS.some((d) => d.row === c.row && d.column === c.column));
  console.log(
    `${merged.cells.length} cell result(s) in ${results}` +
      (unknown.length
        ? `; not in the registry (ignored by FAULTS.md): ${unknown.map((c) => `${c.row}:${c.column}`).join(', ')}`
        : '') +
      `. Written: ${written}`,
  );
}

/**
 * FAULTS.md stands for the project's own results file (test-results/faults.json): it is written only from that
 * one. A run with a results file of its own (`--results`) leaves FAULTS.md as it is (before, FAULTS.md was
 * rewritten from that file alone and lost every other cell); merge such a file in with `--merge`.
 */
function writeFaultsMd(results: string, merged: ResultsFile, command: string): string {
  if (results !== DEFAULT_RESULTS) return `${results} (FAULTS.md left as it is: merge this file with --merge)`;
  writeFileSync(resolve(ROOT, 'FAULTS.md'), markdown(merged, CELLS, IMPOSSIBLE, command));
  return `FAULTS.md, ${results}`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.merge) return mergeFiles(args.results, args.merge);
  const chosen = CELLS.filter(
    (c) =>
      !args.only ||
      args.only.includes(c.row) ||
      args.only.includes(c.column) ||
      args.only.includes(`${c.row}:${c.column}`),
  );
  const t0 = Date.now();
  const log = (m: string) => console.error(`[faults] ${m}`);
  let fresh: CellResult[] = [];
  let info: Record<string, string> = {};
  try {
    const r = await runCells(chosen, log, (x) => {
      // Each cell is saved as it ends, so a run that breaks off still keeps what it did.
      writeResults(args.results, mergeResults(readResults(args.results), [x], {}));
    });
    fresh = r.results;
    info = r.machine;
  } finally {
    await runAllCleanups();
  }
  const merged = mergeResults(readResults(args.results), fresh, info);
  writeResults(args.results, merged);
  const command = `npm run faults${args.only ? ` -- --only ${args.only.join(',')}` : ''}`;
  const written = writeFaultsMd(args.results, merged, command);
  const failed = fresh.filter((c) => c.outcome === 'FAILED');
  console.log(
    `${fresh.length} cell(s) in ${((Date.now() - t0) / 60_000).toFixed(1)} min; FAILED: ${failed.length}. Written: ${written}`,
  );
  if (failed.length) process.exitCode = 1;
}

if (require.main === module)
  main().then(
    () => process.exit(process.exitCode ?? 0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
