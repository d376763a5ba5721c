/** Lints one parsed file: every rule sees each statement in order; suppressions, settings and sizes applied here. */
import { relKey, relText } from './ast';
import { fileDirective, lineDirective } from './directives';
import { formatBytes } from '../format';
import { DEFAULT_LARGE_TABLE_BYTES, type Finding, type LintOptions } from './model';
import { lineIndex, type Statement } from './parser';
import type { ReportDetails, RuleContext } from './rule-api';
import { RULES, ruleInfo, type RuleId } from './rules';
import type { SetContext } from './set-context';
import type { LintFile, Severity, TableFacts } from './types';

export function describeFacts(t: TableFacts): string {
  const rows = t.rows < 0 ? 'never analyzed' : `~${Math.round(t.rows).toLocaleString('en-US')} rows`;
  const ht = t.hypertable ? `, hypertable with ${t.chunks ?? 0} chunk${t.chunks === 1 ? '' : 's'}` : '';
  return `${formatBytes(t.bytes)}, ${rows}${ht}`;
}

export function severityFor(options: LintOptions, rule: RuleId): Severity | undefined {
  const s = options.rules?.[rule];
  if (s === 'off') return undefined;
  return s ?? ruleInfo(rule).severity;
}

/** The findings of one file; `set` carries what earlier files and statements did. */
export function lintFile(file: LintFile, statements: Statement[], set: SetContext, options: LintOptions): Finding[] {
  const out: Finding[] = [];
  const where = lineIndex(file.sql);
  const fileIgnores = new Set<string>();
  for (const s of statements) for (const c of s.comments) for (const id of fileDirective(c.text)) fileIgnores.add(id);

  const head = (s: Statement): string => {
    const firstLine = file.sql.slice(s.start, s.end).split('\n', 1)[0]!.trim();
    return firstLine.length > 80 ? `${firstLine.slice(0, 77)}…` : firstLine;
  };

  /** `-- tsdb-ops-lint: ignore <rule> <reason>` or `-- squawk-ignore <rule>` in the comments right above. */
  const suppressed = (s: Statement, rule: RuleId): boolean => {
    if (fileIgnores.has(rule) || fileIgnores.has('*')) return true;
    const byLine = new Map<number, string[]>();
    for (const c of s.comments) byLine.set(c.line, [...(byLine.get(c.line) ?? []), c.text]);
    for (let line = s.line - 1; byLine.has(line); line--)
      for (const text of byLine.get(line)!) if (lineDirective(text).includes(rule)) return true;
    return false;
  };

  const report = (rule: RuleId, s: Statement, extra: ReportDetails): void => {
    const info = ruleInfo(rule);
    let severity = severityFor(options, rule);
    if (!severity || suppressed(s, rule)) return;
    const configured = options.rules?.[rule] !== undefined;
    if (extra.severity === 'error' && !configured) severity = 'error';
    const facts = extra.table ? set.facts.get(relKey(extra.table)) : undefined;
    const large = options.largeTableBytes ?? DEFAULT_LARGE_TABLE_BYTES;
    if (facts && info.category === 'lock' && facts.bytes > large && !configured) severity = 'error';
    const end = where(s.end);
    const what = extra.message ?? info.what.replaceAll('`', '');
    const size = facts ? ` ${relText(extra.table!)}: ${describeFacts(facts)}.` : '';
    out.push({
      rule,
      category: info.category,
      severity,
      message: `${what}: line ${s.line}, \`${head(s)}\`.${size}`,
      why: info.why,
      fix: info.fix,
      file: file.path,
      line: s.line,
      column: s.column,
      endLine: end.line,
      endColumn: end.column,
      start: s.start,
      end: s.end,
      table: extra.table ? relText(extra.table) : undefined,
      tableFacts: facts,
      quickFixes: extra.quickFixes,
    });
  };

  const checks = RULES.flatMap((rule) => {
    if (!rule.start) return [];
    const ctx: RuleContext = { file, statements, set, report: (s, extra = {}) => report(rule.id, s, extra) };
    return [rule.start(ctx)];
  });
  for (const s of statements) {
    set.before(s);
    for (const check of checks) check(s, s.node);
    set.after(s);
  }
  return out;
}
