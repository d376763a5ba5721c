/**
 * What a lint rule is and what it sees. A rule lives in a file of its own under `rules/`: its id, category,
 * default severity, what it finds, why it hurts, the fix, squawk's equivalent, and its check.
 *
 * Adding a rule: a file in `rules/`, its line in `rules/all.ts` (the `RuleId` union is that list), its row in
 * docs/migrations-and-lint.md (a unit test holds the table to the list) and a bad and a good case in
 * test/fixtures/lint/<id>/.
 */
import type { Obj, RelName } from './ast';
import type { Statement } from './parser';
import type { SetContext } from './set-context';
import type { LintFile, QuickFix, RuleCategory, Severity } from './types';

export type { LintFile, QuickFix, RuleCategory, Severity, TableFacts, TextEdit } from './types';

/** What a rule tells about one finding; the linter adds position, size, severity and the rule's texts. */
export interface ReportDetails {
  /** What was found (default: the rule's `what`). */
  readonly message?: string;
  readonly table?: RelName;
  readonly quickFixes?: readonly QuickFix[];
  /** `error` raises the default severity for this finding (a setting still wins). */
  readonly severity?: Severity;
}

/** What a rule's check sees while one file is linted. */
export interface RuleContext {
  readonly file: LintFile;
  /** Every statement of the file (a fix may need the first, a rule the count). */
  readonly statements: readonly Statement[];
  /** What the pending set and the database say about tables so far. */
  readonly set: SetContext;
  /** Reports a finding of this rule on a statement (suppressions and settings are applied by the linter). */
  report(s: Statement, details?: ReportDetails): void;
}

export interface RuleInfo<Id extends string = string> {
  readonly id: Id;
  readonly category: RuleCategory;
  readonly severity: Severity;
  /** What the rule finds. */
  readonly what: string;
  readonly why: string;
  readonly fix: string;
  /** squawk rules that find the same thing (their `-- squawk-ignore` names are honoured too). */
  readonly squawk: readonly string[];
}

export interface Rule<Id extends string = string> extends RuleInfo<Id> {
  /**
   * Called once per file; returns the check that sees each statement in order (state kept in its closure lives
   * for one file). A rule without it is reported by the linter itself (`syntax-error`).
   */
  readonly start?: (ctx: RuleContext) => (s: Statement, node: Obj) => void;
}

/** Declares a rule, keeping its id as a literal type (the `RuleId` union is built from these). */
export function defineRule<const Id extends string>(
  rule: Omit<Rule<Id>, 'squawk'> & { readonly squawk?: readonly string[] },
): Rule<Id> {
  return { ...rule, squawk: rule.squawk ?? [] };
}

/** A rule whose check needs no state of its own across statements. */
export function eachStatement(
  check: (s: Statement, node: Obj, ctx: RuleContext) => void,
): (ctx: RuleContext) => (s: Statement, node: Obj) => void {
  return (ctx) => (s, node) => check(s, node, ctx);
}
