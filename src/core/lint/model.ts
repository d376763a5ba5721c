/** What the linter is asked (options) and what it answers (findings, report). */
import type { RuleId } from './rules/all';
import type { QuickFix, RuleCategory, Severity, TableFacts } from './types';

export type RuleSetting = Severity | 'off';

export interface LintOptions {
  /** Per rule: off, or a severity that replaces the default (keys as the user wrote them; unknown ones are ignored). */
  readonly rules?: Readonly<Record<string, RuleSetting>>;
  /** Existing tables, when the database was read; undefined: sizes unknown. */
  readonly tables?: readonly TableFacts[];
  /** A lock/rewrite finding on a larger table becomes an error (default 100 MB). */
  readonly largeTableBytes?: number;
}

/**
 * A finding of a file's history rather than its SQL: `tsdb-ops lint --since <ref>` flags an old migration that was
 * edited, renamed or deleted (core/migrations/history.ts). It is not a SQL rule, so it is not in RuleId.
 */
export const CHANGED_SINCE_RULE = 'migration-changed-since';

export interface Finding {
  readonly rule: RuleId | typeof CHANGED_SINCE_RULE;
  readonly category: RuleCategory;
  readonly severity: Severity;
  /** What was found, naming the statement and its line. */
  readonly message: string;
  readonly why: string;
  readonly fix: string;
  readonly file: string;
  /** 1-based, of the statement (or of the parse error). */
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
  readonly start: number;
  readonly end: number;
  /** The table concerned, with what the database knows about it. */
  readonly table?: string;
  readonly tableFacts?: TableFacts;
  readonly quickFixes?: readonly QuickFix[];
}

export interface LintReport {
  readonly findings: Finding[];
  readonly files: number;
  readonly statements: number;
  /** Whether table sizes came from the database. */
  readonly sizesKnown: boolean;
}

export const DEFAULT_LARGE_TABLE_BYTES = 100 * 1024 * 1024;
