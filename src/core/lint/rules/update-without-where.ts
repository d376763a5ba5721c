import { rangeVar, relText } from '../ast';
import { defineRule, eachStatement } from '../rule-api';

export const rule = defineRule({
  id: 'update-without-where',
  category: 'destructive',
  severity: 'warning',
  what: '`UPDATE` without `WHERE`',
  why: 'It rewrites every row in one transaction: locks every row, bloats the table.',
  fix: 'Add a `WHERE`, or backfill in batches outside the migration.',
  start: eachStatement((s, n, ctx) => {
    const rel = rangeVar(n.relation);
    if (s.kind === 'UpdateStmt' && !n.whereClause && ctx.set.existing(rel))
      ctx.report(s, { message: `UPDATE ${relText(rel)} without WHERE`, table: rel });
  }),
});
