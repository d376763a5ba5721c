/**
 * The real PostgreSQL parser (libpg_query compiled to WebAssembly, npm `libpg-query`), loaded on first use:
 * never at activation. Bundled by esbuild; the .wasm file sits next to dist/extension.js (see esbuild.mjs).
 *
 * `parseStatements` turns one migration file into statements with their text range, line and the comments
 * just before them (suppressions live there). No regular expression ever looks at SQL: positions come from
 * the parser, and the only hand scanning is over the gap between two statements, which the parser guarantees
 * holds nothing but whitespace and comments.
 */
import type * as PgQuery from 'libpg-query';

/** A parse tree node as libpg_query's JSON gives it: `{ NodeType: { ...fields } }`. */
export type PgNode = Record<string, unknown>;

export interface Statement {
  /** 0-based index in the file. */
  readonly index: number;
  /** The node type, e.g. `AlterTableStmt`. */
  readonly kind: string;
  /** The node's fields. */
  readonly node: Record<string, unknown>;
  /** Character offsets of the statement text (without leading comments and whitespace, without the `;`). */
  readonly start: number;
  readonly end: number;
  /** 1-based line and column of `start`. */
  readonly line: number;
  readonly column: number;
  /** Line comments and block comments between the previous statement and this one, with the line each ends on. */
  readonly comments: ReadonlyArray<{ readonly text: string; readonly line: number }>;
}

export interface ParseFailure {
  /** PostgreSQL's own message, e.g. `syntax error at or near "int"`. */
  readonly message: string;
  /** Character offset, 1-based line and column of the error. */
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

export type ParsedFile = { ok: true; statements: Statement[] } | { ok: false; error: ParseFailure };

export interface SqlParser {
  parse(sql: string): ParsedFile;
}

let loading: Promise<SqlParser> | undefined;
let loaded: SqlParser | undefined;

/** Loads the WebAssembly parser once (about 30 ms); later calls return the same instance. */
export function loadParser(): Promise<SqlParser> {
  loading ??= import('libpg-query').then(async (mod) => {
    const m = (mod as unknown as { default?: typeof PgQuery }).default ?? mod;
    await m.loadModule();
    loaded = { parse: (sql) => parseWith(m, sql) };
    return loaded;
  });
  return loading;
}

/** The parser when it is already loaded (for synchronous callers), else undefined. */
export function parserIfLoaded(): SqlParser | undefined {
  return loaded;
}

/** Maps UTF-8 byte offsets (what libpg_query reports) to string indexes; the identity for ASCII text. */
function byteToCharMap(sql: string): (byte: number) => number {
  let ascii = true;
  for (let i = 0; i < sql.length; i++)
    if (sql.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  if (ascii) return (b) => b;
  const starts: number[] = []; // starts[charIndex] = byte offset
  let byte = 0;
  for (let i = 0; i < sql.length; i++) {
    starts.push(byte);
    const c = sql.codePointAt(i)!;
    if (c > 0xffff) {
      starts.push(byte); // the low surrogate shares the code point's bytes
      i++;
      byte += 4;
    } else byte += c > 0x7ff ? 3 : c > 0x7f ? 2 : 1;
  }
  starts.push(byte);
  return (b) => lastAtMost(starts, b);
}

/** The index of the last element of a sorted array that is at most `x` (0 when none is). */
function lastAtMost(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (sorted[mid]! <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** 1-based line and column of each offset, by a binary search over line starts. */
export function lineIndex(sql: string): (offset: number) => { line: number; column: number } {
  const starts = [0];
  for (let i = 0; i < sql.length; i++) if (sql.charCodeAt(i) === 10) starts.push(i + 1);
  return (offset) => {
    const line = lastAtMost(starts, offset);
    return { line: line + 1, column: offset - starts[line]! + 1 };
  };
}

/**
 * Walks the gap before a statement: whitespace, `-- …` line comments and (nested) block comments.
 * Returns where the statement really starts and the comments seen.
 */
function skipGap(
  sql: string,
  from: number,
  to: number,
): { start: number; comments: Array<{ text: string; end: number }> } {
  const comments: Array<{ text: string; end: number }> = [];
  let i = from;
  while (i < to) {
    const c = sql.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11 || c === 0xfeff) {
      i++;
    } else if (c === 45 && sql.charCodeAt(i + 1) === 45) {
      let e = sql.indexOf('\n', i);
      if (e < 0 || e > to) e = to;
      comments.push({ text: sql.slice(i, e).replace(/\r$/, ''), end: e });
      i = e;
    } else if (c === 47 && sql.charCodeAt(i + 1) === 42) {
      let depth = 1;
      let j = i + 2;
      while (j < to && depth > 0) {
        if (sql.charCodeAt(j) === 47 && sql.charCodeAt(j + 1) === 42) {
          depth++;
          j += 2;
        } else if (sql.charCodeAt(j) === 42 && sql.charCodeAt(j + 1) === 47) {
          depth--;
          j += 2;
        } else j++;
      }
      comments.push({ text: sql.slice(i, j), end: j });
      i = j;
    } else break;
  }
  return { start: i, comments };
}

function parseWith(m: typeof PgQuery, sql: string): ParsedFile {
  const toChar = byteToCharMap(sql);
  const where = lineIndex(sql);
  let tree: { stmts?: Array<{ stmt: PgNode; stmt_location?: number; stmt_len?: number }> };
  try {
    tree = sql.trim() === '' ? { stmts: [] } : m.parseSync(sql);
  } catch (e) {
    const details = (e as { sqlDetails?: { message: string; cursorPosition: number } }).sqlDetails;
    const message = details?.message ?? (e instanceof Error ? e.message : String(e));
    // libpg_query's cursor position counts characters (PostgreSQL's own), 0-based after the wrapper's conversion.
    const offset = Math.min(Math.max(0, details?.cursorPosition ?? 0), sql.length);
    return { ok: false, error: { message, offset, ...where(offset) } };
  }
  const statements: Statement[] = [];
  let prevEnd = 0;
  for (const [index, raw] of (tree.stmts ?? []).entries()) {
    const kind = Object.keys(raw.stmt)[0] ?? 'Unknown';
    const node = (raw.stmt[kind] ?? {}) as Record<string, unknown>;
    const from = toChar(raw.stmt_location ?? 0);
    // stmt_len 0 means "to the end of the text".
    const to = raw.stmt_len ? toChar((raw.stmt_location ?? 0) + raw.stmt_len) : sql.length;
    const gap = skipGap(sql, Math.max(from, prevEnd), to);
    let end = to;
    while (end > gap.start && /\s/.test(sql[end - 1]!)) end--;
    const pos = where(gap.start);
    statements.push({
      index,
      kind,
      node,
      start: gap.start,
      end,
      line: pos.line,
      column: pos.column,
      comments: gap.comments.map((c) => ({ text: c.text, line: where(c.end).line })),
    });
    prevEnd = to;
  }
  return { ok: true, statements };
}
