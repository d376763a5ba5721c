/**
 * Migration safety lint: pending sqlx migrations, parsed by the real PostgreSQL parser, checked in order with what
 * the earlier ones created (new, empty tables draw no lock findings), and with table sizes from the live database
 * when it was reachable. `lintMigrations` is the function the benchmark times (parse + lint).
 *
 * The rules are files of their own in `rules/` (listed in `rules/all.ts`); `file-linter.ts` runs them.
 */
import { lintFile, severityFor } from './file-linter';
import type { Finding, LintOptions, LintReport } from './model';
import { loadParser, type SqlParser } from './parser';
import { ruleInfo } from './rules';
import { SetContext } from './set-context';
import type { LintFile } from './types';

export { describeFacts } from './file-linter';
export { lineDirective } from './directives';
export { DEFAULT_LARGE_TABLE_BYTES } from './model';
export type { Finding, LintOptions, LintReport, RuleSetting } from './model';
export type { RuleId } from './rules';
export type { LintFile, QuickFix, TableFacts, TextEdit } from './types';

/** Parses and lints pending migrations in the order sqlx applies them (loads the parser on first use). */
export async function lintMigrations(files: readonly LintFile[], options: LintOptions = {}): Promise<LintReport> {
  return lintWith(await loadParser(), files, options);
}

/** The same with a loaded parser (synchronous: for a keystroke in an open file). */
export function lintWith(parser: SqlParser, files: readonly LintFile[], options: LintOptions = {}): LintReport {
  const set = new SetContext(options.tables);
  const findings: Finding[] = [];
  let statements = 0;
  for (const f of files) {
    const parsed = parser.parse(f.sql);
    if (!parsed.ok) {
      const e = parsed.error;
      const rule = ruleInfo('syntax-error');
      const severity = severityFor(options, rule.id);
      if (severity)
        findings.push({
          rule: rule.id,
          category: rule.category,
          severity,
          message: `${e.message} (line ${e.line}, column ${e.column})`,
          why: rule.why,
          fix: rule.fix,
          file: f.path,
          line: e.line,
          column: e.column,
          endLine: e.line,
          endColumn: e.column + 1,
          start: e.offset,
          end: Math.min(e.offset + 1, f.sql.length),
        });
      continue;
    }
    statements += parsed.statements.length;
    findings.push(...lintFile(f, parsed.statements, set, options));
  }
  return { findings, files: files.length, statements, sizesKnown: options.tables !== undefined };
}
