import type { RelName } from '../ast';
import { quoteIdent, relSql } from '../fixes';
import { alterCommands } from '../statements';
import { defineRule, eachStatement, type QuickFix } from '../rule-api';
import type { Statement } from '../parser';

export const rule = defineRule({
  id: 'set-not-null',
  category: 'lock',
  severity: 'warning',
  what: '`ALTER COLUMN … SET NOT NULL`',
  why: 'It scans the whole table under an ACCESS EXCLUSIVE lock.',
  fix: 'Add `CHECK (col IS NOT NULL) NOT VALID`, `VALIDATE` it in a later migration, then `SET NOT NULL` (no scan).',
  squawk: ['adding-not-nullable-field'],
  start: eachStatement((s, _n, ctx) => {
    const alter = alterCommands(s);
    if (!alter || !ctx.set.existing(alter.rel)) return;
    for (const cmd of alter.cmds)
      if (cmd.subtype === 'AT_SetNotNull')
        ctx.report(s, {
          message: `ALTER COLUMN ${cmd.column ?? ''} SET NOT NULL scans ${alter.relText}`,
          table: alter.rel,
          quickFixes: cmd.column && alter.count === 1 ? notNullFix(s, alter.rel, cmd.column) : undefined,
        });
  }),
});

/**
 * SET NOT NULL without the long lock: a NOT VALID check now; in a new migration VALIDATE it (no write lock),
 * then SET NOT NULL, which PostgreSQL 12+ proves from the valid check without a scan, and drop the check.
 */
function notNullFix(s: Statement, rel: RelName, column: string): QuickFix[] {
  const check = quoteIdent(`${rel.name}_${column}_not_null`);
  const table = relSql(rel);
  return [
    {
      title: 'Use CHECK (… IS NOT NULL) NOT VALID now, VALIDATE and SET NOT NULL in a new migration',
      edits: [
        {
          start: s.start,
          end: s.end,
          text: `ALTER TABLE ${table} ADD CONSTRAINT ${check} CHECK (${quoteIdent(column)} IS NOT NULL) NOT VALID`,
        },
      ],
      newMigration: {
        description: `${column} not null`,
        sql:
          `ALTER TABLE ${table} VALIDATE CONSTRAINT ${check};\n` +
          `ALTER TABLE ${table} ALTER COLUMN ${quoteIdent(column)} SET NOT NULL;\n` +
          `ALTER TABLE ${table} DROP CONSTRAINT ${check};\n`,
      },
    },
  ];
}
