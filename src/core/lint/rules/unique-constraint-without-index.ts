import { alterCommands, addedKey } from '../statements';
import { defineRule, eachStatement } from '../rule-api';

export const rule = defineRule({
  id: 'unique-constraint-without-index',
  category: 'lock',
  severity: 'warning',
  what: '`ADD CONSTRAINT … UNIQUE` / `PRIMARY KEY` building its own index',
  why: 'The index is built under an ACCESS EXCLUSIVE lock.',
  fix: '`CREATE UNIQUE INDEX CONCURRENTLY`, then `ADD CONSTRAINT … UNIQUE USING INDEX`.',
  squawk: ['disallowed-unique-constraint'],
  start: eachStatement((s, _n, ctx) => {
    const alter = alterCommands(s);
    if (!alter || !ctx.set.existing(alter.rel)) return;
    for (const cmd of alter.cmds) {
      const key = addedKey(cmd);
      if (key)
        ctx.report(s, {
          message:
            `ADD CONSTRAINT ${key.name ?? ''} ${key.primary ? 'PRIMARY KEY' : 'UNIQUE'} ` +
            `builds its index under an ACCESS EXCLUSIVE lock on ${alter.relText}`,
          table: alter.rel,
        });
    }
  }),
});
