import { list, nameList, relText, str } from '../ast';
import { defineRule, eachStatement } from '../rule-api';

export const rule = defineRule({
  id: 'drop-index-non-concurrently',
  category: 'lock',
  severity: 'warning',
  what: '`DROP INDEX` without `CONCURRENTLY`',
  why: 'It takes an ACCESS EXCLUSIVE lock on the table.',
  fix: '`DROP INDEX CONCURRENTLY` in a `-- no-transaction` migration of its own.',
  squawk: ['require-concurrent-index-deletion'],
  start: eachStatement((s, n, ctx) => {
    if (s.kind !== 'DropStmt' || str(n.removeType) !== 'OBJECT_INDEX' || n.concurrent === true) return;
    const objects = list(n.objects).map((o) => nameList(o));
    ctx.report(s, {
      message: `DROP INDEX ${objects.map((o) => (o ? relText(o) : '')).join(', ')} without CONCURRENTLY`,
    });
  }),
});
