import { list, nameList, relText, str, type RelName } from '../ast';
import { defineRule, eachStatement } from '../rule-api';

export const rule = defineRule({
  id: 'drop-table',
  category: 'destructive',
  severity: 'warning',
  what: '`DROP TABLE`',
  why: 'The data is gone, and the running service may still use the table.',
  fix: 'Stop using it in the code first; keep a backup; suppress with a reason once that is done.',
  squawk: ['ban-drop-table'],
  start: eachStatement((s, n, ctx) => {
    if (s.kind !== 'DropStmt' || str(n.removeType) !== 'OBJECT_TABLE') return;
    const existing = list(n.objects)
      .map((o) => nameList(o))
      .filter((r): r is RelName => ctx.set.existing(r));
    if (existing.length > 0)
      ctx.report(s, { message: `DROP TABLE ${existing.map(relText).join(', ')}`, table: existing[0] });
  }),
});
