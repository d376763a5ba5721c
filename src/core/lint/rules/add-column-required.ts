import { addedColumn, alterCommands } from '../statements';
import { defineRule, eachStatement } from '../rule-api';

export const rule = defineRule({
  id: 'add-column-required',
  category: 'lock',
  severity: 'warning',
  what: '`ADD COLUMN … NOT NULL` without a default',
  why: 'It fails on a table that has rows, and every insert that does not name the column fails.',
  fix: 'Add the column nullable or with a constant default.',
  squawk: ['adding-required-field'],
  start: eachStatement((s, _n, ctx) => {
    const alter = alterCommands(s);
    if (!alter || !ctx.set.existing(alter.rel)) return;
    for (const cmd of alter.cmds) {
      const col = cmd.subtype === 'AT_AddColumn' ? addedColumn(cmd.node) : undefined;
      if (col && col.notNull && !col.hasDefault && !col.serial)
        ctx.report(s, {
          message: `ADD COLUMN ${col.name} NOT NULL without a default on ${alter.relText}`,
          table: alter.rel,
        });
    }
  }),
});
