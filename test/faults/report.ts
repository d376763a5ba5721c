/**
 * The fault matrix's results: each run's cells go to a JSON file (test-results/faults.json, merged with
 * what earlier `--only` runs wrote there), and FAULTS.md is written from the merged results: the table
 * (operation × fault → outcome, rows lost, seconds to the user's message, leftovers), how each fault was
 * injected, the cells that cannot happen, and the machine.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CellDef } from './cell';
import { COLUMNS, ROWS, columnTitle, rowTitle, type CellResult, type Impossible } from './table';

export interface ResultsFile {
  readonly cells: CellResult[];
  readonly machine: Record<string, string>;
}

export function readResults(file: string): ResultsFile {
  if (!existsSync(file)) return { cells: [], machine: {} };
  return JSON.parse(readFileSync(file, 'utf8')) as ResultsFile;
}

/** Newer results replace older ones of the same cell. */
export function mergeResults(
  old: ResultsFile,
  fresh: readonly CellResult[],
  machine: Record<string, string>,
): ResultsFile {
  const key = (c: CellResult) => `${c.row}|${c.column}`;
  const byKey = new Map(old.cells.map((c) => [key(c), c]));
  for (const c of fresh) byKey.set(key(c), c);
  return { cells: [...byKey.values()], machine: Object.keys(machine).length ? machine : old.machine };
}

export function writeResults(file: string, r: ResultsFile): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`);
}

const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The short text of one table cell. */
export function cellText(c: CellResult | undefined, impossible: Impossible | undefined, written: boolean): string {
  if (impossible) return 'cannot happen¹';
  if (!c) return written ? 'not run yet' : '—';
  const parts = [c.outcome === 'FAILED' ? '**FAILED**' : c.outcome];
  parts.push(`lost ${c.rowsLost}`);
  parts.push(c.secondsToMessage === undefined ? 'no message' : `${c.secondsToMessage.toFixed(1)} s`);
  if (c.leftovers.length) parts.push(`${c.leftovers.length} leftover(s)`);
  return parts.join(', ');
}

export function markdown(
  r: ResultsFile,
  cells: readonly CellDef[],
  impossible: readonly Impossible[],
  command: string,
): string {
  const find = (row: string, col: string) => r.cells.find((c) => c.row === row && c.column === col);
  const imp = (row: string, col: string) => impossible.find((c) => c.row === row && c.column === col);
  const def = (row: string, col: string) => cells.some((c) => c.row === row && c.column === col);
  const out: string[] = ['# The fault matrix', ''];
  const ran = r.cells.length;
  const failed = r.cells.filter((c) => c.outcome === 'FAILED').length;
  out.push(
    `Written by \`${command}\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC from the results in ` +
      '`test-results/faults.json` (each `--only` run merges its cells there). Every cell runs the operation through the ' +
      'extension’s core (the functions the command table’s handlers call) on a real stack, injects the fault for real at ' +
      'a named step, then runs the after-check: the server answers and is out of recovery; the checksum rows (a known ' +
      'count and sum, written before the fault) are all there; `pg_amcheck --all` passes; no container, volume, network, ' +
      'database, spool or temp file or `.partial` file is new; the stanza is started; no process holds a pgBackRest lock ' +
      'and no client session a PostgreSQL lock.',
    '',
    `Cells run: ${ran}; FAILED: ${failed}; cannot happen: ${impossible.length}; ` +
      `not written yet: ${ROWS.length * COLUMNS.length - ran - impossible.length}.`,
    '',
    'Outcomes: **old state** (the operation did not happen, nothing changed), **new state** (it completed), ' +
      '**partial, way back offered** (only the three cases the issue names), **refused before starting**, or ' +
      '**FAILED** (rows lost, a leftover, a hang, a message that does not say what happened: a product bug, listed below). ' +
      'Each cell: outcome, rows lost, seconds from the fault to the user’s message, leftovers.',
    '',
  );
  out.push(`| operation | ${COLUMNS.map((c) => c.title).join(' | ')} |`, `|---|${COLUMNS.map(() => '---').join('|')}|`);
  for (const row of ROWS)
    out.push(
      `| ${esc(row.title)} | ${COLUMNS.map((col) => esc(cellText(find(row.id, col.id), imp(row.id, col.id), def(row.id, col.id)))).join(' | ')} |`,
    );
  out.push('', '¹ see “Cells that cannot happen” below.', '', '## The cells that ran', '');
  for (const c of [...r.cells].sort((a, b) => `${a.row}${a.column}`.localeCompare(`${b.row}${b.column}`))) {
    out.push(`### ${rowTitle(c.row)} × ${columnTitle(c.column)}: ${c.outcome}`, '');
    const d = cells.find((x) => x.row === c.row && x.column === c.column);
    if (d) out.push(`- injected: ${d.injection} (${c.injected})`);
    else out.push(`- injected: ${c.injected}`);
    out.push(`- the user’s message: ${c.message ? `“${esc(c.message.slice(0, 600))}”` : '(none)'}`);
    const left = c.leftovers.length ? c.leftovers.join('; ') : 'none';
    out.push(
      `- rows lost: ${c.rowsLost}; seconds to the message: ${c.secondsToMessage?.toFixed(1) ?? '—'}; leftovers: ${left}`,
    );
    for (const p of c.problems) out.push(`- **problem**: ${esc(p)}`);
    for (const b of c.bugs ?? []) out.push(`- product bug (outcome unchanged): ${esc(b)}`);
    if (c.note) out.push(`- note: ${esc(c.note)}`);
    out.push(`- ran ${c.ranAt.slice(0, 16).replace('T', ' ')} UTC, ${c.seconds.toFixed(0)} s`, '');
  }
  const bugs = r.cells.flatMap((c) =>
    [...c.problems, ...(c.bugs ?? [])].map((b) => `- ${rowTitle(c.row)} × ${columnTitle(c.column)}: ${esc(b)}`),
  );
  out.push('## Product bugs the cells found (open)', '', ...(bugs.length ? bugs : ['- none']), '');
  out.push('## Cells that cannot happen', '');
  for (const i of impossible) out.push(`- ${rowTitle(i.row)} × ${columnTitle(i.column)}: ${i.why}.`);
  out.push('', '## Machine', '');
  for (const [k, v] of Object.entries(r.machine)) out.push(`- ${k}: ${v}`);
  out.push('');
  return `${out.join('\n')}\n`;
}
