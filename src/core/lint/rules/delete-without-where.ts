import { rangeVar, relText } from '../ast';
import { defineRule, eachStatement } from '../rule-api';

export const rule = defineRule({
  id: 'delete-without-where',
  category: 'destructive',
  severity: 'warning',
  what: '`DELETE` without `WHERE`',
  why: 'Every row is gone.',
  fix: 'Add a `WHERE` (or `TRUNCATE` on purpose, with a suppression and its reason).',
  start: eachStatement((s, n, ctx) => {
    const rel = rangeVar(n.relation);
    if (s.kind === 'DeleteStmt' && !n.whereClause && ctx.set.existing(rel))
      ctx.report(s, { message: `DELETE FROM ${relText(rel)} without WHERE`, table: rel });
  }),
});
