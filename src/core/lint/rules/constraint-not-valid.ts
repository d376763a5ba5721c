import { inner, str, type RelName } from '../ast';
import { quoteIdent, relSql } from '../fixes';
import { alterCommands } from '../statements';
import { defineRule, eachStatement, type QuickFix } from '../rule-api';
import type { Statement } from '../parser';

export const rule = defineRule({
  id: 'constraint-not-valid',
  category: 'lock',
  severity: 'warning',
  what: '`ADD CONSTRAINT` foreign key or check without `NOT VALID`',
  why: 'Validating scans the whole table while writes are blocked (a foreign key locks the referenced table too).',
  fix: 'Add it `NOT VALID`, then `ALTER TABLE … VALIDATE CONSTRAINT` in a separate migration.',
  squawk: ['constraint-missing-not-valid', 'adding-foreign-key-constraint'],
  start: eachStatement((s, _n, ctx) => {
    const alter = alterCommands(s);
    if (!alter || !ctx.set.existing(alter.rel)) return;
    for (const cmd of alter.cmds) {
      if (cmd.subtype !== 'AT_AddConstraint') continue;
      const con = inner(cmd.node.def, 'Constraint');
      const t = str(con?.contype);
      const name = str(con?.conname);
      if ((t === 'CONSTR_FOREIGN' || t === 'CONSTR_CHECK') && con?.skip_validation !== true)
        ctx.report(s, {
          message: `ADD CONSTRAINT ${name ?? ''} ${t === 'CONSTR_FOREIGN' ? 'FOREIGN KEY' : 'CHECK'} without NOT VALID on ${alter.relText}`,
          table: alter.rel,
          quickFixes: name && alter.count === 1 ? notValidFix(s, alter.rel, name) : undefined,
        });
    }
  }),
});

function notValidFix(s: Statement, rel: RelName, name: string): QuickFix[] {
  return [
    {
      title: 'Add NOT VALID, and VALIDATE it in a new migration',
      edits: [{ start: s.end, end: s.end, text: ' NOT VALID' }],
      newMigration: {
        description: `validate ${name}`,
        sql: `ALTER TABLE ${relSql(rel)} VALIDATE CONSTRAINT ${quoteIdent(name)};\n`,
      },
    },
  ];
}
