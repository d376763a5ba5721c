/** The lint rules by id (each rule is a file of its own under `rules/`; the list is `rules/all.ts`). */
import { ALL_RULES, type RuleId } from './rules/all';
import type { Rule, RuleInfo } from './rule-api';

export type { RuleCategory, RuleInfo, Severity } from './rule-api';
export type { RuleId } from './rules/all';

export const RULES: readonly Rule<RuleId>[] = ALL_RULES;

const BY_ID = Object.fromEntries(RULES.map((r) => [r.id, r])) as Record<RuleId, Rule<RuleId>>;

export const RULE_BY_ID: ReadonlyMap<RuleId, RuleInfo<RuleId>> = new Map(RULES.map((r) => [r.id, r]));

export function isRuleId(id: string): id is RuleId {
  return Object.hasOwn(BY_ID, id);
}

/** A rule's id, texts and default severity. */
export function ruleInfo(id: RuleId): Rule<RuleId> {
  return BY_ID[id];
}

/** squawk rule name → our rule ids (for `-- squawk-ignore`). */
export const FROM_SQUAWK: ReadonlyMap<string, RuleId[]> = (() => {
  const m = new Map<string, RuleId[]>();
  for (const rule of RULES) for (const s of rule.squawk) m.set(s, [...(m.get(s) ?? []), rule.id]);
  return m;
})();
