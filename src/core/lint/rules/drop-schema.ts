import { list, str, sval } from '../ast';
import { defineRule, eachStatement } from '../rule-api';

export const rule = defineRule({
  id: 'drop-schema',
  category: 'destructive',
  severity: 'warning',
  what: '`DROP SCHEMA`',
  why: 'Every object in it (with CASCADE) is gone.',
  fix: 'Make sure nothing uses it; keep a backup.',
  start: eachStatement((s, n, ctx) => {
    if (s.kind !== 'DropStmt' || str(n.removeType) !== 'OBJECT_SCHEMA') return;
    const cascade = str(n.behavior) === 'DROP_CASCADE' ? ' CASCADE' : '';
    ctx.report(s, { message: `DROP SCHEMA ${list(n.objects).map(sval).join(', ')}${cascade}` });
  }),
});
