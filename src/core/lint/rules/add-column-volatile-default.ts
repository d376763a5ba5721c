import { addedColumn, alterCommands } from '../statements';
import { defineRule, eachStatement } from '../rule-api';

export const rule = defineRule({
  id: 'add-column-volatile-default',
  category: 'lock',
  severity: 'warning',
  what: '`ADD COLUMN` with a volatile default (random(), gen_random_uuid(), clock_timestamp(), nextval() …)',
  why: 'A volatile default is computed per row: PostgreSQL rewrites the table under an ACCESS EXCLUSIVE lock.',
  fix: 'Add the column without a default (or with a constant one), set the default, backfill in batches.',
  squawk: ['adding-field-with-default'],
  start: eachStatement((s, _n, ctx) => {
    const alter = alterCommands(s);
    if (!alter || !ctx.set.existing(alter.rel)) return;
    for (const cmd of alter.cmds) {
      const col = cmd.subtype === 'AT_AddColumn' ? addedColumn(cmd.node) : undefined;
      if (col && (col.volatileDefault || col.serial))
        ctx.report(s, {
          message:
            `ADD COLUMN ${col.name} with ${col.volatileDefault ? `DEFAULT ${col.volatileDefault}()` : col.typeName} ` +
            `rewrites ${alter.relText}`,
          table: alter.rel,
        });
    }
  }),
});
