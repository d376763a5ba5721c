import { rangeVar, relText, str } from '../ast';
import { defineRule, eachStatement } from '../rule-api';

export const rule = defineRule({
  id: 'rename-table',
  category: 'destructive',
  severity: 'warning',
  what: '`ALTER TABLE … RENAME TO`',
  why: 'The running service still uses the old name and fails until it is redeployed.',
  fix: 'Create the new table (or a view with the old name), move the code, then remove the old name.',
  squawk: ['renaming-table'],
  start: eachStatement((s, n, ctx) => {
    const rel = rangeVar(n.relation);
    if (s.kind !== 'RenameStmt' || str(n.renameType) !== 'OBJECT_TABLE' || !ctx.set.existing(rel)) return;
    ctx.report(s, { message: `RENAME ${relText(rel)} TO ${str(n.newname) ?? ''}`, table: rel });
  }),
});
