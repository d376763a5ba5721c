import { str } from '../ast';
import { defineRule, eachStatement } from '../rule-api';

export const rule = defineRule({
  id: 'drop-database',
  category: 'destructive',
  severity: 'error',
  what: '`DROP DATABASE`',
  why: 'The whole database is gone (and it cannot run in a transaction).',
  fix: 'Do it by hand, never in a migration.',
  squawk: ['ban-drop-database'],
  start: eachStatement((s, n, ctx) => {
    if (s.kind === 'DropdbStmt') ctx.report(s, { message: `DROP DATABASE ${str(n.dbname) ?? ''}` });
  }),
});
