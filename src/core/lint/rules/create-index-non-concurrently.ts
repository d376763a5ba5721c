import { relText } from '../ast';
import { moveToNoTxFix, wordEnds } from '../fixes';
import { indexStatement } from '../statements';
import { defineRule, eachStatement } from '../rule-api';

export const rule = defineRule({
  id: 'create-index-non-concurrently',
  category: 'lock',
  severity: 'warning',
  what: '`CREATE INDEX` without `CONCURRENTLY` on an existing table',
  why: 'Writes to the table are blocked until the index is built.',
  fix: '`CREATE INDEX CONCURRENTLY` in a `-- no-transaction` migration of its own.',
  squawk: ['require-concurrent-index-creation'],
  start: eachStatement((s, _n, ctx) => {
    const ix = indexStatement(s);
    if (!ix || ix.concurrent || ix.perChunk || !ctx.set.existing(ix.rel)) return;
    if (ctx.set.hypertable(ix.rel)) {
      ctx.report(s, {
        message: `CREATE INDEX on hypertable ${relText(ix.rel)} blocks writes to every chunk; use WITH (timescaledb.transaction_per_chunk)`,
        table: ix.rel,
      });
      return;
    }
    ctx.report(s, {
      message: `CREATE INDEX without CONCURRENTLY on ${relText(ix.rel)} blocks writes while it builds`,
      table: ix.rel,
      quickFixes: ctx.file.noTx ? undefined : moveToNoTxFix(ctx.file, ctx.statements, s, insertConcurrently),
    });
  }),
});

/** The statement starts CREATE [UNIQUE] INDEX: put CONCURRENTLY after the INDEX keyword. */
function insertConcurrently(text: string): string {
  const idx = wordEnds(text, 3).find((w) => w.word.toUpperCase() === 'INDEX');
  return idx ? `${text.slice(0, idx.end)} CONCURRENTLY${text.slice(idx.end)}` : text;
}
