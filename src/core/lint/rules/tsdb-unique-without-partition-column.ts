import { relKey, relText, type RelName } from '../ast';
import type { Statement } from '../parser';
import { addedKey, alterCommands, hypertableCall, indexStatement, statementCalls } from '../statements';
import { defineRule, eachStatement, type RuleContext } from '../rule-api';

export const rule = defineRule({
  id: 'tsdb-unique-without-partition-column',
  category: 'timescaledb',
  severity: 'error',
  what: 'A unique index or primary key on a hypertable without its partitioning column',
  why: 'TimescaleDB refuses: `cannot create a unique index without the column "…" (used in partitioning)`.',
  fix: 'Include the partitioning (time) column in the key.',
  start: eachStatement((s, _n, ctx) => {
    const alter = alterCommands(s);
    for (const cmd of alter?.cmds ?? []) {
      const key = addedKey(cmd);
      if (key && alter) check(ctx, s, alter.rel, key.columns, key.primary ? 'primary key' : 'unique constraint');
    }
    const ix = indexStatement(s);
    if (ix?.unique) check(ctx, s, ix.rel, ix.columns, 'unique index');
    // A table created with unique keys in the pending set becomes a hypertable.
    for (const { name, node } of statementCalls(s)) {
      const call = name === 'create_hypertable' ? hypertableCall(node) : undefined;
      if (!call?.column) continue;
      for (const k of ctx.set.uniqueKeys.get(relKey(call.rel)) ?? [])
        if (!k.columns.includes(call.column))
          ctx.report(s, {
            message: `${call.text} has a ${k.name} (${k.columns.join(', ')}) without the partitioning column ${call.column}`,
            table: call.rel,
          });
    }
  }),
});

function check(ctx: RuleContext, s: Statement, rel: RelName, columns: string[], what: string): void {
  const ht = ctx.set.hypertable(rel);
  if (!ht?.partitionColumn || columns.includes(ht.partitionColumn)) return;
  ctx.report(s, {
    message: `${what} (${columns.join(', ')}) on hypertable ${relText(rel)} without its partitioning column ${ht.partitionColumn}`,
    table: rel,
  });
}
