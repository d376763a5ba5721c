/** The lint's outputs: text (`file:line:col`), JSON, SARIF 2.1.0 (see sarif.ts) and GitHub workflow commands. */
import type { Finding } from '../../core/lint/lint';

export const LINT_FORMATS = ['text', 'json', 'sarif', 'github'] as const;
export type LintFormat = (typeof LINT_FORMATS)[number];

export interface LintOutcome {
  readonly findings: readonly Finding[];
  readonly files: number;
  readonly statements: number;
  readonly sizesKnown: boolean;
  /** Where the sizes came from, or why there are none. */
  readonly sizesNote: string;
  /** The git ref of `--since`, when given. */
  readonly since?: string;
  /** Paths as shown: relative to the current folder when inside it. */
  readonly rel: (path: string) => string;
}

export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.rule.localeCompare(b.rule),
  );
}

export function counts(findings: readonly Finding[]): string {
  const n = (s: Finding['severity']) => findings.filter((f) => f.severity === s).length;
  const parts = [
    `${n('error')} error${n('error') === 1 ? '' : 's'}`,
    `${n('warning')} warning${n('warning') === 1 ? '' : 's'}`,
  ];
  if (n('info')) parts.push(`${n('info')} info`);
  return parts.join(', ');
}

export function formatText(o: LintOutcome): string {
  const lines: string[] = [];
  for (const f of sortFindings(o.findings)) {
    lines.push(`${o.rel(f.file)}:${f.line}:${f.column}: ${f.severity} [${f.rule}] ${f.message}`);
    lines.push(`    ${f.why} Fix: ${f.fix}`);
  }
  if (lines.length) lines.push('');
  lines.push(
    `${o.findings.length} finding${o.findings.length === 1 ? '' : 's'} (${counts(o.findings)}) in ` +
      `${o.files} file${o.files === 1 ? '' : 's'}, ${o.statements} statement${o.statements === 1 ? '' : 's'}.`,
  );
  lines.push(o.sizesNote);
  return lines.join('\n') + '\n';
}

export function formatJson(o: LintOutcome, version: string): string {
  return (
    JSON.stringify(
      {
        tool: 'tsdb-ops',
        version,
        files: o.files,
        statements: o.statements,
        sizesKnown: o.sizesKnown,
        sizesNote: o.sizesNote,
        since: o.since,
        summary: {
          errors: o.findings.filter((f) => f.severity === 'error').length,
          warnings: o.findings.filter((f) => f.severity === 'warning').length,
          info: o.findings.filter((f) => f.severity === 'info').length,
        },
        findings: sortFindings(o.findings).map((f) => ({
          rule: f.rule,
          category: f.category,
          severity: f.severity,
          file: o.rel(f.file),
          line: f.line,
          column: f.column,
          endLine: f.endLine,
          endColumn: f.endColumn,
          message: f.message,
          why: f.why,
          fix: f.fix,
          table: f.table,
          tableFacts: f.tableFacts,
        })),
      },
      null,
      2,
    ) + '\n'
  );
}

/** GitHub Actions workflow commands: one annotation per finding on the file and line of the pull request's diff. */
export function formatGithub(o: LintOutcome): string {
  const lines = sortFindings(o.findings).map((f) => {
    const level = f.severity === 'info' ? 'notice' : f.severity;
    const props = [
      `file=${escapeProperty(o.rel(f.file))}`,
      `line=${f.line}`,
      `col=${f.column}`,
      `endLine=${f.endLine}`,
      `endColumn=${f.endColumn}`,
      `title=${escapeProperty(`tsdb-ops ${f.rule}`)}`,
    ];
    return `::${level} ${props.join(',')}::${escapeData(`${f.message}\n${f.why} Fix: ${f.fix}`)}`;
  });
  lines.push(`tsdb-ops lint: ${o.findings.length} finding(s) (${counts(o.findings)}). ${o.sizesNote}`);
  return lines.join('\n') + '\n';
}

/** The escaping of @actions/core's `command.ts` (message data). */
export function escapeData(s: string): string {
  return s.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
}

/** The escaping of @actions/core's `command.ts` (property values). */
export function escapeProperty(s: string): string {
  return escapeData(s).replaceAll(':', '%3A').replaceAll(',', '%2C');
}
