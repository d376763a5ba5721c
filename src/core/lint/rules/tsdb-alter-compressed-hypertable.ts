import { relText } from '../ast';
import { alterCommands, indexStatement } from '../statements';
import { defineRule, eachStatement } from '../rule-api';

/** ALTER TABLE commands TimescaleDB refuses on a hypertable with compression enabled. */
const REFUSED = new Set([
  'AT_AlterColumnType',
  'AT_SetNotNull',
  'AT_AddConstraint',
  'AT_ValidateConstraint',
  'AT_DropConstraint',
  'AT_EnableRowSecurity',
  'AT_ForceRowSecurity',
]);

export const rule = defineRule({
  id: 'tsdb-alter-compressed-hypertable',
  category: 'timescaledb',
  severity: 'error',
  what:
    '`ALTER TABLE` forms a hypertable with compression enabled does not allow (type change, SET NOT NULL, ' +
    'constraints, unique index, row level security)',
  why: 'TimescaleDB refuses: `operation not supported on hypertables that have compression enabled`.',
  fix: 'Decompress the chunks and `SET (timescaledb.compress = false)` first, then re-enable it; or add a new column.',
  start: eachStatement((s, _n, ctx) => {
    const alter = alterCommands(s);
    if (alter) {
      // As the table was before the statement (a SET (timescaledb.compress) in it counts from the next one on).
      const compressed = ctx.set.hypertable(alter.rel)?.compressed;
      for (const cmd of alter.cmds)
        if (compressed && REFUSED.has(cmd.subtype))
          ctx.report(s, {
            message: `${cmd.subtype.replace('AT_', '')} on ${alter.relText}, a hypertable with compression enabled`,
            table: alter.rel,
          });
    }
    const ix = indexStatement(s);
    if (ix?.unique && ctx.set.hypertable(ix.rel)?.compressed)
      ctx.report(s, {
        message: `CREATE UNIQUE INDEX on ${relText(ix.rel)}, a hypertable with compression enabled`,
        table: ix.rel,
      });
  }),
});
