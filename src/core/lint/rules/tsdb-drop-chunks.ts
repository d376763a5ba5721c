import { callArgs, constText, regclassText } from '../ast';
import { statementCalls } from '../statements';
import { defineRule, eachStatement } from '../rule-api';

export const rule = defineRule({
  id: 'tsdb-drop-chunks',
  category: 'timescaledb',
  severity: 'warning',
  what: '`drop_chunks` / `add_retention_policy`',
  why: 'Chunks of data are deleted (now, or on a schedule from now on).',
  fix: 'Make sure the interval is right and a backup exists; suppress with a reason.',
  start: eachStatement((s, _n, ctx) => {
    for (const { name, node } of statementCalls(s)) {
      if (name !== 'drop_chunks' && name !== 'add_retention_policy') continue;
      const target = constText(callArgs(node).positional[0]);
      ctx.report(s, {
        message: `${name}(${target ?? ''}) deletes chunks${name === 'add_retention_policy' ? ' on a schedule' : ''}`,
        table: target ? regclassText(target) : undefined,
      });
    }
  }),
});
