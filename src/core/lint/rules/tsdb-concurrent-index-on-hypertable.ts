import { relText } from '../ast';
import { indexStatement } from '../statements';
import { defineRule, eachStatement } from '../rule-api';

export const rule = defineRule({
  id: 'tsdb-concurrent-index-on-hypertable',
  category: 'timescaledb',
  severity: 'error',
  what: '`CREATE INDEX CONCURRENTLY` on a hypertable',
  why: 'TimescaleDB refuses: `hypertables do not support concurrent index creation`.',
  fix: '`CREATE INDEX … WITH (timescaledb.transaction_per_chunk)`: one chunk locked at a time.',
  start: eachStatement((s, _n, ctx) => {
    const ix = indexStatement(s);
    if (ix?.concurrent && ctx.set.hypertable(ix.rel))
      ctx.report(s, { message: `CREATE INDEX CONCURRENTLY on hypertable ${relText(ix.rel)}`, table: ix.rel });
  }),
});
