import { alterCommands } from '../statements';
import { defineRule, eachStatement } from '../rule-api';

export const rule = defineRule({
  id: 'drop-column',
  category: 'destructive',
  severity: 'warning',
  what: '`DROP COLUMN`',
  why: 'The data is gone, and the running service may still read or write the column.',
  fix: 'Stop using it in the code first, deploy, then drop it.',
  squawk: ['ban-drop-column'],
  start: eachStatement((s, _n, ctx) => {
    const alter = alterCommands(s);
    if (!alter || !ctx.set.existing(alter.rel)) return;
    for (const cmd of alter.cmds)
      if (cmd.subtype === 'AT_DropColumn')
        ctx.report(s, { message: `DROP COLUMN ${cmd.column ?? ''} from ${alter.relText}`, table: alter.rel });
  }),
});
