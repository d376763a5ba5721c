import { defElems, isTrue, rangeVar } from '../ast';
import { defineRule, eachStatement } from '../rule-api';

export const rule = defineRule({
  id: 'reindex-non-concurrently',
  category: 'lock',
  severity: 'warning',
  what: '`REINDEX` without `CONCURRENTLY`',
  why: 'It blocks writes (and reads through the index) while it runs.',
  fix: '`REINDEX … CONCURRENTLY` in a `-- no-transaction` migration of its own.',
  start: eachStatement((s, n, ctx) => {
    if (s.kind !== 'ReindexStmt') return;
    const concurrent = defElems(n.params).some(
      (d) => d.name === 'concurrently' && (d.arg === undefined || isTrue(d.arg)),
    );
    const rel = rangeVar(n.relation);
    if (!concurrent && (!rel || ctx.set.existing(rel))) ctx.report(s, { table: rel });
  }),
});
