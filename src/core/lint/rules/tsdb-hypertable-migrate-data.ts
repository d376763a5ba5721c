import { relKey } from '../ast';
import { hypertableCall, statementCalls } from '../statements';
import { defineRule, eachStatement } from '../rule-api';

export const rule = defineRule({
  id: 'tsdb-hypertable-migrate-data',
  category: 'timescaledb',
  severity: 'warning',
  what: '`create_hypertable` on a table that may have rows, without `migrate_data => true`',
  why: 'TimescaleDB refuses: `table "…" is not empty` (hint: migrate_data).',
  fix: 'Pass `migrate_data => true` (it locks and copies the table), or create the hypertable before loading data.',
  start: eachStatement((s, _n, ctx) => {
    for (const { name, node } of statementCalls(s)) {
      const call = name === 'create_hypertable' ? hypertableCall(node) : undefined;
      if (!call || call.migrateData) continue;
      const created = ctx.set.created.get(relKey(call.rel));
      const facts = ctx.set.facts.get(relKey(call.rel));
      const without = `create_hypertable('${call.text}') without migrate_data => true`;
      if (created?.hasRows)
        ctx.report(s, { message: `${without} after rows were inserted into it`, table: call.rel, severity: 'error' });
      else if (!created && facts && (facts.rows > 0 || (facts.rows < 0 && facts.bytes > 16384)))
        ctx.report(s, { message: `${without} on a table with rows`, table: call.rel, severity: 'error' });
      else if (!created && !facts)
        ctx.report(s, {
          message: `${without} on a table not created in the pending migrations (it may have rows)`,
          table: call.rel,
        });
    }
  }),
});
