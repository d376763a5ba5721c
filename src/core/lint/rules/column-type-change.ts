import { alterCommands } from '../statements';
import { defineRule, eachStatement } from '../rule-api';

export const rule = defineRule({
  id: 'column-type-change',
  category: 'lock',
  severity: 'warning',
  what: '`ALTER COLUMN … TYPE`',
  why: 'Most type changes rewrite the whole table and its indexes under an ACCESS EXCLUSIVE lock: no reads, no writes.',
  fix: 'Add a new column, backfill it in batches, switch the code, then drop the old column.',
  squawk: ['changing-column-type'],
  start: eachStatement((s, _n, ctx) => {
    const alter = alterCommands(s);
    if (!alter || !ctx.set.existing(alter.rel)) return;
    for (const cmd of alter.cmds)
      if (cmd.subtype === 'AT_AlterColumnType')
        ctx.report(s, {
          message: `ALTER COLUMN ${cmd.column ?? ''} TYPE on ${alter.relText} rewrites the table`,
          table: alter.rel,
        });
  }),
});
