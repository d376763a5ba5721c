/** Suppression comments: ours (`-- tsdb-ops-lint: ignore <rule> <reason>`) and squawk's, mapped to our rule ids. */
import { FROM_SQUAWK, isRuleId, type RuleId } from './rules';

/** Rule ids a comment's directive names: `tsdb-ops-lint: ignore <rule>[,rule] <reason>` or `squawk-ignore <rules>`. */
export function lineDirective(comment: string): RuleId[] {
  const body = commentBody(comment);
  const ours = afterPrefix(body, 'tsdb-ops-lint:');
  if (ours !== undefined) {
    const [verb, rules] = ours.trim().split(/\s+/, 2);
    return verb === 'ignore' && rules ? expand(rules.split(',')) : [];
  }
  const squawk = afterPrefix(body, 'squawk-ignore ');
  return squawk !== undefined ? expand(squawk.split(',').map((x) => x.trim())) : [];
}

/** `-- squawk-ignore-file [rules]` or `-- tsdb-ops-lint: ignore-file <rules> <reason>`; `*`: every rule. */
export function fileDirective(comment: string): Array<RuleId | '*'> {
  const body = commentBody(comment);
  const squawk = afterPrefix(body, 'squawk-ignore-file');
  if (squawk !== undefined) {
    const rules = squawk
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
    return rules.length ? expand(rules) : ['*'];
  }
  const ours = afterPrefix(body, 'tsdb-ops-lint:');
  if (ours !== undefined) {
    const [verb, rules] = ours.trim().split(/\s+/, 2);
    return verb === 'ignore-file' && rules ? expand(rules.split(',')) : [];
  }
  return [];
}

function commentBody(comment: string): string {
  const t = comment.startsWith('--') ? comment.slice(2) : comment.startsWith('/*') ? comment.slice(2, -2) : comment;
  return t.trim();
}

function afterPrefix(s: string, prefix: string): string | undefined {
  return s.toLowerCase().startsWith(prefix) ? s.slice(prefix.length) : undefined;
}

/** Our ids stay; squawk names map to ours. */
function expand(names: string[]): RuleId[] {
  return names.flatMap((n) => {
    const id = n.trim().toLowerCase();
    return isRuleId(id) ? [id] : (FROM_SQUAWK.get(id) ?? []);
  });
}
