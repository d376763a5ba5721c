import { rangeVar } from '../ast';
import { defineRule, eachStatement } from '../rule-api';

export const rule = defineRule({
  id: 'cluster',
  category: 'lock',
  severity: 'warning',
  what: '`CLUSTER`',
  why: 'It rewrites the table under an ACCESS EXCLUSIVE lock.',
  fix: 'Run it in a maintenance window outside migrations, or use pg_repack.',
  start: eachStatement((s, n, ctx) => {
    if (s.kind !== 'ClusterStmt') return;
    const rel = rangeVar(n.relation);
    if (!rel || ctx.set.existing(rel)) ctx.report(s, { table: rel });
  }),
});
