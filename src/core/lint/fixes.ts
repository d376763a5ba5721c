/** Building blocks of quick fixes: SQL names, removing a statement, moving it into a `-- no-transaction` file. */
import type { RelName } from './ast';
import type { Statement } from './parser';
import type { LintFile, QuickFix, TextEdit } from './types';

/** An identifier as SQL: bare when PostgreSQL would keep it as written (lower case), else double-quoted. */
export function quoteIdent(name: string): string {
  let bare = name.length > 0 && !(name.charCodeAt(0) >= 48 && name.charCodeAt(0) <= 57);
  for (let i = 0; i < name.length && bare; i++) {
    const c = name.charCodeAt(i);
    bare = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95;
  }
  return bare ? name : `"${name.replaceAll('"', '""')}"`;
}

export function relSql(r: RelName): string {
  return r.schema ? `${quoteIdent(r.schema)}.${quoteIdent(r.name)}` : quoteIdent(r.name);
}

/** The first `count` words of a statement (letters, digits, _), with where each ends: a tokenizer, not a pattern. */
export function wordEnds(text: string, count: number): Array<{ word: string; end: number }> {
  const out: Array<{ word: string; end: number }> = [];
  let i = 0;
  while (i < text.length && out.length < count) {
    while (i < text.length && !isWordChar(text.charCodeAt(i))) i++;
    const start = i;
    while (i < text.length && isWordChar(text.charCodeAt(i))) i++;
    if (i > start) out.push({ word: text.slice(start, i), end: i });
  }
  return out;
}

function isWordChar(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95;
}

/** Removes a statement with its `;`. */
export function removeEdit(file: LintFile, s: Statement): TextEdit {
  const semi = file.sql.indexOf(';', s.end);
  const end = semi >= 0 && file.sql.slice(s.end, semi).trim() === '' ? semi + 1 : s.end;
  return { start: s.start, end, text: '' };
}

/** The file's only statement: add the header; otherwise move the statement into a new no-transaction migration. */
export function moveToNoTxFix(
  file: LintFile,
  statements: readonly Statement[],
  s: Statement,
  rewrite?: (text: string) => string,
): QuickFix[] {
  const text = file.sql.slice(s.start, s.end);
  const newText = rewrite ? rewrite(text) : text;
  if (statements.length === 1)
    return [
      {
        title: 'Add the -- no-transaction header',
        // One edit from the top: the header, what came before the statement, the statement rewritten.
        edits: [{ start: 0, end: s.end, text: `-- no-transaction\n${file.sql.slice(0, s.start)}${newText}` }],
      },
    ];
  return [
    {
      title: 'Move this statement into a new -- no-transaction migration',
      edits: [removeEdit(file, s)],
      newMigration: { description: 'no transaction', sql: `-- no-transaction\n${newText};\n` },
    },
  ];
}
