import { defElems, isTrue, obj, rangeVar, relText } from '../ast';
import { defineRule, eachStatement } from '../rule-api';

export const rule = defineRule({
  id: 'tsdb-continuous-aggregate-with-data',
  category: 'timescaledb',
  severity: 'error',
  what: 'A continuous aggregate created `WITH DATA` (the default) inside a transaction',
  why: 'TimescaleDB refuses: `CREATE MATERIALIZED VIEW … WITH DATA cannot run inside a transaction block`.',
  fix: 'Add `WITH NO DATA` and refresh it in a `-- no-transaction` migration (or let its policy refresh it).',
  start: eachStatement((s, n, ctx) => {
    if (s.kind !== 'CreateTableAsStmt' || ctx.file.noTx) return;
    const into = obj(n.into);
    const continuous = defElems(into?.options).some(
      (d) => d.name === 'timescaledb.continuous' && (d.arg === undefined || isTrue(d.arg)),
    );
    if (!continuous || into?.skipData === true) return;
    const rel = rangeVar(into?.rel);
    ctx.report(s, {
      message: `continuous aggregate ${rel ? relText(rel) : ''} created WITH DATA inside the migration's transaction`,
      quickFixes: [{ title: 'Create it WITH NO DATA', edits: [{ start: s.end, end: s.end, text: ' WITH NO DATA' }] }],
    });
  }),
});
