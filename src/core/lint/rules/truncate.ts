import { inner, list, rangeVar, relText, str, type RelName } from '../ast';
import { defineRule, eachStatement } from '../rule-api';

export const rule = defineRule({
  id: 'truncate',
  category: 'destructive',
  severity: 'warning',
  what: '`TRUNCATE`',
  why: 'Every row is gone (with CASCADE, the rows of every table referring to it too) under an ACCESS EXCLUSIVE lock.',
  fix: 'Name exactly the tables to empty, without CASCADE; consider `DELETE … WHERE`.',
  squawk: ['ban-truncate-cascade'],
  start: eachStatement((s, n, ctx) => {
    if (s.kind !== 'TruncateStmt') return;
    const rels = list(n.relations).map((v) => rangeVar(inner(v, 'RangeVar')));
    const existing = rels.filter((r): r is RelName => ctx.set.existing(r));
    if (existing.length === 0) return;
    const cascade = str(n.behavior) === 'DROP_CASCADE' ? ' CASCADE (empties every table referring to it too)' : '';
    ctx.report(s, { message: `TRUNCATE ${existing.map(relText).join(', ')}${cascade}`, table: existing[0] });
  }),
});
