import { rangeVar, relText, str } from '../ast';
import { defineRule, eachStatement } from '../rule-api';

export const rule = defineRule({
  id: 'rename-column',
  category: 'destructive',
  severity: 'warning',
  what: '`ALTER TABLE … RENAME COLUMN`',
  why: 'The running service still uses the old name and fails until it is redeployed.',
  fix: 'Add the new column, write both, move reads, then drop the old column.',
  squawk: ['renaming-column'],
  start: eachStatement((s, n, ctx) => {
    const rel = rangeVar(n.relation);
    if (s.kind !== 'RenameStmt' || str(n.renameType) !== 'OBJECT_COLUMN') return;
    if (str(n.relationType) !== 'OBJECT_TABLE' || !ctx.set.existing(rel)) return;
    ctx.report(s, {
      message: `RENAME COLUMN ${str(n.subname) ?? ''} TO ${str(n.newname) ?? ''} on ${relText(rel)}`,
      table: rel,
    });
  }),
});
